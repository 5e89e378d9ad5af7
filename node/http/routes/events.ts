import type { FastifyInstance } from 'fastify'
import type { LiveEvent } from '../../events/bus.js'
import type { ApiContext } from '../context.js'

export const SSE_KEEPALIVE_MS = 15_000

function frame (e: LiveEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify({ ...(e.data as object), at: e.at })}\n\n`
}

/**
 * Server-Sent Events. A client that reconnects with Last-Event-ID (header, or ?lastEventId=)
 * gets the events it missed; if they already left the buffer, or on a first connect, it gets a
 * `snapshot` event first, telling it to (re)load state over REST, then live events.
 */
export function eventRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/events', (req, reply) => {
    const q = req.query as Record<string, string | undefined>
    const header = req.headers['last-event-id']
    const lastRaw = (Array.isArray(header) ? header[0] : header) ?? q.lastEventId
    const last = lastRaw === undefined || !/^\d+$/.test(lastRaw) ? null : Number(lastRaw)
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no'
    })
    const missed = last === null ? null : ctx.events.since(last)
    if (missed === null) {
      res.write(`id: ${ctx.events.lastId()}\nevent: snapshot\ndata: ${JSON.stringify({ heads: ctx.store.heads(), lastEventId: ctx.events.lastId(), resumed: false })}\n\n`)
    } else {
      for (const e of missed) res.write(frame(e))
    }
    const onEvent = (e: LiveEvent): void => { res.write(frame(e)) }
    ctx.events.on('event', onEvent)
    const keepalive = setInterval(() => { res.write(': keepalive\n\n') }, SSE_KEEPALIVE_MS)
    req.raw.on('close', () => {
      clearInterval(keepalive)
      ctx.events.off('event', onEvent)
    })
  })
}
