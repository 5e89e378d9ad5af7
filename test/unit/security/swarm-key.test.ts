import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { preSharedKey } from '@libp2p/pnet'
import type { ComponentLogger, Logger } from '@libp2p/interface'
import { generateSwarmKey, parseSwarmKey, readSwarmKeyFile, SwarmKeyError } from '../../../bootstrap/swarm-key.js'
import { SecretFileError } from '../../../bootstrap/secret-file.js'
import { AllowListError, parseAllowList, readAllowListFile } from '../../../bootstrap/allow-list.js'

/** A do-nothing libp2p logger component, enough to build pnet's protector. */
const quiet: ComponentLogger = {
  forComponent: () => Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false }) as unknown as Logger
}

const HEX = '9cd2824da22710bedeeff69c7d7f4711b10a5ed98bf87f12b2350efeb2ee322a'

describe('swarm key files', () => {
  it('generates the standard three-line format that @libp2p/pnet accepts', () => {
    const text = generateSwarmKey()
    assert.match(text, /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/)
    const key = parseSwarmKey(text)
    // pnet decodes the key when the protector is built; a bad key throws here.
    assert.doesNotThrow(() => preSharedKey({ psk: key.bytes })({ logger: quiet }))
    assert.notEqual(generateSwarmKey(), text, 'two generated keys are equal')
  })

  it('accepts CRLF line ends, a BOM, trailing blank lines and upper-case hex, as the same key', () => {
    const a = parseSwarmKey(`/key/swarm/psk/1.0.0/\n/base16/\n${HEX}\n`)
    const b = parseSwarmKey(`\uFEFF/key/swarm/psk/1.0.0/\r\n/base16/\r\n${HEX.toUpperCase()}\r\n\r\n`)
    assert.deepEqual(b.bytes, a.bytes)
    assert.equal(b.fingerprint, a.fingerprint)
    assert.match(a.fingerprint, /^[0-9a-f]{16}$/)
    assert.ok(!a.fingerprint.includes(HEX.slice(0, 8)), 'the fingerprint must not show the key')
    assert.notEqual(parseSwarmKey(generateSwarmKey()).fingerprint, a.fingerprint)
  })

  const bad: Array<[string, string, RegExp]> = [
    ['empty file', '', /expected 3 lines/],
    ['just the hex', HEX, /expected 3 lines/],
    ['wrong header', `/key/swarm/psk/2.0.0/\n/base16/\n${HEX}`, /line 1 must be \/key\/swarm\/psk\/1\.0\.0\//],
    ['another codec', `/key/swarm/psk/1.0.0/\n/base64/\n${HEX}`, /line 2 must be \/base16\//],
    ['short key', `/key/swarm/psk/1.0.0/\n/base16/\n${HEX.slice(0, 62)}`, /64 hex characters, found 62/],
    ['non-hex key', `/key/swarm/psk/1.0.0/\n/base16/\n${HEX.slice(0, 63)}g`, /including non-hex/],
    ['all zeros', `/key/swarm/psk/1.0.0/\n/base16/\n${'0'.repeat(64)}`, /single repeated digit/],
    ['extra line', `/key/swarm/psk/1.0.0/\n/base16/\n${HEX}\nmore`, /found 4/]
  ]
  for (const [what, text, reason] of bad) {
    it(`refuses a key file with ${what}, saying why`, () => {
      assert.throws(() => parseSwarmKey(text, 'swarm.key'), (err: unknown) => err instanceof SwarmKeyError && /^swarm\.key: /.test(err.message) && reason.test(err.message))
    })
  }

  it('names a missing or unreadable file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleet-key-'))
    try {
      assert.throws(() => readSwarmKeyFile(join(dir, 'nope.key')), /cannot read swarm key file .*nope\.key: no such file/)
      // A file that exists but cannot be read is the machine's problem, not a bad option (exit 1, not 2).
      assert.throws(() => readSwarmKeyFile(dir), (err: unknown) => err instanceof SecretFileError && err.code === 'SECRET_FILE_UNREADABLE' && /is a directory, not a file/.test(err.message))
      writeFileSync(join(dir, 'ok.key'), generateSwarmKey())
      assert.equal(readSwarmKeyFile(join(dir, 'ok.key')).bytes.byteLength, 95)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('peer allow-lists', () => {
  const A = '12D3KooWGEqMXHKZ9TNj3JSMga99TXk5J7aB4qHmwia4WXUPU2D2'
  const B = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'

  it('reads ids separated by lines, commas or spaces, with comments', () => {
    assert.deepEqual(parseAllowList(`# vm1\n${A}  # first\n\n${B}, ${A}\n`), [A, B, A])
  })

  it('names the file and line of a bad id, and refuses an empty list', () => {
    assert.throws(() => parseAllowList(`${A}\nnot-a-peer\n`, 'allow.txt'), (err: unknown) => err instanceof AllowListError && /allow\.txt line 2: "not-a-peer" is not a libp2p peer id/.test(err.message))
    const dir = mkdtempSync(join(tmpdir(), 'fleet-allow-'))
    try {
      writeFileSync(join(dir, 'empty'), '# nobody\n')
      assert.throws(() => readAllowListFile(join(dir, 'empty')), /lists no peer ids/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
