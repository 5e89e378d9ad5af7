import type { FastifyInstance } from 'fastify'
import type { ApiContext } from '../context.js'

/** What the replica weighs: for operators and benchmarks (document growth, compaction). */
export function documentRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/document', async () => ({
    heads: ctx.store.heads(),
    savedBytes: ctx.store.savedSize(),
    storage: ctx.store.storageStats(),
    loaded: ctx.store.loadStats
  }))
}
