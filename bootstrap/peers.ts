import { readFileSync } from 'node:fs'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'

export class BootstrapListError extends Error {
  override name = 'BootstrapListError'
}

export interface BootstrapPeer {
  peerId: string
  addr: Multiaddr
}

/**
 * One bootstrap entry: a multiaddr that names the peer (`/ip4/10.0.0.1/tcp/4001/p2p/12D3...`,
 * or `/dns4/vm1.example/tcp/4001/p2p/...`). Without /p2p/ the connection could not be
 * authenticated, so it is an error rather than a guess.
 */
export function parseBootstrapAddr (text: string, where = 'bootstrap address'): BootstrapPeer {
  const s = text.trim()
  let addr: Multiaddr
  try {
    addr = multiaddr(s)
  } catch (err) {
    throw new BootstrapListError(`${where} "${s}" is not a multiaddr: ${(err as Error).message}`)
  }
  const peerId = addr.getPeerId()
  if (peerId === null) throw new BootstrapListError(`${where} "${s}" has no /p2p/<peer id> part`)
  try {
    peerIdFromString(peerId)
  } catch {
    throw new BootstrapListError(`${where} "${s}" has an invalid peer id "${peerId}"`)
  }
  return { peerId, addr }
}

/** A list: comma, space or newline separated; blank lines and # comments ignored. */
export function parseBootstrapList (text: string, where = 'bootstrap list'): BootstrapPeer[] {
  const out: BootstrapPeer[] = []
  const lines = text.split('\n')
  lines.forEach((line, i) => {
    const body = line.replace(/#.*/, '')
    for (const item of body.split(/[\s,]+/)) {
      if (item === '') continue
      out.push(parseBootstrapAddr(item, `${where} line ${i + 1}`))
    }
  })
  return out
}

export function readBootstrapFile (path: string): BootstrapPeer[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new BootstrapListError(`cannot read bootstrap file ${path}: ${(err as Error).message}`)
  }
  return parseBootstrapList(text, path)
}
