import { fileURLToPath } from 'node:url'
import { describeEnd, runCommand, type CommandResult } from './command.js'
import type { WorkTask } from './coordinator.js'

/** How long one executor run may take before its process group is killed. */
export const DEFAULT_EXECUTOR_TIMEOUT_MS = 30 * 60_000
/** `--executor demo` selects the built-in demo executor. */
export const DEMO_EXECUTOR = 'demo'
/** How much of the end of stderr (or stdout) goes into a failure reason. */
export const REASON_TAIL_CHARS = 1000

/** Where the compiled demo executor sits, next to this module. */
export const DEMO_EXECUTOR_SCRIPT = fileURLToPath(new URL('./demo-executor.js', import.meta.url))

/** Quotes a word for sh. */
export function shellQuote (s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`
}

/** The shell command for an `--executor` value: `demo` becomes the built-in script, anything else runs as given. */
export function resolveExecutorCommand (executor: string): string {
  return executor.trim() === DEMO_EXECUTOR ? `${shellQuote(process.execPath)} ${shellQuote(DEMO_EXECUTOR_SCRIPT)}` : executor
}

export interface ProgressLine {
  percent: number
  message: string | null
}

/**
 * Parses `progress <percent> [message]` (percent a number, clamped to 0-100 and rounded). Any
 * other line is ordinary output and gives null.
 */
export function parseProgressLine (line: string): ProgressLine | null {
  const m = /^progress\s+(-?\d+(?:\.\d+)?)%?(?:\s+(.*))?$/.exec(line.trim())
  if (m === null) return null
  const percent = Math.round(Math.min(100, Math.max(0, Number(m[1]))))
  const message = (m[2] ?? '').trim()
  return { percent, message: message === '' ? null : message }
}

/** What the executor is told besides the task. */
export interface RunContext {
  branch: string
  agentId: string
  /** Remote main sha the worktree started from. */
  base: string
}

/** Environment variables the worker sets; inherited values of these are dropped first. */
const TASK_ENV = ['FLEET_TASK_ID', 'FLEET_TASK_TITLE', 'FLEET_TASK_DESCRIPTION', 'FLEET_TASK_ACCEPTANCE', 'FLEET_TASK_JSON',
  'FLEET_TASK_REASON', 'FLEET_BRANCH', 'FLEET_ATTEMPT', 'FLEET_AGENT_ID', 'FLEET_BASE_SHA']
/** git variables that would point git commands in the worktree at another repository. */
const GIT_LOCATION_ENV = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_COMMON_DIR']

/**
 * The executor's environment: the node's own (so an AI CLI finds its keys and PATH) plus the task.
 * FLEET_TASK_REASON is set only when the previous attempt left a reason.
 */
export function executorEnv (task: WorkTask, ctx: RunContext, parent: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...parent }
  for (const k of [...TASK_ENV, ...GIT_LOCATION_ENV]) delete env[k]
  env.FLEET_TASK_ID = task.id
  env.FLEET_TASK_TITLE = task.title
  env.FLEET_TASK_DESCRIPTION = task.description
  env.FLEET_TASK_ACCEPTANCE = task.acceptance ?? ''
  env.FLEET_TASK_JSON = JSON.stringify(task)
  if (task.reason !== null && task.reason !== '') env.FLEET_TASK_REASON = task.reason
  env.FLEET_BRANCH = ctx.branch
  env.FLEET_ATTEMPT = String(task.attempt)
  env.FLEET_AGENT_ID = ctx.agentId
  env.FLEET_BASE_SHA = ctx.base
  return env
}

export interface ExecutorInit {
  /** `--executor` value: a shell command, or DEMO_EXECUTOR. */
  command: string
  /** Default DEFAULT_EXECUTOR_TIMEOUT_MS. */
  timeoutMs?: number
  /** SIGTERM-to-SIGKILL grace; default DEFAULT_KILL_GRACE_MS. */
  killGraceMs?: number
  /** Base environment; default process.env. */
  env?: NodeJS.ProcessEnv
}

export interface RunOptions {
  cwd: string
  signal?: AbortSignal
  onProgress?: (p: ProgressLine) => void
}

export interface ExecutionResult extends CommandResult {
  /** Exit 0, not killed. */
  ok: boolean
  /** Why it failed (how it ended, then the stderr tail, or the stdout tail if stderr was empty); null when ok. */
  reason: string | null
}

/** Runs the configured command for a task in its worktree. */
export class Executor {
  readonly command: string
  readonly timeoutMs: number
  private readonly killGraceMs: number | undefined
  private readonly env: NodeJS.ProcessEnv | undefined

  constructor (init: ExecutorInit) {
    if (init.command.trim() === '') throw new TypeError('executor command must not be empty')
    this.command = resolveExecutorCommand(init.command)
    this.timeoutMs = init.timeoutMs ?? DEFAULT_EXECUTOR_TIMEOUT_MS
    this.killGraceMs = init.killGraceMs
    this.env = init.env
  }

  async run (task: WorkTask, ctx: RunContext, opts: RunOptions): Promise<ExecutionResult> {
    const r = await runCommand({
      command: this.command,
      cwd: opts.cwd,
      env: executorEnv(task, ctx, this.env),
      timeoutMs: this.timeoutMs,
      ...(this.killGraceMs === undefined ? {} : { killGraceMs: this.killGraceMs }),
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      onLine: (line, stream) => {
        if (stream !== 'stdout') return
        const p = parseProgressLine(line)
        if (p !== null) opts.onProgress?.(p)
      }
    })
    const ok = r.exitCode === 0 && !r.timedOut && !r.aborted
    return { ...r, ok, reason: ok ? null : failureReason(r, this.timeoutMs) }
  }
}

function failureReason (r: CommandResult, timeoutMs: number): string {
  const tail = (r.stderrTail.trim() !== '' ? r.stderrTail : r.stdoutTail).trim().slice(-REASON_TAIL_CHARS)
  const end = `executor ${describeEnd(r, timeoutMs)}`
  return tail === '' ? end : `${end}: ${tail}`
}
