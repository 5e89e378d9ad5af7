import type { DocStore } from '../../crdt/doc-store.js'
import { ProjectionCache } from '../../crdt/projection.js'
import type { CoordinationSettings } from '../coord/settings.js'
import { AgentService } from './agents.js'
import { AnalyticsService } from './analytics.js'
import { AssignmentService } from './assignments.js'
import { EvidenceService } from './evidence.js'
import { MergeQueueService } from './merge-queue.js'
import { PlanService } from './plans.js'
import { ProgressService } from './progress.js'
import { TaskService } from './tasks.js'

/** The domain services of one node, each over the same store and projection. */
export interface Services {
  projection: ProjectionCache
  tasks: TaskService
  plans: PlanService
  progress: ProgressService
  agents: AgentService
  assignments: AssignmentService
  evidence: EvidenceService
  mergeQueue: MergeQueueService
  analytics: AnalyticsService
}

export interface ServicesInit {
  store: DocStore
  nodeId: string
  settings: CoordinationSettings
  livePeers: () => Array<{ nodeId: string, heads: string[] }>
  /** The clock (epoch ms) the services stamp their writes with; default Date.now. */
  now?: () => number
}

export function createServices (init: ServicesInit): Services {
  const { store, nodeId, settings } = init
  const now = init.now ?? Date.now
  const projection = new ProjectionCache(() => store.doc)
  // The projection follows every change's patches, so reads re-derive only what changed.
  store.on('change', (e) => { projection.notePatches(e.patches) })
  const tasks = new TaskService({ store, projection, now })
  const agents = new AgentService({ store, projection, nodeId, settings, now })
  const mergeQueue = new MergeQueueService({ store, projection, now })
  return {
    projection,
    tasks,
    plans: new PlanService({ store, projection, now }),
    progress: new ProgressService({ store, projection, nodeId, now }),
    agents,
    assignments: new AssignmentService({ store, projection, tasks, agents, nodeId, settings, livePeers: init.livePeers, now, mergeEntriesOf: id => mergeQueue.forAssignment(id), taskMerged: id => mergeQueue.mergedFor(id) !== undefined }),
    evidence: new EvidenceService({ store, projection, now }),
    mergeQueue,
    analytics: new AnalyticsService({ store, projection, agents, mergeQueue })
  }
}
