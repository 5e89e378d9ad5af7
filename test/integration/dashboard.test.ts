import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import type { BrowserContext, Page } from 'playwright-core'
import { chromiumOrSkip, launchBrowser, watchProblems } from '../helpers/chromium.js'
import { api, getJson } from '../helpers/http.js'
import { killAll, removeDir, startNode, type StartedNode } from '../../scripts/lib/node-process.js'
import { waitFor } from '../../scripts/lib/wait.js'

const SAMPLE_PLAN = new URL('../../../plan/examples/remediation-plan.md', import.meta.url)
/** Set to a path to save a screenshot of the dashboard at the end (how node/dashboard/screenshot.png is made). */
const SCREENSHOT = process.env.FLEET_DASHBOARD_SCREENSHOT

async function post<T = { id: string }> (n: StartedNode, path: string, body: unknown, expect: number): Promise<T> {
  const r = await api<T>(n.url, 'POST', path, body)
  assert.equal(r.status, expect, `POST ${path} -> ${r.status} ${JSON.stringify(r.body)}`)
  return r.body
}

async function put (n: StartedNode, path: string, body: unknown): Promise<void> {
  const r = await api(n.url, 'PUT', path, body)
  assert.equal(r.status, 200, `PUT ${path} -> ${r.status} ${JSON.stringify(r.body)}`)
}

async function text (page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).first().textContent())?.trim() ?? ''
}

