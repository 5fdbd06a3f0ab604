/**
 * @module budget/confidence
 * A two-sided 95 % confidence interval of a mean from repeated runs (Student's t).
 */

/** Two-sided 97.5 % quantiles of Student's t for 1–30 degrees of freedom. */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145,
  2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048,
  2.045, 2.042,
] as const

/** Mean and 95 % interval; with one sample the interval collapses to the value (no spread known). */
export interface MeanInterval {
  readonly mean: number
  readonly low: number
  readonly high: number
  readonly stddev: number
  readonly n: number
}

/** The 95 % t-quantile for `df` degrees of freedom (normal 1.96 beyond 30). */
export function tQuantile95(df: number): number {
  return df >= 1 && df <= 30 ? (T_975[df - 1] as number) : 1.96
}

/** Mean of `samples` with its two-sided 95 % confidence interval. */
export function meanInterval(samples: readonly number[]): MeanInterval {
  const n = samples.length
  if (n === 0) return { mean: Number.NaN, low: Number.NaN, high: Number.NaN, stddev: 0, n }
  const mean = samples.reduce((a, b) => a + b, 0) / n
  if (n === 1) return { mean, low: mean, high: mean, stddev: 0, n }
  const variance = samples.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)
  const stddev = Math.sqrt(variance)
  const half = (tQuantile95(n - 1) * stddev) / Math.sqrt(n)
  return { mean, low: mean - half, high: mean + half, stddev, n }
}
