import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { DnsResolveError, resolveDialAddr, type LookupFn } from '../../../bootstrap/resolve.js'

const ID = '12D3KooWGC6TvWhfajpgX6wvJHMYvKpDMXPb3ZnCZ6dMgu4Fdhu6'

describe('bootstrap/resolve', () => {
  it('expands a /dns4/ name into its IPv4 addresses, keeping port and peer id', async () => {
    const asked: Array<[string, number]> = []
    const lookup: LookupFn = async (host, family) => { asked.push([host, family]); return ['10.0.0.7', '10.0.0.8'] }
    const out = await resolveDialAddr(multiaddr(`/dns4/vm1.example/tcp/4001/p2p/${ID}`), lookup)
    assert.deepEqual(out.map(String), [`/ip4/10.0.0.7/tcp/4001/p2p/${ID}`, `/ip4/10.0.0.8/tcp/4001/p2p/${ID}`])
    assert.deepEqual(asked, [['vm1.example', 4]])
  })

  it('asks for both families for /dns/ (the TCP transport alone would try IPv4 only)', async () => {
    const lookup: LookupFn = async (_host, family) => family === 0 ? ['fd00::5', '10.0.0.5', '10.0.0.5'] : []
    const out = await resolveDialAddr(multiaddr(`/dns/vm5/tcp/4001/p2p/${ID}`), lookup)
    assert.deepEqual(out.map(String), [`/ip6/fd00::5/tcp/4001/p2p/${ID}`, `/ip4/10.0.0.5/tcp/4001/p2p/${ID}`])
  })

  it('leaves IP addresses alone and resolves localhost with the system resolver', async () => {
    const ip = multiaddr(`/ip4/10.0.0.1/tcp/4001/p2p/${ID}`)
    assert.deepEqual(await resolveDialAddr(ip, async () => { throw new Error('must not be called') }), [ip])
    const out = await resolveDialAddr(multiaddr(`/dns4/localhost/tcp/4001/p2p/${ID}`))
    assert.deepEqual(out.map(String), [`/ip4/127.0.0.1/tcp/4001/p2p/${ID}`])
  })

  it('names the host it cannot resolve', async () => {
    const enotfound = Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })
    await assert.rejects(resolveDialAddr(multiaddr(`/dns4/nowhere.invalid/tcp/4001/p2p/${ID}`), async () => { throw enotfound }),
      (err: unknown) => err instanceof DnsResolveError && err.message === 'cannot resolve nowhere.invalid: ENOTFOUND')
    await assert.rejects(resolveDialAddr(multiaddr(`/dns6/v4only/tcp/4001/p2p/${ID}`), async () => []),
      (err: unknown) => err instanceof DnsResolveError && err.message.includes('no addresses'))
  })
})
