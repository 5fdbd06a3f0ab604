/**
 * @module anomaly/ledger-anomalies
 * Anomaly detection over ledger records: hourly energy per request of each service, and hourly mean
 * power of each backend. The dashboard API and the transparency report both call this, so they flag
 * the same points.
 */
import type { PowerSampleRecord, RequestRecord } from '../ledger/records.ts'
import {
  bucketMeans,
  detectAnomalies,
  DEFAULT_ANOMALY_OPTIONS,
  type Anomaly,
  type AnomalyKind,
  type AnomalyOptions,
  type SeriesPoint,
} from './detect.ts'

/** The records to examine. Pass history from before the period of interest so points can be judged. */
export interface LedgerAnomalyInput {
  readonly requests: readonly Pick<RequestRecord, 'at_ms' | 'service' | 'energy_j' | 'status'>[]
  readonly powerSamples: readonly Pick<PowerSampleRecord, 'at_ms' | 'backend' | 'power_w'>[]
}

/** Default fewest requests an hour needs before its energy per request is judged or learnt from. */
export const DEFAULT_MIN_REQUESTS_PER_BUCKET = 10

export interface LedgerAnomalyOptions extends Partial<AnomalyOptions> {
  /**
   * Energy-per-request buckets averaging fewer requests are skipped (neither judged nor used as
   * history): the mean of a handful of requests of different sizes is noise, not a signal.
   * Default 10. Power buckets are always used.
   */
  readonly minRequestsPerBucket?: number
  /** Only anomalies at or after this epoch ms are returned (history before it is still used). */
  readonly fromMs?: number
  /** Only anomalies before this epoch ms are returned. */
  readonly toMs?: number
}

/** One already-bucketed series (e.g. hourly means computed by the database). */
export interface SubjectSeries {
  readonly kind: AnomalyKind
  readonly subject: string
  readonly series: readonly SeriesPoint[]
}

/**
 * Anomalies in energy per request (J, IT energy, per service, successful requests only) and backend
 * power (W, per backend), aggregated into `bucketMs` buckets (default 1 h) and judged against the same
 * bucket of past periods. Sorted by time, then kind and subject.
 */
export function detectLedgerAnomalies(
  input: LedgerAnomalyInput,
  options: LedgerAnomalyOptions = {},
): readonly Anomaly[] {
  const bucketMs = options.bucketMs ?? DEFAULT_ANOMALY_OPTIONS.bucketMs
  const groups: SubjectSeries[] = []
  const perService = groupBy(
    input.requests.filter((r) => r.status < 400),
    (r) => r.service,
  )
  for (const [service, rows] of perService) {
    const points = rows.map((r) => ({ at_ms: r.at_ms, value: r.energy_j }))
    groups.push({
      kind: 'energy_per_request',
      subject: service,
      series: bucketMeans(points, bucketMs),
    })
  }
  const perBackend = groupBy(input.powerSamples, (s) => s.backend)
  for (const [backend, rows] of perBackend) {
    const points = rows.map((s) => ({ at_ms: s.at_ms, value: s.power_w }))
    groups.push({ kind: 'backend_power', subject: backend, series: bucketMeans(points, bucketMs) })
  }
  return detectSeriesAnomalies(groups, options)
}

/**
 * The same detection over series that are already bucketed (one mean per bucket, bucket start as
 * `at_ms`, sample count as `count`), for callers that aggregate in a database. Sorted by time, then kind and subject.
 */
export function detectSeriesAnomalies(
  groups: readonly SubjectSeries[],
  options: LedgerAnomalyOptions = {},
): readonly Anomaly[] {
  const {
    fromMs = -Infinity,
    toMs = Infinity,
    minRequestsPerBucket = DEFAULT_MIN_REQUESTS_PER_BUCKET,
    ...detectOptions
  } = options
  const found: Anomaly[] = []
  for (const g of groups) {
    const series =
      g.kind === 'energy_per_request'
        ? g.series.filter((p) => (p.count ?? Infinity) >= minRequestsPerBucket)
        : g.series
    found.push(...detectAnomalies(series, { kind: g.kind, subject: g.subject }, detectOptions))
  }
  return found
    .filter((a) => a.at_ms >= fromMs && a.at_ms < toMs)
    .sort(
      (a, b) =>
        a.at_ms - b.at_ms || a.kind.localeCompare(b.kind) || a.subject.localeCompare(b.subject),
    )
}

function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const row of rows) {
    const k = key(row)
    const list = groups.get(k)
    if (list === undefined) groups.set(k, [row])
    else list.push(row)
  }
  return groups
}
