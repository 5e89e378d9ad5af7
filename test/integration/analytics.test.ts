import assert from 'node:assert/strict'
import { copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BrowserContext } from 'playwright-core'
import { gitAt } from '../../node/git/git.js'
import { assertEachMergedOnce, mainLog } from '../helpers/git.js'
import { getJson } from '../helpers/http.js'
import { chromiumOrSkip, launchBrowser, watchProblems } from '../helpers/chromium.js'
import { killAll, removeDir, runCli, startNode, tempDir, type StartedNode } from '../../scripts/lib/node-process.js'
import { waitFor } from '../../scripts/lib/wait.js'
import type { AgentStats, RoleStats, ThroughputBucket } from '../../crdt/rules/analytics.js'
import type { BurndownView, ForecastView } from '../../node/services/analytics.js'
import type { Report } from '../../node/cli/report.js'

const SAMPLE_PLAN = fileURLToPath(new URL('../../../plan/examples/remediation-plan.md', import.meta.url))

interface Overview { totalTasks: number, totalEstimatedHours: number, byStatus: Record<string, number> }

const sum = <T>(xs: readonly T[], f: (x: T) => number): number => xs.reduce((n, x) => n + f(x), 0)

/**
 * The sample plan run by `fleet demo` (3 node processes, 7 agents A-G), then one node restarted
 * alone on its data directory: everything it shows comes from the replicated document on disk.
 * The demo run itself is checked here too (one demo run serves both: it is the suite's most
 * expensive setup).
 */
