import assert from 'node:assert/strict'
import { api, getJson } from '../helpers/http.js'
import { startWebhookReceiver, type ReceivedAlert, type WebhookReceiver } from '../helpers/webhook-receiver.js'
import { killAll, killNode, removeDir, runCli, startNode, type StartedNode } from '../../scripts/lib/node-process.js'
import { readSse, type SseEvent } from '../../scripts/lib/sse.js'
import { waitFor } from '../../scripts/lib/wait.js'

interface AlertJson { fingerprint: string, alertname: string, status: string, labels: Record<string, string>, startsAt: string, endsAt: string | null, sender: string, delivered: boolean }
interface AlertsJson { active: AlertJson[], recent: AlertJson[] }

/** Options every node of these tests gets: agents count as dead after 3 s, nodes after 3 s of silence. */
function alertArgs (receiver: WebhookReceiver): string[] {
  return ['--alert-webhook', receiver.url, '--agent-dead', '3', '--liveness', '3']
}

async function alerts (n: StartedNode): Promise<AlertsJson> {
  return await getJson<AlertsJson>(n.url, '/api/alerts')
}

const isDeadAlertOf = (agent: string) => (a: { labels: Record<string, string> }): boolean => a.labels.alertname === 'FleetAgentDead' && a.labels.agent === agent

async function twoNodes (receiver: WebhookReceiver): Promise<[StartedNode, StartedNode]> {
  const n1 = await startNode({ extraArgs: alertArgs(receiver) })
  const n2 = await startNode({ bootstrap: [n1.addr], extraArgs: alertArgs(receiver) })
  await waitFor(async () => (await getJson<{ peers: number }>(n1.url, '/health')).peers === 1 && (await getJson<{ peers: number }>(n2.url, '/health')).peers === 1, 'nodes 1 and 2 to connect', 30_000)
  return [n1, n2]
}

