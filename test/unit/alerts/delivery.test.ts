import assert from 'node:assert/strict'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import pino from 'pino'
import { AlertDelivery, type DeliveryOutcome, type Notification } from '../../../node/alerts/delivery.js'
import { parseReceiver, parseReceivers, BadWebhookUrlError } from '../../../node/alerts/receivers.js'
import { alertmanagerPayload, webhookPayload, ZERO_TIME } from '../../../node/alerts/payload.js'
import type { AlertRecord } from '../../../crdt/alert-records.js'
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhook-receiver.js'
import { waitFor } from '../../../scripts/lib/wait.js'

const silent = pino({ level: 'silent' })

const record: AlertRecord = {
  fingerprint: '0123456789abcdef',
  alertname: 'FleetNodeDown',
  status: 'firing',
  labels: { alertname: 'FleetNodeDown', severity: 'critical', peer: 'p1' },
  annotations: { summary: 'Node p1 is down', description: 'gone' },
  startsAt: Date.UTC(2026, 10, 30, 1, 0, 0),
  endsAt: null,
  sender: 'n1',
  undelivered: [],
  updatedAt: 0
}

describe('alert delivery', function () {
  this.timeout(20_000)
  const receivers: WebhookReceiver[] = []
  const deliveries: AlertDelivery[] = []
  afterEach(async () => {
    for (const d of deliveries.splice(0)) d.stop()
    for (const r of receivers.splice(0)) await r.close()
  })

  function delivery (urls: string[], opts: Partial<ConstructorParameters<typeof AlertDelivery>[0]> = {}): { d: AlertDelivery, results: Array<[string, Notification, DeliveryOutcome]> } {
    const results: Array<[string, Notification, DeliveryOutcome]> = []
    const d = new AlertDelivery({ receivers: parseReceivers(urls), logger: silent, onResult: (r, n, o) => { results.push([r, n, o]) }, retryBaseMs: 50, retryMaxMs: 200, random: () => 1, ...opts })
    deliveries.push(d)
    return { d, results }
  }

  it('retries a receiver that answers 500 until it answers 200, and reports delivered once', async () => {
    const rx = await startWebhookReceiver((n) => (n < 2 ? 500 : 200))
    receivers.push(rx)
    const { d, results } = delivery([rx.url])
    const id = d.receiverIds()[0] as string
    d.enqueue(id, { fingerprint: 'f1', transition: 'firing@1', body: { hello: 1 } })
    await waitFor(() => results.length === 1, 'the notification to be delivered')
    assert.deepEqual(rx.received.map(r => r.answered), [500, 500, 200])
    assert.equal(results[0]?.[2], 'delivered')
    assert.deepEqual(d.stats, { delivered: 1, failedAttempts: 2, gaveUp: 0, dropped: 0 })
  })

  it('a receiver that keeps failing is given up after the retry window', async () => {
    const rx = await startWebhookReceiver(() => 503)
    receivers.push(rx)
    let now = 0
    const { d, results } = delivery([rx.url], { retryWindowMs: 1000, now: () => now })
    d.enqueue(d.receiverIds()[0] as string, { fingerprint: 'f1', transition: 'firing@1', body: {} })
    await waitFor(() => rx.received.length >= 1, 'a first attempt')
    now = 5000
    await waitFor(() => results.length === 1, 'the lane to give up')
    assert.equal(results[0]?.[2], 'gave-up')
    assert.equal(d.pending(), 0)
  })

  it('a request that gets no answer times out and is retried', async () => {
    const sockets: Socket[] = []
    const hang = createServer((s) => { sockets.push(s) })
    await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve))
    try {
      const { d, results } = delivery([`http://127.0.0.1:${(hang.address() as AddressInfo).port}/hook`], { timeoutMs: 100 })
      d.enqueue(d.receiverIds()[0] as string, { fingerprint: 'f1', transition: 'firing@1', body: {} })
      await waitFor(() => d.stats.failedAttempts >= 2, 'two timed-out attempts')
      assert.equal(results.length, 0, 'still pending, not given up')
    } finally {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => hang.close(() => { resolve() }))
    }
  })

  it('a newer transition replaces one still waiting, and pending notifications are bounded', async () => {
    const rx = await startWebhookReceiver(() => 503)
    receivers.push(rx)
    const { d, results } = delivery([rx.url], { maxPending: 3, retryBaseMs: 60_000, retryMaxMs: 60_000 })
    const id = d.receiverIds()[0] as string
    for (let i = 0; i < 5; i++) d.enqueue(id, { fingerprint: `f${i}`, transition: 'firing@1', body: {} })
    assert.ok(d.pending() <= 3, `${d.pending()} pending`)
    d.enqueue(id, { fingerprint: 'f4', transition: 'resolved@2', body: {} })
    assert.ok(d.has(id, 'f4', 'resolved@2'))
    assert.ok(!d.has(id, 'f4', 'firing@1'))
    assert.ok(results.filter(r => r[2] === 'dropped').length >= 2)
  })

  it('unreachable receivers do not hold up the others', async () => {
    const ok = await startWebhookReceiver()
    receivers.push(ok)
    const { d, results } = delivery(['http://127.0.0.1:9/nothing-listens', ok.url])
    for (const id of d.receiverIds()) d.enqueue(id, { fingerprint: 'f', transition: 'firing@1', body: {} })
    await waitFor(() => results.some(r => r[2] === 'delivered'), 'the reachable receiver to get the notification')
    assert.equal(ok.received.length, 1)
  })

  describe('receivers and payloads', () => {
    it('accepts http(s) URLs, picks the format by path, names each by a hash', () => {
      const w = parseReceiver('https://hooks.example.org/alert?token=s3cret')
      assert.equal(w.format, 'webhook')
      assert.match(w.id, /^[0-9a-f]{12}$/)
      assert.equal(w.display, 'https://hooks.example.org/alert', 'no secret in logs')
      assert.equal(parseReceiver('http://am:9093/api/v2/alerts').format, 'alertmanager')
      assert.equal(parseReceivers(['http://a/x', 'http://a/x']).length, 1)
      for (const bad of ['ftp://a/x', 'not a url', 'http://a/x#frag', '/relative']) assert.throws(() => parseReceiver(bad), BadWebhookUrlError, bad)
    })
    it('the webhook payload is Alertmanager\'s version 4', () => {
      const p = webhookPayload(record, 'http://127.0.0.1:3000')
      assert.equal(p.version, '4')
      assert.equal(p.status, 'firing')
      assert.deepEqual(p.groupLabels, { alertname: 'FleetNodeDown' })
      assert.deepEqual(p.commonLabels, record.labels)
      assert.deepEqual(p.alerts[0], {
        status: 'firing',
        labels: record.labels,
        annotations: record.annotations,
        startsAt: '2026-11-30T01:00:00.000Z',
        endsAt: ZERO_TIME,
        generatorURL: 'http://127.0.0.1:3000/api/alerts',
        fingerprint: '0123456789abcdef'
      })
      const resolved = webhookPayload({ ...record, status: 'resolved', endsAt: record.startsAt + 60_000 }, 'http://x')
      assert.equal(resolved.status, 'resolved')
      assert.equal(resolved.alerts[0]?.endsAt, '2026-11-30T01:01:00.000Z')
    })
    it('the Alertmanager API payload is a list of postable alerts', () => {
      assert.deepEqual(alertmanagerPayload(record, 'http://x'), [{ labels: record.labels, annotations: record.annotations, startsAt: '2026-11-30T01:00:00.000Z', generatorURL: 'http://x/api/alerts' }])
      assert.equal(alertmanagerPayload({ ...record, status: 'resolved', endsAt: record.startsAt }, 'http://x')[0]?.endsAt, '2026-11-30T01:00:00.000Z')
    })
  })
})
