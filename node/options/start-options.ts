import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { DEFAULT_QUEUE_STUCK_MS } from '../../crdt/rules/alerts.js'
import { DEFAULT_COORDINATION } from '../coord/settings.js'
import { DEFAULT_CHECK_TIMEOUT_MS } from '../git/defaults.js'
import { DEFAULT_MAX_PEERS } from '../../bootstrap/peers.js'
import { AGENT_WORK_OPTIONS, API_TOKEN_FILE_OPTION } from './shared.js'
import { booleanOption, LOG_LEVEL_OPTION, secondsOption, type OptionSpec } from './table.js'

export const DEFAULT_DATA_DIR = './.fleet'
export const DEFAULT_LISTEN = '/ip4/0.0.0.0/tcp/4001'
export const DEFAULT_HTTP = '127.0.0.1:3000'
export const DEFAULT_CLUSTER_NAME = 'default'

const hostPort = z.string().transform((s, ctx) => {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(s)
  const port = m === null ? NaN : Number(m[2])
  if (m === null || !(port >= 0 && port <= 65535)) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not HOST:PORT (e.g. 127.0.0.1:3000; port 0 picks a free port)` })
    return z.NEVER
  }
  return { host: (m[1] ?? '').replace(/^\[|\]$/g, ''), port }
})

const multiaddrText = z.string().superRefine((s, ctx) => {
  try {
    multiaddr(s)
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not a multiaddr (e.g. /ip4/0.0.0.0/tcp/4001)` })
  }
})

const seconds = (ms: number): string => String(ms / 1000)

