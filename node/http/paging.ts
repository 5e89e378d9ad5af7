import type { FastifyReply } from 'fastify'
import type { Page } from '../services/paging.js'

/**
 * `?limit=&cursor=` for list endpoints (node/services/paging.ts): a page answers as the same JSON
 * array as the whole list, and the `x-next-cursor` response header says where the next one starts.
 */
export const NEXT_CURSOR_HEADER = 'x-next-cursor'

/** A page's items as the body (the same shape as an unpaged list), the next cursor as a header. */
export function paged<T> (reply: FastifyReply, page: Page<T>): T[] {
  if (page.next !== null) void reply.header(NEXT_CURSOR_HEADER, page.next)
  return page.items
}
