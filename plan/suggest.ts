/** The closest known name to a misspelt one, for "did you mean" hints; undefined when nothing is close. */
export function closest (word: string, known: readonly string[]): string | undefined {
  const w = word.toLowerCase()
  let best: string | undefined
  // Allow about one edit per three letters: closer than that is a typo, further is a different word.
  let bestDistance = (w.length <= 3 ? 1 : w.length <= 6 ? 2 : 3) + 1
  for (const k of known) {
    const d = distance(w, k.toLowerCase())
    if (d < bestDistance) {
      best = k
      bestDistance = d
    }
  }
  return best
}

/** Levenshtein distance; names here are short, so the quadratic table is fine. */
function distance (a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost)
    }
    prev = cur
  }
  return prev[b.length] as number
}

/** ` (did you mean "x"?)` or ''. */
export function didYouMean (word: string, known: readonly string[]): string {
  const c = closest(word, known)
  return c === undefined ? '' : ` (did you mean "${c}"?)`
}
