/**
 * @module http/api/views
 * Builds each dashboard API response body from ledger facts and live state. Pure functions; the
 * routes in `dashboard-api.ts` load the inputs and send the result.
 */
import {
  idleInPeriod,
  ScopeRollup,
  type BackendRow,
  type BackendScore,
  type BackendsBody,
  type BudgetStatus,
  type DecisionsBody,
  type IdleEnergyRecord,
  type LeverSaving,
  type LiveZoneIntensity,
  type OverviewBody,
  type PowerSampleRecord,
  type RequestRecord,
  type ScoreJson,
  type ServiceDetailBody,
  type ServiceRow,
  type ServicesBody,
  type UsageSummary,
  type WindowJson,
  type ZoneRow,
  type ZonesBody,
  type LiveBackend,
  type LiveDecision,
  type TimeWindow,
} from '@wattline/core'
import {
  allIdle,
  chargeIdle,
  chooseBucketMs,
  parseRoutingReason,
  peakPower,
  networkEnergy,
  recordedLeverSavings,
  routingSavings,
  summarizeUsage,
  usageSeries,
} from './aggregate.ts'

/** Ledger facts of one window. */
export interface WindowFacts {
  readonly window: TimeWindow
  readonly requests: readonly RequestRecord[]
  /** Idle intervals clipped and prorated to the window (build with {@link windowFacts}). */
  readonly idle: readonly IdleEnergyRecord[]
  readonly power: readonly PowerSampleRecord[]
}

/**
 * The facts of a window as the views take them: the idle intervals the reader gives (every one that
 * overlaps the window, whole) cut to their part inside it by core's `idleInPeriod` — ends clipped,
 * energy and carbon × the fraction inside — as the report prorates them. Already-clipped rows pass
 * through unchanged.
 */
export function windowFacts(
  window: TimeWindow,
  requests: readonly RequestRecord[],
  idle: readonly IdleEnergyRecord[],
  power: readonly PowerSampleRecord[],
): WindowFacts {
  const period = { fromMs: window.from_ms, toMs: window.to_ms }
  const inWindow: IdleEnergyRecord[] = []
  for (const i of idle) {
    const part = idleInPeriod(i, period)
    if (part !== undefined) inWindow.push(part)
  }
  return { window, requests, idle: inWindow, power }
}

/** The window as the API sends it: ISO-8601 (UTC) and epoch milliseconds. */
export function windowJson(w: TimeWindow): WindowJson {
  return {
    from: new Date(w.from_ms).toISOString(),
    to: new Date(w.to_ms).toISOString(),
    from_ms: w.from_ms,
    to_ms: w.to_ms,
  }
}

/** The overview: fleet totals, peak power, idle share, savings by lever, and a usage series. */
export function overviewBody(
  facts: WindowFacts,
  extraSavings: readonly LeverSaving[],
  budgets: readonly BudgetStatus[],
): OverviewBody {
  const idle = allIdle(facts.idle)
  const bucketMs = chooseBucketMs(facts.window)
  const summary = summarizeUsage(facts.requests, idle)
  const total = summary.carbon_g.value
  const savings = [
    routingSavings(facts.requests),
    ...recordedLeverSavings(facts.requests),
    ...extraSavings,
  ].map((s) => ({
    ...s,
    carbon_pct: s.baseline_carbon_g > 0 ? (100 * s.carbon_g) / s.baseline_carbon_g : null,
    carbon_pct_of_total: total + s.carbon_g > 0 ? (100 * s.carbon_g) / (total + s.carbon_g) : null,
  }))
  const idleJ = summary.idle_energy_j.value
  const servedJ = summary.facility_energy_j.value - idleJ
  let dataFrom = Number.POSITIVE_INFINITY
  for (const r of facts.requests) if (r.at_ms < dataFrom) dataFrom = r.at_ms
  for (const i of facts.idle) if (i.from_ms < dataFrom) dataFrom = i.from_ms
  return {
    window: windowJson(facts.window),
    summary,
    peak_power_w: peakPower(facts.power, facts.requests, facts.idle),
    savings,
    intensity_signals: [...new Set(facts.requests.map((r) => r.intensity_signal))].sort(),
    bucket_ms: bucketMs,
    series: usageSeries(facts.requests, idle, facts.window, bucketMs),
    budgets_breached: budgets.filter((b) => b.breached).length,
    energy_split: {
      served_facility_energy_j: servedJ,
      idle_facility_energy_j: idleJ,
      idle_share: servedJ + idleJ > 0 ? idleJ / (servedJ + idleJ) : null,
      idle_dominates: idleJ > servedJ,
    },
    data_from_ms: Number.isFinite(dataFrom) ? Math.max(dataFrom, facts.window.from_ms) : null,
    network: networkEnergy(facts.requests),
  }
}

