/**
 * @module report/assemble-report
 * The report's compute-and-write step: turns the facts read from the ledger (core's accounting
 * roll-ups, `read-ledger.ts`) into the report's JSON model (`report-schema.ts`). Facility energy,
 * idle sharing, embodied amortisation and SCI are core's (`@wattline/core` accounting); this module
 * picks the figures, scales them to the report's units and rounds them. The Markdown, HTML and PDF
 * renderers take the result.
 */
import {
  amortiseEmbodied,
  BUDGET_METRIC_UNITS,
  IntervalSum,
  JOULES_PER_KWH,
  JOULES_PER_WH,
  metricValue,
  MS_PER_HOUR,
  sciPerUnit,
  sciTotal,
  type BudgetMetricName,
  type ModelTotals,
} from '@wattline/core'
import { leverSavingsSection, networkSection } from './lever-savings.ts'
import type { ReportFacts } from './read-ledger.ts'
import { figureOf, iso, methodOf, pct, regionOfZone, round } from './report-figures.ts'
import {
  REPORT_SCHEMA_VERSION,
  type BackendRow,
  type BudgetRow,
  type Figure,
  type FigureMethod,
  type HardwareRow,
  type RegionRow,
  type Report,
  type TimeBucket,
  type TrainingRow,
  type ZoneRow,
} from './report-schema.ts'
import type { HardwareView } from './report-source.ts'
import { tenantSection } from './tenant-section.ts'

interface Peak {
  readonly value: number | null
  readonly atMs: number | null
  readonly method: FigureMethod | null
  readonly basis: 'power-samples' | 'per-minute-energy' | 'none'
}

/**
 * Peak IT power: the highest one-minute total over backends of their mean sampled power; without
 * samples, the highest one-minute average of attributed IT energy (requests at their arrival minute,
 * idle spread evenly), which is modelled.
 */
function peakOf(f: ReportFacts): Peak {
  if (f.power.samples > 0) {
    const p = f.power.peak()
    if (p !== undefined)
      return { value: p.powerW, atMs: p.atMs, method: methodOf(p.methods), basis: 'power-samples' }
  } else {
    const p = f.scope.minuteEnergy.peak()
    if (p !== undefined)
      return { value: p.powerW, atMs: p.atMs, method: 'modelled', basis: 'per-minute-energy' }
  }
  return { value: null, atMs: null, method: null, basis: 'none' }
}

