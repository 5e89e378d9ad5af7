/**
 * fast-check for the property tests that run a random history (a simulation drawing its choices
 * as it goes): fc.gen() gives each run its draws, so a failure is shrunk (fewer replicas, fewer
 * claims, smaller choices) and replayed from the seed and path fast-check prints. FLEET_TEST_SEED
 * (and FLEET_TEST_PATH, for the shrunk case) replay a failure; see README, Testing.
 */
import fc from 'fast-check'

/** The random choices a simulation makes; SeededRng (lib/prng.ts) has the same shape. */
export interface Draws {
  float: () => number
  /** Integer in [0, n). */
  int: (n: number) => number
  chance: (p: number) => boolean
  pick: <T>(items: readonly T[]) => T
  shuffle: <T>(items: readonly T[]) => T[]
  hex: (len: number) => string
}

/** Draws from fast-check's generator: each one is recorded, replayed and shrunk by fast-check. */
export class GenDraws implements Draws {
  constructor (private readonly g: fc.GeneratorValue) {}

  /** Uniform in [0, 1) (fc.double is uniform over the bit patterns, i.e. almost always tiny). */
  float (): number {
    return this.g(fc.integer, { min: 0, max: 0xffffffff }) / 0x100000000
  }

  int (n: number): number {
    if (n <= 1) return 0
    return this.g(fc.integer, { min: 0, max: n - 1 })
  }

  chance (p: number): boolean {
    return this.float() < p
  }

  pick<T> (items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list')
    return items[this.int(items.length)] as T
  }

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
    // Six digits per draw: fewer recorded values than one per digit.
    while (s.length < len) {
      const k = Math.min(6, len - s.length)
      s += this.int(16 ** k).toString(16).padStart(k, '0')
    }
    return s
  }
}

/** fast-check parameters: numRuns, plus FLEET_TEST_SEED / FLEET_TEST_PATH to replay a failure. */
export function propertyParams (numRuns: number, extra: fc.Parameters<[fc.GeneratorValue]> = {}): fc.Parameters<[fc.GeneratorValue]> {
  const seed = process.env.FLEET_TEST_SEED
  const path = process.env.FLEET_TEST_PATH
  return {
    numRuns,
    // Uniform draws: the models' branch probabilities assume them (fast-check's default bias
    // towards small and extreme values would starve some branches). Shrinking still works.
    unbiased: true,
    // The assertion's message in the report mocha prints, not only in err.cause.
    includeErrorInReport: true,
    ...(seed === undefined || seed === '' ? {} : { seed: Number(seed) | 0 }),
    ...(path === undefined || path === '' ? {} : { path }),
    ...extra
  }
}

/** Checks `fn` (which asserts) on numRuns random histories; throws fast-check's report (seed, path, shrunk draws). */
export function checkHistories (numRuns: number, fn: (draws: Draws) => void, extra: fc.Parameters<[fc.GeneratorValue]> = {}): void {
  fc.assert(fc.property(fc.gen(), (g) => { fn(new GenDraws(g)) }), propertyParams(numRuns, extra))
}
