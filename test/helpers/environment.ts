import { existsSync } from 'node:fs'
import { delimiter, join } from 'node:path'

/**
 * Tests that need something from the machine (root, network namespaces, Chromium, promtool) skip
 * with a message on a developer's machine that lacks it, but fail where it must be there: in CI
 * (CI=true, .ci/run installs what they need) and when running as root (nothing stops the setup).
 */
export function mustRun (): boolean {
  return process.env.CI === 'true' || process.getuid?.() === 0
}

/** Skips the test (or hook) with `reason`, or throws it where the test must run (see mustRun). */
export function skipUnlessRequired (ctx: Mocha.Context, what: string, reason: string, required = mustRun()): never {
  if (required) throw new Error(`${what} cannot run: ${reason}`)
  process.stderr.write(`      SKIPPED ${what}: ${reason}\n`)
  ctx.skip()
}

/** The first of `names` found on PATH (or an absolute path that exists), else null. */
export function findExecutable (...names: string[]): string | null {
  for (const name of names) {
    if (name.includes('/')) {
      if (existsSync(name)) return name
      continue
    }
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      if (dir !== '' && existsSync(join(dir, name))) return join(dir, name)
    }
  }
  return null
}

/** Chromium for the browser tests: FLEET_CHROMIUM, else Debian's package wherever PATH finds it. */
export function findChromium (): string | null {
  return findExecutable(...(process.env.FLEET_CHROMIUM === undefined ? [] : [process.env.FLEET_CHROMIUM]), 'chromium', 'chromium-browser', '/usr/bin/chromium')
}

/** Flags for headless Chromium in a container (no sandbox as root, no GPU, no background traffic). */
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
