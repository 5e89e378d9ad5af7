import { readFileSync } from 'node:fs'
import { peerIdFromString } from '@libp2p/peer-id'

/**
 * An optional list of the peer ids allowed in the cluster, on top of the swarm key: a machine
 * that holds the key but is not on the list (a decommissioned VM, a leaked key) is refused at
 * the connection level and its gossip is ignored.
 */

export class AllowListError extends Error {
  override name = 'AllowListError'
}

/** Checks one peer id (e.g. 12D3KooW...); returns it in canonical form. */
export function parseAllowedPeer (text: string, where = 'peer id'): string {
  const s = text.trim()
  try {
    return peerIdFromString(s).toString()
  } catch {
    throw new AllowListError(`${where}: "${s.slice(0, 80)}" is not a libp2p peer id (e.g. 12D3KooW...; "fleet key peer-id --data DIR" prints a node's)`)
  }
}

/** A list: comma, space or newline separated; blank lines and # comments ignored. */
export function parseAllowList (text: string, where = 'allow list'): string[] {
  const out: string[] = []
  text.split('\n').forEach((line, i) => {
    for (const item of line.replace(/#.*/, '').split(/[\s,]+/)) {
      if (item !== '') out.push(parseAllowedPeer(item, `${where} line ${i + 1}`))
    }
  })
  return out
}

export function readAllowListFile (path: string): string[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new AllowListError(`cannot read allow-list file ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
  }
  const ids = parseAllowList(text, path)
  if (ids.length === 0) throw new AllowListError(`allow-list file ${path} lists no peer ids (it would refuse every peer)`)
  return ids
}
