import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { DocStore } from '../../../crdt/doc-store.js'
import { MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'
import { DEFAULT_COORDINATION } from '../../../node/coord/settings.js'
import type { ApiContext } from '../../../node/http/context.js'
import { NEXT_CURSOR_HEADER } from '../../../node/http/paging.js'
import { taskRoutes } from '../../../node/http/routes/tasks.js'
import { createHttpServer } from '../../../node/http/server.js'
import { silentLogger } from '../../../node/logger.js'
import { createServices, type Services } from '../../../node/services/index.js'

/** `?limit=&cursor=` on the task lists, through the real routes (in process, no sockets). */
describe('HTTP paging of task lists (?limit=&cursor=)', () => {
  let store: DocStore
  let services: Services
  let app: FastifyInstance

  before(async () => {
    store = await DocStore.open({ storage: new MemoryChunkStore(), logger: silentLogger() })
    services = createServices({ store, nodeId: 'node-1', settings: DEFAULT_COORDINATION, livePeers: () => [] })
    app = createHttpServer({ logger: silentLogger() }, services as unknown as ApiContext, [taskRoutes])
    const plan = {
      id: 'paging', title: 'Paging', epics: [{ id: 'E1', title: 'One' }],
      tasks: Array.from({ length: 25 }, (_, i) => ({ id: `T${i}`, epic: 'E1', title: `Task ${i}`, estimatedHours: 1, priority: i % 3, role: i % 2 === 0 ? 'backend' : undefined, dependsOn: i >= 20 ? ['T0'] : [] }))
    }
    await services.plans.import(services.plans.parse({ plan }))
  })
  after(async () => {
    await app.close()
    await store.close()
  })

  async function pages (path: string, limit: number): Promise<{ ids: string[], pages: number }> {
    const ids: string[] = []
    let cursor: string | undefined
    let n = 0
    for (;;) {
      const sep = path.includes('?') ? '&' : '?'
      const res = await app.inject({ method: 'GET', url: `${path}${sep}limit=${limit}${cursor === undefined ? '' : `&cursor=${cursor}`}` })
      assert.equal(res.statusCode, 200, res.body)
      const body = res.json<Array<{ id: string }>>()
      assert.ok(body.length <= limit)
      ids.push(...body.map(t => t.id))
      n++
      const next = res.headers[NEXT_CURSOR_HEADER]
      if (next === undefined) return { ids, pages: n }
      cursor = String(next)
    }
  }

  it('pages through /api/tasks and /api/tasks/available to exactly the unpaged answer', async () => {
    for (const path of ['/api/tasks', '/api/tasks?status=pending', '/api/tasks/available', '/api/tasks/available?role=backend']) {
      const all = (await app.inject({ method: 'GET', url: path })).json<Array<{ id: string }>>().map(t => t.id)
      assert.ok(all.length > 0, `${path} lists something`)
      for (const limit of [1, 4, 7, 100]) {
        const got = await pages(path, limit)
        assert.deepEqual(got.ids, all, `${path} in pages of ${limit}`)
        assert.equal(got.pages, Math.max(1, Math.ceil(all.length / limit)), `${path}: no empty last page`)
      }
    }
  })

  it('a page resumes right after the last task sent, whatever changed before it', async () => {
    const first = await app.inject({ method: 'GET', url: '/api/tasks?limit=10' })
    const cursor = String(first.headers[NEXT_CURSOR_HEADER])
    await services.tasks.update('T3', { status: 'cancelled' })
    const second = await app.inject({ method: 'GET', url: `/api/tasks?limit=5&cursor=${cursor}` })
    assert.deepEqual(second.json<Array<{ id: string }>>().map(t => t.id), ['T10', 'T11', 'T12', 'T13', 'T14'])
  })

  it('answers 400 with details for a bad limit or a cursor it did not give out', async () => {
    for (const q of ['limit=0', 'limit=abc', 'limit=100001', 'cursor=%24%24', `cursor=${Buffer.from('["x"]').toString('base64url')}`]) {
      const res = await app.inject({ method: 'GET', url: `/api/tasks?${q}` })
      assert.equal(res.statusCode, 400, q)
      const body = res.json<{ error: string, details: Array<{ path: string }> }>()
      assert.ok(body.details.some(d => d.path === 'limit' || d.path === 'cursor'), `${q}: ${res.body}`)
    }
  })
})
