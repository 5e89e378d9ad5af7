import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { EventLoopWatchdog } from '../../../node/util/event-loop-watchdog.js'
import { waitFor } from '../../../scripts/lib/wait.js'

interface LogLine { level: number, msg: string, lagMs?: number, stalls?: number, maxLagMs?: number }

describe('util/event-loop-watchdog', () => {
  let logs: LogLine[]
  let dogs: EventLoopWatchdog[]
  beforeEach(() => { logs = []; dogs = [] })
  afterEach(() => { for (const d of dogs) d.stop() })

  function watchdog (init: { warnEveryMs?: number } = {}): { dog: EventLoopWatchdog, stalls: number[] } {
    const sink = new Writable({ write (chunk: Buffer, _enc, cb) { logs.push(JSON.parse(chunk.toString()) as LogLine); cb() } })
    const stalls: number[] = []
    const dog = new EventLoopWatchdog({ logger: pino({ level: 'info' }, sink), intervalMs: 20, onStall: (ms) => stalls.push(ms), ...init })
    dogs.push(dog)
    dog.start()
    return { dog, stalls }
  }

  function blockFor (ms: number): void {
    const end = Date.now() + ms
    while (Date.now() < end) { /* a hot loop, on purpose */ }
  }

  it('warns when the event loop was blocked over 200 ms, with how long', async () => {
    const { dog, stalls } = watchdog()
    await new Promise(resolve => setTimeout(resolve, 50))
    blockFor(400)
    await waitFor(() => logs.find(l => l.msg === 'event loop was blocked'), 'the watchdog warning', 2000, 10)
    const warn = logs.find(l => l.msg === 'event loop was blocked')
    assert.equal(warn?.level, 40)
    assert.ok((warn?.lagMs ?? 0) >= 300 && (warn?.lagMs ?? 0) < 2000, `lagMs ${warn?.lagMs}`)
    assert.equal(stalls.length, 1)
    assert.equal(dog.stats.stalls, 1)
  })

  it('stays quiet while the loop is responsive, and rate-limits warnings (counting the rest)', async () => {
    const { dog } = watchdog({ warnEveryMs: 60_000 })
    await new Promise(resolve => setTimeout(resolve, 300))
    assert.equal(logs.length, 0, 'no warning for a responsive loop')
    blockFor(300)
    await waitFor(() => dog.stats.stalls === 1, 'the first stall', 2000, 10)
    blockFor(300)
    await waitFor(() => dog.stats.stalls === 2, 'the second stall', 2000, 10)
    assert.equal(logs.filter(l => l.msg === 'event loop was blocked').length, 1, 'one warning per interval')
    assert.ok(dog.stats.maxLagMs >= 200)
  })
})
