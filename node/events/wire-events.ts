import type { DocStore } from '../../crdt/doc-store.js'
import type { Replicator } from '../net/replicator.js'
import type { EventBus } from './bus.js'
import { touchedEntities } from './touched.js'

export interface WireEventsInit {
  store: DocStore
  replicator: Replicator
  events: EventBus
}

/** Turns document changes and peer changes into live events. */
export function wireEvents ({ store, replicator, events }: WireEventsInit): void {
  store.on('change', (c) => {
    for (const t of touchedEntities(c.patches)) events.publish(t.kind, { id: t.id, op: t.op, origin: c.origin })
  })
  replicator.on('peer:connected', (id) => { events.publish('peer', { id, op: 'connected' }) })
  replicator.on('peer:disconnected', (id) => { events.publish('peer', { id, op: 'disconnected' }) })
}
