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
  type AnomalyOptions,
} from './detect.ts'

/** The records to examine. Pass history from before the period of interest so points can be judged. */
export interface LedgerAnomalyInput {
  readonly requests: readonly Pick<RequestRecord, 'at_ms' | 'service' | 'energy_j' | 'status'>[]
  readonly powerSamples: readonly Pick<PowerSampleRecord, 'at_ms' | 'backend' | 'power_w'>[]
}

export interface LedgerAnomalyOptions extends Partial<AnomalyOptions> {
  /** Only anomalies at or after this epoch ms are returned (history before it is still used). */
  readonly fromMs?: number
  /** Only anomalies before this epoch ms are returned. */
  readonly toMs?: number
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
  const { fromMs = -Infinity, toMs = Infinity, ...detectOptions } = options
  const bucketMs = detectOptions.bucketMs ?? DEFAULT_ANOMALY_OPTIONS.bucketMs
  const found: Anomaly[] = []

  const perService = groupBy(
    input.requests.filter((r) => r.status < 400),
    (r) => r.service,
  )
  for (const [service, rows] of perService) {
    const series = bucketMeans(
      rows.map((r) => ({ at_ms: r.at_ms, value: r.energy_j })),
      bucketMs,
    )
    found.push(
      ...detectAnomalies(series, { kind: 'energy_per_request', subject: service }, detectOptions),
    )
  }

  const perBackend = groupBy(input.powerSamples, (s) => s.backend)
  for (const [backend, rows] of perBackend) {
    const series = bucketMeans(
      rows.map((s) => ({ at_ms: s.at_ms, value: s.power_w })),
      bucketMs,
    )
    found.push(
      ...detectAnomalies(series, { kind: 'backend_power', subject: backend }, detectOptions),
    )
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
