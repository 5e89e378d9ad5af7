// Loaded by mocha (.mocharc.cjs "require") before any test file: libp2p needs the polyfill first.
import '../node/polyfill.js'
import { bundleCli, bundleIsStale } from '../scripts/bundle.js'

/**
 * Once per run, before any worker starts (mocha runs global fixtures in its main process): the
 * multi-process tests start the bundled CLI (dist/bundle), so after `npx tsc` alone it would run
 * the code of the last bundle. Rebuilt here when a compiled module is newer (about a second).
 */
export async function mochaGlobalSetup (): Promise<void> {
  if (bundleIsStale()) await bundleCli()
}
