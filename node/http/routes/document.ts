import type { FastifyInstance } from 'fastify'
import type { ApiContext } from '../context.js'

/**
 * What the replica weighs: for operators and benchmarks (document growth, compaction).
 * Saving the document whole costs O(document) (hundreds of ms at 100k tasks, on the loop), so the
 * saved size is kept per heads: repeated requests between changes cost a heads lookup.
 */
export function documentRoutes (app: FastifyInstance, ctx: ApiContext): void {
  let cached: { heads: string, bytes: number } | null = null
  const savedBytes = (heads: string[]): number => {
    const key = heads.join()
    if (cached?.heads !== key) cached = { heads: key, bytes: ctx.store.savedSize() }
    return cached.bytes
  }
  app.get('/api/document', async () => {
    const heads = ctx.store.heads()
    return {
      heads,
      savedBytes: savedBytes(heads),
      storage: ctx.store.storageStats(),
      loaded: ctx.store.loadStats
    }
  })
}
