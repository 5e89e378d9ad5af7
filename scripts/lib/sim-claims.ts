import { DomainError } from '../../crdt/errors.js'
import type { SimNode } from './sim-node.js'
import { percentile } from './stats.js'
import { waitFor } from './wait.js'

export interface ClaimPhaseReport {
  /** Claims accepted (written) across all rounds. */
  claims: number
  /** Rounds in which at least one claim was accepted (all racers can be refused: not caught up yet). */
  races: number
  confirmed: number
  /** Task attempts with more than one claim ever confirmed (confirmedAt is kept in the document): must be 0. */
  doubleConfirmed: number
  /** From the racers' claims to every one of them settled (confirmed or lost), ms per round. */
  settleP50Ms: number
  settleP99Ms: number
  /** Ack frames (direct, relayed, announcements) sent per node per accepted claim. */
  ackFramesPerNodePerClaim: number
  /** Everything the network delivered during the races (the claims, their acks, confirmations, sync), per node per accepted claim. */
  msgsPerNodePerClaim: number
}

/**
 * Claim safety at scale: `rounds` times, a new task that `racers` agents on random nodes claim at
 * the same moment through their own node (AssignmentService.claim, the settle rule, acks over the
 * overlay). Every claim is watched until it settles; at the end, over every replica's converged
 * document, no task attempt may hold two claims that were ever confirmed.
 */
export async function runClaimPhase (nodes: SimNode[], rounds: number, racers: number, random: () => number, received: () => number): Promise<ClaimPhaseReport> {
  const origin = nodes[0] as SimNode
  const ackFrames = (): number => nodes.reduce((s, n) => { const a = n.replicator.members.acks.stats; return s + a.direct + a.relayFrames + a.broadcasts }, 0)
  for (const n of nodes) await n.services.agents.register({ id: `agent-${n.id}`, role: 'sim' })
  const frames0 = ackFrames()
  const received0 = received()
  const times: number[] = []
  let claims = 0
  let races = 0
  for (let r = 0; r < rounds; r++) {
    const task = `SIM-CLAIM-${r}`
    await origin.services.tasks.create({ id: task, title: 'raced', role: 'sim' })
    const racing = [...nodes].sort(() => random() - 0.5).slice(0, Math.min(racers, nodes.length))
    await waitFor(() => racing.every(n => n.services.projection.get().taskById.has(task) && nodes.every(m => n.services.agents.exists(`agent-${m.id}`))), `every racer to know ${task}`, 60_000, 5)
    const t0 = Date.now()
    const made = await Promise.all(racing.map(async n => await n.services.assignments.claim({ taskId: task, agentId: `agent-${n.id}` }).then(a => ({ n, id: a.id }), (err: unknown) => {
      // Refused (another claim already seen, or not caught up): a normal outcome of a race.
      if (err instanceof DomainError) return null
      throw err
    })))
    const accepted = made.filter((m): m is { n: SimNode, id: string } => m !== null)
    claims += accepted.length
    if (accepted.length > 0) races++
    const stateOf = (m: { n: SimNode, id: string }): string | undefined => m.n.services.projection.get().assignments.get(m.id)?.state
    await waitFor(() => accepted.every(m => stateOf(m) !== 'pending'), `the claims on ${task} to settle`, 60_000, 5)
    times.push(Date.now() - t0)
  }
  const frames = ackFrames() - frames0
  const msgs = received() - received0
  // Every replica converged: count claims ever confirmed per task attempt.
  await waitFor(() => nodes.every(n => n.store.heads().join() === origin.store.heads().join()), 'the replicas to converge after the claims', 60_000, 20)
  let confirmed = 0
  let doubleConfirmed = 0
  for (let r = 0; r < rounds; r++) {
    const perAttempt = new Map<number, number>()
    for (const a of origin.services.projection.get().assignmentsByTask.get(`SIM-CLAIM-${r}`) ?? []) {
      if (a.confirmedAt === null) continue
      confirmed++
      perAttempt.set(a.attempt, (perAttempt.get(a.attempt) ?? 0) + 1)
    }
    for (const c of perAttempt.values()) if (c > 1) doubleConfirmed++
  }
  return {
    claims,
    races,
    confirmed,
    doubleConfirmed,
    settleP50Ms: percentile(times, 50),
    settleP99Ms: percentile(times, 99),
    ackFramesPerNodePerClaim: claims === 0 ? 0 : frames / nodes.length / claims,
    msgsPerNodePerClaim: claims === 0 ? 0 : msgs / nodes.length / claims
  }
}
