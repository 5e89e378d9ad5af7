import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A small tmpfs mounted for a test: a file system that fills up (or is read-only) for real. */
export interface Tmpfs {
  dir: string
  unmount: () => void
}

/**
 * Where a tmpfs is required rather than optional: CI runs as root, where mounting works, so a
 * skipped disk test there would hide a regression.
 */
export function tmpfsRequired (): boolean {
  return process.env.CI === 'true' && process.getuid?.() === 0
}

/** Mounts a tmpfs of `sizeKb` KiB (read-only if asked); a string says why it could not. */
export function mountTmpfs (sizeKb: number, opts: { readOnly?: boolean } = {}): Tmpfs | string {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-tmpfs-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k,mode=0755${opts.readOnly === true ? ',ro' : ''}`, 'tmpfs', dir], { stdio: ['ignore', 'ignore', 'pipe'] })
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim()
    return `cannot mount a tmpfs here (${stderr !== undefined && stderr !== '' ? stderr : (err as Error).message})`
  }
  return {
    dir,
    unmount: () => {
      // Lazy: a process killed a moment ago may still be closing its files there.
      try { execFileSync('umount', ['-l', dir], { stdio: 'ignore' }) } catch { /* already gone */ }
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
