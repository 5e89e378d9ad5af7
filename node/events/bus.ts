import { EventEmitter } from 'node:events'

export const DEFAULT_EVENT_BUFFER = 2000

/** One live event: id increases by one per event on this node, for Last-Event-ID resume. */
export interface LiveEvent {
  id: number
  type: string
  at: number
  data: unknown
}

export interface EventBusInit {
  /** How many recent events a reconnecting client can resume from (default DEFAULT_EVENT_BUFFER). */
  bufferSize?: number
}

interface BusEvents {
  event: [LiveEvent]
}

/**
 * This node's stream of things that happened (locally or replicated in), kept in a ring buffer
 * so a client that reconnects with Last-Event-ID gets exactly what it missed, or is told to
 * take a fresh snapshot when the gap is older than the buffer.
 */
export class EventBus extends EventEmitter<BusEvents> {
  private readonly buffer: LiveEvent[] = []
  private readonly bufferSize: number
  private nextId = 1

  constructor (init: EventBusInit = {}) {
    super()
    this.bufferSize = init.bufferSize ?? DEFAULT_EVENT_BUFFER
    // SSE and WebSocket clients each listen; many dashboards open at once are normal.
    this.setMaxListeners(0)
  }

  publish (type: string, data: unknown): LiveEvent {
    const e: LiveEvent = { id: this.nextId++, type, at: Date.now(), data }
    this.buffer.push(e)
    if (this.buffer.length > this.bufferSize) this.buffer.shift()
    this.emit('event', e)
    return e
  }

  lastId (): number {
    return this.nextId - 1
  }

  /** Events after `id`, or null when some of them already left the buffer (take a snapshot). */
  since (id: number): LiveEvent[] | null {
    // An id from the future was given by a previous run of this node (ids restart at 1): snapshot.
    if (id > this.lastId()) return null
    if (id === this.lastId()) return []
    const first = this.buffer[0]
    if (first === undefined || first.id > id + 1) return null
    return this.buffer.slice(id + 1 - first.id)
  }
}
