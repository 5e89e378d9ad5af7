import { readFileSync } from 'node:fs'
import { multiaddr } from '@multiformats/multiaddr'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { parseBootstrapAddr, readBootstrapFile, BootstrapListError, type BootstrapPeer } from '../bootstrap/peers.js'
import { readSwarmKeyFile, SwarmKeyError, type SwarmKey } from '../bootstrap/swarm-key.js'
import { AllowListError, parseAllowedPeer, readAllowListFile } from '../bootstrap/allow-list.js'
import { ApiTokenError, isLoopbackHost, readApiTokenFile } from './http/auth.js'
import { coordinationProblems, DEFAULT_COORDINATION, type CoordinationSettings, type SettingsProblem } from './coord/settings.js'
import { AgentSpecError, parseAgentSpecs, type AgentSpec } from './agents/spec.js'
import type { WorkInit } from './work.js'
import { BadWebhookUrlError, parseReceivers, type Receiver } from './alerts/receivers.js'
import { readTlsFiles, TlsFilesError, type TlsFiles } from './http/tls.js'

export const DEFAULT_DATA_DIR = './.fleet'
export const DEFAULT_LISTEN = '/ip4/0.0.0.0/tcp/4001'
export const DEFAULT_HTTP = '127.0.0.1:3000'
export const DEFAULT_CLUSTER_NAME = 'default'
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** A bad option: `option` is how the user spelled it (--http, FLEET_HTTP, http in FILE). */
export class ConfigError extends Error {
  override name = 'ConfigError'
  constructor (readonly option: string, readonly reason: string) {
    super(`invalid ${option}: ${reason}`)
  }
}

const hostPort = z.string().transform((s, ctx) => {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(s)
  const port = m === null ? NaN : Number(m[2])
  if (m === null || !(port >= 0 && port <= 65535)) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not HOST:PORT (e.g. 127.0.0.1:3000; port 0 picks a free port)` })
    return z.NEVER
  }
  return { host: (m[1] ?? '').replace(/^\[|\]$/g, ''), port }
})

const seconds = z.coerce.number().positive('must be a positive number of seconds').max(7 * 24 * 3600)

const multiaddrText = z.string().superRefine((s, ctx) => {
  try {
    multiaddr(s)
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not a multiaddr (e.g. /ip4/0.0.0.0/tcp/4001)` })
  }
})

/** Each option: its schema for one raw value, and whether it repeats. */
const fields = {
  data: { schema: z.string().min(1, 'must not be empty'), repeat: false },
  listen: { schema: multiaddrText, repeat: true },
  bootstrap: { schema: z.string(), repeat: true },
  bootstrapFile: { schema: z.string().min(1), repeat: false },
  http: { schema: hostPort, repeat: false },
  cluster: { schema: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'use lowercase letters, digits, - and _ (at most 63)'), repeat: false },
  logLevel: { schema: z.enum(LOG_LEVELS), repeat: false },
  fsync: { schema: z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform(v => v === 'true' || v === '1')]), repeat: false },
  swarmKey: { schema: z.string().min(1, 'must name a swarm key file'), repeat: false },
  allowPeer: { schema: z.string(), repeat: true },
  allowPeersFile: { schema: z.string().min(1), repeat: false },
  apiTokenFile: { schema: z.string().min(1, 'must name a token file'), repeat: false },
  authReads: { schema: z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform(v => v === 'true' || v === '1')]), repeat: false },
  lease: { schema: seconds, repeat: false },
  term: { schema: seconds, repeat: false },
  liveness: { schema: seconds, repeat: false },
  retryBackoff: { schema: seconds, repeat: false },
  maxAttempts: { schema: z.coerce.number().int().min(1, 'at least 1').max(100), repeat: false },
  agent: { schema: z.string().min(1), repeat: true },
  repo: { schema: z.string().min(1, 'must name a git clone'), repeat: false },
  remote: { schema: z.string().regex(/^[A-Za-z0-9._-]+$/, 'a git remote name like origin'), repeat: false },
  main: { schema: z.string().regex(/^[A-Za-z0-9._\/-]+$/, 'a branch name like main'), repeat: false },
  executor: { schema: z.string().min(1, 'must be a shell command or "demo"'), repeat: false },
  executorTimeout: { schema: seconds, repeat: false },
  check: { schema: z.string().min(1, 'must be a shell command'), repeat: false },
  checkTimeout: { schema: seconds, repeat: false },
  agentDead: { schema: seconds, repeat: false },
  queueStuck: { schema: seconds, repeat: false },
  alertWebhook: { schema: z.string(), repeat: true },
  keepBranches: { schema: z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform(v => v === 'true' || v === '1')]), repeat: false },
  tlsCert: { schema: z.string().min(1, 'must name a PEM certificate file'), repeat: false },
  tlsKey: { schema: z.string().min(1, 'must name a PEM key file'), repeat: false }
} as const

