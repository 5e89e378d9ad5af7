import { parseBootstrapAddr, readBootstrapFile, BootstrapListError, type BootstrapPeer } from '../bootstrap/peers.js'
import { readSwarmKeyFile, SwarmKeyError, type SwarmKey } from '../bootstrap/swarm-key.js'
import { AllowListError, parseAllowedPeer, readAllowListFile } from '../bootstrap/allow-list.js'
import { ApiTokenError, isLoopbackHost, readApiTokenFile } from './http/auth.js'
import { coordinationProblems, DEFAULT_COORDINATION, type CoordinationSettings, type SettingsProblem } from './coord/settings.js'
import { AgentSpecError, parseAgentSpecs, type AgentSpec } from './agents/spec.js'
import type { WorkInit } from './work.js'
import { BadWebhookUrlError, parseReceivers, type Receiver } from './alerts/receivers.js'
import { readTlsFiles, TlsFilesError, type TlsFiles } from './http/tls.js'
import { START_OPTIONS, type StartField } from './options/start-options.js'
import { ConfigError, fromCli, fromEnv, optionReader, parseOption, readConfigFile, type LOG_LEVELS, type RawOptions } from './options/table.js'

export { ConfigError, LOG_LEVELS } from './options/table.js'
export { DEFAULT_CLUSTER_NAME, DEFAULT_DATA_DIR, DEFAULT_HTTP, DEFAULT_LISTEN, START_OPTIONS, type StartField } from './options/start-options.js'

export interface StartConfig {
  data: string
  listen: string[]
  bootstrap: BootstrapPeer[]
  /** --max-peers: direct connections dialed and kept; undefined: DEFAULT_MAX_PEERS. */
  maxPeers?: number
  http: { host: string, port: number }
  cluster: string
  logLevel: typeof LOG_LEVELS[number]
  fsync: boolean
  /** Private-network key from --swarm-key FILE; null: an open network (anyone may connect). */
  swarmKey: SwarmKey | null
  /** Peer ids allowed to connect (--allow-peer, --allow-peers-file); null: any holder of the key. */
  allowPeers: string[] | null
  /** Bearer token for the HTTP API (--api-token-file); required when --http is not loopback. */
  apiToken: string | null
  /** Require the token for reads too (except GET /health). */
  authReads: boolean
  /** Coordination timing (ms) that was set; the rest keeps DEFAULT_COORDINATION. */
  coordination: Partial<CoordinationSettings>
  /** Agents and git; null when no --repo is given. */
  work: WorkInit | null
  /** --tls-cert/--tls-key: the API and dashboard over HTTPS; null: plain HTTP. */
  tls: TlsFiles | null
  /** Alert receivers (--alert-webhook) and thresholds (node/alerts). */
  alerts: AlertsConfig
}

export interface AlertsConfig {
  receivers: Receiver[]
  /** --queue-stuck in ms, when set. */
  queueStuckMs?: number
}

export type StartRawOptions = RawOptions<typeof START_OPTIONS>
type Get = (f: StartField) => unknown
type LabelOf = (f: StartField) => string
type Ms = (f: StartField) => number | undefined

/**
 * Resolves `fleet start` options: command line over environment over config file over
 * defaults. Every value is validated; the first bad one throws a ConfigError naming it.
 */
