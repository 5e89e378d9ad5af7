/**
 * A small seeded PRNG. Simulations take their randomness as a function passed in, so a forecast
 * is reproducible from its seed and tests get known answers.
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
