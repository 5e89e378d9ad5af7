import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { tempDir } from '../../scripts/lib/node-process.js'
import { CHROMIUM_FLAGS, findChromium, skipUnlessRequired } from './environment.js'

/** The browser tests' Chromium, or a skip (an error in CI, where .ci/run installs it). */
export function chromiumOrSkip (ctx: Mocha.Context, what: string): string {
  const path = findChromium()
  if (path === null) skipUnlessRequired(ctx, what, 'no chromium on PATH (apt-get install chromium; .ci/run does)', process.env.CI === 'true')
  return path
}

/** A browser with a fresh profile directory (no cache, cookies or service workers from earlier runs). */
export async function launchBrowser (): Promise<{ browser: BrowserContext, profile: string }> {
  const executablePath = findChromium()
  if (executablePath === null) throw new Error('no chromium on PATH (call chromiumOrSkip first)')
  const profile = tempDir('fleet-chromium-')
  const browser = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: CHROMIUM_FLAGS, viewport: { width: 1440, height: 1000 } })
  return { browser, profile }
}

/** Collects page errors, console errors and requests to any other host than the node's. */
export function watchProblems (page: Page, nodeUrl: string): string[] {
  const problems: string[] = []
  const origin = new URL(nodeUrl).host
  page.on('pageerror', (e) => { problems.push(`page error: ${e.message}`) })
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`) })
  page.on('request', (r) => { if (!r.url().startsWith('data:') && new URL(r.url()).host !== origin) problems.push(`request to another host: ${r.url()}`) })
  return problems
}
