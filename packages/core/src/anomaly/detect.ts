/**
 * @module anomaly/detect
 * Seasonal-aware, robust anomaly detection over a time series (energy per request, power per backend).
 *
 * Each point is judged only against earlier points in the same seasonal bucket (by default the same
 * hour of the day, UTC): traffic and power have a daily rhythm, so 03:00 is compared with past 03:00s,
 * not with the afternoon peak. The expected value is the median of the last `window` such points and
 * the spread is the MAD scaled to σ, floored at a share of the median so that a perfectly flat history
 * does not turn tiny jitter into alarms. A point is flagged when its robust z-score exceeds
 * `threshold` (3.5 by default, the modified z-score cut-off of Iglewicz and Hoaglin). Points with fewer
 * than `minHistory` comparable predecessors are never flagged. Flagged points are kept out of the
 * history of later points, so a run of bad hours does not become the new normal.
 */
import { MAD_TO_SIGMA, median, medianAbsoluteDeviation } from './robust-stats.ts'

export const ANOMALY_KINDS = ['energy_per_request', 'backend_power'] as const
/** What was measured: energy per request of a service (J) or power of a backend (W). */
export type AnomalyKind = (typeof ANOMALY_KINDS)[number]

/** The unit each kind is expressed in. */
export const ANOMALY_UNITS = {
  energy_per_request: 'J/request',
  backend_power: 'W',
} as const satisfies Record<AnomalyKind, string>

/** One observation: epoch ms (UTC) and a value in the series' unit. */
export interface SeriesPoint {
  readonly at_ms: number
  readonly value: number
  /** How many samples a bucketed point averages (bucketMeans sets it). */
  readonly count?: number
}

export interface AnomalyOptions {
  /** Seasonal period (ms); 86 400 000 = daily. 0 turns seasonality off (plain rolling window). */
  readonly periodMs: number
  /** Width of a seasonal bucket (ms); with a daily period, 3 600 000 = the same hour of day. */
  readonly bucketMs: number
  /** How many past same-bucket values form the baseline (the rolling window). */
  readonly window: number
  /** Fewest same-bucket predecessors a point needs before it can be judged. */
  readonly minHistory: number
  /** Robust z-score beyond which a point is an anomaly. */
  readonly threshold: number
  /** Floor on σ as a share of |median|, so a flat history does not flag noise. */
  readonly minRelativeSpread: number
}

/** Defaults: same hour of day, two weeks of history, at least five days of it, |z| > 3.5. */
export const DEFAULT_ANOMALY_OPTIONS: AnomalyOptions = Object.freeze({
  periodMs: 86_400_000,
  bucketMs: 3_600_000,
  window: 14,
  minHistory: 5,
  threshold: 3.5,
  minRelativeSpread: 0.05,
})

/** What a series is about. */
export interface SeriesSubject {
  readonly kind: AnomalyKind
  /** The service (energy per request) or backend (power) the series describes. */
  readonly subject: string
}

/** A flagged point with what was expected instead. Values are in `unit`. */
export interface Anomaly {
  readonly kind: AnomalyKind
  readonly subject: string
  readonly at_ms: number
  readonly value: number
  readonly unit: string
  /** Median of the comparable history. */
  readonly expected: number
  /** Lower end of the normal interval: expected − threshold × σ (never below 0). */
  readonly expected_low: number
  /** Upper end of the normal interval: expected + threshold × σ. */
  readonly expected_high: number
  /** Robust z-score: (value − expected) / σ, σ = max(1.4826 × MAD, minRelativeSpread × |expected|). */
  readonly score: number
  readonly direction: 'high' | 'low'
  /** How many past values the expectation rests on. */
  readonly history: number
  /** One sentence for people: what, how far off, compared with what. */
  readonly reason: string
}

/**
 * Flags the points of `series` that fall outside the robust interval of their seasonal history.
 * `series` may be in any order; it is judged in time order. Non-finite values are ignored.
 */
