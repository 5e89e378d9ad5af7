import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { api, getJson } from '../helpers/http.js'
import { tmpfsOrSkip } from '../helpers/tmpfs.js'
import type { Tmpfs } from '../../scripts/lib/tmpfs.js'
import { killAll, killNode, startNode } from '../../scripts/lib/node-process.js'
import { waitFor } from '../../scripts/lib/wait.js'

interface Health { status: string, problems: Array<{ code: string, message: string, since: number }> }

describe('the disk fills up while a node runs', function () {
  this.timeout(180_000)
  let fs: Tmpfs | null = null
  afterEach(async () => {
    await killAll()
    fs?.unmount()
    fs = null
  })

  it('answers writes with 503 while full, stays up and degraded, recovers by itself, and loses nothing acknowledged', async function () {
    fs = tmpfsOrSkip(this, 2048)
    const filler = join(fs.dir, 'filler')
    const dataDir = join(fs.dir, 'node')
    const n = await startNode({ dataDir })
    const acked: string[] = []
    const write = async (id: string): Promise<{ status: number, body: { error?: string, details?: { code?: string, kind?: string } } }> => {
      const r = await api(n.url, 'POST', '/api/tasks', { id, title: `task ${id} ${'x'.repeat(200)}` })
      if (r.status === 201) acked.push(id)
      return r
    }
    for (let i = 0; i < 20; i++) assert.equal((await write(`BEFORE-${i}`)).status, 201)

    // Fill every free block, then write until the disk says no (LevelDB's log may still have
    // room in its last page for a few writes).
    spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { stdio: 'ignore' })
    let refused: Awaited<ReturnType<typeof write>> | null = null
    for (let i = 0; i < 500 && refused === null; i++) {
      const r = await write(`FULL-${i}`)
      if (r.status !== 201) refused = r
    }
    assert.ok(refused !== null, 'a write was refused once the disk was full')
    assert.equal(refused.status, 503, JSON.stringify(refused.body))
    assert.equal(refused.body.details?.code, 'STORAGE_UNAVAILABLE')
    assert.equal(refused.body.details?.kind, 'disk-full')
    assert.match(refused.body.error ?? '', /cannot be written to disk \(disk full: .*No space left on device\)/)

    const h = await getJson<Health>(n.url, '/health')
    assert.equal(h.status, 'degraded')
    assert.equal(h.problems[0]?.code, 'STORAGE_UNAVAILABLE')
    assert.match(h.problems[0]?.message ?? '', /disk full/)
    // Still full: still refused, at once; reads keep working.
    for (let i = 0; i < 5; i++) assert.equal((await write(`WHILE-FULL-${i}`)).status, 503)
    const listed = new Set((await getJson<Array<{ id: string }>>(n.url, '/api/tasks')).map(t => t.id))
    assert.deepEqual(acked.filter(id => !listed.has(id)), [], 'every acknowledged task is listed while full')

    // Space returns: the node notices by itself (no restart, no write needed).
    rmSync(filler)
    const freedAt = Date.now()
    await waitFor(async () => (await getJson<Health>(n.url, '/health')).status === 'healthy', 'the node to be healthy again after space was freed', 30_000)
    const recoveryMs = Date.now() - freedAt
    for (let i = 0; i < 10; i++) assert.equal((await write(`AFTER-${i}`)).status, 201)

    // Nothing acknowledged is lost: a crash now, and a restart from the same data dir, has it all.
    await killNode(n)
    const again = await startNode({ dataDir })
    const after = new Set((await getJson<Array<{ id: string }>>(again.url, '/api/tasks')).map(t => t.id))
    assert.deepEqual(acked.filter(id => !after.has(id)), [], 'acknowledged tasks missing after the restart')
    process.stderr.write(`      (${acked.length} writes acknowledged, refused with 503 while full, healthy ${recoveryMs} ms after space was freed, all there after kill -9 and restart)\n`)
  })
})
