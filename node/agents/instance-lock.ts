import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** The lock file of a `fleet agent` data directory. */
export const INSTANCE_FILE = 'agent-instance.json'

/** Another live process holds the data directory. */
export class InstanceLockedError extends Error {
  override name = 'InstanceLockedError'
  constructor (readonly dir: string, readonly pid: number) {
    super(`another fleet agent (pid ${pid}) is running with data directory ${dir}`)
  }
}

interface InstanceFile { instance: string, pid: number | null }

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function readInstanceFile (path: string): InstanceFile | null {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<InstanceFile>
    if (typeof v.instance !== 'string' || !/^[A-Za-z0-9_-]{8,128}$/.test(v.instance)) return null
    return { instance: v.instance, pid: typeof v.pid === 'number' ? v.pid : null }
  } catch {
    return null
  }
}

function write (path: string, v: InstanceFile): void {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(v) + '\n', { mode: 0o600 })
  renameSync(tmp, path)
}

/**
 * The id this process runs its agents under, kept in the data directory: a `fleet agent`
 * restarted after a crash keeps its id, so the nodes let it take its agents straight back (and
 * it gives back what they held), while a second process on the same directory is refused here
 * and one elsewhere is refused by the nodes while this one heartbeats.
 */
export class InstanceLock {
  private constructor (readonly dir: string, readonly instance: string, private readonly path: string) {}

  static acquire (dir: string): InstanceLock {
    mkdirSync(dir, { recursive: true })
    const path = join(dir, INSTANCE_FILE)
    const prev = readInstanceFile(path)
    if (prev?.pid !== null && prev?.pid !== undefined && prev.pid !== process.pid && alive(prev.pid)) throw new InstanceLockedError(dir, prev.pid)
    const instance = prev?.instance ?? randomBytes(16).toString('base64url')
    write(path, { instance, pid: process.pid })
    return new InstanceLock(dir, instance, path)
  }

  /** Keeps the id for the next start, drops the pid. */
  release (): void {
    try {
      write(this.path, { instance: this.instance, pid: null })
    } catch {
      // The directory went away: nothing to keep.
    }
  }
}
