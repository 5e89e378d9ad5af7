/**
 * fast-check for the property tests that run a random history (a simulation drawing its choices
 * as it goes): fc.gen() gives each run its draws, so a failure is shrunk (fewer replicas, fewer
 * claims, smaller choices) and replayed from the seed and path fast-check prints. FLEET_TEST_SEED
 * (and FLEET_TEST_PATH, for the shrunk case) replay a failure; see README, Testing.
 */
import fc from 'fast-check'
import { Draws } from '../../plan/prng.js'

export { Draws }

/** Draws from fast-check's generator: each one is recorded, replayed and shrunk by fast-check. */
export class GenDraws extends Draws {
  constructor (private readonly g: fc.GeneratorValue) {
    super()
  }

  /** Uniform in [0, 1) (fc.double is uniform over the bit patterns, i.e. almost always tiny). */
  float (): number {
    return this.g(fc.integer, { min: 0, max: 0xffffffff }) / 0x100000000
  }

  /** One recorded integer, which fast-check shrinks towards 0. */
  override int (n: number): number {
    if (n <= 1) return 0
    return this.g(fc.integer, { min: 0, max: n - 1 })
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

/** checkHistories for histories that await (a real store per run). */
export async function checkHistoriesAsync (numRuns: number, fn: (draws: Draws) => Promise<void>, extra: fc.Parameters<[fc.GeneratorValue]> = {}): Promise<void> {
  await fc.assert(fc.asyncProperty(fc.gen(), async (g) => { await fn(new GenDraws(g)) }), propertyParams(numRuns, extra))
}
