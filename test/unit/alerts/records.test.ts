import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { genesis, type FleetDoc } from '../../../crdt/schema.js'
import { migrate, migrationChanges } from '../../../crdt/migrations.js'
import {
  AlertRecordIndex, AlertsMissingError, alertRecordOf, pruneResolved, transitionKey, writeDelivered, writeFiring, writeResolved, writeTakeOver
} from '../../../crdt/alert-records.js'
import { evaluateAlerts, type AlertInstance } from '../../../crdt/rules/alerts.js'
import { SyncLagTracker } from '../../../node/alerts/sync-lag.js'

function agentDead (id: string): AlertInstance {
  const r = evaluateAlerts({ now: 1e6, watchSince: 0, agents: [{ id, role: 'r', node: 'n', lastSeenAt: 0 }], failedTasks: [], ejected: [], queue: { waiting: 0, waitingSince: null, lastProgressAt: null, leaderCandidates: 1, noCandidatesSince: null }, peers: [], plan: { lastClaimAt: 1e6, idleAgentsWithWork: 0 } })
  return r.firing[0] as AlertInstance
}

describe('alert records in the document', () => {
  it('the alerts map comes from a migration change that is byte-identical everywhere, so concurrent replicas share it', () => {
    const [change] = migrationChanges()
    assert.ok(change !== undefined)
    // Two replicas migrated independently hold the same change, and both sides' alerts survive a merge.
    let a = migrate(genesis('aa'.repeat(16)))
    let b = migrate(genesis('bb'.repeat(16)))
    assert.deepEqual(A.getHeads(a), A.getHeads(b))
    a = A.change(a, (d) => { writeFiring(d, agentDead('A'), 1, 'n1', []) })
    b = A.change(b, (d) => { writeFiring(d, agentDead('B'), 2, 'n2', []) })
    const merged = A.merge(a, b)
    assert.equal(Object.keys(merged.alerts ?? {}).length, 2)
    assert.deepEqual(A.getHeads(migrate(merged)), A.getHeads(merged), 'migrating again changes nothing')
    assert.throws(() => A.change(genesis(), (d) => { writeFiring(d, agentDead('A'), 1, 'n1', []) }), AlertsMissingError)
  })

  it('records a transition, its deliveries, a take-over, and ignores acks of an older transition', () => {
    const a = agentDead('A')
    let doc = migrate(genesis('aa'.repeat(16)))
    doc = A.change(doc, (d) => { writeFiring(d, a, 100, 'n1', ['r1', 'r2']) })
    const rec = (): ReturnType<typeof alertRecordOf> => alertRecordOf((doc.alerts ?? {})[a.fingerprint] as NonNullable<FleetDoc['alerts']>[string])
    assert.deepEqual([rec().status, rec().startsAt, rec().undelivered], ['firing', 100, ['r1', 'r2']])
    const firing = transitionKey(rec())
    doc = A.change(doc, (d) => { writeDelivered(d, a.fingerprint, firing, 'r1') })
    assert.deepEqual(rec().undelivered, ['r2'])
    doc = A.change(doc, (d) => { assert.ok(writeTakeOver(d, a.fingerprint, firing, 'n2', ['r2'])) })
    assert.equal(rec().sender, 'n2')
    doc = A.change(doc, (d) => { assert.ok(writeResolved(d, a.fingerprint, 200, 'n2', ['r1', 'r2'])) })
    doc = A.change(doc, (d) => { writeDelivered(d, a.fingerprint, firing, 'r1') })
    assert.deepEqual(rec().undelivered, ['r1', 'r2'], 'an ack for the firing transition does not clear the resolved one')
    assert.deepEqual([rec().status, rec().endsAt], ['resolved', 200])
    doc = A.change(doc, (d) => { assert.equal(writeResolved(d, a.fingerprint, 300, 'n2', []), false, 'resolves once') })
  })

  it('keeps only the newest resolved records, and the index follows patches', () => {
    let doc = migrate(genesis('aa'.repeat(16)))
    const index = new AlertRecordIndex(() => doc)
    assert.equal(index.all().length, 0)
    const apply = (f: (d: FleetDoc) => void): void => {
      let patches: A.Patch[] = []
      doc = A.change(doc, { patchCallback: (p) => { patches = p } }, f)
      index.notePatches(patches)
    }
    for (let i = 0; i < 5; i++) apply((d) => { writeFiring(d, agentDead(`A${i}`), i, 'n1', []); writeResolved(d, agentDead(`A${i}`).fingerprint, 10 + i, 'n1', []) })
    assert.equal(index.all().length, 5)
    apply((d) => { pruneResolved(d, index.all(), 3) })
    assert.deepEqual(index.all().map(r => r.endsAt).sort(), [12, 13, 14])
  })
})

describe('sync lag', () => {
  it('a peer that keeps up under steady writes is never behind; one that stops is behind since the first checkpoint it lacks', () => {
    let heads = ['h0']
    // History is a chain h0, h1, h2...: a peer at hK lacks every hJ with J > K.
    const index = (h: string): number => Number(h.slice(1))
    const lag = new SyncLagTracker({
      heads: () => heads,
      missingFrom: (peer) => new Set(Array.from({ length: index(heads[0] as string) - index(peer[0] as string) }, (_, i) => `h${index(peer[0] as string) + i + 1}`)),
      checkpointMs: 1000,
      judgeEveryMs: 0
    })
    let t = 0
    for (; t <= 20_000; t += 500) {
      heads = [`h${t / 500}`]
      // The keeper is one write behind (never equal to us), the stopper froze at t = 5 s.
      lag.update(t, [{ id: 'keeper', heads: [`h${Math.max(0, t / 500 - 1)}`] }, { id: 'stopper', heads: [`h${Math.min(t, 5000) / 500}`] }])
    }
    const keeper = lag.behindSince('keeper')
    assert.ok(keeper === null || t - keeper <= 1500, `keeper behind since ${keeper}`)
    assert.equal(lag.behindSince('stopper'), 6000)
  })

  it('asks about a peer\'s history again only when its heads moved, and still finds it behind', () => {
    let heads = ['h0']
    const index = (h: string): number => Number(h.slice(1))
    const asked: string[] = []
    const lag = new SyncLagTracker({
      heads: () => heads,
      missingFrom: (peer) => {
        // A peer ahead of us: its changes we lack, so its ancestry is unknown here (no query made).
        if (index(peer[0] as string) > index(heads[0] as string)) return null
        asked.push(peer.join())
        return new Set(Array.from({ length: index(heads[0] as string) - index(peer[0] as string) }, (_, i) => `h${index(peer[0] as string) + i + 1}`))
      },
      checkpointMs: 1000,
      judgeEveryMs: 0
    })
    // 30 peers frozen at h2 (heard from once, as a node hears far members), judged every 500 ms for 20 s.
    const peers = Array.from({ length: 30 }, (_, i) => ({ id: `p${i}`, heads: ['h2'] }))
    for (let t = 0; t <= 20_000; t += 500) {
      heads = [`h${t / 500}`]
      lag.update(t, peers)
    }
    // Until t = 1000 they were ahead of us or level (no query); from then on, one query each.
    assert.equal(asked.length, 30, `${asked.length} ancestry queries for 30 peers whose heads never moved`)
    for (const p of peers) assert.equal(lag.behindSince(p.id), 2000, `${p.id} lacks every checkpoint after h2`)
  })
})