export type StartField = keyof typeof fields

export interface StartConfig {
  data: string
  listen: string[]
  bootstrap: BootstrapPeer[]
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

/** How each field is spelled on the command line and in the environment. */
const flagOf: Record<StartField, string> = {
  data: '--data', listen: '--listen', bootstrap: '--bootstrap', bootstrapFile: '--bootstrap-file', http: '--http', cluster: '--cluster', logLevel: '--log-level', fsync: '--fsync',
  swarmKey: '--swarm-key', allowPeer: '--allow-peer', allowPeersFile: '--allow-peers-file', apiTokenFile: '--api-token-file', authReads: '--auth-reads',
  lease: '--lease', term: '--term', liveness: '--liveness', retryBackoff: '--retry-backoff', maxAttempts: '--max-attempts',
  agent: '--agent', repo: '--repo', remote: '--remote', main: '--main', executor: '--executor', executorTimeout: '--executor-timeout', check: '--check', checkTimeout: '--check-timeout',
  agentDead: '--agent-dead', queueStuck: '--queue-stuck', alertWebhook: '--alert-webhook',
  keepBranches: '--keep-branches', tlsCert: '--tls-cert', tlsKey: '--tls-key'
}
const envOf: Record<StartField, string> = {
  data: 'FLEET_DATA', listen: 'FLEET_LISTEN', bootstrap: 'FLEET_BOOTSTRAP', bootstrapFile: 'FLEET_BOOTSTRAP_FILE', http: 'FLEET_HTTP', cluster: 'FLEET_CLUSTER', logLevel: 'FLEET_LOG_LEVEL', fsync: 'FLEET_FSYNC',
  swarmKey: 'FLEET_SWARM_KEY', allowPeer: 'FLEET_ALLOW_PEER', allowPeersFile: 'FLEET_ALLOW_PEERS_FILE', apiTokenFile: 'FLEET_API_TOKEN_FILE', authReads: 'FLEET_AUTH_READS',
  lease: 'FLEET_LEASE', term: 'FLEET_TERM', liveness: 'FLEET_LIVENESS', retryBackoff: 'FLEET_RETRY_BACKOFF', maxAttempts: 'FLEET_MAX_ATTEMPTS',
  agent: 'FLEET_AGENTS', repo: 'FLEET_REPO', remote: 'FLEET_REMOTE', main: 'FLEET_MAIN', executor: 'FLEET_EXECUTOR', executorTimeout: 'FLEET_EXECUTOR_TIMEOUT', check: 'FLEET_CHECK', checkTimeout: 'FLEET_CHECK_TIMEOUT',
  agentDead: 'FLEET_AGENT_DEAD', queueStuck: 'FLEET_QUEUE_STUCK', alertWebhook: 'FLEET_ALERT_WEBHOOK',
  keepBranches: 'FLEET_KEEP_BRANCHES', tlsCert: 'FLEET_TLS_CERT', tlsKey: 'FLEET_TLS_KEY'
}

export type RawOptions = Partial<Record<StartField, string | boolean | string[] | undefined>>

/** An option value with where it came from (flag, env, config file), for error messages. */
export interface Sourced { value: unknown, label: string }

function fromEnv (env: NodeJS.ProcessEnv): Partial<Record<StartField, Sourced>> {
  const out: Partial<Record<StartField, Sourced>> = {}
  for (const f of Object.keys(fields) as StartField[]) {
    const v = env[envOf[f]]
    if (v === undefined || v === '') continue
    out[f] = { value: fields[f].repeat ? v.split(/[\s,]+/).filter(Boolean) : v, label: envOf[f] }
  }
  return out
}

/**
 * Reads a JSON or YAML config file of option names (camelCase) to values, refusing names not in
 * `known`; each value is labelled with where it came from, for error messages. Shared by
 * `fleet start` and `fleet agent`.
 */
export function readConfigFile<F extends string> (path: string, known: Record<F, unknown>): Partial<Record<F, Sourced>> {
  let raw: unknown
  try {
    const text = readFileSync(path, 'utf8')
    raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text)
  } catch (err) {
    throw new ConfigError(`--config ${path}`, (err as Error).message.split('\n')[0] ?? 'unreadable')
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`--config ${path}`, 'expected a mapping of option names to values')
  const out: Partial<Record<F, Sourced>> = {}
  for (const [k, v] of Object.entries(raw)) {
    if (!(k in known)) throw new ConfigError(`${k} in ${path}`, `unknown option (known: ${Object.keys(known).join(', ')})`)
    out[k as F] = { value: v, label: `${k} in ${path}` }
  }
  return out
}