/** Every service seen in the window or with a budget, with its totals and budget watch. */
export function servicesBody(facts: WindowFacts, budgets: readonly BudgetStatus[]): ServicesBody {
  const names = new Set([...facts.requests.map((r) => r.service), ...budgets.map((b) => b.service)])
  return {
    window: windowJson(facts.window),
    services: [...names].sort().map((name) => serviceRow(facts, budgets, name)),
  }
}

/** One service: totals, budget burn against its stage target, and the trend. */
export function serviceDetailBody(
  facts: WindowFacts,
  budgets: readonly BudgetStatus[],
  name: string,
): ServiceDetailBody | undefined {
  const row = serviceRow(facts, budgets, name)
  if (row.summary.requests === 0 && row.budget === null) return undefined
  const mine = facts.requests.filter((r) => r.service === name)
  const idle = chargeIdle(facts.requests, facts.idle, (r) => r.service === name)
  const bucketMs = chooseBucketMs(facts.window)
  const value = row.budget === null ? null : metricOf(row.summary, row.budget.metric)
  return {
    ...row,
    window: windowJson(facts.window),
    window_value: value,
    window_burn:
      value === null || row.budget === null || row.budget.target <= 0
        ? null
        : value / row.budget.target,
    bucket_ms: bucketMs,
    series: usageSeries(mine, idle, facts.window, bucketMs),
  }
}

/**
 * Per zone: the intensity now, share of traffic, and carbon in the window (requests + idle). The
 * figures are core's `ScopeRollup` zone totals, the report's "carbon by zone": facility energy and
 * carbon of requests and idle, and the mean intensity weighted by facility energy over both (idle
 * at its own carbon ÷ facility energy).
 */
export function zonesBody(facts: WindowFacts, live: readonly LiveZoneIntensity[]): ZonesBody {
  const rollup = new ScopeRollup({ fromMs: facts.window.from_ms, toMs: facts.window.to_ms })
  for (const r of facts.requests) rollup.addRequest(r)
  for (const i of facts.idle) rollup.addIdle(i, 1)
  const zones = new Set([...live.map((z) => z.zone), ...rollup.zones.keys()])
  const totalCarbon = rollup.carbon.value
  const n = rollup.requests
  const rows = [...zones].sort().map((zone): ZoneRow => {
    const z = rollup.zones.get(zone)
    const requests = z?.requests ?? 0
    const carbon = z?.carbon.value ?? 0
    return {
      zone,
      current: live.find((l) => l.zone === zone) ?? null,
      requests,
      share_of_requests: n === 0 ? null : requests / n,
      facility_energy_j: z?.facilityJ ?? 0,
      carbon_g: carbon,
      share_of_carbon: totalCarbon === 0 ? null : carbon / totalCarbon,
      mean_intensity_g_per_kwh:
        z === undefined || z.facilityJ === 0 ? null : z.intensityJ / z.facilityJ,
      method: z?.carbon.strictMethod() ?? 'modelled',
    }
  })
  return { window: windowJson(facts.window), zones: rows }
}

/**
 * Per backend: live occupancy and power, and energy per token measured vs modelled in the window.
 * Every backend the gateway knows, served from, or recorded idle energy for in the window is listed
 * (the report's "by backend" lists the last kind too).
 */
