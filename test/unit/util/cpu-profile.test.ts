import assert from 'node:assert/strict'
import { moduleOf, summarizeProfile, type CpuProfile } from '../../../scripts/lib/cpu-profile.js'

/** The .cpuprofile summary, as bench:nodes' idle profiles are read with it (the last seconds only). */
describe('CPU profile summary', () => {
  // root -> tick (dist/node/net/prober.js) -> encode (node_modules/cborg); root -> (idle); root -> (garbage collector)
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 4, 5] },
      { id: 2, callFrame: { functionName: 'tick', url: 'file:///w/dist/node/net/prober.js', lineNumber: 9 }, children: [3] },
      { id: 3, callFrame: { functionName: 'encode', url: 'file:///w/node_modules/cborg/lib/encode.js', lineNumber: 0 } },
      { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
      { id: 5, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } }
    ],
    startTime: 0,
    // One sample per ms, at 1 ... 10 ms: the first five busy, then four idle, GC at the end.
    samples: [3, 3, 2, 3, 2, 4, 4, 4, 4, 5],
    timeDeltas: Array.from({ length: 10 }, () => 1000),
    endTime: 10_000
  }

  it('splits the busy time by module and counts a function\'s callees in its inclusive time', () => {
    const s = summarizeProfile(profile)
    assert.equal(s.busyMs, 6)
    assert.equal(s.idleMs, 4)
    assert.deepEqual(Object.fromEntries(s.selfByModule), { cborg: 3, 'fleet:node/net/prober.js': 2, '(garbage collector)': 1 })
    assert.equal(Object.fromEntries(s.inclusiveByModule)['fleet:node/net/prober.js'], 5, 'tick and what it called')
  })

  it('keeps only the profile\'s last milliseconds when asked', () => {
    const s = summarizeProfile(profile, { lastMs: 5 })
    assert.equal(s.busyMs + s.idleMs, 5)
    assert.deepEqual(Object.fromEntries(s.selfByModule), { '(garbage collector)': 1 }, 'samples at 6-10 ms: four idle, one GC')
  })

  it('names scoped packages', () => {
    assert.equal(moduleOf({ functionName: 'f', url: 'file:///x/node_modules/@chainsafe/libp2p-gossipsub/dist/src/index.js', lineNumber: 0 }), '@chainsafe/libp2p-gossipsub')
  })
})
