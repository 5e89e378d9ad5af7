/**
 * The one seeded PRNG: simulations and forecasts take their randomness as a function passed in
 * (reproducible from the seed), and tests, fuzzers and benchmarks draw their data from SeededRng,
 * so a failure replays from its seed.
 */

/** A source of floats in [0, 1). */
export type Random = () => number

/** mulberry32: 32-bit state, fast, good enough spread for sampling durations and test data. */
export function mulberry32 (seed: number): Random {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The seed in the environment variable `name` when set (to replay a failure), else a fresh one. */
export function seedFromEnv (name: string, env: NodeJS.ProcessEnv = process.env): number {
  const v = env[name]
  if (v !== undefined && v !== '') return Number(v) >>> 0
  return Math.floor(Math.random() * 0x100000000) >>> 0
}

/**
 * The random choices of tests, fuzzers and simulations, on top of float() and int(n): one
 * implementation for every source (SeededRng here, fast-check's generator in the tests).
 */
export abstract class Draws {
  /** Uniform in [0, 1). */
  abstract float (): number

  /** Integer in [0, n). */
  int (n: number): number {
    return Math.floor(this.float() * n)
  }

  /** Integer in [lo, hi]. */
  range (lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  chance (p: number): boolean {
    return this.float() < p
  }

  pick<T> (items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list')
    return items[this.int(items.length)] as T
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle<T> (items: readonly T[]): T[] {
    const out = [...items]
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const tmp = out[i] as T
      out[i] = out[j] as T
      out[j] = tmp
    }
    return out
  }

  /** len hex digits, drawn six at a time. */
  hex (len: number): string {
    let s = ''
    while (s.length < len) {
      const k = Math.min(6, len - s.length)
      s += this.int(16 ** k).toString(16).padStart(k, '0')
    }
    return s
  }

  bytes (n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = this.int(256)
    return out
  }
}

/** Draws of test data from one mulberry32 stream. */
export class SeededRng extends Draws {
  private readonly next: Random

  constructor (readonly seed: number) {
    super()
    this.next = mulberry32(seed)
  }

  float (): number {
    return this.next()
  }

  /** A child generator, so one stream's length does not shift another's values. */
  fork (): SeededRng {
    return new SeededRng(Math.floor(this.float() * 0x100000000))
  }
}
