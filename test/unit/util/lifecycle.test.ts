import assert from 'node:assert/strict'
import { Lifecycle, type StartablePart } from '../../../node/util/lifecycle.js'
import type { Log } from '../../../crdt/log.js'

function recorder (): { log: string[], logger: Log & { errors: string[] }, part: (name: string, opts?: { failStart?: boolean, failStop?: boolean }) => StartablePart } {
  const log: string[] = []
  const errors: string[] = []
  const logger = { errors, error: (f: object, msg: string) => { errors.push(`${(f as { part?: string }).part ?? ''}: ${msg}`) }, warn: () => {}, info: () => {}, debug: () => {} }
  const part = (name: string, opts: { failStart?: boolean, failStop?: boolean } = {}): StartablePart => ({
    name,
    start: async () => {
      if (opts.failStart === true) throw new Error(`${name} cannot start`)
      log.push(`start ${name}`)
    },
    stop: () => {
      log.push(`stop ${name}`)
      if (opts.failStop === true) throw new Error(`${name} cannot stop`)
    }
  })
  return { log, logger, part }
}

describe('node/util/lifecycle', () => {
  it('starts parts in order and stops them in reverse, once', async () => {
    const { log, logger, part } = recorder()
    const life = new Lifecycle(logger)
    await life.start(part('store'), part('net'))
    await life.start(part('http'))
    await life.stop()
    await life.stop()
    assert.deepEqual(log, ['start store', 'start net', 'start http', 'stop http', 'stop net', 'stop store'])
  })

  it('stops what already started when a start fails, and rethrows the start error', async () => {
    const { log, logger, part } = recorder()
    const life = new Lifecycle(logger)
    await life.start(part('store'))
    await assert.rejects(life.start(part('net'), part('http', { failStart: true }), part('never')), /http cannot start/)
    assert.deepEqual(log, ['start store', 'start net', 'stop net', 'stop store'])
  })

  it('stops the other parts when one fails to stop, logs it, and rethrows the first failure', async () => {
    const { log, logger, part } = recorder()
    const life = new Lifecycle(logger)
    await life.start(part('store'), part('net', { failStop: true }), part('http'))
    await assert.rejects(life.stop(), /net cannot stop/)
    assert.deepEqual(log.filter(l => l.startsWith('stop')), ['stop http', 'stop net', 'stop store'])
    assert.deepEqual(logger.errors, ['net: stopping a part failed; stopping the others anyway'])
  })
})