describe('dashboard in headless Chromium', function () {
  this.timeout(120_000)
  let node: StartedNode | undefined
  let browser: BrowserContext | undefined
  let profile: string | undefined

  before(async function () {
    chromiumOrSkip(this, 'the dashboard browser test')
    node = await startNode()
    ;({ browser, profile } = await launchBrowser())
  })

  after(async () => {
    await browser?.close()
    await killAll()
    if (node !== undefined) removeDir(node.dataDir)
    if (profile !== undefined) removeDir(profile)
  })

  it('loads, shows the sample plan\'s 28 tasks, and shows a task completed through the API as done without reload', async () => {
    const n = node as StartedNode
    const imported = await post<{ totalTasks: number }>(n, '/api/plan/import', { content: await readFile(SAMPLE_PLAN, 'utf8'), file: 'remediation-plan.md' }, 200)
    assert.equal(imported.totalTasks, 28)

    const page = (browser as BrowserContext).pages()[0] ?? await (browser as BrowserContext).newPage()
    const problems = watchProblems(page, n.url)

    await page.goto(n.url)
    await waitFor(async () => await page.locator('[data-task-id]').count() === 28, 'the page to show 28 task cards')
    assert.equal(await text(page, '#task-total'), '28')
    assert.equal(await page.locator('[data-column="pending"] [data-task-id]').count() + await page.locator('[data-column="blocked"] [data-task-id]').count(), 28, 'nothing started yet')
    assert.equal(await page.locator('.epic[data-epic]').count(), 5, 'one progress bar per epic')
    assert.match(await text(page, '.epic[data-epic="E1"]'), /Data model and schema consolidation\s*0%/)
    await page.waitForSelector('#live[data-state="live"]', { timeout: 20_000 })
    assert.match(await text(page, '#node-id'), new RegExp(n.peerId.slice(-8)))

    // Marks this page instance: a reload would lose it. (The page's CSP forbids eval, so a function.)
    await page.evaluate(() => { (globalThis as unknown as { fleetNoReload: boolean }).fleetNoReload = true })

    await post(n, '/api/agents', { id: 'agent-a', name: 'Agent A', role: 'schemas' }, 201)
    await page.waitForSelector('[data-agent-id="agent-a"]', { timeout: 20_000 })
    const claim = await post(n, '/api/assignments', { taskId: 'T1.1', agentId: 'agent-a' }, 202)
    await waitFor(async () => (await getJson<{ state: string }>(n.url, `/api/assignments/${claim.id}`)).state === 'confirmed', 'the claim of T1.1 to be confirmed')
    await page.waitForSelector('[data-column="in_progress"] [data-task-id="T1.1"]', { timeout: 20_000 })
    await put(n, `/api/assignments/${claim.id}/progress`, { percent: 60, message: 'half way' })
    const first = await post<{ id: string, createdAt: number }>(n, '/api/evidence', { taskId: 'T1.1', assignmentId: claim.id, kind: 'test-output', content: '42 passing (3s)' }, 201)
    // The panel's feed: newest first across all tasks, bounded by limit and since (ms, exclusive).
    const second = await post<{ id: string, createdAt: number }>(n, '/api/evidence', { taskId: 'T1.1', assignmentId: claim.id, kind: 'link', uri: 'https://ci.example/runs/7' }, 201)
    const newest = await getJson<Array<{ id: string }>>(n.url, '/api/evidence?limit=1')
    assert.deepEqual(newest.map(e => e.id), [first.createdAt === second.createdAt && first.id > second.id ? first.id : second.id])
    assert.deepEqual((await getJson<Array<{ id: string }>>(n.url, `/api/evidence?since=${first.createdAt - 1}`)).map(e => e.id).sort(), [first.id, second.id].sort())
    assert.deepEqual(await getJson(n.url, `/api/evidence?since=${Math.max(first.createdAt, second.createdAt)}`), [])
    const bad = await api(n.url, 'GET', '/api/evidence?limit=0')
    assert.equal(bad.status, 400)
    assert.match(bad.body.error, /invalid query: limit/)
    await put(n, `/api/assignments/${claim.id}/complete`, { summary: 'schema documented' })

    await page.waitForSelector('[data-column="done"] [data-task-id="T1.1"][data-status="done"]', { timeout: 20_000 })
    assert.equal(await page.evaluate(() => (globalThis as unknown as { fleetNoReload?: boolean }).fleetNoReload), true, 'the page was not reloaded')
    assert.equal(await text(page, '[data-count="done"]'), '1')
    await waitFor(async () => /16%/.test(await text(page, '.epic[data-epic="E1"]')), 'epic E1 to show 16% (12 of 76 hours)')
    await page.waitForSelector('[data-evidence-id]', { timeout: 20_000 })
    assert.match(await text(page, '#evidence'), /test-output\s*T1\.1\s*42 passing/)

    const entry = await post(n, '/api/git/merge-queue', { taskId: 'T1.1', assignmentId: claim.id, branch: 'feat/T1.1-schema-inventory' }, 201)
    await page.waitForSelector(`[data-entry-id="${entry.id}"]`, { timeout: 20_000 })
    assert.match(await text(page, `[data-entry-id="${entry.id}"]`), /T1\.1\s*feat\/T1\.1-schema-inventory\s*agent-a\s*(queued|merging)/)
    await put(n, `/api/git/merge-queue/${entry.id}/complete`, { ejected: 'check failed: 2 failing tests after rebase', output: 'FAIL schema.test.ts' })
    await page.waitForSelector(`[data-entry-id="${entry.id}"][data-state="ejected"]`, { timeout: 20_000 })
    assert.match(await text(page, `[data-entry-id="${entry.id}"] td.reason`), /check failed: 2 failing tests after rebase/, 'the ejection reason is shown')
    // Work under review whose merge is ejected raises an alert; the alerts panel shows it without reload.
    await post(n, '/api/tasks', { id: 'T-alert', title: 'Rename the orders table' }, 201)
    const claim2 = await post(n, '/api/assignments', { taskId: 'T-alert', agentId: 'agent-a' }, 202)
    await waitFor(async () => (await getJson<{ state: string }>(n.url, `/api/assignments/${claim2.id}`)).state === 'confirmed', 'the claim of T-alert to be confirmed')
    const entry2 = await post(n, '/api/git/merge-queue', { taskId: 'T-alert', assignmentId: claim2.id, branch: 'feat/T-alert' }, 201)
    await put(n, `/api/git/merge-queue/${entry2.id}/complete`, { ejected: 'merge conflict in db/schema.sql', output: 'CONFLICT (content): db/schema.sql' })
    await page.waitForSelector('#alerts tr[data-status="firing"]', { timeout: 20_000 })
    assert.match(await text(page, '#alerts tr[data-status="firing"]'), /FleetMergeEjected\s*info\s*task=T-alert\s*firing/)
    assert.equal(await text(page, '#alerts-summary'), '1 firing')

    if (SCREENSHOT !== undefined) await page.screenshot({ path: SCREENSHOT, fullPage: true })
    assert.deepEqual(problems, [], 'no errors in the page, nothing loaded from elsewhere')
  })
})
