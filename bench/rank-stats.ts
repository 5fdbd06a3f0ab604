/**
 * Rank statistics for `npm run bench:advise`: Spearman's ρ with ties, its one-sided permutation
 * p-value and a 95 % interval.
 */
import { seededRandom } from '@wattline/core'

/** Average ranks (ties share the mean rank). */
export function ranks(xs: readonly number[]): number[] {
  const idx = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0])
  const r = new Array<number>(xs.length).fill(0)
  for (let i = 0; i < idx.length;) {
    let j = i
    while (j + 1 < idx.length && idx[j + 1]?.[0] === idx[i]?.[0]) j++
    for (let k = i; k <= j; k++) r[idx[k]?.[1] ?? 0] = (i + j) / 2 + 1
    i = j + 1
  }
  return r
}

export function pearson(a: readonly number[], b: readonly number[]): number {
  const ma = a.reduce((s, x) => s + x, 0) / a.length
  const mb = b.reduce((s, x) => s + x, 0) / b.length
  let num = 0
  let da = 0
  let db = 0
  for (let i = 0; i < a.length; i++) {
    const x = (a[i] ?? 0) - ma
    const y = (b[i] ?? 0) - mb
    num += x * y
    da += x * x
    db += y * y
  }
  return num / Math.sqrt(da * db)
}

export function spearman(a: readonly number[], b: readonly number[]): number {
  return pearson(ranks(a), ranks(b))
}

/**
 * One-sided permutation p-value of Spearman's ρ: share of orderings of `b` whose ρ with `a` is at
 * least the observed one. Exact for n ≤ 9, else `draws` seeded random permutations.
 */
export function permutationP(
  a: readonly number[],
  b: readonly number[],
  draws = 20_000,
  seed = 20240601,
): number {
  const ra = ranks(a)
  const rb = ranks(b)
  const observed = pearson(ra, rb) - 1e-12
  const n = rb.length
  if (n <= 9) {
    let hits = 0
    let total = 0
    const perm = [...rb]
    const visit = (k: number): void => {
      if (k === n) {
        total++
        if (pearson(ra, perm) >= observed) hits++
        return
      }
      for (let i = k; i < n; i++) {
        ;[perm[k], perm[i]] = [perm[i] as number, perm[k] as number]
        visit(k + 1)
        ;[perm[k], perm[i]] = [perm[i] as number, perm[k] as number]
      }
    }
    visit(0)
    return hits / total
  }
  const rng = seededRandom(seed)
  let hits = 0
  const perm = [...rb]
  for (let d = 0; d < draws; d++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1))
      ;[perm[i], perm[j]] = [perm[j] as number, perm[i] as number]
    }
    if (pearson(ra, perm) >= observed) hits++
  }
  return (hits + 1) / (draws + 1)
}

/** 95 % interval of Spearman's ρ: Fisher z, standard error 1.06/√(n−3) (Fieller et al. 1957). */
export function spearmanInterval(rho: number, n: number): readonly [number, number] | undefined {
  if (n <= 3) return undefined
  const z = Math.atanh(Math.max(-0.999999, Math.min(0.999999, rho)))
  const se = 1.06 / Math.sqrt(n - 3)
  return [Math.tanh(z - 1.96 * se), Math.tanh(z + 1.96 * se)]
}