/** The report for the facts read. */
export function assembleReport(f: ReportFacts): Report {
  const { scope: acc, query } = f
  const { fromMs, toMs, service } = query
  const R = acc.requests
  const perK = (s: IntervalSum, unitJ: number, n: number): Figure | null =>
    n > 0 ? figureOf(s, 1000 / n / unitJ) : null
  const peak = peakOf(f)
  const backendPeak = f.power.backendPeaks()

  // Totals.
  const itWh = figureOf(acc.it, 1 / JOULES_PER_WH)
  const facilityWh = figureOf(acc.facility, 1 / JOULES_PER_WH)
  const carbon = figureOf(acc.carbon, 1)
  const totalCarbon = acc.carbon.value

  // Zones and regions.
  const zoneRows: ZoneRow[] = [...acc.zones.entries()]
    .map(([zone, z]) => ({
      zone,
      region: regionOfZone(zone),
      requests: z.requests,
      share_of_requests_pct: pct(z.requests, R),
      facility_energy_wh: round(z.facilityJ / JOULES_PER_WH),
      idle_facility_energy_wh: round(z.idleFacilityJ / JOULES_PER_WH),
      carbon_g: figureOf(z.carbon, 1),
      share_of_carbon_pct: pct(z.carbon.value, totalCarbon),
      mean_intensity_g_per_kwh: round(z.facilityJ > 0 ? z.intensityJ / z.facilityJ : 0),
      signals: [...z.signals].sort(),
      intensity_sources: [...z.sources].sort(),
    }))
    .sort((a, b) => b.carbon_g.value - a.carbon_g.value || a.zone.localeCompare(b.zone))
  const regions = new Map<
    string,
    { zones: string[]; requests: number; facJ: number; c: IntervalSum }
  >()
  for (const [zone, z] of acc.zones) {
    const region = regionOfZone(zone)
    const r = regions.get(region) ?? { zones: [], requests: 0, facJ: 0, c: new IntervalSum() }
    r.zones.push(zone)
    r.requests += z.requests
    r.facJ += z.facilityJ
    r.c.addSum(z.carbon)
    regions.set(region, r)
  }
  const regionRows: RegionRow[] = [...regions.entries()]
    .map(([region, r]) => ({
      region,
      basis: 'zone-country' as const,
      zones: r.zones.sort(),
      requests: r.requests,
      facility_energy_wh: round(r.facJ / JOULES_PER_WH),
      carbon_g: figureOf(r.c, 1),
      share_of_carbon_pct: pct(r.c.value, totalCarbon),
    }))
    .sort((a, b) => b.carbon_g.value - a.carbon_g.value || a.region.localeCompare(b.region))

  // Backends and PUE.
  const backendRows: BackendRow[] = [...acc.backends.entries()]
    .map(([backend, b]) => {
      const itJ = b.itJ + b.idleJ
      return {
        backend,
        zone: b.zone,
        requests: b.requests,
        it_energy_wh: round(b.itJ / JOULES_PER_WH),
        idle_energy_wh: round(b.idleJ / JOULES_PER_WH),
        pue: round(itJ > 0 ? b.facilityJ / itJ : 0),
        peak_power_w: backendPeak.has(backend) ? round(backendPeak.get(backend) ?? 0) : null,
        energy_per_output_token_j: b.outputTokens > 0 ? round(b.itJ / b.outputTokens) : null,
        method: methodOf(b.methods),
      }
    })
    .sort((a, b) => a.backend.localeCompare(b.backend))
  const pues = backendRows.filter((b) => b.pue > 0).map((b) => b.pue)

  // Budgets: IT energy of requests only, as the release gate measures it (core's metricValue).
  const models = [...acc.models.values()]
  const budgetRows: BudgetRow[] = f.budgets.map((b) => {
    const rows = models.filter(
      (m) => m.service === b.service && (b.family === null || m.model.startsWith(b.family)),
    )
    const actual = budgetActual(b.metric, rows)
    const limit = b.target * (1 + b.variance_pct / 100)
    return {
      service: b.service,
      model_family: b.family,
      metric: b.metric,
      baseline: b.baseline,
      stage: b.stage,
      target: b.target,
      variance_pct: b.variance_pct,
      max_regression_pct: b.max_regression_pct,
      actual_in_period: actual === null ? null : round(actual),
      status: actual === null ? 'unknown' : actual <= limit ? 'within' : 'over',
    }
  })

  // Lifecycle: embodied emissions amortised over the period (SCI's M).
  // A service report takes the service's share of IT energy in the hardware's zone.
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

  // SCI = (E·I + M) / R.
  const eKwh = figureOf(acc.facility, 1 / JOULES_PER_KWH)
  const t = sciTotal(carbon, { value: M, low: M, high: M })
  const total: Figure = {
    value: round(t.value),
    low: round(t.low),
    high: round(t.high),
    method: carbon.method,
  }
  const sciPer = (r: number): Figure | null => {
    const s = sciPerUnit(total, r)
    return s === null
      ? null
      : { value: round(s.value), low: round(s.low), high: round(s.high), method: total.method }
  }
  const kTokens = acc.outputTokens / 1000

  const measuredShare = pct(acc.measuredJ, acc.measuredJ + acc.modelledJ)
  const bucketRows: TimeBucket[] = acc.buckets.list.map((b) => ({
    from: iso(b.from),
    to: iso(b.to),
    requests: b.requests,
    it_energy_wh: round(b.itJ / JOULES_PER_WH),
    idle_energy_wh: round(b.idleJ / JOULES_PER_WH),
    facility_energy_wh: round(b.facilityJ / JOULES_PER_WH),
    carbon_g: round(b.carbonG),
    measured_energy_wh: round(b.measuredJ / JOULES_PER_WH),
    modelled_energy_wh: round(b.modelledJ / JOULES_PER_WH),
    by_zone: [...b.zones.entries()]
      .sort((x, y) => x[0].localeCompare(y[0]))
      .map(([zone, z]) => ({
        zone,
        requests: z.requests,
        facility_energy_wh: round(z.facilityJ / JOULES_PER_WH),
        carbon_g: round(z.carbonG),
      })),
  }))

  const signalRows = (['average', 'marginal'] as const)
    .filter((s) => (acc.signalRequests.get(s) ?? 0) > 0)
    .map((s) => ({
      signal: s,
      requests: acc.signalRequests.get(s) ?? 0,
      share_pct: pct(acc.signalRequests.get(s) ?? 0, R),
    }))

  return {
    $schema: 'https://wattline.dev/schemas/report-1.0.0.json',
    schema_version: REPORT_SCHEMA_VERSION,
    generator: f.options.generator ?? 'wattline',
    generated_at: iso(f.options.generatedAtMs),
    period: { from: iso(fromMs), to: iso(toMs), duration_h: round((toMs - fromMs) / MS_PER_HOUR) },
    scope: {
      service,
      services: [...acc.services].sort(),
      models: [...new Set(models.map((m) => m.model))].sort(),
      backends: [...acc.backends.keys()].sort(),
    },
    totals: {
      requests: R,
      failed_requests: acc.failed,
      input_tokens: acc.inputTokens,
      output_tokens: acc.outputTokens,
      it_energy_wh: itWh,
      idle_it_energy_wh: figureOf(acc.idleIt, 1 / JOULES_PER_WH),
      facility_energy_wh: facilityWh,
      idle_share_pct: pct(acc.idleIt.value, acc.it.value),
      carbon_g: carbon,
    },
    energy_per_1k_requests_wh: perK(acc.facility, JOULES_PER_WH, R),
    it_energy_per_1k_requests_wh: perK(acc.it, JOULES_PER_WH, R),
    energy_per_1k_output_tokens_wh: perK(acc.facility, JOULES_PER_WH, acc.outputTokens),
    carbon_per_1k_requests_g: perK(acc.carbon, 1, R),
    peak_power_w: {
      value: peak.value === null ? null : round(peak.value),
      at: peak.atMs === null ? null : iso(peak.atMs),
      method: peak.method,
      basis: peak.basis,
      interval_s: 60,
    },
    pue: {
      energy_weighted: acc.it.value > 0 ? round(acc.facility.value / acc.it.value) : null,
      min: pues.length > 0 ? Math.min(...pues) : null,
      max: pues.length > 0 ? Math.max(...pues) : null,
    },
    carbon_by_zone: zoneRows,
    carbon_by_region: regionRows,
    by_backend: backendRows,
    over_time: { bucket_s: acc.buckets.widthMs / 1000, buckets: bucketRows },
    methodology: {
      energy: {
        measured_share_pct: measuredShare,
        modelled_share_pct: acc.measuredJ + acc.modelledJ > 0 ? round(100 - measuredShare) : 0,
        measured_requests: acc.measuredRequests,
        modelled_requests: acc.modelledRequests,
        sources: [...acc.energySources].sort(),
        interval_basis:
          'low/high are sums of per-request bounds (worst case: bounds move together); idle energy and embodied M are taken as exact',
      },
      intensity: {
        accounting: 'location-based',
        signals: signalRows,
        sources: f.intensitySources
          .map((s) => ({
            source: s.source,
            signal: s.signal,
            zones: [...s.zones].sort(),
            values_recorded: s.n,
            forecast_values: s.f,
            stale_values: s.s,
          }))
          .sort((a, b) => a.source.localeCompare(b.source) || a.signal.localeCompare(b.signal)),
        stale_requests: acc.staleRequests,
      },
      notes: methodologyNotes(f, peak, measuredShare),
    },
    savings_by_lever: leverSavingsSection(f.savings),
    tenants: tenantSection(f.tenants, f.options.idleAllocation),
    network: networkSection(f.savings),
    budgets: budgetRows,
    gate_decisions: f.gates.map((g) => ({
      at: iso(g.at_ms),
      service: g.service,
      release: g.release,
      verdict: g.passed ? 'pass' : 'fail',
      metric: g.metric,
      value: g.value,
      upper: g.high,
      target: g.target,
      reason: g.reason,
    })),
    sci: {
      standard: 'ISO/IEC 21031:2024',
      formula: 'SCI = (E × I + M) / R',
      e_kwh: eKwh,
      i_g_per_kwh:
        acc.facility.value > 0
          ? round(acc.carbon.value / (acc.facility.value / JOULES_PER_KWH))
          : null,
      operational_g: carbon,
      embodied_g: round(M),
      total_g: total,
      per_request: { functional_unit: 'request', r: R, sci_g: sciPer(R) },
      per_1k_output_tokens: {
        functional_unit: '1k_output_tokens',
        r: round(kTokens),
        sci_g: sciPer(kTokens),
      },
      boundary: [
        'E: facility energy (IT energy × PUE) of the requests in scope plus the idle energy of their backends',
        'I: location-based grid intensity of each request’s zone at its time, as recorded in the ledger',
        'M: embodied emissions of the recorded hardware, amortised as TE × TiR/EL × RR/ToR',
        'excluded: training runs (reported under lifecycle), networking, end-user devices',
      ],
    },
    lifecycle: {
      training_runs: trainingRows,
      training_energy_kwh: round(trainingRows.reduce((s, r) => s + r.energy_kwh.value, 0)),
      training_carbon_kg: round(trainingRows.reduce((s, r) => s + r.carbon_kg, 0)),
      hardware: hardwareRows,
      embodied_amortised_g: round(M),
    },
    anomalies: {
      detector: `detectSeriesAnomalies: hourly means, same hour of day, median/MAD, |z| > 3.5; energy-per-request hours with < ${f.minRequests} requests skipped`,
      history_from: iso(f.historyFrom),
      series_checked: f.seriesChecked,
      items: f.anomalies.map((a) => ({
        at: iso(a.at_ms),
        kind: a.kind,
        subject: a.subject,
        unit: a.unit,
        value: round(a.value),
        expected: round(a.expected),
        expected_low: round(a.expected_low),
        expected_high: round(a.expected_high),
        score: round(a.score),
        direction: a.direction,
        history: a.history,
        reason: a.reason,
      })),
    },
    chain_head: {
      hash: f.head.hash,
      height: f.head.height,
      at: f.head.sealed_at_ms === null ? null : iso(f.head.sealed_at_ms),
      algorithm: f.head.algorithm,
      verify_command: 'wattline verify --ledger <URL>',
    },
  }
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

/** A budget metric over the (service, model) rows it covers; null for an unknown metric. */
function budgetActual(metric: string, rows: readonly ModelTotals[]): number | null {
  if (!Object.hasOwn(BUDGET_METRIC_UNITS, metric)) return null
  return metricValue(metric as BudgetMetricName, {
    requests: rows.reduce((s, m) => s + m.requests, 0),
    energy_j: rows.reduce((s, m) => s + m.itJ, 0),
    output_tokens: rows.reduce((s, m) => s + m.outputTokens, 0),
    carbon_g: rows.reduce((s, m) => s + m.carbonG, 0),
  })
}

function methodologyNotes(f: ReportFacts, peak: Peak, measuredShare: number): string[] {
  const acc = f.scope
  const notes = [
    `${measuredShare.toFixed(1)} % of IT energy was measured by a power meter and ${(100 - measuredShare).toFixed(1)} % was modelled from energy profiles (${acc.measuredRequests} measured and ${acc.modelledRequests} modelled requests).`,
    'Facility energy is IT energy × the PUE of each backend’s site; idle energy of a backend is charged to the services that used it in proportion to their request energy.',
    'Carbon is location-based: facility energy × the grid intensity of the backend’s zone at the time (market-based instruments never reduce a figure).',
    'energy_per_1k_requests_wh includes PUE and idle overhead; budget actuals use IT energy of requests only, as the release gate measures it.',
  ]
  if (acc.staleRequests > 0)
    notes.push(
      `${acc.staleRequests} request${acc.staleRequests === 1 ? '' : 's'} used an intensity value that was stale or came from a fallback.`,
    )
  if ((acc.signalRequests.get('marginal') ?? 0) > 0)
    notes.push(
      'Some requests were accounted with a marginal intensity signal; SCI uses the value recorded with each request.',
    )
  if (peak.basis === 'per-minute-energy')
    notes.push(
      'No power samples were recorded in the period: peak power is the highest one-minute average of attributed energy (modelled).',
    )
  if (f.hardware.length === 0)
    notes.push(
      'No hardware inventory is recorded: M (embodied) is 0 and SCI understates the total.',
    )
  return notes
}
