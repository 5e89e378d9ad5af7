/** A small seeded PRNG for property tests, so a failing trial can be replayed from its seed. */
import { mulberry32 } from '../../../plan/prng.js'

export { mulberry32 }

export class Rng {
  private readonly next: () => number

  constructor (readonly seed: number) {
    this.next = mulberry32(seed)
  }

  float (): number {
    return this.next()
  }

  /** Integer in [0, n). */
  int (n: number): number {
    return Math.floor(this.next() * n)
  }

  chance (p: number): boolean {
    return this.next() < p
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

  hex (len: number): string {
    let s = ''
    for (let i = 0; i < len; i++) s += this.int(16).toString(16)
    return s
  }
}

/** The base seed: FLEET_TEST_SEED when set (to replay a failure), else a fresh one. */
export function baseSeed (): number {
  const env = process.env.FLEET_TEST_SEED
  if (env !== undefined && env !== '') return Number(env) >>> 0
  return Math.floor(Math.random() * 0x100000000) >>> 0
}

/** Runs trials, each with its own seed derived from the base, and names the seed when one fails. */
export function forTrials (trials: number, fn: (rng: Rng, trial: number) => void): void {
  const base = baseSeed()
  for (let trial = 0; trial < trials; trial++) {
    const seed = (base + Math.imul(trial, 0x9e3779b9)) >>> 0
    try {
      fn(new Rng(seed), trial)
    } catch (err) {
      // A new error, since mocha prints the stack captured with the original message.
      throw new Error(`trial ${trial} failed (rerun with FLEET_TEST_SEED=${base}; trial seed ${seed}): ${(err as Error).message}`, { cause: err })
    }
  }
}
