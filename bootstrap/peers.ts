import { readFileSync } from 'node:fs'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'

/**
 * Direct connections a node dials and keeps (bootstrap peers included; `--max-peers`). Not a full
 * mesh: gossip and sync sessions run over these, so per-node cost does not grow with the cluster.
 * 8 random neighbours keep a random graph connected with overwhelming probability (a random
 * 8-regular graph is connected almost surely) and gossip reaches 200 nodes in about 3 hops.
 */
export const DEFAULT_MAX_PEERS = 8

/** The one form a bootstrap entry may take: fleet nodes speak plain TCP. */
export const BOOTSTRAP_FORM = '/ip4|ip6|dns|dns4|dns6/HOST/tcp/PORT/p2p/PEER_ID'
export const BOOTSTRAP_EXAMPLE = '/ip4/10.0.0.1/tcp/4001/p2p/12D3KooW...'

/**
 * A bad bootstrap entry: `entry` is the text as written, `where` names its source (an option,
 * an environment variable, a file and line), `reason` says what is wrong with it.
 */
export class BootstrapListError extends Error {
  override name = 'BootstrapListError'
  constructor (readonly where: string, readonly entry: string, readonly reason: string) {
    super(entry === '' ? `${where}: ${reason}` : `${where}: "${entry}" ${reason}`)
  }
}

export interface BootstrapPeer {
  /** The peer id from the address's /p2p/ part (the connection is authenticated against it). */
  peerId: string
  addr: Multiaddr
}

const HOST_PROTOCOLS = new Set(['ip4', 'ip6', 'dns', 'dns4', 'dns6'])

/** Why a multiaddr cannot be a bootstrap entry, or null when it can. */
function problemWith (addr: Multiaddr): string | null {
  const parts = addr.getComponents()
  const [host, transport, ...rest] = parts
  if (host === undefined) return `is empty; expected ${BOOTSTRAP_FORM}`
  if (host.name === 'dnsaddr') return `uses /dnsaddr/, which fleet does not resolve; write /dns4/NAME/tcp/PORT/p2p/PEER_ID`
  if (!HOST_PROTOCOLS.has(host.name)) return `starts with /${host.name}/; expected ${BOOTSTRAP_FORM}`
  if (host.value === '0.0.0.0' || host.value === '::') return `is a wildcard address: give the peer's reachable IP or DNS name`
  if (transport?.name !== 'tcp') return `has no /tcp/PORT after the host (fleet nodes speak plain TCP); expected ${BOOTSTRAP_FORM}`
  if (transport.value === '0') return 'has port 0: give the port the peer listens on'
  const p2p = rest.pop()
  if (p2p?.name !== 'p2p') return `has no /p2p/<peer id> at the end (without it the connection cannot be authenticated); expected ${BOOTSTRAP_FORM}`
  if (rest.length > 0) return `has /${rest.map(c => c.name).join('/')}/ between the port and /p2p/; fleet nodes speak plain TCP (${BOOTSTRAP_FORM})`
  try {
    peerIdFromString(p2p.value ?? '')
  } catch {
    return `has an invalid peer id "${p2p.value ?? ''}" (a node prints its peer id on start)`
  }
  return null
}

/**
 * One bootstrap entry: a multiaddr that names the peer, e.g. `/ip4/10.0.0.1/tcp/4001/p2p/12D3...`
 * or `/dns4/vm1.example/tcp/4001/p2p/12D3...`. Anything else is an error saying why: without
 * /p2p/ the connection could not be authenticated, and only TCP addresses can be dialed.
 */
export function parseBootstrapAddr (text: string, where = 'bootstrap address'): BootstrapPeer {
  const s = text.trim()
  if (s === '') throw new BootstrapListError(where, '', `is empty; expected ${BOOTSTRAP_FORM}`)
  if (/^[^/]+:\d+$/.test(s)) {
    throw new BootstrapListError(where, s, `is HOST:PORT, not a multiaddr; write it as ${BOOTSTRAP_EXAMPLE} (with the peer's id)`)
  }
  let addr: Multiaddr
  try {
    addr = multiaddr(s)
  } catch (err) {
    throw new BootstrapListError(where, s, `is not a multiaddr (${(err as Error).message}); expected ${BOOTSTRAP_FORM}`)
  }
  const problem = problemWith(addr)
  if (problem !== null) throw new BootstrapListError(where, s, problem)
  return { peerId: addr.getPeerId() ?? '', addr }
}

/**
 * A list as found in a file or an environment variable: entries separated by commas, spaces
 * or newlines; blank lines and `#` comments ignored. Errors name the line (and, on a line
 * with several entries, the entry) so the user can find it.
 */
export function parseBootstrapList (text: string, where = 'bootstrap list'): BootstrapPeer[] {
  const out: BootstrapPeer[] = []
  const lines = text.split(/\r?\n/)
  const multiLine = lines.filter(l => l.trim() !== '').length > 1
  lines.forEach((line, i) => {
    const items = line.replace(/#.*/, '').split(/[\s,]+/).filter(item => item !== '')
    items.forEach((item, j) => {
      const at = [multiLine ? `line ${i + 1}` : '', items.length > 1 ? `entry ${j + 1}` : ''].filter(Boolean).join(', ')
      out.push(parseBootstrapAddr(item, at === '' ? where : `${where} ${at}`))
    })
  })
  return out
}

/** A file with one bootstrap address per line (`#` comments allowed). */
export function readBootstrapFile (path: string): BootstrapPeer[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new BootstrapListError(path, '', `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  return parseBootstrapList(text, path)
}

/** The FLEET_BOOTSTRAP environment variable (or another named one): a list as above. */
export function bootstrapFromEnv (env: NodeJS.ProcessEnv = process.env, name = 'FLEET_BOOTSTRAP'): BootstrapPeer[] {
  const v = env[name]
  return v === undefined || v.trim() === '' ? [] : parseBootstrapList(v, name)
}

/**
 * Groups entries by peer: a peer may be listed with several addresses (an IP and a DNS name),
 * and the same address may come from several sources. Order of first appearance is kept.
 */
export function groupByPeer (peers: BootstrapPeer[]): Map<string, Multiaddr[]> {
  const out = new Map<string, Multiaddr[]>()
  for (const p of peers) {
    const addrs = out.get(p.peerId) ?? []
    if (!addrs.some(a => a.equals(p.addr))) addrs.push(p.addr)
    out.set(p.peerId, addrs)
  }
  return out
}

const LOOPBACK = /^\/(ip4\/127\.|ip6\/::1\/)/

/** The announced addresses worth dialing, each ending in the announcer's /p2p/ id. */
export function learnableAddrs (peerIdText: string, addrs: string[]): Multiaddr[] {
  const out: Multiaddr[] = []
  for (const a of addrs) {
    const text = a.includes('/p2p/') ? a : `${a}/p2p/${peerIdText}`
    try {
      const p = parseBootstrapAddr(text)
      if (p.peerId === peerIdText && !out.some(o => o.equals(p.addr))) out.push(p.addr)
    } catch { /* wildcard, non-TCP or malformed: not dialable */ }
  }
  const remote = out.filter(a => !LOOPBACK.test(a.toString()))
  return remote.length > 0 ? remote : out
}

export function sameAddrs (a: Multiaddr[], b: Multiaddr[]): boolean {
  return a.length === b.length && a.every(x => b.some(y => y.equals(x)))
}
