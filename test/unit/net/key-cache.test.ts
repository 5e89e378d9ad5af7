import assert from 'node:assert/strict'
import { createPublicKey, verify as nodeVerify } from 'node:crypto'
import { generateKeyPair, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { installKeyCache, keyCacheStats } from '../../../node/net/key-cache.js'

/** What @libp2p/crypto 5.1.8 does on every verify: a KeyObject from a JWK, then Node's verify. */
function referenceVerify (raw: Uint8Array, sig: Uint8Array, data: Uint8Array): boolean {
  const key = createPublicKey({ format: 'jwk', key: { crv: 'Ed25519', x: Buffer.from(raw).toString('base64url'), kty: 'OKP' } })
  return nodeVerify(null, data, key, sig)
}

describe('cached Ed25519 keys (node/net/key-cache.ts)', () => {
  it('signs and verifies exactly as the library did: valid, forged, tampered and foreign signatures', async () => {
    const a = await generateKeyPair('Ed25519')
    const b = await generateKeyPair('Ed25519')
    const data = new TextEncoder().encode('a gossip message')
    const before = a.sign(data) as Uint8Array
    installKeyCache()
    installKeyCache() // idempotent
    const sig = a.sign(data) as Uint8Array
    assert.deepEqual(sig, before, 'Ed25519 is deterministic: the cached key signs the same bytes')
    const tamperedSig = Uint8Array.from(sig)
    tamperedSig[10] = (tamperedSig[10] ?? 0) ^ 1
    const tamperedData = Uint8Array.from(data)
    tamperedData[0] = (tamperedData[0] ?? 0) ^ 1
    const pubA = publicKeyFromRaw(a.publicKey.raw)
    const pubB = publicKeyFromRaw(b.publicKey.raw)
    const cases: Array<[string, typeof pubA, Uint8Array, Uint8Array, boolean]> = [
      ['valid', pubA, sig, data, true],
      ['tampered signature', pubA, tamperedSig, data, false],
      ['tampered data', pubA, sig, tamperedData, false],
      ['another key', pubB, sig, data, false]
    ]
    const misses = keyCacheStats.misses
    for (const [what, key, s, d, expected] of cases) {
      for (let i = 0; i < 3; i++) {
        assert.equal(await key.verify(d, s), expected, what)
        assert.equal(referenceVerify(key.raw, s, d), expected, `${what} (reference)`)
      }
    }
    assert.ok(keyCacheStats.misses - misses <= 2, 'each key object is built once, not per verify')
    assert.throws(() => pubA.verify(data, sig.subarray(0, 10)), /64 bytes/)
  })
})
