import { z } from 'zod'
import { BadNodeUrlError, parseNodeUrl } from '../cli/client.js'
import { CaFileError, readCaFile } from '../cli/transport.js'
import { ConfigError, LOG_LEVELS, readConfigFile, type Sourced } from '../config.js'
import { ApiTokenError, parseApiToken, readApiTokenFile } from '../http/auth.js'
import { AgentSpecError, parseAgentSpecs, type AgentSpec } from './spec.js'

/** Worktrees and the process lock of a `fleet agent` live here unless --data says otherwise. */
export const DEFAULT_AGENT_DATA_DIR = './.fleet-agent'

/** `fleet agent` options: how each is spelled on the command line, in the environment, and in --config. */
const fields = {
  node: { flag: '--node', env: 'FLEET_NODE', repeat: true, schema: z.string().min(1, 'must be a node URL') },
  agent: { flag: '--agent', env: 'FLEET_AGENTS', repeat: true, schema: z.string().min(1, 'must be NAME:ROLE') },
  repo: { flag: '--repo', env: 'FLEET_REPO', repeat: false, schema: z.string().min(1, 'must name a git clone') },
  remote: { flag: '--remote', env: 'FLEET_REMOTE', repeat: false, schema: z.string().regex(/^[A-Za-z0-9._-]+$/, 'a git remote name like origin') },
  main: { flag: '--main', env: 'FLEET_MAIN', repeat: false, schema: z.string().regex(/^[A-Za-z0-9._/-]+$/, 'a branch name like main') },
  executor: { flag: '--executor', env: 'FLEET_EXECUTOR', repeat: false, schema: z.string().min(1, 'must be a shell command or "demo"') },
  executorTimeout: { flag: '--executor-timeout', env: 'FLEET_EXECUTOR_TIMEOUT', repeat: false, schema: z.coerce.number().positive('must be a positive number of seconds').max(7 * 24 * 3600) },
  apiTokenFile: { flag: '--api-token-file', env: 'FLEET_API_TOKEN_FILE', repeat: false, schema: z.string().min(1, 'must name a token file') },
  ca: { flag: '--ca', env: 'FLEET_CA', repeat: false, schema: z.string().min(1, 'must name a PEM file') },
  data: { flag: '--data', env: 'FLEET_AGENT_DATA', repeat: false, schema: z.string().min(1, 'must not be empty') },
  logLevel: { flag: '--log-level', env: 'FLEET_LOG_LEVEL', repeat: false, schema: z.enum(LOG_LEVELS) }
} as const

export type AgentField = keyof typeof fields
export type AgentRawOptions = Partial<Record<AgentField, string | string[] | undefined>>

/**
 * The seed worker's environment, accepted as documented aliases (below FLEET_* in precedence):
 * ORCHESTRATOR_URL (a node URL), AGENT_NAME + AGENT_ROLE (one agent), REPO_PATH (the clone).
 */
export const SEED_ALIASES = ['ORCHESTRATOR_URL', 'AGENT_NAME', 'AGENT_ROLE', 'REPO_PATH'] as const

export interface AgentConfig {
  /** Node base URLs in order of preference. */
  nodes: string[]
  agents: AgentSpec[]
  repo: string
  remote?: string
  mainBranch?: string
  executor: string
  executorTimeoutMs?: number
  /** The cluster token or an agent token (`fleet key agent-token NAME`); null: none. */
  token: string | null
  /** PEM of extra CAs for https:// nodes; null: the system's only. */
  ca: string | null
  data: string
  logLevel: typeof LOG_LEVELS[number]
}


function fromFile (path: string): Partial<Record<AgentField, Sourced>> {
  return readConfigFile(path, fields)
}

function fromSeedEnv (env: NodeJS.ProcessEnv): Partial<Record<AgentField, Sourced>> {
  const out: Partial<Record<AgentField, Sourced>> = {}
  const set = (v: string | undefined): v is string => v !== undefined && v !== ''
  if (set(env.ORCHESTRATOR_URL)) out.node = { value: env.ORCHESTRATOR_URL.split(',').map(s => s.trim()).filter(Boolean), label: 'ORCHESTRATOR_URL' }
  if (set(env.REPO_PATH)) out.repo = { value: env.REPO_PATH, label: 'REPO_PATH' }
  if (set(env.AGENT_NAME) || set(env.AGENT_ROLE)) {
    if (!set(env.AGENT_NAME) || !set(env.AGENT_ROLE)) throw new ConfigError(set(env.AGENT_NAME) ? 'AGENT_NAME' : 'AGENT_ROLE', 'AGENT_NAME and AGENT_ROLE go together (or use FLEET_AGENTS=NAME:ROLE)')
    out.agent = { value: [`${env.AGENT_NAME}:${env.AGENT_ROLE}`], label: 'AGENT_NAME/AGENT_ROLE' }
  }
  return out
}

