import type { DocStore } from '../../crdt/doc-store.js'
import type { Replicator } from '../net/replicator.js'
import type { TaskService } from '../services/tasks.js'
import type { EventBus } from '../events/bus.js'
import type { PlanService } from '../services/plans.js'
import type { ProgressService } from '../services/progress.js'

/** What the HTTP routes may use: the node's services, never its internals. */
export interface ApiContext {
  peerId: string
  multiaddrs: () => string[]
  store: DocStore
  replicator: Replicator
  tasks: TaskService
  events: EventBus
  plans: PlanService
  progress: ProgressService
  startedAt: number
}