export function detectAnomalies(
  series: readonly SeriesPoint[],
  about: SeriesSubject,
  options: Partial<AnomalyOptions> = {},
): readonly Anomaly[] {
  const o = resolveOptions(options)
  const history = new Map<number, number[]>()
  const found: Anomaly[] = []
  const points = series.filter((p) => Number.isFinite(p.value)).sort((a, b) => a.at_ms - b.at_ms)
  for (const point of points) {
    const key = seasonalBucket(point.at_ms, o)
    const past = history.get(key) ?? []
    const anomaly = past.length >= o.minHistory ? judge(point, past, about, o) : undefined
    if (anomaly === undefined) {
      past.push(point.value)
      if (past.length > o.window) past.shift()
      history.set(key, past)
    } else {
      found.push(anomaly)
    }
  }
  return found
}

/**
 * Averages samples into fixed buckets of `bucketMs` (aligned to the epoch), one point per non-empty
 * bucket at the bucket's start, with the number of samples as `count`. The mean of per-request energies in an hour is that hour's energy per
 * request; the mean of power readings is its average power.
 */
export function bucketMeans(samples: readonly SeriesPoint[], bucketMs: number): SeriesPoint[] {
  if (!(bucketMs > 0)) throw new RangeError(`bucketMs must be positive, got ${bucketMs}`)
  const sums = new Map<number, { sum: number; n: number }>()
  for (const s of samples) {
    if (!Number.isFinite(s.value)) continue
    const start = Math.floor(s.at_ms / bucketMs) * bucketMs
    const acc = sums.get(start) ?? { sum: 0, n: 0 }
    acc.sum += s.value
    acc.n += 1
    sums.set(start, acc)
  }
  return [...sums.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([at_ms, { sum, n }]) => ({ at_ms, value: sum / n, count: n }))
}

function resolveOptions(options: Partial<AnomalyOptions>): AnomalyOptions {
  const o = { ...DEFAULT_ANOMALY_OPTIONS, ...options }
  const positive = (name: keyof AnomalyOptions, v: number, allowZero = false): void => {
    if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
      throw new RangeError(`anomaly option ${name} must be ${allowZero ? '≥ 0' : '> 0'}, got ${v}`)
    }
  }
  positive('periodMs', o.periodMs, true)
  positive('bucketMs', o.bucketMs)
  positive('window', o.window)
  positive('minHistory', o.minHistory)
  positive('threshold', o.threshold)
  positive('minRelativeSpread', o.minRelativeSpread, true)
  if (o.minHistory > o.window) {
    throw new RangeError(`anomaly option minHistory (${o.minHistory}) exceeds window (${o.window})`)
  }
  return o
}

function seasonalBucket(atMs: number, o: AnomalyOptions): number {
  if (o.periodMs === 0) return 0
  const phase = ((atMs % o.periodMs) + o.periodMs) % o.periodMs
  return Math.floor(phase / o.bucketMs)
}

function judge(
  point: SeriesPoint,
  past: readonly number[],
  about: SeriesSubject,
  o: AnomalyOptions,
): Anomaly | undefined {
  const expected = median(past)
  const sigma = Math.max(
    MAD_TO_SIGMA * medianAbsoluteDeviation(past, expected),
    o.minRelativeSpread * Math.abs(expected),
    Number.EPSILON,
  )
  const score = (point.value - expected) / sigma
  if (Math.abs(score) <= o.threshold) return undefined
  const unit = ANOMALY_UNITS[about.kind]
  const direction = score > 0 ? 'high' : 'low'
  const low = Math.max(0, expected - o.threshold * sigma)
  const high = expected + o.threshold * sigma
  const what = about.kind === 'energy_per_request' ? 'energy per request' : 'power'
  const season = o.periodMs === 0 ? 'recent values' : 'the same time of day'
  return {
    kind: about.kind,
    subject: about.subject,
    at_ms: point.at_ms,
    value: point.value,
    unit,
    expected,
    expected_low: low,
    expected_high: high,
    score,
    direction,
    history: past.length,
    reason:
      `${what} of ${about.subject} was ${fmt(point.value)} ${unit}, ${direction === 'high' ? 'above' : 'below'} ` +
      `the normal range ${fmt(low)}–${fmt(high)} ${unit} (median ${fmt(expected)} of ${past.length} values at ${season}; ` +
      `robust z = ${score.toFixed(1)})`,
  }
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3)
}
