import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { chromium, type BrowserContext } from 'playwright-core'
import { CHROMIUM_FLAGS, findChromium, skipUnlessRequired } from '../helpers/environment.js'
import { createClusterSecrets, killAll, removeDir, startNode, tempDir, type ClusterSecrets, type StartedNode } from '../../scripts/lib/node-process.js'
import { waitFor } from '../../scripts/lib/wait.js'

const CHROMIUM = findChromium()
const SAMPLE_PLAN = new URL('../../../plan/examples/remediation-plan.md', import.meta.url)

describe('dashboard login under --auth-reads (headless Chromium)', function () {
  this.timeout(120_000)
  let node: StartedNode | undefined
  let secrets: ClusterSecrets | undefined
  let browser: BrowserContext | undefined
  let profile: string | undefined

  before(async function () {
    if (CHROMIUM === null) skipUnlessRequired(this, 'the dashboard login browser test', 'no chromium on PATH (apt-get install chromium; .ci/run does)', process.env.CI === 'true')
    secrets = await createClusterSecrets()
    node = await startNode({ extraArgs: ['--api-token-file', secrets.tokenFile, '--auth-reads'] })
    profile = tempDir('fleet-chromium-')
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM as string, headless: true, args: CHROMIUM_FLAGS, viewport: { width: 1280, height: 900 } })
  })

  after(async () => {
    await browser?.close()
    await killAll()
    for (const d of [node?.dataDir, profile, secrets?.dir]) if (d !== undefined) removeDir(d)
  })

  it('shows the login form, refuses a wrong token, and shows the live board after login with an HttpOnly SameSite=Strict cookie', async () => {
    const n = node as StartedNode
    const token = (secrets as ClusterSecrets).token
    const imported = await fetch(`${n.url}/api/plan/import`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ content: await readFile(SAMPLE_PLAN, 'utf8'), file: 'remediation-plan.md' }) })
    assert.equal(imported.status, 200)
    assert.equal((await fetch(`${n.url}/api/tasks`)).status, 401, 'reads need the token')

    const ctx = browser as BrowserContext
    const page = ctx.pages()[0] ?? await ctx.newPage()
    const problems: string[] = []
    page.on('pageerror', (e) => { problems.push(`page error: ${e.message}`) })
    await page.goto(n.url)
    await page.waitForSelector('#login:not([hidden])', { timeout: 20_000 })
    assert.equal(await page.locator('[data-task-id]').count(), 0, 'no board before login')
    assert.equal(await page.evaluate(async () => (await fetch('/api/tasks')).status), 401)

    await page.fill('#login-token', 'not-the-token-at-all-0000')
    await page.click('#login button[type="submit"]')
    await waitFor(async () => (await page.textContent('#login-error'))?.includes('wrong token') === true, 'the page to say the token is wrong')

    await page.fill('#login-token', token)
    await page.click('#login button[type="submit"]')
    await waitFor(async () => await page.locator('[data-task-id]').count() === 28, 'the board to show 28 task cards after login')
    await page.waitForSelector('#live[data-state="live"]', { timeout: 20_000 })
    assert.equal(await page.isHidden('#login'), true)

    const cookie = (await ctx.cookies(n.url)).find(c => c.name === 'fleet_session')
    assert.ok(cookie !== undefined, 'a session cookie is set')
    assert.equal(cookie.httpOnly, true)
    assert.equal(cookie.sameSite, 'Strict')
    assert.equal(await page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie.includes('fleet_session')), false, 'scripts cannot read it')
    // The cookie is for reads only.
    assert.equal(await page.evaluate(async () => (await fetch('/api/tasks', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id":"X","title":"x"}' })).status), 401)

    // A reload keeps the session: straight to the board.
    await page.reload()
    await waitFor(async () => await page.locator('[data-task-id]').count() === 28, 'the board after a reload')
    assert.equal(await page.isHidden('#login'), true)
    assert.deepEqual(problems, [])
  })
})
