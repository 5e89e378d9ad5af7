import assert from 'node:assert/strict'
import { FleetNode, type FleetNodeInit } from '../../node/fleet-node.js'
import { silentLogger } from '../../node/logger.js'
import { removeDir, tempDir } from '../../scripts/lib/node-process.js'
import { holdPort } from '../helpers/ports.js'

/** The node in this process: its parts start in order and stop in reverse, leaving nothing behind. */
describe('FleetNode lifecycle (in process)', function () {
  this.timeout(60_000)
  const dirs: string[] = []
  after(async () => { for (const d of dirs) removeDir(d) })

  const init = (dataDir: string, port = 0): FleetNodeInit => ({
    dataDir, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], http: { host: '127.0.0.1', port }, cluster: 'default', logger: silentLogger()
  })

  it('removes the listeners it added when it stops, and its data dir opens again', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const node = await FleetNode.start(init(dir))
    const events = ['announce', 'peer:connected', 'peer:disconnected', 'peer:heads', 'rejected'] as const
    assert.ok(events.some(e => node.replicator.listenerCount(e) > 0), 'the running node listens to its replicator')
    await node.stop()
    for (const e of events) assert.equal(node.replicator.listenerCount(e), 0, `a '${e}' listener is left after stop`)
    // The store was closed (LevelDB lock released): the same data dir starts again.
    const again = await FleetNode.start(init(dir))
    assert.equal(again.peerId, node.peerId)
    await again.stop()
  })

  it('stops what it started when a later part fails to start (the HTTP port is taken)', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const held = await holdPort()
    try {
      await assert.rejects(FleetNode.start(init(dir, held.port)), /port|in use|EADDRINUSE/i)
    } finally {
      await held.release()
    }
    // Had the store stayed open, LevelDB would refuse the second open of the same directory.
    const node = await FleetNode.start(init(dir))
    await node.stop()
  })
})
