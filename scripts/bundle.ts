import { chmodSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, type Plugin } from 'esbuild'

/**
 * The bundled CLI: `dist/bundle/main.js` and its chunks, built from the compiled `dist/` by
 * esbuild after tsc (`npm run build`; the tests' global setup rebuilds it when stale). Why: a node's start was two thirds module
 * loading, about 760 ES modules resolved, read, parsed and linked one by one, and Node 20 has no
 * compile cache for ES modules; 16 nodes starting on 2 cores is most of a cluster's formation.
 * One file per command (splitting), so `fleet status` still loads none of the node's code.
 *
 * Kept out of the bundle and loaded from node_modules as before:
 * - packages that locate files beside their own code: Automerge (its wasm), classic-level (a
 *   native addon), pino (its worker files, if transports are ever used);
 * - CommonJS packages (fastify and its plugins, prom-client, simple-git, ws...): bundled into an
 *   ES module they need a require shim, and CommonJS loads cheaply anyway. What the bundle saves
 *   is the ES module graph (libp2p, multiformats, zod...).
 * Our own modules' `import.meta.url` is rewritten to their file in dist/, so the paths they build
 * from it (the compaction worker, the demo executor, the dashboard's files) stay right.
 */
export const BUNDLE_DIR = 'dist/bundle'
const ENTRY = 'dist/node/cli/main.js'
/** What `fleet` runs (package.json's bin, the tests' and benchmarks' node processes). */
export const BUNDLE_ENTRY = `${BUNDLE_DIR}/main.js`
/** The compiled directories the bundle is made of. */
const PRODUCT_DIRS = ['node', 'crdt', 'plan', 'bootstrap']
/** Loaded from node_modules: see above. */
const EXTERNAL_PACKAGES = ['@automerge/automerge', 'classic-level', 'level', 'pino']

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** The package.json of `name` as Node would find it from `dir`: the nearest node_modules up the tree. */
function findPackageJson (name: string, dir: string): string | null {
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', name, 'package.json')
    if (existsSync(candidate)) return candidate
    if (dirname(d) === d) return null
  }
}

/** Whether a package is CommonJS (no "type": "module"): such packages are left to Node at run time. */
async function isCommonJs (pkgJson: string): Promise<boolean> {
  const pkg = JSON.parse(await readFile(pkgJson, 'utf8')) as { type?: string }
  return pkg.type !== 'module'
}

function packageName (spec: string): string {
  const parts = spec.split('/')
  return spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0] as string
}

const externals: Plugin = {
  name: 'fleet-externals',
  setup (b) {
    const cjs = new Map<string, boolean>()
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.path.startsWith('node:')) return { external: true }
      const name = packageName(args.path)
      if (EXTERNAL_PACKAGES.includes(name)) return { external: true }
      const pkgJson = findPackageJson(name, args.resolveDir)
      if (pkgJson === null) return undefined
      let isCjs = cjs.get(pkgJson)
      if (isCjs === undefined) {
        isCjs = await isCommonJs(pkgJson)
        cjs.set(pkgJson, isCjs)
      }
      return isCjs ? { external: true } : undefined
    })
  }
}

/** `import.meta.url` in our own modules means their file in dist/, not the chunk they end up in. */
const moduleUrls: Plugin = {
  name: 'fleet-module-urls',
  setup (b) {
    const ours = resolve(root, 'dist') + sep
    b.onLoad({ filter: /\.js$/ }, async (args) => {
      if (!args.path.startsWith(ours)) return undefined
      const text = await readFile(args.path, 'utf8')
      if (!text.includes('import.meta.url')) return undefined
      const rel = relative(resolve(root, BUNDLE_DIR), args.path).split('\\').join('/')
      return { contents: text.split('import.meta.url').join(`new URL(${JSON.stringify(rel)}, import.meta.url).href`), loader: 'js', resolveDir: dirname(args.path) }
    })
  }
}

/** Builds dist/bundle from the compiled modules in dist/ (run tsc first). */
export async function bundleCli (): Promise<void> {
  // Chunks are named by content: without this, every build would leave the last one's behind.
  rmSync(resolve(root, BUNDLE_DIR), { recursive: true, force: true })
  await build({
    absWorkingDir: root,
    entryPoints: [ENTRY],
    outdir: BUNDLE_DIR,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
    plugins: [externals, moduleUrls]
  })
  // Both entries run as programs (`npx fleet` runs the bin through a symlink: test/unit/cli/bin.test.ts).
  for (const entry of [BUNDLE_ENTRY, ENTRY]) chmodSync(resolve(root, entry), 0o755)
}

/** Whether a compiled module of the product is newer than the bundle (or there is none): `npx tsc` alone leaves it stale. */
export function bundleIsStale (): boolean {
  let built: number
  try {
    built = statSync(resolve(root, BUNDLE_ENTRY)).mtimeMs
  } catch {
    return true
  }
  return PRODUCT_DIRS.map(d => resolve(root, 'dist', d)).filter(existsSync).some(dir =>
    readdirSync(dir, { recursive: true, encoding: 'utf8' }).some(f => f.endsWith('.js') && statSync(join(dir, f)).mtimeMs > built))
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  bundleCli().catch((err: unknown) => {
    process.stderr.write(`bundle: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 1
  })
}
