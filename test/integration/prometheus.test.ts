import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { getJson } from '../helpers/http.js'
import { killAll, killNode, removeDir, startNode, tempDir, type StartedNode } from '../../scripts/lib/node-process.js'
import { waitFor } from '../../scripts/lib/wait.js'

const RULES_DIR = fileURLToPath(new URL('../../../scripts/prometheus/', import.meta.url))
const RULES = join(RULES_DIR, 'fleet-rules.yml')
const RULES_TESTS = join(RULES_DIR, 'fleet-rules.test.yml')

/** Whether a tool from Debian's prometheus package is on PATH. */
function have (tool: string): boolean {
  return spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0
}

/** Without the tools: a failure in CI (.ci/run installs them), a skip with the reason elsewhere. */
function requireTools (ctx: Mocha.Context, tools: string[]): void {
  const missing = tools.filter(t => !have(t))
  if (missing.length === 0) return
  if (process.env.CI === 'true') throw new Error(`${missing.join(', ')} not found: CI must install the prometheus package (apt-get install --no-install-recommends prometheus)`)
  process.stderr.write(`      skipping: ${missing.join(', ')} not found (apt-get install --no-install-recommends prometheus)\n`)
  ctx.skip()
}

async function freePort (): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const port = (srv.address() as AddressInfo).port
  await new Promise<void>((resolve) => srv.close(() => { resolve() }))
  return port
}

interface PromAlert { labels: Record<string, string>, state: string }

describe('Prometheus rules for fleet (scripts/prometheus)', function () {
  this.timeout(180_000)

  it('promtool checks the rules file and passes its unit tests (one per rule)', function () {
    requireTools(this, ['promtool'])
    const check = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' })
    assert.equal(check.status, 0, check.stdout + check.stderr)
    assert.match(check.stdout, /SUCCESS: 7 rules found/)
    const test = spawnSync('promtool', ['test', 'rules', RULES_TESTS], { encoding: 'utf8', cwd: RULES_DIR })
    assert.equal(test.status, 0, test.stdout + test.stderr)
    assert.match(test.stdout, /SUCCESS/)
    const config = spawnSync('promtool', ['check', 'config', join(RULES_DIR, 'prometheus.yml')], { encoding: 'utf8' })
    assert.equal(config.status, 0, config.stdout + config.stderr)
  })

  describe('a real Prometheus scraping a 3-node cluster', function () {
    let prom: ChildProcess | null = null
    const dirs: string[] = []

    after(async () => {
      if (prom !== null && prom.exitCode === null && prom.signalCode === null) {
        const done = new Promise((resolve) => prom?.once('exit', resolve))
        prom.kill('SIGKILL')
        await done
      }
      await killAll()
      for (const d of dirs) removeDir(d)
    })

    it('shows FleetNodeDown firing for a node that was killed', async function () {
      requireTools(this, ['prometheus'])
      const args = ['--liveness', '3']
      const n1 = await startNode({ extraArgs: args })
      const [n2, n3] = await Promise.all([startNode({ bootstrap: [n1.addr], extraArgs: args }), startNode({ bootstrap: [n1.addr], extraArgs: args })])
      const nodes: StartedNode[] = [n1, n2, n3]
      dirs.push(...nodes.map(n => n.dataDir))
      await waitFor(async () => (await Promise.all(nodes.map(async n => (await getJson<{ peers: number }>(n.url, '/health')).peers))).every(p => p === 2), 'the 3 nodes to connect', 40_000)

      const dir = tempDir('fleet-prometheus-')
      dirs.push(dir)
      const port = await freePort()
      const config = join(dir, 'prometheus.yml')
      writeFileSync(config, [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        `rule_files: ['${RULES}']`,
        'scrape_configs:',
        '  - job_name: fleet',
        `    static_configs: [{ targets: [${nodes.map(n => `'${n.url.replace(/^http:\/\//, '')}'`).join(', ')}] }]`
      ].join('\n') + '\n')
      const log: string[] = []
      prom = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] })
      prom.stderr?.on('data', (d: Buffer) => { log.push(...d.toString().split('\n').filter(Boolean)); log.splice(0, Math.max(0, log.length - 20)) })
      const promUrl = `http://127.0.0.1:${port}`
      const query = async <T>(path: string): Promise<T> => await getJson<{ data: T }>(promUrl, path).then(r => r.data)

      // Prometheus has scraped every node, and the two that will survive report the victim as up.
      await waitFor(async () => {
        if (prom?.exitCode !== null) throw new Error(`prometheus exited: ${log.join(' | ')}`)
        const r = await query<{ result: Array<{ metric: Record<string, string>, value: [number, string] }> }>(`/api/v1/query?query=${encodeURIComponent(`fleet_peer_up{peer="${n3.peerId}"}`)}`)
        return r.result.filter(s => s.value[1] === '1').length >= 2
      }, 'Prometheus to scrape fleet_peer_up = 1 for node 3 from the other two nodes', 60_000, 250)
      const before = await query<{ alerts: PromAlert[] }>('/api/v1/alerts')
      assert.deepEqual(before.alerts.filter(a => a.labels.alertname === 'FleetNodeDown'), [], 'no node is down before the kill')

      await killNode(n3)
      const alert = await waitFor(async () => (await query<{ alerts: PromAlert[] }>('/api/v1/alerts')).alerts.find(a => a.labels.alertname === 'FleetNodeDown' && a.state === 'firing'), 'FleetNodeDown to fire in Prometheus after node 3 was killed', 60_000, 250)
      assert.deepEqual(alert.labels, { alertname: 'FleetNodeDown', severity: 'critical', peer: n3.peerId })
    })
  })
})
