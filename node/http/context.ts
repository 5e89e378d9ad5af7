import type { DocStore } from '../../crdt/doc-store.js'
import type { Replicator } from '../net/replicator.js'
import type { EventBus } from '../events/bus.js'
import type { Services } from '../services/index.js'
import type { LeaderService } from '../coord/leader.js'
import type { DialTargetStatus } from '../../bootstrap/dialer.js'
import type { CoordinationSettings } from '../coord/settings.js'

/** What the HTTP routes may use: the node's services, never its internals. */
export interface ApiContext extends Services {
  peerId: string
  multiaddrs: () => string[]
  store: DocStore
  replicator: Replicator
  events: EventBus
  leader: LeaderService
  /** The dialer's view of each peer it keeps a connection to (bootstrap and learned). */
  dialStatus: () => DialTargetStatus[]
  startedAt: number
  /** The cluster timing this node runs with (agents outside nodes read the lease from /health). */
  settings: CoordinationSettings
}
