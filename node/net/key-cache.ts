import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import { privateKeyFromRaw, publicKeyFromRaw } from '@libp2p/crypto/keys'

/**
 * Cheap Ed25519 on the hot path. @libp2p/crypto 5.1.8 (pinned, see package.json overrides)
 * builds a Node KeyObject from a JWK on every sign and every verify; gossipsub verifies every
 * signed message it receives, so an idle cluster spent a visible share of its CPU rebuilding the
 * same few peers' keys. This replaces the two methods on the Ed25519 key classes with versions
 * that keep the KeyObject of each key seen (a cluster has a handful; the cache is bounded).
 * Semantics are unchanged: the same Node crypto call, the same key, the same inputs
 * (test/unit/net/key-cache.test.ts compares both for valid and forged signatures).
 */

/** Keys remembered; beyond this the cache starts over (a cluster has tens of nodes, not thousands). */
export const MAX_CACHED_KEYS = 4096
const ED25519_PUBLIC_BYTES = 32
const ED25519_SIGNATURE_BYTES = 64
/** DER prefixes of an Ed25519 SubjectPublicKeyInfo and of a PKCS#8 private key (RFC 8410). */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

export class KeyCacheError extends Error {
  override name = 'KeyCacheError'
  readonly code = 'UNEXPECTED_KEY_CLASS'
}

const publicKeys = new Map<string, KeyObject>()
const privateKeys = new Map<string, KeyObject>()
let installed = false

export const keyCacheStats = { hits: 0, misses: 0 }

function cached (cache: Map<string, KeyObject>, raw: Uint8Array, build: () => KeyObject): KeyObject {
  const id = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64')
  let key = cache.get(id)
  if (key === undefined) {
    keyCacheStats.misses++
    if (cache.size >= MAX_CACHED_KEYS) cache.clear()
    key = build()
    cache.set(id, key)
  } else {
    keyCacheStats.hits++
  }
  return key
}

export function ed25519PublicKeyObject (raw: Uint8Array): KeyObject {
  return cached(publicKeys, raw, () => createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' }))
}

function ed25519PrivateKeyObject (raw: Uint8Array): KeyObject {
  // libp2p keeps 64 bytes: the 32-byte seed, then the public key.
  const seed = raw.subarray(0, 32)
  return cached(privateKeys, raw, () => createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' }))
}

type Bytes = Uint8Array | { subarray: () => Uint8Array }
interface AbortOptions { signal?: AbortSignal }
const flat = (b: Bytes): Uint8Array => b instanceof Uint8Array ? b : b.subarray()

/** Installs the cached sign/verify once per process (idempotent). */
export function installKeyCache (): void {
  if (installed) return
  const pub = Object.getPrototypeOf(publicKeyFromRaw(new Uint8Array(ED25519_PUBLIC_BYTES))) as { verify: unknown, constructor: { name: string } }
  const priv = Object.getPrototypeOf(privateKeyFromRaw(new Uint8Array(64))) as { sign: unknown, constructor: { name: string } }
  if (pub.constructor.name !== 'Ed25519PublicKey' || priv.constructor.name !== 'Ed25519PrivateKey') {
    throw new KeyCacheError(`unexpected key classes ${pub.constructor.name}/${priv.constructor.name}: @libp2p/crypto changed`)
  }
  pub.verify = function (this: { raw: Uint8Array }, data: Bytes, sig: Uint8Array, options?: AbortOptions): boolean {
    options?.signal?.throwIfAborted()
    // The library's own checks, kept so malformed input fails the same way.
    if (!(sig instanceof Uint8Array) || sig.byteLength !== ED25519_SIGNATURE_BYTES) throw new TypeError('"sig" must be 64 bytes in length.')
    return verify(null, flat(data), ed25519PublicKeyObject(this.raw), sig)
  }
  priv.sign = function (this: { raw: Uint8Array }, data: Bytes, options?: AbortOptions): Uint8Array {
    options?.signal?.throwIfAborted()
    return sign(null, flat(data), ed25519PrivateKeyObject(this.raw))
  }
  installed = true
}
