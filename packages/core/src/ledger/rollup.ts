/**
 * @module ledger/rollup
 * Per-minute aggregation of request and idle records, keyed by (minute, service, model, backend,
 * zone). Rollups are derived, additive and survive retention: the store adds a rollup into an
 * existing one for the same key. Intervals add worst-case (lows with lows, highs with highs).
 */
import type { IdleEnergyRecord, RequestRecord } from './records.ts'

/** Milliseconds per rollup bucket. */
export const ROLLUP_BUCKET_MS = 60_000

/** One per-minute aggregate. Energies in J, carbon in g, latency in ms. */
export interface RollupRow {
  /** Start of the minute, epoch ms. */
  readonly minute_ms: number
  readonly service: string
  readonly model: string
  readonly backend: string
  readonly zone: string
  readonly requests: number
  readonly errors: number
  /** Requests whose energy was measured (the rest were modelled). */
  readonly measured_requests: number
  readonly input_tokens: number
  readonly output_tokens: number
  readonly energy_j: number
  readonly energy_low_j: number
  readonly energy_high_j: number
  readonly facility_energy_j: number
  readonly carbon_g: number
  readonly carbon_low_g: number
  readonly carbon_high_g: number
  readonly latency_ms_sum: number
  /** Idle energy of the backend in this minute (IT, J); idle rows have service and model ''. */
  readonly idle_energy_j: number
  readonly idle_carbon_g: number
}

/** The numeric fields of a rollup, which add. */
export const ROLLUP_SUMS = [
  'requests',
  'errors',
  'measured_requests',
  'input_tokens',
  'output_tokens',
  'energy_j',
  'energy_low_j',
  'energy_high_j',
  'facility_energy_j',
  'carbon_g',
  'carbon_low_g',
  'carbon_high_g',
  'latency_ms_sum',
  'idle_energy_j',
  'idle_carbon_g',
] as const satisfies readonly (keyof RollupRow)[]

/** The start of the minute holding `atMs`. */
export function minuteOf(atMs: number): number {
  return Math.floor(atMs / ROLLUP_BUCKET_MS) * ROLLUP_BUCKET_MS
}

/**
 * Aggregates records into per-minute rows, in key order. Idle energy is charged to the minute its
 * interval starts in (intervals are sampled far shorter than a minute by the gateway).
 */
export function rollUp(
  records: readonly (RequestRecord | IdleEnergyRecord | { readonly kind: string })[],
): RollupRow[] {
  const rows = new Map<string, Record<string, number | string>>()
  const at = (minute: number, service: string, model: string, backend: string, zone: string) => {
    const key = `${minute}\u0000${service}\u0000${model}\u0000${backend}\u0000${zone}`
    let row = rows.get(key)
    if (row === undefined) {
      row = { minute_ms: minute, service, model, backend, zone }
      for (const f of ROLLUP_SUMS) row[f] = 0
      rows.set(key, row)
    }
    return row
  }
  const addTo = (row: Record<string, number | string>, field: string, n: number): void => {
    row[field] = (row[field] as number) + n
  }
  for (const r of records) {
    if (r.kind === 'request') {
      const q = r as RequestRecord
      const row = at(minuteOf(q.at_ms), q.service, q.model, q.backend, q.zone)
      addTo(row, 'requests', 1)
      addTo(row, 'errors', q.status >= 400 ? 1 : 0)
      addTo(row, 'measured_requests', q.method === 'measured' ? 1 : 0)
      addTo(row, 'input_tokens', q.input_tokens)
      addTo(row, 'output_tokens', q.output_tokens)
      addTo(row, 'energy_j', q.energy_j)
      addTo(row, 'energy_low_j', q.energy_low_j)
      addTo(row, 'energy_high_j', q.energy_high_j)
      addTo(row, 'facility_energy_j', q.facility_energy_j)
      addTo(row, 'carbon_g', q.carbon_g)
      addTo(row, 'carbon_low_g', q.carbon_low_g)
      addTo(row, 'carbon_high_g', q.carbon_high_g)
      addTo(row, 'latency_ms_sum', q.latency_ms)
    } else if (r.kind === 'idle') {
      const idle = r as IdleEnergyRecord
      const row = at(minuteOf(idle.from_ms), '', '', idle.backend, idle.zone)
      addTo(row, 'idle_energy_j', idle.energy_j)
      addTo(row, 'idle_carbon_g', idle.carbon_g)
    }
  }
  return [...rows.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, row]) => row as unknown as RollupRow)
}