export function backendsBody(facts: WindowFacts, live: readonly LiveBackend[]): BackendsBody {
  const ids = new Set([
    ...live.map((b) => b.id),
    ...facts.requests.map((r) => r.backend),
    ...facts.idle.map((i) => i.backend),
  ])
  const rows = [...ids].sort().map((id): BackendRow => {
    const b = live.find((x) => x.id === id)
    const rs = facts.requests.filter((r) => r.backend === id)
    const measured = rs.filter((r) => r.method === 'measured').reduce((t, r) => t + r.energy_j, 0)
    const modelled = rs.filter((r) => r.method === 'modelled').reduce((t, r) => t + r.energy_j, 0)
    const tokens = rs.reduce((t, r) => t + r.output_tokens, 0)
    const samples = facts.power.filter((s) => s.backend === id)
    return {
      id,
      zone: b?.zone ?? rs[0]?.zone ?? facts.idle.find((i) => i.backend === id)?.zone ?? '',
      hardware: b?.hardware ?? null,
      healthy: b?.healthy ?? null,
      inflight: b?.inflight ?? null,
      max_concurrency: b?.max_concurrency ?? null,
      occupancy: b === undefined || b.max_concurrency <= 0 ? null : b.inflight / b.max_concurrency,
      occupancy_target: b?.occupancy_target ?? null,
      pue: b?.pue ?? null,
      power_w: b?.power_w ?? null,
      power_method: b?.power_method ?? null,
      power_source: b?.power_source ?? null,
      requests: rs.length,
      output_tokens: tokens,
      it_energy_j: measured + modelled,
      measured_energy_j: measured,
      modelled_energy_j: modelled,
      measured_share: measured + modelled === 0 ? null : measured / (measured + modelled),
      energy_per_output_token_j: tokens === 0 ? null : (measured + modelled) / tokens,
      idle_energy_j: facts.idle.filter((i) => i.backend === id).reduce((t, i) => t + i.energy_j, 0),
      mean_power_w:
        samples.length === 0 ? null : samples.reduce((t, s) => t + s.power_w, 0) / samples.length,
    }
  })
  return { window: windowJson(facts.window), backends: rows }
}

/** Recent routing decisions with their reasons and every candidate's predicted figures. */
export function decisionsBody(decisions: readonly LiveDecision[]): DecisionsBody {
  return {
    decisions: decisions.map((d) => ({
      at: new Date(d.at_ms).toISOString(),
      at_ms: d.at_ms,
      request_id: d.request_id,
      service: d.service,
      model: d.model,
      kind: d.decision.kind,
      policy: d.decision.policy,
      backend: d.decision.kind === 'route' ? d.decision.backend : null,
      reason: d.decision.reason,
      scores: d.decision.scores.map(scoreJson),
      origin: 'live' as const,
    })),
  }
}

/**
 * Recent decisions read back from request rows (newest first), for when the gateway keeps none in
 * memory: policy, chosen backend, reason and candidates come from `routing_policy`/`routing_reason`.
 */
export function decisionsFromLedger(
  requests: readonly RequestRecord[],
  limit: number,
): DecisionsBody {
  const newest = [...requests].sort((a, b) => b.at_ms - a.at_ms).slice(0, limit)
  return {
    decisions: newest.map((r) => {
      const parsed = parseRoutingReason(r.routing_reason)
      return {
        at: new Date(r.at_ms).toISOString(),
        at_ms: r.at_ms,
        request_id: r.id,
        service: r.service,
        model: r.model,
        kind: 'route' as const,
        policy: r.routing_policy,
        backend: r.backend,
        reason: parsed?.reason ?? r.routing_reason,
        scores: (parsed?.scores ?? []).map((s) => ({
          backend: s.backend,
          eligible: s.eligible,
          reason: s.why,
          predicted_energy_j: s.energy_j,
          predicted_carbon_g: s.carbon_g,
          predicted_latency_ms: s.latency_ms,
          score: null,
        })),
        origin: 'ledger' as const,
      }
    }),
  }
}

function scoreJson(s: BackendScore): ScoreJson {
  return {
    backend: s.backend,
    eligible: s.eligible,
    reason: s.reason ?? null,
    predicted_energy_j: s.predictedEnergy,
    predicted_carbon_g: s.predictedCarbon,
    predicted_latency_ms: s.predictedLatency,
    score: s.score,
  }
}

function serviceRow(
  facts: WindowFacts,
  budgets: readonly BudgetStatus[],
  name: string,
): ServiceRow {
  const mine = facts.requests.filter((r) => r.service === name)
  const idle = chargeIdle(facts.requests, facts.idle, (r) => r.service === name)
  return {
    name,
    summary: summarizeUsage(mine, idle),
    budget: budgets.find((b) => b.service === name) ?? null,
  }
}

function metricOf(s: UsageSummary, metric: string): number | null {
  switch (metric) {
    case 'energy_per_1k_requests_wh':
      return s.energy_per_1k_requests_wh?.value ?? null
    case 'carbon_per_1k_requests_g':
      return s.carbon_per_1k_requests_g?.value ?? null
    case 'energy_per_output_token_j':
      return s.energy_per_output_token_j?.value ?? null
    default:
      return null
  }
}
