/**
 * @module report/lifecycle-section
 * The report's lifecycle inputs: hardware in service with its embodied emissions amortised over the
 * period (SCI's M, core's `amortiseEmbodied`; a service report takes the service's share of IT
 * energy in the hardware's zone), and training runs as recorded.
 */
import { amortiseEmbodied, JOULES_PER_KWH, MS_PER_HOUR, type HardwareView } from '@wattline/core'
import type { ReportFacts } from './read-ledger.ts'
import { iso, round } from './report-figures.ts'
import type { HardwareRow, TrainingRow } from './report-schema.ts'

/** Hardware rows with M, the scope's embodied total (g), and the training rows. */
export function lifecycleRows(f: ReportFacts): {
  readonly hardwareRows: HardwareRow[]
  readonly M: number
  readonly trainingRows: TrainingRow[]
} {
  const { fromMs, toMs, service } = f.query
  const hardwareRows: HardwareRow[] = f.hardware
    .map((h) => amortise(h, fromMs, toMs, service === null ? 1 : f.zoneShares.share(h.zone)))
    .filter((h) => service === null || h.scope_share > 0)
  const M = hardwareRows.reduce((s, h) => s + h.amortised_g, 0)
  const trainingRows: TrainingRow[] = f.training.map((t) => ({
    name: t.id,
    model: t.model,
    hardware: t.hardware,
    accelerators: t.accelerators,
    zone: t.zone,
    start: iso(t.started_ms),
    end: iso(t.ended_ms),
    energy_kwh: {
      value: round(t.energy_j / JOULES_PER_KWH),
      low: round(t.energy_low_j / JOULES_PER_KWH),
      high: round(t.energy_high_j / JOULES_PER_KWH),
      method: t.method,
    },
    carbon_kg: round(t.carbon_g / 1000),
    intensity_g_per_kwh: t.energy_j > 0 ? round(t.carbon_g / (t.energy_j / JOULES_PER_KWH)) : null,
    method: t.method,
    source: t.source,
    overlaps_period: t.started_ms < toMs && t.ended_ms > fromMs,
  }))
  return { hardwareRows, M, trainingRows }
}

/**
 * The lifecycle row of one hardware item over `[fromMs, toMs)`: SCI's M by core's
 * `amortiseEmbodied` (TE × TiR/EL × RR/ToR), with `scopeShare` limiting fleet-wide hardware to a
 * service's share (1 otherwise).
 */
export function amortise(
  h: HardwareView,
  fromMs: number,
  toMs: number,
  scopeShare: number,
): HardwareRow {
  const a = amortiseEmbodied(h, fromMs, toMs, scopeShare)
  return {
    id: h.id,
    hardware: h.hardware,
    count: h.count,
    zone: h.zone,
    embodied_kg_per_unit: round(h.embodied_g / 1000),
    embodied_source: h.source,
    lifetime_years: h.lifetime_years,
    in_service_from: iso(h.in_service_from_ms),
    allocation_share: h.allocation_share,
    time_in_period_h: round(a.timeInPeriodMs / MS_PER_HOUR),
    time_share: round(a.timeShare),
    scope_share: round(scopeShare),
    amortised_g: round(a.amortisedG),
  }
}