describe('alerting: evaluated by the cluster, delivered once to webhooks', function () {
  this.timeout(180_000)
  const dirs: string[] = []
  const receivers: WebhookReceiver[] = []

  afterEach(async () => {
    await killAll()
    for (const r of receivers.splice(0)) await r.close()
    for (const d of dirs.splice(0)) removeDir(d)
  })

  it('an agent that stops heartbeating fires FleetAgentDead once (after a 500, by retry), listed on both nodes, and resolves once on a heartbeat', async () => {
    // The receiver refuses the first POST: the alert must still arrive, by retry.
    const receiver = await startWebhookReceiver((n) => (n === 0 ? 500 : 200))
    receivers.push(receiver)
    const [n1, n2] = await twoNodes(receiver)
    dirs.push(n1.dataDir, n2.dataDir)
    const events: SseEvent[] = []
    const ac = new AbortController()
    readSse(`${n2.url}/api/events`, (e) => { events.push(e) }, { signal: ac.signal }).catch(() => {})

    const reg = await api(n1.url, 'POST', '/api/agents', { id: 'agent-x', role: 'backend' })
    assert.equal(reg.status, 201, JSON.stringify(reg.body))
    const deadAt = Date.now() + 3000

    const firing = await waitFor(() => receiver.accepted().find(a => isDeadAlertOf('agent-x')(a) && a.status === 'firing'), 'the receiver to accept a FleetAgentDead notification for agent-x', 30_000)
    const lateBy = Date.now() - deadAt
    assert.ok(lateBy < 10_000, `FleetAgentDead arrived ${lateBy} ms after the agent went silent for 3 s (want < 10 s)`)
    assert.equal(receiver.received[0]?.answered, 500, 'the first POST was refused, so the alert came by retry')
    const first = receiver.received.find(r => (r.body.alerts ?? []).some(isDeadAlertOf('agent-x')))
    assert.equal(first?.body.version, '4')
    assert.equal(first?.body.receiver, 'fleet')
    assert.deepEqual(first?.body.groupLabels, { alertname: 'FleetAgentDead' })
    assert.deepEqual(firing.labels, { alertname: 'FleetAgentDead', severity: 'warning', agent: 'agent-x', role: 'backend', node: n1.peerId })
    assert.match(firing.annotations.summary ?? '', /agent-x/)
    assert.match(firing.fingerprint, /^[0-9a-f]{16}$/)
    assert.equal(firing.endsAt, '0001-01-01T00:00:00Z')

    // Listed as active on both nodes, and recorded as delivered (so nobody sends it again).
    for (const n of [n1, n2]) {
      const active = await waitFor(async () => (await alerts(n)).active.find(a => isDeadAlertOf('agent-x')(a) && a.delivered), `node ${n.url} to list the delivered FleetAgentDead alert as active`, 20_000)
      assert.equal(active.fingerprint, firing.fingerprint)
      assert.equal(active.startsAt, firing.startsAt)
    }
    await waitFor(() => events.find(e => e.event === 'alert' && (JSON.parse(e.data) as { op?: string }).op === 'firing'), 'an `alert` event on the SSE stream of node 2', 10_000)
    const metrics = await (await fetch(`${n2.url}/metrics`)).text()
    assert.match(metrics, /^fleet_alerts_firing\{alertname="FleetAgentDead"\} 1$/m)

    // A heartbeat resolves it: one resolved notification.
    const beat = await api(n1.url, 'PUT', '/api/agents/agent-x/heartbeat', {})
    assert.equal(beat.status, 200, JSON.stringify(beat.body))
    // Keep it alive from now on, so the alert does not fire again while we look.
    const keepAlive = setInterval(() => { api(n1.url, 'PUT', '/api/agents/agent-x/heartbeat', {}).catch(() => {}) }, 500)
    try {
      const resolved = await waitFor(() => receiver.accepted().find(a => a.fingerprint === firing.fingerprint && a.status === 'resolved'), 'the receiver to accept the resolved notification', 20_000)
      assert.equal(resolved.startsAt, firing.startsAt)
      assert.notEqual(resolved.endsAt, '0001-01-01T00:00:00Z')
      for (const n of [n1, n2]) {
        await waitFor(async () => {
          const a = await alerts(n)
          return !a.active.some(isDeadAlertOf('agent-x')) && a.recent.some(r => r.fingerprint === firing.fingerprint && r.status === 'resolved' && r.delivered)
        }, `node ${n.url} to list the alert as resolved and delivered`, 20_000)
      }
      // Both transitions are recorded as delivered: count what the receiver accepted for this alert.
      const ofThis = receiver.accepted().filter(a => a.fingerprint === firing.fingerprint && a.startsAt === firing.startsAt)
      assert.deepEqual(ofThis.map(a => a.status), ['firing', 'resolved'], 'exactly one firing and one resolved notification, cluster-wide')
    } finally {
      clearInterval(keepAlive)
      ac.abort()
    }
  })

  it('kill -9 of the node sending a pending alert: the next leader takes it over and it is delivered', async () => {
    let accept = false
    const receiver = await startWebhookReceiver(() => (accept ? 200 : 503))
    receivers.push(receiver)
    const [n1, n2] = await twoNodes(receiver)
    dirs.push(n1.dataDir, n2.dataDir)
    const reg = await api(n1.url, 'POST', '/api/agents', { id: 'agent-y', role: 'backend' })
    assert.equal(reg.status, 201)

    // Firing, recorded, being retried by its sender and not yet delivered.
    const pending = await waitFor(async () => (await alerts(n2)).active.find(a => isDeadAlertOf('agent-y')(a) && !a.delivered), 'FleetAgentDead for agent-y to be recorded and pending on node 2', 30_000)
    await waitFor(() => receiver.received.some(r => (r.body.alerts ?? []).some(isDeadAlertOf('agent-y'))), 'the sender to have tried the receiver (answered 503)', 20_000)
    const sender = pending.sender === n1.peerId ? n1 : n2
    const survivor = sender === n1 ? n2 : n1
    assert.equal(pending.sender, sender.peerId)
    await killNode(sender)
    accept = true

    const got = await waitFor(() => receiver.accepted().find((a: ReceivedAlert) => a.fingerprint === pending.fingerprint && a.status === 'firing'), 'the surviving node to deliver the alert the killed sender left pending', 40_000)
    assert.equal(got.startsAt, pending.startsAt, 'the same transition, not a new alert')
    const rec = await waitFor(async () => (await alerts(survivor)).active.find(a => a.fingerprint === pending.fingerprint && a.delivered), 'the survivor to record the delivery', 20_000)
    assert.equal(rec.sender, survivor.peerId)
  })

  it('refuses a bad --alert-webhook at start with exit 2', async () => {
    const r = await runCli(['start', '--data', '/nonexistent/never-created', '--alert-webhook', 'ftp://example.org/hook'])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /invalid --alert-webhook: "ftp:\/\/example\.org\/hook" is not a webhook URL: scheme ftp: is not http: or https:/)
    const env = await runCli(['start', '--data', '/nonexistent/never-created'], { FLEET_ALERT_WEBHOOK: 'http://127.0.0.1:9/ok,not a url' })
    assert.equal(env.code, 2, env.stderr)
    assert.match(env.stderr, /invalid FLEET_ALERT_WEBHOOK: "not" is not a webhook URL/)
  })
})