describe('the demo, and analytics after it (a node restarted on its data)', function () {
  this.timeout(600_000)
  let dir = ''
  let demoOut = ''
  let node: StartedNode | undefined
  let browser: BrowserContext | undefined
  let profile: string | undefined

  before(async function () {
    dir = tempDir('fleet-analytics-')
    // A plan file named with --plan (a copy of the sample), as a user runs the demo on their own plan.
    const planFile = join(dir, 'plan.md')
    copyFileSync(SAMPLE_PLAN, planFile)
    const r = await runCli(['demo', '--dir', join(dir, 'demo'), '--plan', planFile, '--nodes', '3', '--timeout', '480'])
    assert.equal(r.code, 0, `demo failed: ${r.stdout.slice(-2000)} ${r.stderr.slice(-2000)}`)
    demoOut = r.stdout
    node = await startNode({ dataDir: join(dir, 'demo', 'node1', 'data'), startTimeoutMs: 120_000 })
  })

  after(async () => {
    await browser?.close()
    await killAll()
    if (profile !== undefined) removeDir(profile)
    if (dir !== '') removeDir(dir)
  })

  it('runs the demo on the 28-task sample plan with 3 nodes: every task done, each change on main exactly once', async () => {
    assert.match(demoOut, /done: 28 tasks, 552 h, 28 merges/)
    const remote = join(dir, 'demo', 'remote.git')
    const ids = (await getJson<Array<{ id: string }>>((node as StartedNode).url, '/api/tasks')).map(t => t.id)
    assert.equal(ids.length, 28)
    assertEachMergedOnce(await mainLog(remote), ids)
    const files = (await gitAt(remote).raw(['ls-tree', '-r', '--name-only', 'main'])).split('\n').filter(f => f.startsWith('work/'))
    assert.equal(files.length, 28)
  })

  it('serves every agent with all 28 tasks and 552 h done between them, and matching roles, throughput and forecast', async () => {
    const url = (node as StartedNode).url
    const agents = await getJson<AgentStats[]>(url, '/api/analytics/agents')
    assert.deepEqual(agents.map(a => a.agentId), ['A', 'B', 'C', 'D', 'E', 'F', 'G'])
    assert.equal(sum(agents, a => a.tasksDone), 28)
    assert.equal(sum(agents, a => a.hoursDone), 552)
    for (const a of agents) {
      assert.ok(a.tasksDone >= 1, `${a.agentId} (${a.role}) did a task of its role`)
      assert.ok(a.attempts >= a.tasksDone && a.node !== '' && a.lastDoneAt !== null, JSON.stringify(a))
      assert.ok((a.cycleTimeMs.p50 ?? 0) > 0 && (a.cycleTimeMs.p90 ?? 0) >= (a.cycleTimeMs.p50 ?? 0), `cycle times of ${a.agentId}: ${JSON.stringify(a.cycleTimeMs)}`)
      assert.ok(a.busyMs > 0 && (a.estimateRatio ?? 0) > 0, `busy ${a.busyMs} ms, ratio ${a.estimateRatio}`)
    }
    const roles = await getJson<RoleStats[]>(url, '/api/analytics/roles')
    assert.equal(roles.length, 7)
    assert.equal(sum(roles, r => r.tasksDone), 28)
    const hourly = await getJson<ThroughputBucket[]>(url, '/api/analytics/throughput?bucket=hour')
    assert.equal(sum(hourly, b => b.tasks), 28)
    assert.equal(sum(hourly, b => b.hours), 552)
    const burndown = await getJson<BurndownView>(url, '/api/analytics/burndown')
    assert.equal(burndown.points.length, 29, 'the start and one point per done task')
    assert.deepEqual([burndown.points[0]?.remainingHours, burndown.points.at(-1)?.remainingHours], [552, 0])
    const forecast = await getJson<ForecastView>(url, '/api/progress/forecast')
    assert.equal(forecast.remainingHours, 0)
    assert.deepEqual(forecast.criticalPath, [])
    const bad = await fetch(`${url}/api/analytics/throughput?bucket=week`)
    assert.equal(bad.status, 400)
    assert.match(((await bad.json()) as { error: string }).error, /bucket/)
  })

  it('fleet report --json is valid JSON with the same totals', async () => {
    const url = (node as StartedNode).url
    const r = await runCli(['report', '--node', url, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const report = JSON.parse(r.stdout) as Report
    const overview = await getJson<Overview>(url, '/api/progress/overview')
    assert.equal(report.overview.totalTasks, overview.totalTasks)
    assert.equal(sum(report.agents, a => a.tasksDone), overview.byStatus.done)
    assert.equal(sum(report.agents, a => a.hoursDone), overview.totalEstimatedHours)
    assert.equal(sum(report.roles, x => x.hoursDone), 552)
    assert.equal(sum(report.throughput.buckets, b => b.tasks), 28)
    assert.equal(report.forecast.remainingHours, 0)
    assert.ok(report.slowest.length > 0 && report.slowest.length <= 10)
    const text = await runCli(['report', '--node', url])
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /PROGRESS .* 100% of 552 h/)
    assert.match(text.stdout, /^AGENT +ROLE +DONE/m)
    assert.match(text.stdout, /^A +schemas +\d+ /m)
  })

  it('the dashboard draws the burn-down and throughput charts with data points, and the per-agent table', async function () {
    chromiumOrSkip(this, 'the dashboard chart test')
    const url = (node as StartedNode).url
    ;({ browser, profile } = await launchBrowser())
    const page = browser.pages()[0] ?? await browser.newPage()
    const problems = watchProblems(page, url)
    await page.goto(url)
    await waitFor(async () => Number(await page.getAttribute('#burndown-chart', 'data-points')) >= 29, 'the burn-down chart to get its 29 points', 60_000)
    await waitFor(async () => Number(await page.getAttribute('#throughput-chart', 'data-points')) >= 1, 'the throughput chart to get its points', 60_000)
    // uPlot draws on a canvas; its legend names each series.
    assert.equal(await page.locator('#burndown-chart canvas').count(), 1)
    assert.equal(await page.locator('#throughput-chart canvas').count(), 1)
    assert.match((await page.locator('#burndown-chart').textContent()) ?? '', /remaining \(h\)/)
    assert.match((await page.locator('#throughput-chart').textContent()) ?? '', /hours done/)
    await waitFor(async () => await page.locator('[data-perf-agent]').count() === 7, 'one performance row per agent')
    assert.match((await page.locator('[data-perf-agent="A"]').textContent()) ?? '', /^A\s*schemas\s*\d+/)
    assert.match((await page.locator('#forecast-summary').textContent()) ?? '', /0 h left.*all done/)
    assert.deepEqual(problems, [], 'no errors in the page, nothing loaded from elsewhere')
  })
})
