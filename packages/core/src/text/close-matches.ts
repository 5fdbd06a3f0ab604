/**
 * @module catalog/close-matches
 * "Did you mean" suggestions for unknown ids: case-insensitive, ignoring punctuation, ranked by
 * edit distance with a bonus for substring containment (so `h100` suggests `H100-SXM`, `H100-PCIe`).
 */

/** Lower-cases and strips everything but letters and digits: `H100 SXM` and `h100-sxm` compare equal. */
export function normaliseId(id: string): string {
  return id.toLowerCase().replace(/[^a-z0-9]/g, '')
}

/**
 * Up to `limit` candidates closest to `query`, best first. A candidate qualifies when one name
 * contains the other (normalised) or the edit distance is at most 40 % of the longer name.
 */
export function closeMatches(query: string, candidates: readonly string[], limit = 5): string[] {
  const q = normaliseId(query)
  if (q.length === 0) return []
  const scored: { name: string; score: number }[] = []
  for (const name of new Set(candidates)) {
    const c = normaliseId(name)
    if (c.length === 0) continue
    const contains = c.includes(q) || q.includes(c)
    const distance = editDistance(q, c)
    const longest = Math.max(q.length, c.length)
    if (!contains && distance > Math.ceil(longest * 0.4)) continue
    scored.push({ name, score: (contains ? 0 : 1) + distance / longest })
  }
  scored.sort((a, b) => a.score - b.score || a.name.localeCompare(b.name))
  return scored.slice(0, limit).map((s) => s.name)
}

/** Levenshtein distance (insert, delete, substitute each cost 1). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, sub))
    }
    prev = row
  }
  return prev[b.length] ?? 0
}
