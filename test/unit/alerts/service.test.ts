import assert from 'node:assert/strict'
import { join } from 'node:path'
import { DocStore } from '../../../crdt/doc-store.js'
import { MAX_RESOLVED_ALERTS, transitionKey, writeFiring } from '../../../crdt/alert-records.js'
import { DEFAULT_ALERT_THRESHOLDS, evaluateAlerts, type AlertView } from '../../../crdt/rules/alerts.js'
import { LevelChunkStore } from '../../../crdt/storage/level-chunk-store.js'
import { EventBus } from '../../../node/events/bus.js'
import { AlertService, type AlertServiceInit } from '../../../node/alerts/service.js'
import { parseReceivers } from '../../../node/alerts/receivers.js'
import { silentLogger } from '../../../node/logger.js'
import { removeDir, tempDir } from '../../../scripts/lib/node-process.js'
import { waitFor } from '../../../scripts/lib/wait.js'
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhook-receiver.js'

const T0 = 1_800_000_000_000

/** A view with `dead` agents silent for long and `alive` ones heard just now. */
function view (dead: string[], alive: string[] = []): AlertView {
  return {
    now: T0,
    watchSince: 0,
    agents: [...dead.map(id => ({ id, role: 'r', node: 'n', lastSeenAt: 0 })), ...alive.map(id => ({ id, role: 'r', node: 'n', lastSeenAt: T0 }))],
    failedTasks: [],
    ejected: [],
    queue: { waiting: 0, waitingSince: null, lastProgressAt: null, leaderCandidates: 1, noCandidatesSince: null },
    peers: [],
    plan: { lastClaimAt: T0, idleAgentsWithWork: 0 }
  }
}

describe('alert service: records transitions once, prunes, takes over a dead sender', function () {
  this.timeout(30_000)
  let dir: string
  let store: DocStore
  let current: AlertView
  const services: AlertService[] = []
  const receivers: WebhookReceiver[] = []

  const service = (over: Partial<AlertServiceInit> = {}): AlertService => {
    const s = new AlertService({
      selfId: 'self',
      store,
      inputs: { notePatches: () => {}, view: () => current },
      thresholds: DEFAULT_ALERT_THRESHOLDS,
      receivers: [],
      leaderAt: () => 'self',
      isLive: (id) => id === 'self',
      events: new EventBus(),
      logger: silentLogger(),
      externalUrl: () => 'http://127.0.0.1:1',
      tickMs: 60_000,
      delivery: { retryBaseMs: 50, retryMaxMs: 100 },
      ...over
    })
    services.push(s)
    s.start()
    return s
  }

  beforeEach(async () => {
    dir = tempDir('fleet-alert-service-')
    store = await DocStore.open({ storage: new LevelChunkStore({ path: join(dir, 'db') }), logger: silentLogger() })
  })
  afterEach(async () => {
    for (const s of services.splice(0)) s.stop()
    for (const r of receivers.splice(0)) await r.close()
    await store.close()
    removeDir(dir)
  })

  it('fires once, resolves once, and only the leader writes', async () => {
    const follower = service({ leaderAt: () => 'other', selfId: 'follower' })
    current = view(['A'])
    follower.tick(T0)
    await store.whenPersisted()
    assert.deepEqual(follower.list().active, [], 'a node that does not lead records nothing')

    const s = service()
    s.tick(T0)
    await waitFor(() => s.list().active.length === 1, 'the firing record')
    const heads = store.heads().join()
    s.tick(T0 + 1000)
    s.tick(T0 + 2000)
    await store.whenPersisted()
    assert.equal(store.heads().join(), heads, 'no second firing')
    current = view([], ['A'])
    // Ticks come every second in a node; here the test ticks until the write went through.
    await waitFor(() => { s.tick(T0 + 3000); return s.list().active.length === 0 }, 'the alert to resolve')
    assert.deepEqual(s.list().recent.map(r => r.status), ['resolved'])
  })

  it('keeps at most MAX_RESOLVED_ALERTS resolved records, never deleting the ones resolved just now', async () => {
    const s = service()
    const ids = Array.from({ length: MAX_RESOLVED_ALERTS + 20 }, (_, i) => `A${i}`)
    current = view(ids)
    await waitFor(() => { s.tick(T0); return s.list(1000).active.length === ids.length }, 'every alert firing')
    current = view([], ids.slice(0, 30))
    await waitFor(() => { s.tick(T0 + 1000); return s.list(1000).recent.filter(r => r.status === 'resolved').length === 30 }, '30 resolved')
    current = view([], ids)
    await waitFor(() => { s.tick(T0 + 2000); return s.list(1000).active.length === 0 }, 'all resolved')
    const resolved = s.list(1000).recent.filter(r => r.status === 'resolved')
    assert.equal(resolved.length, MAX_RESOLVED_ALERTS)
    const kept = new Set(resolved.map(r => r.labels.agent))
    for (const id of ids.slice(30)) assert.ok(kept.has(id), `${id}, resolved in the latest round, is kept`)
  })

  it('takes over a transition whose sender died before every receiver had it, and records the delivery', async () => {
    const rx = await startWebhookReceiver()
    receivers.push(rx)
    const [receiver] = parseReceivers([rx.url])
    const alert = evaluateAlerts(view(['A'])).firing[0]
    assert.ok(receiver !== undefined && alert !== undefined)
    await store.change((d) => { writeFiring(d, alert, T0 - 5000, 'dead-node', [receiver.id]) })
    current = view(['A'])
    const s = service({ receivers: [receiver] })
    s.tick(T0)
    await waitFor(() => rx.accepted().length === 1, 'the receiver to get the orphaned transition')
    assert.equal(rx.accepted()[0]?.startsAt, new Date(T0 - 5000).toISOString(), 'the recorded transition, not a new one')
    await waitFor(() => s.records.get(alert.fingerprint)?.undelivered.length === 0, 'the delivery to be recorded')
    const rec = s.records.get(alert.fingerprint)
    assert.equal(rec?.sender, 'self')
    assert.equal(transitionKey(rec ?? { status: 'resolved', startsAt: 0, endsAt: 0 }), `firing@${T0 - 5000}`)
    s.tick(T0 + 1000)
    await store.whenPersisted()
    assert.equal(rx.received.length, 1, 'sent once')
  })
})
