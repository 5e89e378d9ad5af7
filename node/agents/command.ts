import { spawn } from 'node:child_process'

/** How much of each output stream a result keeps (the end of it). */
export const DEFAULT_TAIL_CHARS = 8192
/** After SIGTERM to the process group, how long before SIGKILL. */
export const DEFAULT_KILL_GRACE_MS = 2000
/** A line longer than this is passed on in pieces, so output without newlines cannot grow memory. */
export const MAX_LINE_CHARS = 65_536

export interface CommandInit {
  /** Shell command, run as `sh -c COMMAND`. */
  command: string
  cwd: string
  /** The complete environment of the command. */
  env: NodeJS.ProcessEnv
  /** The process group is killed after this long. */
  timeoutMs: number
  /** Aborting kills the process group like a timeout does. */
  signal?: AbortSignal
  /** Called for every complete output line (without the newline). Must not throw. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void
  /** Default DEFAULT_TAIL_CHARS. */
  tailChars?: number
  /** Default DEFAULT_KILL_GRACE_MS. */
  killGraceMs?: number
}

export interface CommandResult {
  /** null when killed by a signal or never started. */
  exitCode: number | null
  signal: NodeJS.Signals | null
  timedOut: boolean
  aborted: boolean
  /** Set when the command could not be started at all (e.g. cwd missing). */
  spawnError: string | null
  stdoutTail: string
  stderrTail: string
  /** Both streams interleaved in arrival order, the end of it. */
  outputTail: string
  durationMs: number
}

/** Keeps the last `max` characters of a stream of text. */
export class TextTail {
  private text = ''
  constructor (private readonly max: number) {}
  push (s: string): void {
    this.text += s
    if (this.text.length > 2 * this.max) this.text = this.text.slice(-this.max)
  }

  toString (): string {
    return this.text.length > this.max ? this.text.slice(-this.max) : this.text
  }
}

/** Splits a stream of text into lines, passing on over-long lines in MAX_LINE_CHARS pieces. */
class LineSplitter {
  private partial = ''
  constructor (private readonly emit: (line: string) => void) {}
  push (s: string): void {
    this.partial += s
    let i: number
    while ((i = this.partial.indexOf('\n')) >= 0) {
      this.emit(this.partial.slice(0, i).replace(/\r$/, ''))
      this.partial = this.partial.slice(i + 1)
    }
    while (this.partial.length > MAX_LINE_CHARS) {
      this.emit(this.partial.slice(0, MAX_LINE_CHARS))
      this.partial = this.partial.slice(MAX_LINE_CHARS)
    }
  }

  flush (): void {
    if (this.partial !== '') this.emit(this.partial.replace(/\r$/, ''))
    this.partial = ''
  }
}

/**
 * Runs a shell command in its own process group, so a timeout or abort kills everything it
 * started (SIGTERM, then SIGKILL after the grace period), not just the shell. Never rejects: the
 * result says how it ended. One function on purpose: the child's events, the timers and the abort
 * listener share a little state and all end in the one finish().
 */
export async function runCommand (init: CommandInit): Promise<CommandResult> {
  const started = Date.now()
  const tailChars = init.tailChars ?? DEFAULT_TAIL_CHARS
  const grace = init.killGraceMs ?? DEFAULT_KILL_GRACE_MS
  const out = new TextTail(tailChars)
  const err = new TextTail(tailChars)
  const both = new TextTail(tailChars)
  let timedOut = false
  let aborted = false

  return await new Promise<CommandResult>((resolve) => {
    const child = spawn('sh', ['-c', init.command], { cwd: init.cwd, env: init.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    let exited: { code: number | null, signal: NodeJS.Signals | null } | null = null
    let spawnError: string | null = null
    let done = false
    const timers: NodeJS.Timeout[] = []

    const killGroup = (sig: NodeJS.Signals): void => {
      if (child.pid === undefined) return
      try {
        process.kill(-child.pid, sig)
      } catch {
        // ESRCH: the group is already gone.
      }
    }
    const stop = (): void => {
      killGroup('SIGTERM')
      timers.push(setTimeout(() => killGroup('SIGKILL'), grace))
    }
    const onAbort = (): void => {
      aborted = true
      stop()
    }
    const finish = (): void => {
      if (done) return
      done = true
      for (const t of timers) clearTimeout(t)
      init.signal?.removeEventListener('abort', onAbort)
      outLines.flush()
      errLines.flush()
      resolve({
        exitCode: exited?.code ?? child.exitCode,
        signal: exited?.signal ?? child.signalCode,
        timedOut,
        aborted,
        spawnError,
        stdoutTail: out.toString(),
        stderrTail: err.toString(),
        outputTail: both.toString(),
        durationMs: Date.now() - started
      })
    }

    const onLine = (line: string, stream: 'stdout' | 'stderr'): void => {
      try {
        init.onLine?.(line, stream)
      } catch {
        // A listener's bug must not take the command's result with it.
      }
    }
    const outLines = new LineSplitter((l) => onLine(l, 'stdout'))
    const errLines = new LineSplitter((l) => onLine(l, 'stderr'))
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', (s: string) => { out.push(s); both.push(s); outLines.push(s) })
    child.stderr.on('data', (s: string) => { err.push(s); both.push(s); errLines.push(s) })

    child.on('error', (e) => {
      spawnError = e.message
      finish()
    })
    child.on('exit', (code, signal) => {
      exited = { code, signal }
      // A background process that inherited stdout would hold 'close' off forever: give the
      // streams the grace period to drain, then kill what is left of the group and finish.
      timers.push(setTimeout(() => {
        killGroup('SIGKILL')
        child.stdout.destroy()
        child.stderr.destroy()
        finish()
      }, grace))
    })
    child.on('close', finish)

    timers.push(setTimeout(() => {
      timedOut = true
      stop()
    }, init.timeoutMs))
    if (init.signal?.aborted === true) onAbort()
    else init.signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** One line saying how a command ended, e.g. "exit 1 after 1200 ms" or "timed out after 30000 ms". */
export function describeEnd (r: CommandResult, timeoutMs?: number): string {
  if (r.spawnError !== null) return `could not start: ${r.spawnError}`
  if (r.timedOut) return `timed out after ${timeoutMs ?? r.durationMs} ms`
  if (r.aborted) return `aborted after ${r.durationMs} ms`
  if (r.exitCode !== null) return `exit ${r.exitCode} after ${r.durationMs} ms`
  return `killed by ${r.signal ?? 'a signal'} after ${r.durationMs} ms`
}
