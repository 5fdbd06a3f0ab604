/**
 * @module report/assemble-report
 * The report's compute-and-write step: turns the facts read from the ledger (core's accounting
 * roll-ups, `read-ledger.ts`) into the report's JSON model (`report-schema.ts`): totals, per-1k
 * figures, peak power, budgets, time buckets, SCI, and the sections written by their own modules
 * (`breakdown-section.ts`, `lifecycle-section.ts`, `methodology-section.ts`, `tenant-section.ts`,
 * `lever-savings.ts`). Facility energy, idle sharing, embodied amortisation and SCI are core's
 * (`@wattline/core` accounting); this step picks the figures, scales them to the report's units
 * and rounds them. The Markdown, HTML and PDF renderers take the result.
 */
import {
  BUDGET_METRIC_UNITS,
  JOULES_PER_KWH,
  JOULES_PER_WH,
  metricValue,
  MS_PER_HOUR,
  sciPerUnit,
  sciTotal,
  type BudgetMetricName,
  type IntervalSum,
  type ModelTotals,
} from '@wattline/core'
import { backendRows, regionRows, zoneRows } from './breakdown-section.ts'
import { budgetTerms } from './budget-terms.ts'
import { leverSavingsSection, networkSection } from './lever-savings.ts'
import { lifecycleRows } from './lifecycle-section.ts'
import { methodologySection, type PeakBasis } from './methodology-section.ts'
import type { ReportFacts } from './read-ledger.ts'
import { figureOf, iso, methodOf, pct, round } from './report-figures.ts'
import {
  REPORT_SCHEMA_VERSION,
  type BudgetRow,
  type Figure,
  type FigureMethod,
  type Report,
  type TimeBucket,
} from './report-schema.ts'
import { tenantSection } from './tenant-section.ts'

interface Peak {
  readonly value: number | null
  readonly atMs: number | null
  readonly method: FigureMethod | null
  readonly basis: PeakBasis
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

  // Totals.
  const itWh = figureOf(acc.it, 1 / JOULES_PER_WH)
  const facilityWh = figureOf(acc.facility, 1 / JOULES_PER_WH)
  const carbon = figureOf(acc.carbon, 1)

  const backends = backendRows(acc, f.power.backendPeaks())
  const pues = backends.filter((b) => b.pue > 0).map((b) => b.pue)

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
      ...budgetTerms(b),
      actual_in_period: actual === null ? null : round(actual),
      status: actual === null ? 'unknown' : actual <= limit ? 'within' : 'over',
    }
  })

  const { hardwareRows, M, trainingRows } = lifecycleRows(f)

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
    carbon_by_zone: zoneRows(acc),
    carbon_by_region: regionRows(acc),
    by_backend: backends,
    over_time: { bucket_s: acc.buckets.widthMs / 1000, buckets: bucketRows },
    methodology: methodologySection(f, peak.basis),
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
