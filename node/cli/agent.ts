import { join, resolve } from 'node:path'
import { DEFAULT_LEASE_MS, heartbeatIntervalFor } from '../../crdt/rules/leases.js'
import { resolveAgentConfig, type AgentConfig } from '../agents/agent-config.js'
import { AGENT_OPTIONS } from '../options/agent-options.js'
import { optionsUsage, parseArgsOptions, rawFromArgs } from '../options/table.js'
import { AgentPool } from '../agents/pool.js'
import { AllNodesDownError, FailoverClient } from '../agents/failover-client.js'
import { HttpCoordinator } from '../agents/http-coordinator.js'
import { InstanceLock, InstanceLockedError } from '../agents/instance-lock.js'
import { GitRepo, RepoError } from '../git/repo.js'
import { createLogger, type Logger } from '../logger.js'
import { parseCommandArgs } from './args.js'
import { ApiError } from './client.js'
import { CliError, EXIT_FAILURE } from './errors.js'

/** After SIGINT/SIGTERM, how long the agents get to give their tasks back before the process exits anyway. */
export const DEFAULT_STOP_GRACE_MS = 15_000

export const AGENT_USAGE = `usage: fleet agent --node URL [--node URL ...] --agent NAME:ROLE [...] --repo PATH [options]
  Runs agents outside any node: the same worker loop, executor contract, evidence and merge-queue
  steps as built-in agents, through the HTTP API of any node; when a node fails (connection error,
  timeout, 5xx) it carries on through the next one with the same task.
${optionsUsage(AGENT_OPTIONS, 'FLEET_AGENT_CONFIG')}
  Exit 2 for bad options, 1 when no node answers at start or a node refuses the agent.`

interface Health { peerId: string, leaseMs?: number }

type Say = (line: string) => void

/** What a running `fleet agent` holds, released in stop order by untilStopped. */
interface RunningAgents {
  pool: AgentPool
  client: FailoverClient
  lock: InstanceLock
  /** Aborted when another process took over one of our agents. */
  replaced: AbortSignal
  /** Set to EXIT_FAILURE when the process should end non-zero. */
  exit: { code: number }
}

/** `fleet agent`: runs until SIGINT/SIGTERM, then gives the tasks in hand back. */
export async function agentCommand (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('agent', argv, parseArgsOptions(AGENT_OPTIONS))
  const cfg = resolveAgentConfig(rawFromArgs(AGENT_OPTIONS, values), process.env, values.config as string | undefined)

  const say: Say = (line) => { process.stdout.write(line + '\n') }
  const logger = createLogger({ level: cfg.logLevel, name: 'fleet-agent' })
  const repo = await checkedRepo(cfg)
  let lock: InstanceLock
  try {
    lock = InstanceLock.acquire(resolve(cfg.data))
  } catch (err) {
    if (err instanceof InstanceLockedError) throw new CliError(`agent: ${err.message}`, EXIT_FAILURE)
    throw err
  }
  const running = await startAgents(cfg, repo, lock, say, logger)
  say(`fleet agent started (instance ${lock.instance})`)
  say(`agents: ${cfg.agents.map(a => `${a.name} (${a.role})`).join(', ')}`)
  say(`nodes: ${cfg.nodes.join(' ')}`)
  say(`using: ${running.client.current}`)
  return await untilStopped(running, say, logger)
}

/** The clone the agents work in, checked before anything starts (a bad --repo is exit 2). */
async function checkedRepo (cfg: AgentConfig): Promise<GitRepo> {
  const repo = new GitRepo({ path: resolve(cfg.repo), ...(cfg.remote === undefined ? {} : { remote: cfg.remote }), ...(cfg.mainBranch === undefined ? {} : { mainBranch: cfg.mainBranch }) })
  try {
    await repo.check()
  } catch (err) {
    if (err instanceof RepoError) throw new CliError(`agent: --repo ${err.message}`)
    throw err
  }
  return repo
}

/**
 * Connects to the nodes, registers every agent (a refused token or an agent already running
 * elsewhere is found now, not after a task's work) and starts the pool. Exit 1 when no node
 * answers or one refuses an agent.
 */
async function startAgents (cfg: AgentConfig, repo: GitRepo, lock: InstanceLock, say: Say, logger: Logger): Promise<RunningAgents> {
  const client = new FailoverClient({ urls: cfg.nodes, ...(cfg.token === null ? {} : { token: cfg.token }), ...(cfg.ca === null ? {} : { ca: cfg.ca }) })
  const exit = { code: 0 }
  const replaced = new AbortController()
  const coordinator = new HttpCoordinator({
    client,
    instance: lock.instance,
    onReplaced: (agentId, message) => {
      if (replaced.signal.aborted) return
      say(`agent ${agentId}: ${message}; stopping`)
      exit.code = EXIT_FAILURE
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
  return { pool, client, lock, replaced: replaced.signal, exit }
}

/** Runs until SIGINT/SIGTERM or replacement, then gives the tasks back (within DEFAULT_STOP_GRACE_MS). */
async function untilStopped ({ pool, client, lock, replaced, exit }: RunningAgents, say: Say, logger: Logger): Promise<number> {
  return await new Promise<number>((resolve) => {
    let stopping = false
    const stop = (why: string): void => {
      if (stopping) return
      stopping = true
      logger.info({ why }, 'stopping: giving tasks back')
      // Giving back needs a node; with none answering, do not wait forever (the lease returns the task).
      const grace = setTimeout(() => { client.close() }, DEFAULT_STOP_GRACE_MS)
      pool.stop().then(() => { say('fleet agent stopped') }, (err: unknown) => {
        logger.error({ err }, 'stop failed')
        exit.code = EXIT_FAILURE
      }).finally(() => {
        clearTimeout(grace)
        client.close()
        lock.release()
        resolve(exit.code)
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
    replaced.addEventListener('abort', () => { stop('replaced by another process') }, { once: true })
  })
}