/** Every option of `fleet start`, in --help order. */
export const START_OPTIONS = {
  data: { schema: z.string().min(1, 'must not be empty'), env: 'FLEET_DATA', arg: 'DIR', help: 'data directory', default: DEFAULT_DATA_DIR },
  listen: { schema: multiaddrText, env: 'FLEET_LISTEN', kind: 'list', arg: 'MULTIADDR', help: 'libp2p listen address', default: [DEFAULT_LISTEN] },
  bootstrap: { schema: z.string(), env: 'FLEET_BOOTSTRAP', kind: 'list', arg: 'MULTIADDR', help: 'a peer to join through (with /p2p/<id>)' },
  bootstrapFile: { schema: z.string().min(1), env: 'FLEET_BOOTSTRAP_FILE', arg: 'FILE', help: 'bootstrap peers, one per line' },
  maxPeers: { schema: z.coerce.number({ error: 'must be a whole number' }).int('must be a whole number').min(1, 'at least 1').max(1000), env: 'FLEET_MAX_PEERS', arg: 'N', help: 'direct connections this node dials and keeps, bootstrap peers included (not a full mesh: gossip and sync run over these)', shownDefault: String(DEFAULT_MAX_PEERS) },
  http: { schema: hostPort, env: 'FLEET_HTTP', arg: 'HOST:PORT', help: 'local HTTP API (port 0 picks a free port)', default: DEFAULT_HTTP },
  cluster: { schema: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'use lowercase letters, digits, - and _ (at most 63)'), env: 'FLEET_CLUSTER', arg: 'NAME', help: 'cluster name; namespaces topics', default: DEFAULT_CLUSTER_NAME, shownDefault: `"${DEFAULT_CLUSTER_NAME}"` },
  logLevel: LOG_LEVEL_OPTION,
  fsync: { schema: booleanOption, env: 'FLEET_FSYNC', kind: 'switch', help: 'fsync every write (survives power loss, slower)', default: false },
  swarmKey: { schema: z.string().min(1, 'must name a swarm key file'), env: 'FLEET_SWARM_KEY', arg: 'FILE', help: 'private network: only nodes with this key can connect (create with: fleet key swarm > swarm.key)' },
  allowPeer: { schema: z.string(), env: 'FLEET_ALLOW_PEER', kind: 'list', arg: 'PEER_ID', help: 'only these peers may connect' },
  allowPeersFile: { schema: z.string().min(1), env: 'FLEET_ALLOW_PEERS_FILE', arg: 'FILE', help: 'allowed peer ids, one per line' },
  apiTokenFile: { ...API_TOKEN_FILE_OPTION, help: 'HTTP writes need "Authorization: Bearer <token>"; required when --http is not loopback (create with: fleet key token > api.token)' },
  authReads: { schema: booleanOption, env: 'FLEET_AUTH_READS', kind: 'switch', help: 'require the token for reads too (GET /health stays open; the dashboard asks for the token and keeps a session cookie)', default: false },
  tlsCert: { schema: z.string().min(1, 'must name a PEM certificate file'), env: 'FLEET_TLS_CERT', arg: 'FILE', help: 'serve the API and dashboard over HTTPS with this PEM certificate' },
  tlsKey: { schema: z.string().min(1, 'must name a PEM key file'), env: 'FLEET_TLS_KEY', arg: 'FILE', help: '... and this PEM key' },
  lease: { schema: secondsOption, env: 'FLEET_LEASE', arg: 'SECONDS', help: 'an assignment\'s lease, renewed by its agent\'s heartbeat', shownDefault: seconds(DEFAULT_COORDINATION.leaseMs) },
  maxAttempts: { schema: z.coerce.number({ error: 'must be a whole number' }).int().min(1, 'at least 1').max(100), env: 'FLEET_MAX_ATTEMPTS', arg: 'N', help: 'failed or expired attempts before a task fails', shownDefault: String(DEFAULT_COORDINATION.maxAttempts) },
  retryBackoff: { schema: secondsOption, env: 'FLEET_RETRY_BACKOFF', arg: 'SECONDS', help: 'first backoff after a failed attempt, doubling', shownDefault: seconds(DEFAULT_COORDINATION.retryBaseMs) },
  term: { schema: secondsOption, env: 'FLEET_TERM', arg: 'SECONDS', help: 'the merge leader rotates every term', shownDefault: seconds(DEFAULT_COORDINATION.termMs) },
  liveness: { schema: secondsOption, env: 'FLEET_LIVENESS', arg: 'SECONDS', help: 'a node not heard from this long is no longer live', shownDefault: seconds(DEFAULT_COORDINATION.livenessMs) },
  ...AGENT_WORK_OPTIONS,
  agent: { ...AGENT_WORK_OPTIONS.agent, help: 'run an agent in this node (needs --repo)' },
  repo: { ...AGENT_WORK_OPTIONS.repo, help: 'the node\'s git clone: agents work in worktrees of it, the leader merges with it' },
  check: { schema: z.string().min(1, 'must be a shell command'), env: 'FLEET_CHECK', arg: 'CMD', help: 'run on each merge result before main is pushed (optional)' },
  checkTimeout: { schema: secondsOption, env: 'FLEET_CHECK_TIMEOUT', arg: 'SECONDS', help: 'the check is killed after this long', shownDefault: seconds(DEFAULT_CHECK_TIMEOUT_MS) },
  alertWebhook: { schema: z.string(), env: 'FLEET_ALERT_WEBHOOK', kind: 'list', arg: 'URL', help: 'POST alerts here (Alertmanager webhook format; a URL ending in /api/v2/alerts gets Alertmanager\'s API format)' },
  agentDead: { schema: secondsOption, env: 'FLEET_AGENT_DEAD', arg: 'SECONDS', help: 'an agent silent this long is dead: FleetAgentDead, health "dead"', shownDefault: seconds(DEFAULT_COORDINATION.heartbeatDeadMs) },
  queueStuck: { schema: secondsOption, env: 'FLEET_QUEUE_STUCK', arg: 'SECONDS', help: 'entries waiting and no merge this long: FleetMergeQueueStuck', shownDefault: seconds(DEFAULT_QUEUE_STUCK_MS) },
  keepBranches: { schema: booleanOption, env: 'FLEET_KEEP_BRANCHES', kind: 'switch', help: 'keep fleet/<task> on the remote after its merge (otherwise the leader deletes it; ejected branches are always kept)', default: false }
} as const satisfies Record<string, OptionSpec>

export type StartField = keyof typeof START_OPTIONS