export function resolveStartConfig (cli: StartRawOptions, env: NodeJS.ProcessEnv = process.env, configFile?: string): StartConfig {
  const file = configFile ?? env.FLEET_CONFIG
  const merged = { ...(file === undefined ? {} : readConfigFile(file, START_OPTIONS)), ...fromEnv(START_OPTIONS, env), ...fromCli(START_OPTIONS, cli) }
  const { get, labelOf, given, ms } = optionReader(START_OPTIONS, merged)

  const bootstrap: BootstrapPeer[] = []
  const bootLabel = labelOf('bootstrap')
  const bootList = get('bootstrap') as string[]
  for (const [i, b] of bootList.entries()) {
    bootstrap.push(parseOption(bootLabel, Error, () => parseBootstrapAddr(b, bootList.length > 1 ? `entry ${i + 1}` : 'address')))
  }
  const bootFile = get('bootstrapFile') as string | undefined
  if (bootFile !== undefined) bootstrap.push(...parseOption(labelOf('bootstrapFile'), BootstrapListError, () => readBootstrapFile(bootFile)))
  const closed = resolveClosedCluster(get, labelOf, bootstrap)
  return {
    data: get('data') as string,
    listen: get('listen') as string[],
    bootstrap,
    ...(get('maxPeers') === undefined ? {} : { maxPeers: get('maxPeers') as number }),
    http: closed.http,
    cluster: get('cluster') as string,
    logLevel: get('logLevel') as StartConfig['logLevel'],
    fsync: get('fsync') as boolean,
    swarmKey: closed.swarmKey,
    allowPeers: closed.allowPeers,
    apiToken: closed.apiToken,
    authReads: closed.authReads,
    coordination: coordinationOf(get, ms, labelOf, given),
    work: workOf(get, ms, labelOf('agent')),
    alerts: alertsOf(get, labelOf('alertWebhook')),
    tls: tlsOf(get, labelOf)
  }
}

/** The node's certificate and key, read and checked as a pair before anything starts. */
function tlsOf (get: Get, labelOf: LabelOf): TlsFiles | null {
  const cert = get('tlsCert') as string | undefined
  const key = get('tlsKey') as string | undefined
  if (cert === undefined && key === undefined) return null
  if (cert === undefined || key === undefined) throw new ConfigError(labelOf(cert === undefined ? 'tlsKey' : 'tlsCert'), 'HTTPS needs both --tls-cert FILE and --tls-key FILE')
  try {
    return readTlsFiles(cert, key)
  } catch (err) {
    // Which of the two options is to blame is only known from the error.
    if (err instanceof TlsFilesError) throw new ConfigError(labelOf(err.which === 'key' ? 'tlsKey' : 'tlsCert'), err.message)
    throw err
  }
}

/** --alert-webhook URLs (a bad one stops the node: exit 2) and --queue-stuck. */
function alertsOf (get: Get, label: string): AlertsConfig {
  const receivers: Receiver[] = parseOption(label, BadWebhookUrlError, () => parseReceivers(get('alertWebhook') as string[]))
  const stuck = get('queueStuck') as number | undefined
  return { receivers, ...(stuck === undefined ? {} : { queueStuckMs: Math.round(stuck * 1000) }) }
}

/** --repo and the agents that work in it; agents without a repo are a usage error. */
function workOf (get: Get, ms: Ms, agentLabel: string): WorkInit | null {
  const agents: AgentSpec[] = parseOption(agentLabel, AgentSpecError, () => parseAgentSpecs(get('agent') as string[]))
  const repo = get('repo') as string | undefined
  if (repo === undefined) {
    if (agents.length > 0) throw new ConfigError(agentLabel, 'agents need --repo PATH (the git clone they work in)')
    return null
  }
  const remote = get('remote') as string | undefined
  const main = get('main') as string | undefined
  const executorTimeoutMs = ms('executorTimeout')
  const checkTimeoutMs = ms('checkTimeout')
  return {
    repo,
    agents,
    executor: get('executor') as string,
    check: (get('check') as string | undefined) ?? null,
    keepBranches: get('keepBranches') as boolean,
    ...(remote === undefined ? {} : { remote }),
    ...(main === undefined ? {} : { mainBranch: main }),
    ...(executorTimeoutMs === undefined ? {} : { executorTimeoutMs }),
    ...(checkTimeoutMs === undefined ? {} : { checkTimeoutMs })
  }
}

/**
 * Durations are given in seconds (decimals allowed) and kept in ms. Combinations that cannot work
 * (coordinationProblems) are refused, naming the option that was set.
 */
