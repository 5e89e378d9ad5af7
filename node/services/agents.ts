import { z } from 'zod'
import type { DocStore } from '../../crdt/doc-store.js'
import { own } from '../../crdt/collections.js'
import { heldBy, type ProjectionCache } from '../../crdt/projection.js'
import { heartbeatHealth, type HeartbeatHealth } from '../../crdt/rules/leases.js'
import { registerAgent, revokeAgentTokens } from '../../crdt/mutations/agents.js'
import { read, readOpt } from '../../crdt/schema.js'
import type { AgentBeat, AnnounceFrame } from '../../crdt/wire.js'
import { IdSchema, RoleSchema } from '../../plan/schema.js'
import type { CoordinationSettings } from '../coord/settings.js'
import { AgentReplacedError, AgentRunningError, NotFoundError } from '../../crdt/errors.js'

/** A `fleet agent` process's id: random, so two processes never share one by accident. */
export const AgentInstance = z.string().min(8).max(128).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" and "-"')

export const RegisterAgentInput = z.object({
  id: IdSchema,
  name: z.string().trim().min(1).max(200).optional(),
  role: RoleSchema,
  capabilities: z.array(z.string().min(1).max(64)).max(64).optional(),
  /** The `fleet agent` process registering it (see AgentService.register). */
  instance: AgentInstance.optional()
}).strict()
export type RegisterAgentInput = z.infer<typeof RegisterAgentInput>

export const HeartbeatInput = z.object({
  assignmentId: z.string().min(1).max(128).nullable().optional(),
  status: z.string().max(64).optional(),
  /** The `fleet agent` process sending it: refused (409 agent-replaced) once another one took over. */
  instance: AgentInstance.optional()
}).strict()
export type HeartbeatInput = z.infer<typeof HeartbeatInput>

export interface AgentView {
  id: string
  name: string
  role: string
  capabilities: string[]
  nodeId: string
  registeredAt: number
  lastHeartbeatAt: number | null
  health_status: HeartbeatHealth
  currentAssignment: string | null
  currentTask: string | null
}

interface Beat { at: number, assignment: string | null, status: string }

export interface AgentServiceInit {
  store: DocStore
  projection: ProjectionCache
  nodeId: string
  settings: CoordinationSettings
  /** The clock (epoch ms) writes are stamped with; default Date.now. */
  now?: () => number
}

/**
 * Agents: registration is in the document (it is cluster state); heartbeats are not. They live in
 * memory and travel in each node's presence announcements, so a week of heartbeats adds nothing
 * to the document's history.
 */
export class AgentService {
  private readonly local = new Map<string, Beat>()
  private readonly seen = new Map<string, Beat>()

  private readonly now: () => number

  constructor (private readonly init: AgentServiceInit) {
    this.now = init.now ?? Date.now
  }

  /**
   * Registers (or re-registers) an agent. One process runs an agent at a time: while the agent
   * heartbeats (anywhere in the cluster), a registration from another process (another
   * `instance`, or a node's built-in agent vs a `fleet agent`) is refused with 409; once it has
   * been silent for heartbeatStaleMs, the newcomer takes over and the old process's heartbeats
   * are refused from then on (it is fenced).
   */
  async register (input: RegisterAgentInput): Promise<AgentView> {
    const now = this.now()
    this.checkTakeover(input.id, input.instance ?? null, now)
    const registration = { ...input, nodeId: this.init.nodeId }
    await this.init.store.change((d) => { registerAgent(d, registration, now) }, `register agent ${input.id}`)
    this.beat(input.id, {})
    return this.get(input.id)
  }

  private checkTakeover (id: string, instance: string | null, now: number): void {
    const have = own(this.init.store.doc.agents, id)
    if (have === undefined) return
    const running = readOpt(have.instance) ?? null
    if (running === instance) return
    const last = this.lastBeat(id)
    if (last === null || now - last >= this.init.settings.heartbeatStaleMs) return
    const where = running === null ? `inside node ${read(have.nodeId)}` : 'in another fleet agent process'
    throw new AgentRunningError(`agent ${id} is already running ${where} (last heartbeat ${Math.max(0, Math.round((now - last) / 1000))} s ago); stop it first, or wait until it has been silent for ${Math.round(this.init.settings.heartbeatStaleMs / 1000)} s`, id)
  }

