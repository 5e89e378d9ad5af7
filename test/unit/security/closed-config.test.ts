import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, resolveStartConfig } from '../../../node/config.js'
import { generateSwarmKey, parseSwarmKey } from '../../../bootstrap/swarm-key.js'

const PEER_A = '12D3KooWGEqMXHKZ9TNj3JSMga99TXk5J7aB4qHmwia4WXUPU2D2'
const PEER_B = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'

describe('closed-cluster start options', () => {
  let dir: string
  let keyFile: string
  let tokenFile: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fleet-cfg-'))
    keyFile = join(dir, 'swarm.key')
    tokenFile = join(dir, 'api.token')
    writeFileSync(keyFile, generateSwarmKey())
    writeFileSync(tokenFile, 'a-long-enough-test-token\n')
  })
  afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

  const fails = (fn: () => unknown, option: string, reason: RegExp): void => {
    assert.throws(fn, (err: unknown) => err instanceof ConfigError && err.option === option && reason.test(err.reason))
  }

  it('defaults to an open network, no allow-list and no token, on loopback', () => {
    const c = resolveStartConfig({}, {})
    assert.equal(c.swarmKey, null)
    assert.equal(c.allowPeers, null)
    assert.equal(c.apiToken, null)
    assert.equal(c.authReads, false)
  })

  it('reads the swarm key from --swarm-key, FLEET_SWARM_KEY or swarmKey in the config file', () => {
    const expected = parseSwarmKey(generateSwarmKey())
    writeFileSync(keyFile, new TextDecoder().decode(expected.bytes))
    assert.deepEqual(resolveStartConfig({ swarmKey: keyFile }, {}).swarmKey?.bytes, expected.bytes)
    assert.deepEqual(resolveStartConfig({}, { FLEET_SWARM_KEY: keyFile }).swarmKey?.bytes, expected.bytes)
    const cfg = join(dir, 'fleet.json')
    writeFileSync(cfg, JSON.stringify({ swarmKey: keyFile, apiTokenFile: tokenFile, allowPeer: [PEER_A] }))
    const c = resolveStartConfig({}, {}, cfg)
    assert.deepEqual(c.swarmKey?.bytes, expected.bytes)
    assert.equal(c.apiToken, 'a-long-enough-test-token')
    assert.deepEqual(c.allowPeers, [PEER_A])
  })

  it('names the option and the problem for a bad key file', () => {
    writeFileSync(keyFile, 'not a key')
    fails(() => resolveStartConfig({ swarmKey: keyFile }, {}), '--swarm-key', /expected 3 lines/)
    fails(() => resolveStartConfig({}, { FLEET_SWARM_KEY: join(dir, 'missing') }), 'FLEET_SWARM_KEY', /no such file/)
  })

  it('refuses a non-loopback HTTP address without a token, and accepts it with one', () => {
    fails(() => resolveStartConfig({ http: '0.0.0.0:3000' }, {}), '--http', /not a loopback address.*--api-token-file/)
    fails(() => resolveStartConfig({}, { FLEET_HTTP: '10.0.0.5:3000' }), 'FLEET_HTTP', /not a loopback address/)
    const c = resolveStartConfig({ http: '0.0.0.0:3000', apiTokenFile: tokenFile, authReads: true }, {})
    assert.equal(c.apiToken, 'a-long-enough-test-token')
    assert.equal(c.authReads, true)
    assert.equal(resolveStartConfig({ http: '[::1]:3000' }, {}).apiToken, null)
  })

  it('refuses --auth-reads without a token and a weak token file', () => {
    fails(() => resolveStartConfig({ authReads: true }, {}), '--auth-reads', /needs --api-token-file/)
    writeFileSync(tokenFile, 'secret')
    fails(() => resolveStartConfig({ apiTokenFile: tokenFile }, {}), '--api-token-file', /at least 16/)
  })

  it('merges --allow-peer and --allow-peers-file, and refuses a bootstrap peer outside the list', () => {
    const list = join(dir, 'allow.txt')
    writeFileSync(list, `# cluster\n${PEER_B}\n${PEER_A}\n`)
    assert.deepEqual(resolveStartConfig({ allowPeer: [PEER_A], allowPeersFile: list }, {}).allowPeers, [PEER_A, PEER_B])
    assert.deepEqual(resolveStartConfig({}, { FLEET_ALLOW_PEER: `${PEER_A},${PEER_B}` }).allowPeers, [PEER_A, PEER_B])
    fails(() => resolveStartConfig({ allowPeer: ['nope'] }, {}), '--allow-peer', /"nope" is not a libp2p peer id/)
    fails(() => resolveStartConfig({ allowPeer: [PEER_A], bootstrap: [`/ip4/10.0.0.2/tcp/4001/p2p/${PEER_B}`] }, {}), '--allow-peer', new RegExp(`bootstrap peer ${PEER_B} is not in the allow-list`))
  })
})
