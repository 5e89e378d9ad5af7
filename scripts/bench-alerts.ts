import '../node/polyfill.js'
import { join } from 'node:path'
import pino from 'pino'
import { DocStore } from '../crdt/doc-store.js'
import { LevelChunkStore } from '../crdt/storage/level-chunk-store.js'
import { evaluateAlerts, DEFAULT_ALERT_THRESHOLDS } from '../crdt/rules/alerts.js'
import { writeTaskState } from '../crdt/task-records.js'
import { transitionKey, writeDelivered, writeFiring, writeResolved, alertRecordOf } from '../crdt/alert-records.js'
import { DEFAULT_COORDINATION } from '../node/coord/settings.js'
import { AlertInputs } from '../node/alerts/inputs.js'
import { createServices } from '../node/services/index.js'
import { generatePlan } from './lib/generate-plan.js'
import { removeDir, tempDir } from './lib/node-process.js'
import { machineLine, percentile } from './lib/stats.js'

/**
 * bench:alerts — what alerting costs a node per evaluation, with 1,000 and 10,000 tasks: building
 * the rules' view and evaluating them with nothing changed (the 1 s tick), and after a change of
 * one task (its state written: failed, or back to pending; the view brought up to date from the
 * patches). The cost must not grow with the number of tasks; it grows with the alerts firing.
 */
const SIZES = (process.env.BENCH_TASKS ?? '1000,10000').split(',').map(Number)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 300)
const AGENTS = 7

async function measure (tasks: number): Promise<{ idleUs: number[], changeUs: number[], rebuildMs: number, firing: number }> {
  const dir = tempDir('fleet-bench-alerts-')
  const logger = pino({ level: 'silent' })
  const store = await DocStore.open({ storage: new LevelChunkStore({ path: join(dir, 'db') }), logger })
  try {
    const services = createServices({ store, nodeId: 'bench', settings: DEFAULT_COORDINATION, livePeers: () => [] })
    await services.plans.import(services.plans.parse({ plan: generatePlan(tasks) as never }))
    for (let i = 0; i < AGENTS; i++) await services.agents.register({ id: `agent-${i}`, role: 'backend' })
    const inputs = new AlertInputs({
      store,
      watchSince: Date.now(),
      merger: true,
      peers: () => [],
      livePeers: () => [],
      lastBeat: (id) => services.agents.lastBeat(id),
      heartbeatStaleMs: DEFAULT_COORDINATION.heartbeatStaleMs,
      heartbeatDeadMs: DEFAULT_COORDINATION.heartbeatDeadMs,
      livenessMs: DEFAULT_COORDINATION.livenessMs,
      planStalledMs: DEFAULT_ALERT_THRESHOLDS.planStalledMs,
      workCheck: () => ({ busyAgents: new Set(), rolesWithWork: new Set() })
    })
    store.on('change', (e) => { inputs.notePatches(e.patches) })
    let t = performance.now()
    evaluateAlerts(inputs.view(Date.now()))
    const rebuildMs = performance.now() - t

    const idleUs: number[] = []
    for (let i = 0; i < ROUNDS; i++) {
      t = performance.now()
      evaluateAlerts(inputs.view(Date.now()))
      idleUs.push((performance.now() - t) * 1000)
    }
    const changeUs: number[] = []
    const ids = [...services.tasks.view().tasks.inOrder()].map(x => x.id)
    for (let i = 0; i < ROUNDS; i++) {
      const id = ids[(i * 7919) % ids.length] as string
      // The change itself is not timed: only what alerting adds to it.
      store.changeNow((d) => { writeTaskState(d, id, { status: i % 2 === 0 ? 'failed' : 'pending', reason: 'bench', updatedAt: Date.now() }) })
      t = performance.now()
      evaluateAlerts(inputs.view(Date.now()))
      changeUs.push((performance.now() - t) * 1000)
    }
    return { idleUs, changeUs, rebuildMs, firing: evaluateAlerts(inputs.view(Date.now())).firing.length }
  } finally {
    await store.close()
    removeDir(dir)
  }
}

/** Bytes the saved document grows per alert that fires and resolves, each acknowledged by one receiver. */
async function growthPerAlert (alerts: number): Promise<number> {
  const dir = tempDir('fleet-bench-alerts-')
  const store = await DocStore.open({ storage: new LevelChunkStore({ path: join(dir, 'db') }), logger: pino({ level: 'silent' }) })
  try {
    const before = store.savedSize()
    for (let i = 0; i < alerts; i++) {
      const [a] = evaluateAlerts({ now: 1e12, watchSince: 0, agents: [{ id: `agent-${i}`, role: 'backend', node: '12D3KooWExampleNodeId', lastSeenAt: 0 }], failedTasks: [], ejected: [], queue: { waiting: 0, waitingSince: null, lastProgressAt: null, leaderCandidates: 1, noCandidatesSince: null }, peers: [], plan: { lastClaimAt: 1e12, idleAgentsWithWork: 0 } }).firing
      if (a === undefined) throw new Error('no alert')
      const now = Date.now()
      // Four changes, as a node makes them: fire, ack, resolve, ack.
      await store.change((d) => { writeFiring(d, a, now, '12D3KooWExampleNodeId', ['0123456789ab']) })
      const key = (): string => transitionKey(alertRecordOf((store.doc.alerts ?? {})[a.fingerprint] as NonNullable<typeof store.doc.alerts>[string]))
      await store.change((d) => { writeDelivered(d, a.fingerprint, key(), '0123456789ab') })
      await store.change((d) => { writeResolved(d, a.fingerprint, now + 1, '12D3KooWExampleNodeId', ['0123456789ab']) })
      await store.change((d) => { writeDelivered(d, a.fingerprint, key(), '0123456789ab') })
    }
    return (store.savedSize() - before) / alerts
  } finally {
    await store.close()
    removeDir(dir)
  }
}

async function main (): Promise<void> {
  console.log(`bench:alerts (${machineLine()}), ${AGENTS} agents, ${ROUNDS} rounds`)
  console.log(`document growth: ${(await growthPerAlert(200)).toFixed(0)} bytes saved per alert that fired and resolved (4 changes: fire, ack, resolve, ack; 200 alerts)`)
  for (const n of SIZES) {
    const r = await measure(n)
    const f = (us: number[]): string => `p50 ${percentile(us, 50).toFixed(0)} µs, p99 ${percentile(us, 99).toFixed(0)} µs`
    console.log(`${String(n).padStart(6)} tasks: first view (walks the document once) ${r.rebuildMs.toFixed(1)} ms; tick, nothing changed: ${f(r.idleUs)}; tick after one task changed (a task failed or retried; ${r.firing} FleetTaskFailed firing at the end): ${f(r.changeUs)}`)
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