  /**
   * Revokes every agent token of `id` issued until now (the document holds the cut-off, so every
   * node refuses them once the change arrives). Returns the cut-off.
   */
  async revokeTokens (id: string): Promise<{ agentId: string, tokensRevokedBefore: number }> {
    if (!this.exists(id)) throw new NotFoundError(`agent ${id} is not registered`, { agentId: id })
    const now = this.now()
    const cutoff = await this.init.store.change((d) => revokeAgentTokens(d, id, now), `revoke tokens of agent ${id}`)
    return { agentId: id, tokensRevokedBefore: cutoff ?? now }
  }

  /** Whether an agent token of `id` issued at `issuedAt` is revoked. */
  tokenRevoked (id: string, issuedAt: number): boolean {
    const before = own(this.init.store.doc.agents, id)?.tokensRevokedBefore
    return before !== undefined && before !== null && issuedAt <= before
  }

  exists (id: string): boolean {
    return own(this.init.store.doc.agents, id) !== undefined
  }

  /** A heartbeat from an agent on this node: memory only. */
  beat (id: string, input: HeartbeatInput): AgentView {
    const have = own(this.init.store.doc.agents, id)
    if (have === undefined) throw new NotFoundError(`agent ${id} is not registered`, { agentId: id })
    if (input.instance !== undefined && readOpt(have.instance) !== input.instance) {
      throw new AgentReplacedError(`agent ${id} is now run by another process; this one must stop`, id)
    }
    const prev = this.local.get(id)
    const b: Beat = { at: Date.now(), assignment: input.assignmentId ?? prev?.assignment ?? null, status: input.status ?? prev?.status ?? 'alive' }
    this.local.set(id, b)
    this.seen.set(id, b)
    return this.get(id)
  }

  /** Beats of this node's agents, for the presence announcement. */
  localBeats (now = Date.now()): AgentBeat[] {
    const out: AgentBeat[] = []
    for (const [id, b] of this.local) {
      if (now - b.at > this.init.settings.heartbeatDeadMs) continue
      out.push({ id, at: b.at, assignment: b.assignment, status: b.status })
    }
    return out
  }

  /**
   * Beats another node announced. Ages are taken relative to the sender's clock (frame.at), so
   * clock skew between VMs does not make agents look dead or alive.
   */
  recordAnnounce (frame: AnnounceFrame, receivedAt = Date.now()): void {
    for (const b of frame.beats) {
      const at = receivedAt - Math.max(0, frame.at - b.at)
      const prev = this.seen.get(b.id)
      if (prev === undefined || prev.at < at) this.seen.set(b.id, { at, assignment: b.assignment, status: b.status })
    }
  }

  lastBeat (id: string): number | null {
    return this.seen.get(id)?.at ?? null
  }

  list (now = Date.now()): AgentView[] {
    return Object.keys(this.init.store.doc.agents).sort().map(id => this.view(id, now))
  }

  get (id: string): AgentView {
    if (!this.exists(id)) throw new NotFoundError(`agent ${id} is not registered`, { agentId: id })
    return this.view(id, Date.now())
  }

  private view (id: string, now: number): AgentView {
    const a = own(this.init.store.doc.agents, id)
    if (a === undefined) throw new NotFoundError(`agent ${id} is not registered`)
    const last = this.lastBeat(id)
    const current = heldBy(this.init.projection.get(), id)
    return {
      id,
      name: read(a.name),
      role: read(a.role),
      capabilities: a.capabilities.map(read),
      nodeId: read(a.nodeId),
      registeredAt: a.registeredAt,
      lastHeartbeatAt: last,
      // Registering is a sign of life too: until this node hears a heartbeat, that is the last one.
      health_status: heartbeatHealth(last ?? a.registeredAt, now, { staleMs: this.init.settings.heartbeatStaleMs, deadMs: this.init.settings.heartbeatDeadMs }),
      currentAssignment: current?.id ?? null,
      currentTask: current?.taskId ?? null
    }
  }
}
