/**
 * Seeded random inputs for fuzz tests: a PRNG that replays from its seed, and generators for
 * hostile values (odd strings, huge and special numbers, deep nesting, wrong types) and for
 * mutations of valid inputs (byte flips, truncation, field swaps). Everything is derived from
 * the seed, so a failure is reproduced by running again with FLEET_FUZZ_SEED=<seed>.
 */
import { SeededRng, seedFromEnv } from '../../plan/prng.js'

/** The seed: FLEET_FUZZ_SEED when set (to replay a failure), else a fresh one. */
export function fuzzSeed (): number {
  return seedFromEnv('FLEET_FUZZ_SEED')
}

/** The fuzzers' generator is the shared seeded one. */
export { SeededRng as FuzzRng }

/** Strings that break naive code: empty, huge, control characters, lone surrogates, RTL, paths, injections. */
export function weirdString (rng: SeededRng): string {
  switch (rng.int(16)) {
    case 0: return ''
    case 1: return ' '
    case 2: return 'x'.repeat(rng.pick([64, 65, 300, 301, 20_001, 70_000]))
    case 3: return '\u0000\u0001\u001f\u007f'
    case 4: return '\ud800' // lone surrogate
    case 5: return '𝕱𝖑𝖊𝖊𝖙 🚀 ñ 中文 עברית \u202e'
    case 6: return '../../../etc/passwd'
    case 7: return '%00%2e%2e%2f'
    case 8: return "'; DROP TABLE tasks; --"
    case 9: return '<script>alert(1)</script>'
    case 10: return '__proto__'
    case 11: return 'constructor'
    case 12: return '\r\nX-Injected: 1'
    case 13: return String(rng.int(1e9))
    case 14: return 'T-' + rng.int(1000).toString()
    default: {
      let s = ''
      const n = rng.int(40)
      for (let i = 0; i < n; i++) s += String.fromCodePoint(rng.chance(0.7) ? 0x20 + rng.int(95) : rng.int(0x2ffff))
      return s
    }
  }
}

/** Numbers at the edges: huge, negative, fractional, out of the safe integer range. */
export function weirdNumber (rng: SeededRng): number {
  return rng.pick([0, -0, -1, 1, 0.5, -1e-300, 1e308, -1e308, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 1e21, 101, 100, 10_001, 65536, Number.MAX_SAFE_INTEGER, Number.MIN_VALUE])
}

/** Nested arrays or objects `depth` levels deep (JSON parsers and validators must not blow the stack). */
export function deepNesting (depth: number, asArray: boolean): unknown {
  let v: unknown = 1
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { a: v }
  return v
}

/** The JSON text of deepNesting (JSON.stringify itself overflows the stack on deep values). */
export function deepJsonText (depth: number, asArray: boolean): string {
  return asArray ? '['.repeat(depth) + '1' + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)
}

/** Any JSON value, random in shape and content. */
export function randomJson (rng: SeededRng, depth = 3): unknown {
  const kind = depth <= 0 ? rng.int(5) : rng.int(7)
  switch (kind) {
    case 0: return null
    case 1: return rng.chance(0.5)
    case 2: return weirdNumber(rng)
    case 3: return weirdString(rng)
    case 4: return rng.int(1000)
    case 5: return Array.from({ length: rng.int(5) }, () => randomJson(rng, depth - 1))
    default: {
      const o: Record<string, unknown> = {}
      const n = rng.int(5)
      for (let i = 0; i < n; i++) o[rng.chance(0.5) ? weirdString(rng) : rng.pick(['id', 'title', 'role', 'status', 'taskId', 'agentId', 'percent', 'summary'])] = randomJson(rng, depth - 1)
      return o
    }
  }
}

/**
 * A mutation of a valid JSON object: one field dropped, retyped, set to an edge value, or an
 * unknown field added; or the whole value replaced by an array or a scalar.
 */
export function mutateJson (rng: SeededRng, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return rng.chance(0.5) ? randomJson(rng) : [value]
  const o = { ...(value as Record<string, unknown>) }
  const keys = Object.keys(o)
  const key = keys.length > 0 && rng.chance(0.85) ? rng.pick(keys) : weirdString(rng)
  switch (rng.int(9)) {
    case 0: delete o[key]; break
    case 1: o[key] = weirdString(rng); break
    case 2: o[key] = weirdNumber(rng); break
    case 3: o[key] = null; break
    case 4: o[key] = randomJson(rng, 2); break
    case 5: o[key] = deepNesting(rng.range(10, 200), rng.chance(0.5)); break
    case 6: o[key] = [o[key], o[key]]; break
    case 7: return [o]
    default: o[`extra_${rng.int(100)}`] = randomJson(rng, 1)
  }
  // Sometimes mutate more than one field.
  return rng.chance(0.3) ? mutateJson(rng, o) : o
}

/** A byte-level mutation: flips, overwrites, truncation, extension, duplication, or splicing. */
export function mutateBytes (rng: SeededRng, input: Uint8Array): Uint8Array {
  if (input.byteLength === 0) return rng.bytes(rng.range(1, 32))
  const b = Uint8Array.from(input)
  switch (rng.int(7)) {
    case 0: { // flip 1-4 bits
      const n = rng.range(1, 4)
      for (let i = 0; i < n; i++) { const at = rng.int(b.byteLength); b[at] = (b[at] as number) ^ (1 << rng.int(8)) }
      return b
    }
    case 1: { // overwrite bytes with edge values
      const n = rng.range(1, 4)
      for (let i = 0; i < n; i++) b[rng.int(b.byteLength)] = rng.pick([0x00, 0xff, 0x7f, 0x80, 0x1f, 0x9f, 0xbf, 0xf6, 0xf7])
      return b
    }
    case 2: return b.subarray(0, rng.int(b.byteLength)) // truncate
    case 3: { // append garbage
      const out = new Uint8Array(b.byteLength + rng.range(1, 64))
      out.set(b)
      out.set(rng.bytes(out.byteLength - b.byteLength), b.byteLength)
      return out
    }
    case 4: { // duplicate a slice in place
      const at = rng.int(b.byteLength)
      const len = rng.range(1, Math.min(64, b.byteLength - at))
      const out = new Uint8Array(b.byteLength + len)
      out.set(b.subarray(0, at + len))
      out.set(b.subarray(at, at + len), at + len)
      out.set(b.subarray(at + len), at + 2 * len)
      return out
    }
    case 5: { // delete a slice
      const at = rng.int(b.byteLength)
      const len = rng.range(1, Math.min(64, b.byteLength - at))
      const out = new Uint8Array(b.byteLength - len)
      out.set(b.subarray(0, at))
      out.set(b.subarray(at + len), at)
      return out
    }
    default: { // random bytes of similar length
      return rng.bytes(rng.range(1, Math.max(2, b.byteLength * 2)))
    }
  }
}
