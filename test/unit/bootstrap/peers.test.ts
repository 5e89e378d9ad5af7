import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  BootstrapListError, bootstrapFromEnv, groupByPeer, parseBootstrapAddr, parseBootstrapList, readBootstrapFile
} from '../../../bootstrap/peers.js'
import { ConfigError, resolveStartConfig } from '../../../node/config.js'

async function newPeerId (): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

/** Asserts that `fn` throws a BootstrapListError whose message contains every fragment. */
function rejects (fn: () => unknown, ...fragments: string[]): BootstrapListError {
  let caught: unknown
  try { fn() } catch (err) { caught = err }
  assert.ok(caught instanceof BootstrapListError, `expected a BootstrapListError, got ${String(caught)}`)
  for (const f of fragments) assert.ok(caught.message.includes(f), `"${caught.message}" should mention "${f}"`)
  return caught
}

describe('bootstrap/peers', () => {
  let id: string
  let id2: string
  before(async () => { id = await newPeerId(); id2 = await newPeerId() })

  describe('parseBootstrapAddr', () => {
    it('accepts TCP addresses by IP or DNS name, with the peer id', () => {
      for (const host of ['/ip4/10.0.0.1', '/ip6/fd00::1', '/dns4/vm1.example.com', '/dns6/vm1.example.com', '/dns/vm1']) {
        const p = parseBootstrapAddr(`  ${host}/tcp/4001/p2p/${id}\n`)
        assert.equal(p.peerId, id)
        assert.equal(p.addr.toString(), `${host}/tcp/4001/p2p/${id}`)
      }
    })

    it('explains each kind of bad entry, quoting it', () => {
      rejects(() => parseBootstrapAddr('10.0.0.1:4001', '--bootstrap'), '--bootstrap', '"10.0.0.1:4001"', 'HOST:PORT', '/ip4/10.0.0.1/tcp/4001/p2p/')
      rejects(() => parseBootstrapAddr('/ip4/10.0.0.1/tcp/4001'), 'no /p2p/<peer id>')
      rejects(() => parseBootstrapAddr('/ip4/10.0.0.1/tcp/4001/p2p/QmNotAPeer'), 'invalid peer id "QmNotAPeer"')
      rejects(() => parseBootstrapAddr(`/ip4/10.0.0.1/udp/4001/quic-v1/p2p/${id}`), 'no /tcp/PORT', 'plain TCP')
      rejects(() => parseBootstrapAddr(`/ip4/10.0.0.1/tcp/4001/ws/p2p/${id}`), '/ws/', 'plain TCP')
      rejects(() => parseBootstrapAddr(`/ip4/0.0.0.0/tcp/4001/p2p/${id}`), 'wildcard')
      rejects(() => parseBootstrapAddr(`/ip4/10.0.0.1/tcp/0/p2p/${id}`), 'port 0')
      rejects(() => parseBootstrapAddr(`/dnsaddr/fleet.example/p2p/${id}`), '/dnsaddr/', '/dns4/NAME')
      rejects(() => parseBootstrapAddr(`/ip4/300.0.0.1/tcp/4001/p2p/${id}`), 'not a multiaddr', '300.0.0.1')
      rejects(() => parseBootstrapAddr(`/ip4/10.0.0.1/tcp/70000/p2p/${id}`), 'not a multiaddr', '65535')
      rejects(() => parseBootstrapAddr(`/p2p/${id}`), 'starts with /p2p/')
      rejects(() => parseBootstrapAddr('   '), 'empty')
    })
  })

  describe('parseBootstrapList', () => {
    it('reads commas, spaces, newlines (LF or CRLF), blank lines and # comments', () => {
      const text = `# cluster A\r\n/ip4/10.0.0.1/tcp/4001/p2p/${id}\r\n\r\n  /dns4/vm2/tcp/4001/p2p/${id2}, /ip4/10.0.0.3/tcp/4001/p2p/${id2}   # two for vm2\n`
      const peers = parseBootstrapList(text)
      assert.deepEqual(peers.map(p => p.addr.toString()), [
        `/ip4/10.0.0.1/tcp/4001/p2p/${id}`, `/dns4/vm2/tcp/4001/p2p/${id2}`, `/ip4/10.0.0.3/tcp/4001/p2p/${id2}`
      ])
      assert.deepEqual(parseBootstrapList('# nothing here\n\n'), [])
    })

    it('names the line and the entry of a bad one', () => {
      const text = `/ip4/10.0.0.1/tcp/4001/p2p/${id}\n# comment\n/ip4/10.0.0.2/tcp/4001/p2p/${id2} vm3:4001\n`
      const err = rejects(() => parseBootstrapList(text, 'peers.txt'), 'peers.txt line 3, entry 2', '"vm3:4001"', 'HOST:PORT')
      assert.equal(err.entry, 'vm3:4001')
      // A one-line list (an environment variable) needs no line number, only the entry.
      rejects(() => parseBootstrapList(`/ip4/10.0.0.1/tcp/4001/p2p/${id},nonsense`, 'FLEET_BOOTSTRAP'), 'FLEET_BOOTSTRAP entry 2: "nonsense"')
    })
  })

  describe('files and environment', () => {
    let dir: string
    beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'fleet-boot-')) })
    afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

    it('reads a file and names the file and line of a bad entry', () => {
      const good = join(dir, 'good.txt')
      writeFileSync(good, `# our VMs\n/dns4/vm1.example/tcp/4001/p2p/${id}\n/ip4/10.0.0.2/tcp/4001/p2p/${id2}\n`)
      assert.deepEqual(readBootstrapFile(good).map(p => p.peerId), [id, id2])
      const bad = join(dir, 'bad.txt')
      writeFileSync(bad, `/ip4/10.0.0.1/tcp/4001/p2p/${id}\n\n/ip4/10.0.0.2/tcp/4001\n`)
      rejects(() => readBootstrapFile(bad), `${bad} line 3`, 'no /p2p/')
      rejects(() => readBootstrapFile(join(dir, 'missing.txt')), 'missing.txt', 'cannot be read', 'ENOENT')
    })

    it('reads FLEET_BOOTSTRAP, and fleet start names the variable of a bad entry', () => {
      assert.deepEqual(bootstrapFromEnv({}), [])
      const env = { FLEET_BOOTSTRAP: `/ip4/10.0.0.1/tcp/4001/p2p/${id},/dns4/vm2/tcp/4001/p2p/${id2}` }
      assert.deepEqual(bootstrapFromEnv(env).map(p => p.peerId), [id, id2])
      assert.deepEqual(resolveStartConfig({}, env).bootstrap.map(p => p.peerId), [id, id2])
      assert.throws(() => resolveStartConfig({}, { FLEET_BOOTSTRAP: '/ip4/10.0.0.1/tcp/4001' }),
        (err: unknown) => err instanceof ConfigError && err.message.includes('FLEET_BOOTSTRAP') && err.message.includes('no /p2p/'))
      const file = join(dir, 'boot.txt')
      writeFileSync(file, 'vm1:4001\n')
      assert.throws(() => resolveStartConfig({ bootstrapFile: file }, {}),
        (err: unknown) => err instanceof ConfigError && err.message.includes('--bootstrap-file') && err.message.includes('HOST:PORT'))
    })
  })

  it('groups several addresses of one peer and drops repeated ones', () => {
    const list = parseBootstrapList(`/ip4/10.0.0.1/tcp/4001/p2p/${id} /dns4/vm1/tcp/4001/p2p/${id} /ip4/10.0.0.1/tcp/4001/p2p/${id} /ip4/10.0.0.2/tcp/4001/p2p/${id2}`)
    const grouped = groupByPeer(list)
    assert.deepEqual([...grouped.keys()], [id, id2])
    assert.deepEqual(grouped.get(id)?.map(String), [`/ip4/10.0.0.1/tcp/4001/p2p/${id}`, `/dns4/vm1/tcp/4001/p2p/${id}`])
  })
})