function fromFile (path: string): Partial<Record<StartField, Sourced>> {
  return readConfigFile(path, fields)
}

/**
 * Resolves `fleet start` options: command line over environment over config file over
 * defaults. Every value is validated; the first bad one throws a ConfigError naming it.
 */
export function resolveStartConfig (cli: RawOptions, env: NodeJS.ProcessEnv = process.env, configFile?: string): StartConfig {
  const cliSourced: Partial<Record<StartField, Sourced>> = {}
  for (const f of Object.keys(fields) as StartField[]) {
    const v = cli[f]
    if (v === undefined || (Array.isArray(v) && v.length === 0)) continue
    cliSourced[f] = { value: v, label: flagOf[f] }
  }
  const file = configFile ?? env.FLEET_CONFIG
  const merged = { ...(file === undefined ? {} : fromFile(file)), ...fromEnv(env), ...cliSourced }

  const get = <F extends StartField>(f: F, dflt: unknown): unknown => {
    const s = merged[f]
    const value = s?.value ?? dflt
    const label = s?.label ?? flagOf[f]
    if (value === undefined) return undefined
    const schema = fields[f].repeat ? z.array(fields[f].schema) : fields[f].schema
    const r = schema.safeParse(fields[f].repeat && !Array.isArray(value) ? [value] : value)
    if (!r.success) throw new ConfigError(label, r.error.issues[0]?.message ?? 'invalid value')
    return r.data
  }

  const bootstrap: BootstrapPeer[] = []
  const bootLabel = merged.bootstrap?.label ?? '--bootstrap'
  const bootList = get('bootstrap', []) as string[]
  for (const [i, b] of bootList.entries()) {
    try {
      bootstrap.push(parseBootstrapAddr(b, bootList.length > 1 ? `entry ${i + 1}` : 'address'))
    } catch (err) {
      throw new ConfigError(bootLabel, (err as Error).message)
    }
  }
  const bootFile = get('bootstrapFile', undefined) as string | undefined
  if (bootFile !== undefined) {
    try {
      bootstrap.push(...readBootstrapFile(bootFile))
    } catch (err) {
      if (err instanceof BootstrapListError) throw new ConfigError(merged.bootstrapFile?.label ?? '--bootstrap-file', err.message)
      throw err
    }
  }
  const closed = resolveClosedCluster(merged, get, bootstrap)
  return {
    data: get('data', DEFAULT_DATA_DIR) as string,
    listen: get('listen', [DEFAULT_LISTEN]) as string[],
    bootstrap,
    http: closed.http,
    cluster: get('cluster', DEFAULT_CLUSTER_NAME) as string,
    logLevel: get('logLevel', 'info') as StartConfig['logLevel'],
    fsync: get('fsync', false) as boolean,
    swarmKey: closed.swarmKey,
    allowPeers: closed.allowPeers,
    apiToken: closed.apiToken,
    authReads: closed.authReads,
    coordination: coordinationOf(get, (f) => merged[f]),
    work: workOf(get, merged.agent?.label ?? '--agent'),
    alerts: alertsOf(get, merged.alertWebhook?.label ?? '--alert-webhook'),
    tls: tlsOf(get, (f) => merged[f]?.label ?? flagOf[f])
  }
}