function fromEnv (env: NodeJS.ProcessEnv): Partial<Record<AgentField, Sourced>> {
  const out: Partial<Record<AgentField, Sourced>> = {}
  for (const f of Object.keys(fields) as AgentField[]) {
    const v = env[fields[f].env]
    if (v === undefined || v === '') continue
    out[f] = { value: fields[f].repeat ? v.split(',').map(s => s.trim()).filter(Boolean) : v, label: fields[f].env }
  }
  return out
}

/**
 * Resolves `fleet agent` options: command line over FLEET_* environment over the seed worker's
 * variables over the --config file over defaults. The first bad value throws a ConfigError
 * naming how it was given (exit 2).
 */
export function resolveAgentConfig (cli: AgentRawOptions, env: NodeJS.ProcessEnv = process.env, configFile?: string): AgentConfig {
  const cliSourced: Partial<Record<AgentField, Sourced>> = {}
  for (const f of Object.keys(fields) as AgentField[]) {
    const v = cli[f]
    if (v === undefined || (Array.isArray(v) && v.length === 0)) continue
    cliSourced[f] = { value: v, label: fields[f].flag }
  }
  const file = configFile ?? env.FLEET_AGENT_CONFIG
  const merged = { ...(file === undefined ? {} : fromFile(file)), ...fromSeedEnv(env), ...fromEnv(env), ...cliSourced }
  const labelOf = (f: AgentField): string => merged[f]?.label ?? fields[f].flag

  const get = (f: AgentField, dflt: unknown): unknown => {
    const value = merged[f]?.value ?? dflt
    if (value === undefined) return undefined
    const schema = fields[f].repeat ? z.array(fields[f].schema) : fields[f].schema
    const r = schema.safeParse(fields[f].repeat && !Array.isArray(value) ? [value] : value)
    if (!r.success) throw new ConfigError(labelOf(f), r.error.issues[0]?.message ?? 'invalid value')
    return r.data
  }

  const nodeValues = get('node', []) as string[]
  if (nodeValues.length === 0) throw new ConfigError('--node', 'give at least one node URL (e.g. --node http://10.0.0.1:3000; env FLEET_NODE, comma separated)')
  let nodes: string[]
  try {
    nodes = [...new Set(nodeValues.map(parseNodeUrl))]
  } catch (err) {
    if (err instanceof BadNodeUrlError) throw new ConfigError(labelOf('node'), err.message)
    throw err
  }

  let agents: AgentSpec[]
  try {
    agents = parseAgentSpecs(get('agent', []) as string[])
  } catch (err) {
    if (err instanceof AgentSpecError) throw new ConfigError(labelOf('agent'), err.message)
    throw err
  }
  if (agents.length === 0) throw new ConfigError('--agent', 'give at least one agent as NAME:ROLE (env FLEET_AGENTS)')

  const repo = get('repo', undefined) as string | undefined
  if (repo === undefined) throw new ConfigError('--repo', 'name the git clone the agents work in (env FLEET_REPO)')

  let token: string | null = null
  const tokenFile = get('apiTokenFile', undefined) as string | undefined
  try {
    if (tokenFile !== undefined) token = readApiTokenFile(tokenFile)
    else if (env.FLEET_API_TOKEN !== undefined && env.FLEET_API_TOKEN !== '') token = parseApiToken(env.FLEET_API_TOKEN, 'FLEET_API_TOKEN')
  } catch (err) {
    if (err instanceof ApiTokenError) throw new ConfigError(tokenFile === undefined ? 'FLEET_API_TOKEN' : labelOf('apiTokenFile'), err.message)
    throw err
  }

  let ca: string | null = null
  const caFile = get('ca', undefined) as string | undefined
  if (caFile !== undefined) {
    try {
      ca = readCaFile(caFile)
    } catch (err) {
      if (err instanceof CaFileError) throw new ConfigError(labelOf('ca'), err.message)
      throw err
    }
  }

  const timeout = get('executorTimeout', undefined) as number | undefined
  const remote = get('remote', undefined) as string | undefined
  const main = get('main', undefined) as string | undefined
  return {
    nodes,
    agents,
    repo,
    ...(remote === undefined ? {} : { remote }),
    ...(main === undefined ? {} : { mainBranch: main }),
    executor: get('executor', 'demo') as string,
    ...(timeout === undefined ? {} : { executorTimeoutMs: Math.round(timeout * 1000) }),
    token,
    ca,
    data: get('data', DEFAULT_AGENT_DATA_DIR) as string,
    logLevel: get('logLevel', 'info') as AgentConfig['logLevel']
  }
}
