import { join, resolve } from 'node:path'
import { DEFAULT_LEASE_MS, heartbeatIntervalFor } from '../../crdt/rules/leases.js'
import { resolveAgentConfig } from '../agents/agent-config.js'
import { AgentPool } from '../agents/pool.js'
import { AllNodesDownError, FailoverClient } from '../agents/failover-client.js'
import { HttpCoordinator } from '../agents/http-coordinator.js'
import { InstanceLock, InstanceLockedError } from '../agents/instance-lock.js'
import { GitRepo, RepoError } from '../git/repo.js'
import { createLogger } from '../logger.js'
import { parseCommandArgs } from './args.js'
import { ApiError } from './client.js'
import { CliError, EXIT_FAILURE } from './errors.js'

/** After SIGINT/SIGTERM, how long the agents get to give their tasks back before the process exits anyway. */
export const DEFAULT_STOP_GRACE_MS = 15_000

export const AGENT_USAGE = `usage: fleet agent --node URL [--node URL ...] --agent NAME:ROLE [...] --repo PATH [options]
  Runs agents outside any node: the same worker loop, executor contract, evidence and merge-queue
  steps as built-in agents, through the HTTP API of any node; when a node fails (connection error,
  timeout, 5xx) it carries on through the next one with the same task.
  --node URL              a node's HTTP API, repeatable, in order of preference
                          (env FLEET_NODE, comma separated; ORCHESTRATOR_URL)
  --agent NAME:ROLE       an agent to run, repeatable (env FLEET_AGENTS, comma separated;
                          AGENT_NAME and AGENT_ROLE)
  --repo PATH             the git clone to work in (worktrees of it; env FLEET_REPO; REPO_PATH)
  --remote NAME           the shared remote of the clone (default origin; env FLEET_REMOTE)
  --main BRANCH           the branch work merges into (default main; env FLEET_MAIN)
  --executor CMD|demo     what an agent runs for a task (default demo; env FLEET_EXECUTOR)
  --executor-timeout SECONDS  (default 1800; env FLEET_EXECUTOR_TIMEOUT)
  --api-token-file FILE   the cluster token, or an agent token from "fleet key agent-token NAME"
                          (env FLEET_API_TOKEN_FILE; or the token itself in FLEET_API_TOKEN)
  --ca FILE               trust this PEM CA for https:// nodes, besides the system CAs (env FLEET_CA)
  --data DIR              worktrees and this process's id (default ./.fleet-agent; env FLEET_AGENT_DATA)
  --config FILE           JSON or YAML file with the same options (env FLEET_AGENT_CONFIG)
  --log-level LEVEL       fatal|error|warn|info|debug|trace|silent (default info)
  Exit 2 for bad options, 1 when no node answers at start or a node refuses the agent.`

interface Health { peerId: string, leaseMs?: number }

