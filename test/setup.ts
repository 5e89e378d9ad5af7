// Loaded by mocha (.mocharc.cjs "require") before any test file: libp2p needs the polyfill first.
import '../node/polyfill.js'

/**
 * Once per run, before any worker starts (mocha runs global fixtures in its main process): the
 * multi-process tests start the bundled CLI (dist/bundle), so after `npx tsc` alone it would run
 * the code of the last bundle. Rebuilt here when a compiled module is newer (about a second).
 */
export async function mochaGlobalSetup (): Promise<void> {
  // Imported here, not at the top: this file is also loaded by every test worker, which needs no esbuild.
  const { bundleCli, bundleIsStale } = await import('../scripts/bundle.js')
  if (bundleIsStale()) await bundleCli()
}
