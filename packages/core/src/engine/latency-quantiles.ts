/**
 * @module engine/latency-quantiles
 * Quantiles of a sample by the nearest-rank method (no interpolation: every reported value is one
 * that was observed, which keeps reports exact and byte-stable).
 */

/** Nearest-rank quantiles of `values` for each q in (0, 1]; NaN for an empty sample. */
export function latencyQuantiles(values: ArrayLike<number>, qs: readonly number[]): number[] {
  const sorted = Float64Array.from(values).sort()
  const n = sorted.length
  return qs.map((q) => {
    if (n === 0) return Number.NaN
    const rank = Math.min(n, Math.max(1, Math.ceil(q * n)))
    return sorted[rank - 1] as number
  })
}
