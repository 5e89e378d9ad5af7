import '../node/polyfill.js'
import { runSim, type SimReport } from './lib/sim.js'
import { machineLine } from './lib/stats.js'

/**
 * npm run sim — the simulator (scripts/lib/sim.ts) at SIM_SIZES nodes (default 10,50,200), one
 * table. SIM_IDLE_S sets the idle and load windows (default 10 s), SIM_LOSS the loss of gossip
 * hops (default 0.01), SIM_LATENCY_MS one hop's latency (default 2), SIM_CLAIM_ROUNDS the claim
 * races (default 10, 5 racers each); SIM_ACK_ROUTES=0 sends acks to claimants that are not
 * neighbours as announcements, as before routed acks (a comparison).
 */
const SIZES = (process.env.SIM_SIZES ?? '10,50,200').split(',').map(Number)
const IDLE_MS = Number(process.env.SIM_IDLE_S ?? 10) * 1000

async function main (): Promise<void> {
  const rows: SimReport[] = []
  for (const n of SIZES) {
    const r = await runSim({ nodes: n, idleMs: IDLE_MS, loss: Number(process.env.SIM_LOSS ?? 0.01), latencyMs: Number(process.env.SIM_LATENCY_MS ?? 2), claimRounds: Number(process.env.SIM_CLAIM_ROUNDS ?? 10), routeAcks: process.env.SIM_ACK_ROUTES !== '0' })
    rows.push(r)
    process.stderr.write(`sim: ${JSON.stringify(r)}\n`)
  }
  const pad = (s: string, w: number): string => s.padStart(w)
  process.stdout.write([
    `sim  ${machineLine()}  (in-process nodes, random graph of degree 8, liveness 10 s)`,
    `${pad('nodes', 5)} ${pad('idle msgs/node/s', 17)} ${pad('load msgs/node/s', 17)} ${pad('write spread ms', 16)} ${pad('claims: races, confirmed, twice', 31)} ${pad('settle p50/p99 ms', 18)} ${pad('ack frames/node/claim', 22)} ${pad('msgs/node/claim', 16)} ${pad('dead seen ms', 13)} ${pad('leader moved ms', 16)} ${pad('heal ms', 8)}`,
    ...rows.map(r => `${pad(String(r.nodes), 5)} ${pad(r.idleMsgsPerNodePerS.toFixed(1), 17)} ${pad(r.loadMsgsPerNodePerS.toFixed(1), 17)} ${pad(r.writeSpreadMs.toFixed(0), 16)} ${pad(`${r.claims.claims}: ${r.claims.races}, ${r.claims.confirmed}, ${r.claims.doubleConfirmed}`, 31)} ${pad(`${r.claims.settleP50Ms.toFixed(0)}/${r.claims.settleP99Ms.toFixed(0)}`, 18)} ${pad(r.claims.ackFramesPerNodePerClaim.toFixed(2), 22)} ${pad(r.claims.msgsPerNodePerClaim.toFixed(1), 16)} ${pad(r.deadDetectedMs.toFixed(0), 13)} ${pad(r.leaderReplacedMs.toFixed(0), 16)} ${pad(Number.isFinite(r.healConvergedMs) ? r.healConvergedMs.toFixed(0) : '>60000', 8)}`)
  ].join('\n') + '\n')
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`sim failed: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