/** The node's certificate and key, read and checked as a pair before anything starts. */
function tlsOf (get: (f: StartField, dflt: unknown) => unknown, labelOf: (f: StartField) => string): TlsFiles | null {
  const cert = get('tlsCert', undefined) as string | undefined
  const key = get('tlsKey', undefined) as string | undefined
  if (cert === undefined && key === undefined) return null
  if (cert === undefined || key === undefined) throw new ConfigError(labelOf(cert === undefined ? 'tlsKey' : 'tlsCert'), 'HTTPS needs both --tls-cert FILE and --tls-key FILE')
  try {
    return readTlsFiles(cert, key)
  } catch (err) {
    if (err instanceof TlsFilesError) throw new ConfigError(labelOf(err.which === 'key' ? 'tlsKey' : 'tlsCert'), err.message)
    throw err
  }
}

/** --alert-webhook URLs (a bad one stops the node: exit 2) and --queue-stuck. */
function alertsOf (get: (f: StartField, dflt: unknown) => unknown, label: string): AlertsConfig {
  let receivers: Receiver[]
  try {
    receivers = parseReceivers(get('alertWebhook', []) as string[])
  } catch (err) {
    if (err instanceof BadWebhookUrlError) throw new ConfigError(label, err.message)
    throw err
  }
  const stuck = get('queueStuck', undefined) as number | undefined
  return { receivers, ...(stuck === undefined ? {} : { queueStuckMs: Math.round(stuck * 1000) }) }
}

