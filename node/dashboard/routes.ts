import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'

/** The files of the page, served as they are in the repository: no build step, no CDN. */
export const DASHBOARD_FILES = {
  'index.html': 'text/html; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  // ES modules, one job each: app.js wires them (state, resources, events).
  'app.js': 'text/javascript; charset=utf-8',
  'refresh.js': 'text/javascript; charset=utf-8',
  'dom.js': 'text/javascript; charset=utf-8',
  'board.js': 'text/javascript; charset=utf-8',
  'panels.js': 'text/javascript; charset=utf-8',
  'alerts.js': 'text/javascript; charset=utf-8',
  'charts.js': 'text/javascript; charset=utf-8',
  'login.js': 'text/javascript; charset=utf-8'
} as const
type DashboardFile = keyof typeof DASHBOARD_FILES

/** Where each file is served: the page at /, the rest under /dashboard/. */
function urlOf (name: DashboardFile): string {
  return name === 'index.html' ? '/' : `/dashboard/${name}`
}

/** Everything the page loads comes from this node: a stray external URL fails loudly in the browser. */
export const DASHBOARD_CSP = "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/**
 * Third-party files the page uses, served from this node's node_modules (never a CDN): uPlot, a
 * small (~50 KB) dependency-free chart library, for the burn-down and throughput charts.
 */
export const VENDOR_FILES = {
  'uPlot.iife.min.js': { module: 'uplot/dist/uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { module: 'uplot/dist/uPlot.min.css', type: 'text/css; charset=utf-8' }
} as const
type VendorFile = keyof typeof VENDOR_FILES

export class DashboardAssetsMissingError extends Error {
  override name = 'DashboardAssetsMissingError'
  constructor (tried: string[]) {
    super(`dashboard assets not found (looked in ${tried.join(', ')})`)
  }
}

/**
 * Where the page's files are. Compiled, this module runs from dist/node/dashboard/ while the
 * assets stay in node/dashboard/ (tsc copies only .ts output), so look beside the module first
 * (running from source) and then at the source tree from dist/.
 */
export function dashboardDir (moduleUrl: string = import.meta.url): string {
  const here = fileURLToPath(new URL('.', moduleUrl))
  const tried = [here, join(here, '..', '..', '..', 'node', 'dashboard')]
  const found = tried.find(d => existsSync(join(d, 'index.html')))
  if (found === undefined) throw new DashboardAssetsMissingError(tried)
  return found
}

/** The page and its files: open under --auth-reads, so a browser can show the login (they hold no data). */
export const DASHBOARD_ROUTES: readonly string[] = [...(Object.keys(DASHBOARD_FILES) as DashboardFile[]).map(urlOf), ...Object.keys(VENDOR_FILES).map(name => `/dashboard/vendor/${name}`)]

export interface DashboardRoutesInit {
  /** Directory holding DASHBOARD_FILES (default: dashboardDir()). */
  dir?: string
  /** Resolves a VENDOR_FILES module path to a file (default: Node's resolution from this module). */
  resolveVendor?: (module: string) => string
}

/**
 * `GET /` serves the dashboard; `/dashboard/<file>` (DASHBOARD_FILES) and `/dashboard/vendor/*` its
 * assets. The files are small and read once, when the routes are registered.
 */
export function dashboardRoutes (init: DashboardRoutesInit = {}): (app: FastifyInstance) => void {
  const dir = init.dir ?? dashboardDir()
  const files = new Map<DashboardFile, Buffer>()
  for (const name of Object.keys(DASHBOARD_FILES) as DashboardFile[]) files.set(name, readFileSync(join(dir, name)))
  const resolve = init.resolveVendor ?? ((m: string) => createRequire(import.meta.url).resolve(m))
  const vendor = new Map<VendorFile, Buffer>()
  for (const name of Object.keys(VENDOR_FILES) as VendorFile[]) vendor.set(name, readFileSync(resolve(VENDOR_FILES[name].module)))
  return (app) => {
    for (const name of Object.keys(DASHBOARD_FILES) as DashboardFile[]) {
      app.get(urlOf(name), async (_req, reply) => await reply
        .header('content-type', DASHBOARD_FILES[name])
        .header('content-security-policy', DASHBOARD_CSP)
        .header('cache-control', 'no-cache')
        .send(files.get(name)))
    }
    for (const name of Object.keys(VENDOR_FILES) as VendorFile[]) {
      app.get(`/dashboard/vendor/${name}`, async (_req, reply) => await reply
        .header('content-type', VENDOR_FILES[name].type)
        .header('content-security-policy', DASHBOARD_CSP)
        // Versioned with the package: the browser may keep it.
        .header('cache-control', 'max-age=3600')
        .send(vendor.get(name)))
    }
  }
}