/** `fleet agent`: runs until SIGINT/SIGTERM, then gives the tasks in hand back. */
export async function agentCommand (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('agent', argv, {
    node: { type: 'string', multiple: true },
    agent: { type: 'string', multiple: true },
    repo: { type: 'string' },
    remote: { type: 'string' },
    main: { type: 'string' },
    executor: { type: 'string' },
    'executor-timeout': { type: 'string' },
    'api-token-file': { type: 'string' },
    ca: { type: 'string' },
    data: { type: 'string' },
    config: { type: 'string' },
    'log-level': { type: 'string' }
  })
  const cfg = resolveAgentConfig({
    node: values.node as string[] | undefined,
    agent: values.agent as string[] | undefined,
    repo: values.repo as string | undefined,
    remote: values.remote as string | undefined,
    main: values.main as string | undefined,
    executor: values.executor as string | undefined,
    executorTimeout: values['executor-timeout'] as string | undefined,
    apiTokenFile: values['api-token-file'] as string | undefined,
    ca: values.ca as string | undefined,
    data: values.data as string | undefined,
    logLevel: values['log-level'] as string | undefined
  }, process.env, values.config as string | undefined)

  const say = (line: string): void => { process.stdout.write(line + '\n') }
  const logger = createLogger({ level: cfg.logLevel, name: 'fleet-agent' })
  const repo = new GitRepo({ path: resolve(cfg.repo), ...(cfg.remote === undefined ? {} : { remote: cfg.remote }), ...(cfg.mainBranch === undefined ? {} : { mainBranch: cfg.mainBranch }) })
  try {
    await repo.check()
  } catch (err) {
    if (err instanceof RepoError) throw new CliError(`agent: --repo ${err.message}`)
    throw err
  }
  let lock: InstanceLock
  try {
    lock = InstanceLock.acquire(resolve(cfg.data))
  } catch (err) {
    if (err instanceof InstanceLockedError) throw new CliError(`agent: ${err.message}`, EXIT_FAILURE)
    throw err
  }

  const client = new FailoverClient({ urls: cfg.nodes, ...(cfg.token === null ? {} : { token: cfg.token }), ...(cfg.ca === null ? {} : { ca: cfg.ca }) })
  let stopping = false
  let exitCode = 0
  const replaced = new AbortController()
  const coordinator = new HttpCoordinator({
    client,
    instance: lock.instance,
    onReplaced: (agentId, message) => {
      if (replaced.signal.aborted) return
      say(`agent ${agentId}: ${message}; stopping`)
      exitCode = EXIT_FAILURE
      replaced.abort()
    }
  })
  const failure = (message: string): CliError => {
    client.close()
    lock.release()
    return new CliError(`agent: ${message}`, EXIT_FAILURE)
  }

  let health: Health
  try {
    health = await client.get<Health>('/health')
  } catch (err) {
    if (err instanceof AllNodesDownError) throw failure(err.message)
    throw err
  }
  // A refused token or an agent already running elsewhere is found now, not after a task's work.
  const pool = new AgentPool({
    repo,
    worktreeRoot: join(resolve(cfg.data), 'worktrees'),
    agents: cfg.agents,
    executor: cfg.executor,
    ...(cfg.executorTimeoutMs === undefined ? {} : { executorTimeoutMs: cfg.executorTimeoutMs }),
    coordinator,
    logger: logger.child({ c: 'agents' }),
    // The node's own rule for its agents: heartbeats at least three times per lease.
    worker: { heartbeatMs: heartbeatIntervalFor(health.leaseMs ?? DEFAULT_LEASE_MS) }
  })
  for (const w of pool.workers) {
    try {
      await coordinator.register(w.agent)
    } catch (err) {
      if (err instanceof ApiError || err instanceof AllNodesDownError) throw failure(`agent ${w.agent.id} not registered: ${err.message.replace(/^POST \S+ -> /, 'refused ')}`)
      throw err
    }
  }

  client.on('switched', ({ from, to, reason }) => { say(`node ${from} failed (${reason}); now using ${to}`) })
  client.on('down', ({ reasons, retryInMs }) => { say(`no node answers (${reasons.join('; ')})${retryInMs === null ? '' : `; retrying with backoff, the task in hand goes on`}`) })
  client.on('back', ({ url, downForMs }) => {
    say(`node ${url} answers again after ${(downForMs / 1000).toFixed(1)} s`)
    // Renew the leases of the tasks in hand at once rather than at the next heartbeat.
    for (const w of pool.workers) {
      coordinator.heartbeat(w.agent.id, w.currentTask?.assignmentId ?? null).catch((err: unknown) => logger.warn({ err }, 'heartbeat after reconnect failed'))
    }
  })

  await pool.start()
  say(`fleet agent started (instance ${lock.instance})`)
  say(`agents: ${cfg.agents.map(a => `${a.name} (${a.role})`).join(', ')}`)
  say(`nodes: ${cfg.nodes.join(' ')}`)
  say(`using: ${client.current}`)

  return await new Promise<number>((resolve) => {
    const stop = (why: string): void => {
      if (stopping) return
      stopping = true
      logger.info({ why }, 'stopping: giving tasks back')
      // Giving back needs a node; with none answering, do not wait forever (the lease returns the task).
      const grace = setTimeout(() => { client.close() }, DEFAULT_STOP_GRACE_MS)
      pool.stop().then(() => { say('fleet agent stopped') }, (err: unknown) => {
        logger.error({ err }, 'stop failed')
        exitCode = EXIT_FAILURE
      }).finally(() => {
        clearTimeout(grace)
        client.close()
        lock.release()
        resolve(exitCode)
      })
    }
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ sig }, 'second signal: exiting without waiting')
        lock.release()
        resolve(EXIT_FAILURE)
        return
      }
      stop(sig)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    replaced.signal.addEventListener('abort', () => { stop('replaced by another process') }, { once: true })
  })
}
