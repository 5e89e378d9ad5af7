import assert from 'node:assert/strict'
import { formatFromFileName, parsePlan, planDigest, sniffFormat } from '../../../plan/index.js'
import { SMALL_JSON, SMALL_MARKDOWN, SMALL_MARKDOWN_COMPACT, SMALL_PLAN, SMALL_YAML } from './fixtures.js'

describe('plan formats', () => {
  it('JSON parses to the expected plan', () => {
    assert.deepEqual(parsePlan(SMALL_JSON, { format: 'json' }), SMALL_PLAN)
  })

  it('YAML parses to the expected plan', () => {
    assert.deepEqual(parsePlan(SMALL_YAML, { format: 'yaml' }), SMALL_PLAN)
  })

  it('Markdown (task headings) parses to the expected plan', () => {
    assert.deepEqual(parsePlan(SMALL_MARKDOWN, { format: 'markdown' }), SMALL_PLAN)
  })

  it('Markdown (compact list items) parses to the expected plan', () => {
    assert.deepEqual(parsePlan(SMALL_MARKDOWN_COMPACT, { format: 'markdown' }), SMALL_PLAN)
  })

  it('all forms have the same digest, and a changed plan a different one', () => {
    const digests = [SMALL_JSON, SMALL_YAML, SMALL_MARKDOWN, SMALL_MARKDOWN_COMPACT].map((t) => planDigest(parsePlan(t)))
    assert.equal(new Set(digests).size, 1)
    const changed = parsePlan(SMALL_JSON.replace('"estimatedHours": 8', '"estimatedHours": 9'))
    assert.notEqual(planDigest(changed), digests[0])
  })

  it('picks the format from the file extension before sniffing', () => {
    assert.equal(formatFromFileName('plans/p.JSON'), 'json')
    assert.equal(formatFromFileName('p.yml'), 'yaml')
    assert.equal(formatFromFileName('p.yaml'), 'yaml')
    assert.equal(formatFromFileName('p.markdown'), 'markdown')
    assert.equal(formatFromFileName('p.md'), 'markdown')
    assert.equal(formatFromFileName('p.txt'), undefined)
    // Markdown text in a .json file is read as JSON, and fails as JSON.
    assert.throws(() => parsePlan(SMALL_MARKDOWN, { file: 'plan.json' }), /plan\.json:1: invalid JSON/)
    assert.deepEqual(parsePlan(SMALL_YAML, { file: 'plan.txt' }), SMALL_PLAN)
  })

  it('sniffs unnamed text', () => {
    assert.equal(sniffFormat(SMALL_JSON), 'json')
    assert.equal(sniffFormat(SMALL_YAML), 'yaml')
    assert.equal(sniffFormat(SMALL_MARKDOWN), 'markdown')
    assert.equal(sniffFormat(SMALL_MARKDOWN_COMPACT), 'markdown')
    assert.equal(sniffFormat('\uFEFF  [1]'), 'json')
  })

  it('an explicit format wins over the file name', () => {
    assert.deepEqual(parsePlan(SMALL_YAML, { file: 'plan.md', format: 'yaml' }), SMALL_PLAN)
  })

  it('accepts nulls for optional fields (documents exported from the replica)', () => {
    const plan = parsePlan(JSON.stringify({
      ...SMALL_PLAN,
      tasks: SMALL_PLAN.tasks.map((t) => ({ ...t, role: t.id === 'T2.2' ? null : t.role }))
    }))
    assert.deepEqual(plan, SMALL_PLAN)
  })

  it('a task without a role takes its epic\'s role', () => {
    const text = SMALL_JSON.replace('"role": "schemas", ', '')
    const plan = parsePlan(text)
    assert.equal(plan.tasks.find((t) => t.id === 'T1.2')?.role, 'backend')
  })
})

describe('plan/FORMAT.md', () => {
  it('its Markdown, YAML and JSON examples are valid plans', async () => {
    const { readFile } = await import('node:fs/promises')
    const doc = await readFile(new URL('../../../../plan/FORMAT.md', import.meta.url), 'utf8')
    const blocks = [...doc.matchAll(/^```(markdown|yaml|json)\n([\s\S]*?)^```$/gm)]
    assert.deepEqual(blocks.map((b) => b[1]), ['markdown', 'yaml', 'json'])
    for (const [, format, text] of blocks) {
      const plan = parsePlan(text as string, { format: format as 'markdown' | 'yaml' | 'json' })
      assert.equal(plan.id, 'remediation')
      assert.equal(plan.tasks[0]?.id, 'T1.1')
      assert.equal(plan.tasks[0]?.estimatedHours, 16)
    }
  })
})