/** --repo and the agents that work in it; agents without a repo are a usage error. */
function workOf (get: (f: StartField, dflt: unknown) => unknown, agentLabel: string): WorkInit | null {
  let agents: AgentSpec[]
  try {
    agents = parseAgentSpecs(get('agent', []) as string[])
  } catch (err) {
    if (err instanceof AgentSpecError) throw new ConfigError(agentLabel, err.message)
    throw err
  }
  const repo = get('repo', undefined) as string | undefined
  if (repo === undefined) {
    if (agents.length > 0) throw new ConfigError(agentLabel, 'agents need --repo PATH (the git clone they work in)')
    return null
  }
  const ms = (f: StartField): number | undefined => {
    const v = get(f, undefined) as number | undefined
    return v === undefined ? undefined : Math.round(v * 1000)
  }
  const remote = get('remote', undefined) as string | undefined
  const main = get('main', undefined) as string | undefined
  const executorTimeoutMs = ms('executorTimeout')
  const checkTimeoutMs = ms('checkTimeout')
  return {
    repo,
    agents,
    executor: get('executor', 'demo') as string,
    check: (get('check', undefined) as string | undefined) ?? null,
    keepBranches: get('keepBranches', false) as boolean,
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
function coordinationOf (get: (f: StartField, dflt: unknown) => unknown, given: (f: StartField) => Sourced | undefined): Partial<CoordinationSettings> {
  const out: Partial<CoordinationSettings> = {}
  const ms = (f: StartField): number | undefined => {
    const v = get(f, undefined) as number | undefined
    return v === undefined ? undefined : Math.round(v * 1000)
  }
  const lease = ms('lease')
  const term = ms('term')
  const liveness = ms('liveness')
  const retry = ms('retryBackoff')
  const attempts = get('maxAttempts', undefined) as number | undefined
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
    const f = problem.setting === 'termMs' && given('term') === undefined && given('liveness') !== undefined ? 'liveness' : fieldOf[problem.setting]
    throw new ConfigError(given(f)?.label ?? flagOf[f], problem.message)
  }
  return out
}

type ClosedClusterConfig = Pick<StartConfig, 'http' | 'swarmKey' | 'allowPeers' | 'apiToken' | 'authReads'>

/**
 * The closed-cluster options: swarm key, peer allow-list, API token. Files are read and checked
 * here, so a bad key or token stops the node before it opens anything. An HTTP address other
 * than loopback without a token is refused: anyone who can reach it could write.
 */
function resolveClosedCluster (merged: Partial<Record<StartField, Sourced>>, get: (f: StartField, dflt: unknown) => unknown, bootstrap: BootstrapPeer[]): ClosedClusterConfig {
  const labelOf = (f: StartField): string => merged[f]?.label ?? flagOf[f]
  const http = get('http', DEFAULT_HTTP) as { host: string, port: number }

  const keyFile = get('swarmKey', undefined) as string | undefined
  let swarmKey: SwarmKey | null = null
  if (keyFile !== undefined) {
    try {
      swarmKey = readSwarmKeyFile(keyFile)
    } catch (err) {
      if (err instanceof SwarmKeyError) throw new ConfigError(labelOf('swarmKey'), err.message)
      throw err
    }
  }

  let allowPeers: string[] | null = null
  const listed = get('allowPeer', []) as string[]
  const allowFile = get('allowPeersFile', undefined) as string | undefined
  const allowed = <T>(field: StartField, read: () => T): T => {
    try {
      return read()
    } catch (err) {
      if (err instanceof AllowListError) throw new ConfigError(labelOf(field), err.message)
      throw err
    }
  }
  const ids = allowed('allowPeer', () => listed.map(p => parseAllowedPeer(p, 'peer id')))
  if (allowFile !== undefined) ids.push(...allowed('allowPeersFile', () => readAllowListFile(allowFile)))
  if (listed.length > 0 || allowFile !== undefined) allowPeers = [...new Set(ids)]
  if (allowPeers !== null) {
    // A bootstrap peer the allow-list refuses can never be joined: surely a mistake.
    const refused = bootstrap.filter(b => !(allowPeers as string[]).includes(b.peerId))
    if (refused.length > 0) throw new ConfigError(labelOf('allowPeer'), `bootstrap peer ${refused[0]?.peerId ?? ''} is not in the allow-list; add it, or drop it from the bootstrap list`)
  }

  const tokenFile = get('apiTokenFile', undefined) as string | undefined
  let apiToken: string | null = null
  if (tokenFile !== undefined) {
    try {
      apiToken = readApiTokenFile(tokenFile)
    } catch (err) {
      if (err instanceof ApiTokenError) throw new ConfigError(labelOf('apiTokenFile'), err.message)
      throw err
    }
  }
  const authReads = get('authReads', false) as boolean
  if (authReads && apiToken === null) throw new ConfigError(labelOf('authReads'), 'needs --api-token-file FILE (the token readers must present)')
  if (apiToken === null && !isLoopbackHost(http.host)) {
    throw new ConfigError(labelOf('http'), `${http.host}:${http.port} is not a loopback address, so the API needs a token: pass --api-token-file FILE (create one with "fleet key token > FILE")`)
  }
  return { http, swarmKey, allowPeers, apiToken, authReads }
}
