import { mountTmpfs, tmpfsRequired, type Tmpfs } from '../../scripts/lib/tmpfs.js'
import { skipUnlessRequired } from './environment.js'

/**
 * A tmpfs for a mocha test: skipped with the reason where it cannot be mounted, a failure where
 * it is required (CI=true as root, where mounting works: see tmpfsRequired).
 */
export function tmpfsOrSkip (ctx: Mocha.Context, sizeKb: number, opts: { readOnly?: boolean } = {}): Tmpfs {
  const t = mountTmpfs(sizeKb, opts)
  if (typeof t !== 'string') return t
  skipUnlessRequired(ctx, 'this disk test', `${t} (needs root or CAP_SYS_ADMIN; required with CI=true as root)`, tmpfsRequired())
}
