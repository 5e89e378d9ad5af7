import type { DocChangeEvent, DocStore } from '../../crdt/doc-store.js'
import type { Replicator } from '../net/replicator.js'
import type { EventBus } from './bus.js'
import { touchedEntities } from './touched.js'

export interface WireEventsInit {
  store: DocStore
  replicator: Replicator
  events: EventBus
}

/** Turns document changes and peer changes into live events; returns the function that unwires them. */
export function wireEvents ({ store, replicator, events }: WireEventsInit): () => void {
  const onChange = (c: DocChangeEvent): void => {
    for (const t of touchedEntities(c.patches)) events.publish(t.kind, { id: t.id, op: t.op, origin: c.origin })
  }
  const onConnected = (id: string): void => { events.publish('peer', { id, op: 'connected' }) }
  const onDisconnected = (id: string): void => { events.publish('peer', { id, op: 'disconnected' }) }
  store.on('change', onChange)
  replicator.on('peer:connected', onConnected)
  replicator.on('peer:disconnected', onDisconnected)
  return () => {
    store.off('change', onChange)
    replicator.off('peer:connected', onConnected)
    replicator.off('peer:disconnected', onDisconnected)
  }
}
