import { createHash, randomBytes } from 'node:crypto'
import { readSecretFile, SecretFileError } from './secret-file.js'

/**
 * The libp2p private-network key (a "swarm.key", as in IPFS/libp2p pnet): every connection is
 * XSalsa20-encrypted with it before any libp2p protocol runs, so a peer without the same key
 * sees only noise and cannot connect, let alone read the document.
 *
 * File format (three lines):
 *
 *     /key/swarm/psk/1.0.0/
 *     /base16/
 *     <64 hex characters: 32 random bytes>
 */

export const SWARM_KEY_HEADER = '/key/swarm/psk/1.0.0/'
export const SWARM_KEY_CODEC = '/base16/'
/** 32 bytes, the XSalsa20 key size @libp2p/pnet expects. */
export const SWARM_KEY_BYTES = 32

export class SwarmKeyError extends Error {
  override name = 'SwarmKeyError'
}

/** A new random key in the file format above (with a trailing newline). */
export function generateSwarmKey (): string {
  return `${SWARM_KEY_HEADER}\n${SWARM_KEY_CODEC}\n${randomBytes(SWARM_KEY_BYTES).toString('hex')}\n`
}

export interface SwarmKey {
  /** The key file normalised to the canonical three lines: what @libp2p/pnet's preSharedKey takes. */
  bytes: Uint8Array
  /**
   * A short, one-way fingerprint safe to print and compare between machines (two nodes with
   * the same fingerprint share the key); it reveals nothing usable about the key.
   */
  fingerprint: string
}

/**
 * Parses and checks a swarm key. Stricter than @libp2p/pnet itself (which ignores the header
 * and codec lines), so a truncated or hand-edited key fails here with a specific reason instead
 * of making every connection fail later with an opaque handshake error.
 */
export function parseSwarmKey (text: string, source = 'swarm key'): SwarmKey {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).map(l => l.trim())
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  if (lines.length !== 3) {
    throw new SwarmKeyError(`${source}: expected 3 lines (${SWARM_KEY_HEADER}, ${SWARM_KEY_CODEC}, 64 hex characters), found ${lines.length}; create one with "fleet key swarm"`)
  }
  const [header, codec, hex] = lines as [string, string, string]
  if (header !== SWARM_KEY_HEADER) throw new SwarmKeyError(`${source}: line 1 must be ${SWARM_KEY_HEADER}, found "${header.slice(0, 40)}"`)
  if (codec !== SWARM_KEY_CODEC) throw new SwarmKeyError(`${source}: line 2 must be ${SWARM_KEY_CODEC} (the only supported encoding), found "${codec.slice(0, 40)}"`)
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new SwarmKeyError(`${source}: line 3 must be ${SWARM_KEY_BYTES * 2} hex characters, found ${hex.length} characters${/[^0-9a-fA-F]/.test(hex) ? ' including non-hex ones' : ''}`)
  }
  const key = hex.toLowerCase()
  if (/^(.)\1*$/.test(key)) throw new SwarmKeyError(`${source}: the key is a single repeated digit; create a random one with "fleet key swarm"`)
  return {
    bytes: new TextEncoder().encode(`${SWARM_KEY_HEADER}\n${SWARM_KEY_CODEC}\n${key}`),
    fingerprint: createHash('sha256').update('fleet swarm key fingerprint\n').update(key).digest('hex').slice(0, 16)
  }
}

/**
 * Reads and parses a swarm key file: a missing or malformed file is a SwarmKeyError naming it
 * (a bad option), one that exists but cannot be read a SecretFileError (the machine's problem).
 */
export function readSwarmKeyFile (path: string): SwarmKey {
  let text: string
  try {
    text = readSecretFile(path, 'swarm key file', '--swarm-key')
  } catch (err) {
    if (err instanceof SecretFileError) throw err
    throw new SwarmKeyError(`cannot read swarm key file ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
  }
  return parseSwarmKey(text, path)
}