function coordinationOf (get: Get, ms: Ms, labelOf: LabelOf, given: (f: StartField) => boolean): Partial<CoordinationSettings> {
  const out: Partial<CoordinationSettings> = {}
  const lease = ms('lease')
  const term = ms('term')
  const liveness = ms('liveness')
  const retry = ms('retryBackoff')
  const attempts = get('maxAttempts') as number | undefined
  if (lease !== undefined) out.leaseMs = lease
  if (term !== undefined) out.termMs = term
  if (liveness !== undefined) out.livenessMs = liveness
  if (retry !== undefined) out.retryBaseMs = retry
  if (attempts !== undefined) out.maxAttempts = attempts
  // --agent-dead: health_status turns dead then (and stale at half of it), and FleetAgentDead fires.
  const agentDead = ms('agentDead')
  if (agentDead !== undefined) {
    out.heartbeatDeadMs = agentDead
    out.heartbeatStaleMs = Math.round(agentDead / 2)
  }
  const fieldOf: Record<SettingsProblem['setting'], StartField> = { leaseMs: 'lease', livenessMs: 'liveness', termMs: 'term' }
  const problem = coordinationProblems({ ...DEFAULT_COORDINATION, ...out })[0]
  if (problem !== undefined) {
    // term vs liveness: blame whichever of the two was set (the term, if both were).
    const f = problem.setting === 'termMs' && !given('term') && given('liveness') ? 'liveness' : fieldOf[problem.setting]
    throw new ConfigError(labelOf(f), problem.message)
  }
  return out
}

type ClosedClusterConfig = Pick<StartConfig, 'http' | 'swarmKey' | 'allowPeers' | 'apiToken' | 'authReads'>

/**
 * The closed-cluster options: swarm key, peer allow-list, API token. Files are read and checked
 * here, so a bad key or token stops the node before it opens anything. An HTTP address other
 * than loopback without a token is refused: anyone who can reach it could write.
 */
function resolveClosedCluster (get: Get, labelOf: LabelOf, bootstrap: BootstrapPeer[]): ClosedClusterConfig {
  const http = get('http') as { host: string, port: number }

  const keyFile = get('swarmKey') as string | undefined
  const swarmKey: SwarmKey | null = keyFile === undefined ? null : parseOption(labelOf('swarmKey'), SwarmKeyError, () => readSwarmKeyFile(keyFile))

  let allowPeers: string[] | null = null
  const listed = get('allowPeer') as string[]
  const allowFile = get('allowPeersFile') as string | undefined
  const allowed = <T>(field: StartField, read: () => T): T => parseOption(labelOf(field), AllowListError, read)
  const ids = allowed('allowPeer', () => listed.map(p => parseAllowedPeer(p, 'peer id')))
  if (allowFile !== undefined) ids.push(...allowed('allowPeersFile', () => readAllowListFile(allowFile)))
  if (listed.length > 0 || allowFile !== undefined) allowPeers = [...new Set(ids)]
  if (allowPeers !== null) {
    // A bootstrap peer the allow-list refuses can never be joined: surely a mistake.
    const refused = bootstrap.filter(b => !(allowPeers as string[]).includes(b.peerId))
    if (refused.length > 0) throw new ConfigError(labelOf('allowPeer'), `bootstrap peer ${refused[0]?.peerId ?? ''} is not in the allow-list; add it, or drop it from the bootstrap list`)
  }

  const tokenFile = get('apiTokenFile') as string | undefined
  const apiToken: string | null = tokenFile === undefined ? null : parseOption(labelOf('apiTokenFile'), ApiTokenError, () => readApiTokenFile(tokenFile))
  const authReads = get('authReads') as boolean
  if (authReads && apiToken === null) throw new ConfigError(labelOf('authReads'), 'needs --api-token-file FILE (the token readers must present)')
  if (apiToken === null && !isLoopbackHost(http.host)) {
    throw new ConfigError(labelOf('http'), `${http.host}:${http.port} is not a loopback address, so the API needs a token: pass --api-token-file FILE (create one with "fleet key token > FILE")`)
  }
  return { http, swarmKey, allowPeers, apiToken, authReads }
}
