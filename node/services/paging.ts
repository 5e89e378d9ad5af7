import { z } from 'zod'
import { InvalidInputError } from '../../crdt/errors.js'

/**
 * Paging of lists (`?limit=&cursor=`). Without a limit a list is all of it; with one, a page and
 * the cursor of the next. A cursor is the sort key of the last item sent, opaque to clients, so
 * the next page starts right after it by an index lookup, and items added or removed meanwhile do
 * not shift the pages. (The HTTP side, the `x-next-cursor` header, is node/http/paging.ts.)
 */

export const MAX_PAGE_LIMIT = 10_000

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).optional(),
  cursor: z.string().min(1).max(512).regex(/^[A-Za-z0-9_-]+$/, 'not a cursor this node gave out').optional()
})
export type PageQuery = z.infer<typeof PageQuery>

export interface Page<T> {
  items: T[]
  /** Where the next page starts; null on the last page. */
  next: string | null
}

export function encodeCursor (key: ReadonlyArray<string | number>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url')
}

/** The key a cursor holds, checked against the expected shape ('s' string, 'n' number per element). */
export function decodeCursor (cursor: string, shape: string): Array<string | number> {
  let key: unknown
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    key = undefined
  }
  const ok = Array.isArray(key) && key.length === shape.length &&
    key.every((v, i) => shape[i] === 's' ? typeof v === 'string' : typeof v === 'number' && Number.isFinite(v))
  if (!ok) throw new InvalidInputError('invalid query: cursor: not a cursor of this list', [{ path: 'cursor', message: 'not a cursor of this list' }])
  return key as Array<string | number>
}

/** Takes up to `limit` items (all without one); `keyOf` makes the cursor of the last item taken. */
export function takePage<T> (items: Iterable<T>, limit: number | undefined, keyOf: (t: T) => ReadonlyArray<string | number>): Page<T> {
  const out: T[] = []
  for (const t of items) {
    if (limit !== undefined && out.length === limit) return { items: out, next: encodeCursor(keyOf(out[out.length - 1] as T)) }
    out.push(t)
  }
  return { items: out, next: null }
}
