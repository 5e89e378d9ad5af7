import assert from 'node:assert/strict'
import { ago, duration, formatTable, hours, progressBar, shortId } from '../../../node/cli/format.js'

describe('cli formatting', () => {
  it('aligns table columns, right-aligns numbers, and leaves no trailing spaces', () => {
    const t = formatTable([{ header: 'ID' }, { header: 'HOURS', align: 'right' }, { header: 'TITLE' }], [
      ['T-1', '8 h', 'short'],
      ['T-10', '12.5 h', '']
    ])
    assert.equal(t, [
      'ID     HOURS  TITLE',
      'T-1      8 h  short',
      'T-10  12.5 h'
    ].join('\n'))
  })

  it('cuts long cells with an ellipsis at maxWidth and fills missing cells', () => {
    const t = formatTable([{ header: 'A', maxWidth: 5 }, { header: 'B' }], [['abcdefgh'], ['ab', 'x']])
    assert.equal(t, ['A      B', 'abcd…', 'ab     x'].join('\n'))
  })

  it('draws progress bars of a fixed width, clamped to 0-100', () => {
    assert.equal(progressBar(50, 10), '█████░░░░░')
    assert.equal(progressBar(0, 4), '░░░░')
    assert.equal(progressBar(100, 4), '████')
    assert.equal(progressBar(250, 4), '████')
    assert.equal(progressBar(-3, 4), '░░░░')
    assert.equal(progressBar(Number.NaN, 4), '░░░░')
    assert.equal(progressBar(33.4), '███████░░░░░░░░░░░░░')
  })

  it('writes times, durations, hours and ids compactly', () => {
    const now = 1_000_000_000
    assert.equal(ago(now - 4_000, now), '4 s ago')
    assert.equal(ago(now - 3 * 60_000, now), '3 min ago')
    assert.equal(ago(now - 2 * 3_600_000, now), '2 h ago')
    assert.equal(ago(null, now), '—')
    assert.equal(duration(42_000), '42 s')
    assert.equal(duration(3_725_000), '1 h 2 min')
    assert.equal(hours(2.54), '2.5 h')
    assert.equal(hours(undefined), '—')
    assert.equal(shortId('12D3KooWabcdefghijklmnopqrstuvwxyz'), '12D3…qrstuvwxyz')
    assert.equal(shortId('short'), 'short')
  })
})
