/**
 * @module anomaly/robust-stats
 * Robust location and spread: the median and the median absolute deviation (MAD). One outlier moves
 * a mean and a standard deviation a lot; it barely moves these, which is why anomaly detection uses them.
 */

/** Scale factor that makes the MAD a consistent estimator of σ for normally distributed data. */
export const MAD_TO_SIGMA = 1.4826

/** Median of `values` (NaN for an empty list). Does not modify its input. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** Median absolute deviation from the median, in the unit of `values` (NaN for an empty list). */
export function medianAbsoluteDeviation(
  values: readonly number[],
  center = median(values),
): number {
  return median(values.map((v) => Math.abs(v - center)))
}
