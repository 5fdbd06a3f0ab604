/**
 * @module carbon/close-matches
 * "Did you mean" suggestions for unknown zone and region names.
 */

/**
 * Up to `limit` candidates closest to `query` (case-insensitive): those containing it or contained
 * in it first, then by edit distance; candidates farther than half the query's length are dropped.
 */
export function closeMatches(
  query: string,
  candidates: readonly string[],
  limit = 5,
): readonly string[] {
  const q = query.toLowerCase()
  const scored: { name: string; score: number }[] = []
  for (const name of candidates) {
    const c = name.toLowerCase()
    const contains = c.includes(q) || (c.length >= 2 && q.includes(c))
    const distance = editDistance(q, c)
    if (contains || distance <= Math.max(2, Math.floor(q.length / 2))) {
      scored.push({ name, score: (contains ? 0 : 100) + distance })
    }
  }
  scored.sort((a, b) => a.score - b.score || a.name.localeCompare(b.name))
  return scored.slice(0, limit).map((s) => s.name)
}

/** Levenshtein distance (insert, delete, substitute each cost 1). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      current.push(
        Math.min(
          (previous[j] as number) + 1,
          (current[j - 1] as number) + 1,
          (previous[j - 1] as number) + cost,
        ),
      )
    }
    previous = current
  }
  return previous[b.length] as number
}
