/** Seeded trials for property tests that draw their own data (see README, Testing, for fast-check ones). */
import { SeededRng, seedFromEnv } from '../../../plan/prng.js'

export { SeededRng as Rng }

/** The base seed: FLEET_TEST_SEED when set (to replay a failure), else a fresh one. */
export function baseSeed (): number {
  return seedFromEnv('FLEET_TEST_SEED')
}

/** Runs trials, each with its own seed derived from the base, and names the seed when one fails. */
export function forTrials (trials: number, fn: (rng: SeededRng, trial: number) => void): void {
  const base = baseSeed()
  for (let trial = 0; trial < trials; trial++) {
    const seed = (base + Math.imul(trial, 0x9e3779b9)) >>> 0
    try {
      fn(new SeededRng(seed), trial)
    } catch (err) {
      // A new error, since mocha prints the stack captured with the original message.
      throw new Error(`trial ${trial} failed (rerun with FLEET_TEST_SEED=${base}; trial seed ${seed}): ${(err as Error).message}`, { cause: err })
    }
  }
}
