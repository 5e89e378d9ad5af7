import { BadNodeUrlError, parseNodeUrl } from '../cli/client.js'
import { CaFileError, readCaFile } from '../cli/transport.js'
import { AGENT_OPTIONS } from '../options/agent-options.js'
import { ConfigError, fromCli, fromEnv, optionReader, parseOption, readConfigFile, type LOG_LEVELS, type RawOptions, type SourcedOptions } from '../options/table.js'
import { ApiTokenError, parseApiToken, readApiTokenFile } from '../http/auth.js'
import { AgentSpecError, parseAgentSpecs, type AgentSpec } from './spec.js'

export type AgentRawOptions = RawOptions<typeof AGENT_OPTIONS>


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


/**
 * The seed worker's environment, accepted as documented aliases (below FLEET_* in precedence):
 * ORCHESTRATOR_URL (a node URL), AGENT_NAME + AGENT_ROLE (one agent), REPO_PATH (the clone).
 */
function fromSeedEnv (env: NodeJS.ProcessEnv): SourcedOptions<typeof AGENT_OPTIONS> {
  const out: SourcedOptions<typeof AGENT_OPTIONS> = {}
  const set = (v: string | undefined): v is string => v !== undefined && v !== ''
  if (set(env.ORCHESTRATOR_URL)) out.node = { value: env.ORCHESTRATOR_URL.split(',').map(s => s.trim()).filter(Boolean), label: 'ORCHESTRATOR_URL' }
  if (set(env.REPO_PATH)) out.repo = { value: env.REPO_PATH, label: 'REPO_PATH' }
  if (set(env.AGENT_NAME) || set(env.AGENT_ROLE)) {
    if (!set(env.AGENT_NAME) || !set(env.AGENT_ROLE)) throw new ConfigError(set(env.AGENT_NAME) ? 'AGENT_NAME' : 'AGENT_ROLE', 'AGENT_NAME and AGENT_ROLE go together (or use FLEET_AGENTS=NAME:ROLE)')
    out.agent = { value: [`${env.AGENT_NAME}:${env.AGENT_ROLE}`], label: 'AGENT_NAME/AGENT_ROLE' }
  }
  return out
}

/**
 * Resolves `fleet agent` options: command line over FLEET_* environment over the seed worker's
 * variables over the --config file over defaults. The first bad value throws a ConfigError
 * naming how it was given (exit 2).
 */
export function resolveAgentConfig (cli: AgentRawOptions, env: NodeJS.ProcessEnv = process.env, configFile?: string): AgentConfig {
  const file = configFile ?? env.FLEET_AGENT_CONFIG
  const merged = { ...(file === undefined ? {} : readConfigFile(file, AGENT_OPTIONS)), ...fromSeedEnv(env), ...fromEnv(AGENT_OPTIONS, env), ...fromCli(AGENT_OPTIONS, cli) }
  const { get, labelOf, ms } = optionReader(AGENT_OPTIONS, merged)

  const nodeValues = get('node') as string[]
  if (nodeValues.length === 0) throw new ConfigError('--node', 'give at least one node URL (e.g. --node http://10.0.0.1:3000; env FLEET_NODE, comma separated)')
  const nodes: string[] = parseOption(labelOf('node'), BadNodeUrlError, () => [...new Set(nodeValues.map(parseNodeUrl))])
  const agents: AgentSpec[] = parseOption(labelOf('agent'), AgentSpecError, () => parseAgentSpecs(get('agent') as string[]))
  if (agents.length === 0) throw new ConfigError('--agent', 'give at least one agent as NAME:ROLE (env FLEET_AGENTS)')

  const repo = get('repo') as string | undefined
  if (repo === undefined) throw new ConfigError('--repo', 'name the git clone the agents work in (env FLEET_REPO)')

  const tokenFile = get('apiTokenFile') as string | undefined
  const envToken = env.FLEET_API_TOKEN
  const token: string | null = tokenFile !== undefined
    ? parseOption(labelOf('apiTokenFile'), ApiTokenError, () => readApiTokenFile(tokenFile))
    : envToken !== undefined && envToken !== '' ? parseOption('FLEET_API_TOKEN', ApiTokenError, () => parseApiToken(envToken, 'FLEET_API_TOKEN')) : null

  const caFile = get('ca') as string | undefined
  const ca: string | null = caFile === undefined ? null : parseOption(labelOf('ca'), CaFileError, () => readCaFile(caFile))

  const timeout = ms('executorTimeout')
  const remote = get('remote') as string | undefined
  const main = get('main') as string | undefined
  return {
    nodes,
    agents,
    repo,
    ...(remote === undefined ? {} : { remote }),
    ...(main === undefined ? {} : { mainBranch: main }),
    executor: get('executor') as string,
    ...(timeout === undefined ? {} : { executorTimeoutMs: timeout }),
    token,
    ca,
    data: get('data') as string,
    logLevel: get('logLevel') as AgentConfig['logLevel']
  }
}
