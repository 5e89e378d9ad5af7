import { mountTmpfs, tmpfsRequired, type Tmpfs } from '../../scripts/lib/tmpfs.js'

/**
 * A tmpfs for a mocha test: skipped with the reason where it cannot be mounted, a failure where
 * it is required (CI=true as root, see tmpfsRequired).
 */
export function tmpfsOrSkip (ctx: Mocha.Context, sizeKb: number, opts: { readOnly?: boolean } = {}): Tmpfs {
  const t = mountTmpfs(sizeKb, opts)
  if (typeof t !== 'string') return t
  if (tmpfsRequired()) throw new Error(`${t}; required when CI=true and running as root`)
  process.stderr.write(`      (skipped: ${t}; needs root or CAP_SYS_ADMIN)\n`)
  ctx.skip()
}
