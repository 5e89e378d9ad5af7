import { lookup } from 'node:dns/promises'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'

/** Resolves a host name to IP addresses; family 0 means both IPv4 and IPv6. */
export type LookupFn = (host: string, family: 0 | 4 | 6) => Promise<string[]>

/** The system resolver (/etc/hosts, then DNS), as ssh or curl would use it. */
export const systemLookup: LookupFn = async (host, family) =>
  (await lookup(host, { all: true, family })).map(r => r.address)

export class DnsResolveError extends Error {
  override name = 'DnsResolveError'
  constructor (readonly host: string, readonly reason: string) {
    super(`cannot resolve ${host}: ${reason}`)
  }
}

const FAMILY: Record<string, 0 | 4 | 6> = { dns: 0, dns4: 4, dns6: 6 }

/**
 * Turns `/dns|dns4|dns6/NAME/...` into one `/ip4|ip6/ADDR/...` per address the name resolves
 * to; other addresses come back unchanged. Resolving here (on every dial, so a VM that moved
 * is found) rather than in the TCP transport matters for `/dns/`, which @libp2p/tcp 10 would
 * dial as IPv4 only, and gives an error that names the host.
 */
export async function resolveDialAddr (addr: Multiaddr, lookupFn: LookupFn = systemLookup): Promise<Multiaddr[]> {
  const [first, ...rest] = addr.getComponents()
  const family = first === undefined ? undefined : FAMILY[first.name]
  if (first === undefined || family === undefined) return [addr]
  const host = first.value ?? ''
  let ips: string[]
  try {
    ips = await lookupFn(host, family)
  } catch (err) {
    throw new DnsResolveError(host, (err as NodeJS.ErrnoException).code ?? (err as Error).message)
  }
  if (ips.length === 0) throw new DnsResolveError(host, 'no addresses')
  const tail = rest.map(c => `/${c.name}${c.value === undefined ? '' : `/${c.value}`}`).join('')
  return [...new Set(ips)].map(ip => multiaddr(`/${ip.includes(':') ? 'ip6' : 'ip4'}/${ip}${tail}`))
}

/**
 * Every address resolved (resolveDialAddr), without duplicates; throws the last resolution error
 * when nothing is left to dial.
 */
export async function resolveDialAddrs (addrs: Multiaddr[], lookupFn: LookupFn = systemLookup): Promise<Multiaddr[]> {
  const resolved: Multiaddr[] = []
  let resolveError: unknown = null
  for (const addr of addrs) {
    try {
      for (const a of await resolveDialAddr(addr, lookupFn)) {
        if (!resolved.some(r => r.equals(a))) resolved.push(a)
      }
    } catch (err) {
      resolveError = err
    }
  }
  if (resolved.length === 0) throw resolveError ?? new Error('no address to dial')
  return resolved
}
