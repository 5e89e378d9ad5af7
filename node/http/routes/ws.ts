import type { FastifyInstance } from 'fastify'
import websocket from '@fastify/websocket'
import type { WebSocket } from 'ws'
import type { LiveEvent } from '../../events/bus.js'
import type { ApiContext } from '../context.js'

/** Clients only listen; anything they send is ignored, so no frame needs to be large. */
export const WS_MAX_PAYLOAD_BYTES = 4096
/** A client that stops reading is dropped once this much is queued for it (it can resume). */
export const DEFAULT_WS_MAX_BUFFERED_BYTES = 4 * 1024 * 1024
/** Ping period; a client that has not answered the previous ping by the next one is dropped. */
export const DEFAULT_WS_PING_MS = 30_000
/** Close code for "too slow, reconnect with lastEventId" (RFC 6455 1013: try again later). */
export const WS_CLOSE_SLOW_CONSUMER = 1013

/** What a client receives: a snapshot marker first (unless resuming), then one message per event. */
export type WsMessage =
  | { type: 'snapshot', id: number, data: { heads: string[], lastEventId: number, resumed: false } }
  | LiveEvent

export interface WsRoutesInit {
  maxBufferedBytes?: number
  pingMs?: number
}

function lastEventIdOf (query: unknown): number | null {
  const raw = (query as Record<string, unknown> | undefined)?.lastEventId
  return typeof raw === 'string' && /^\d{1,15}$/.test(raw) ? Number(raw) : null
}

/**
 * `GET /ws`: the live event stream of GET /api/events over a WebSocket, for clients that prefer
 * one (browsers behind proxies that buffer SSE, tools with a WebSocket client at hand). Same
 * events, same ids: `?lastEventId=N` resumes after N; a fresh connect, or an N that left the
 * buffer or belongs to an earlier run of the node, gets a `snapshot` message first (reload over
 * REST), then live events. Built on @fastify/websocket so upgrades go through Fastify's routing
 * and hooks, and open sockets are closed when the server closes.
 */
export function wsRoutes (init: WsRoutesInit = {}): (app: FastifyInstance, ctx: ApiContext) => void {
  const maxBuffered = init.maxBufferedBytes ?? DEFAULT_WS_MAX_BUFFERED_BYTES
  const pingMs = init.pingMs ?? DEFAULT_WS_PING_MS
  return (app, ctx) => {
    // The plugin goes on the root: its hooks must see every upgrade request, so that one to a path
    // without a WebSocket route is answered and its socket closed (not left half-open, which
    // would also keep the server from closing). The route is declared once the plugin loaded.
    void app.register(websocket, { options: { maxPayload: WS_MAX_PAYLOAD_BYTES } })
    void app.register(async (scope) => {
      scope.route({
        method: 'GET',
        url: '/ws',
        handler: async (_req, reply) => await reply.status(426).header('upgrade', 'websocket').send({ error: 'GET /ws needs a WebSocket upgrade (plain HTTP clients: GET /api/events)', details: null }),
        wsHandler: (socket, req) => { serve(socket, lastEventIdOf(req.query)) }
      })
    })

    function serve (socket: WebSocket, last: number | null): void {
      const send = (m: WsMessage): void => {
        if (socket.readyState !== socket.OPEN) return
        if (socket.bufferedAmount > maxBuffered) {
          socket.close(WS_CLOSE_SLOW_CONSUMER, 'too slow: reconnect with lastEventId')
          return
        }
        socket.send(JSON.stringify(m))
      }
      // An id above ours comes from before a restart: those ids mean nothing now.
      const missed = last === null || last > ctx.events.lastId() ? null : ctx.events.since(last)
      if (missed === null) {
        send({ type: 'snapshot', id: ctx.events.lastId(), data: { heads: ctx.store.heads(), lastEventId: ctx.events.lastId(), resumed: false } })
      } else {
        for (const e of missed) send(e)
      }
      const onEvent = (e: LiveEvent): void => { send(e) }
      ctx.events.on('event', onEvent)

      let alive = true
      socket.on('pong', () => { alive = true })
      const ping = setInterval(() => {
        if (!alive) {
          socket.terminate()
          return
        }
        alive = false
        socket.ping()
      }, pingMs)
      ping.unref()
      socket.on('close', () => {
        clearInterval(ping)
        ctx.events.off('event', onEvent)
      })
    }
  }
}
