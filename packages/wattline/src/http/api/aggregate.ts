/**
 * @module http/api/aggregate
 * Pure roll-ups of ledger facts into the figures the dashboard shows. Conventions:
 * - "energy per 1k requests" uses facility energy (IT × PUE) of the requests plus the idle energy of
 *   the backends they ran on (idle is overhead charged to the service, never dropped);
 * - a total is `measured` only when every part is; `measured_share` says how much is;
 * - intervals add up worst-case (the `low`s and the `high`s move together).
 */
import {
  EnergyShares,
  IntervalSum,
  JOULES_PER_WH,
  LeverSavingsRollup,
  MinuteEnergy,
  MinutePower,
  NetworkRollup,
  TimeBuckets,
  type EstimateJson,
  type IdleEnergyRecord,
  type LeverSaving,
  type Method,
  type NetworkEnergyJson,
  type PeakPower,
  type PowerSampleRecord,
  type RequestRecord,
  type UsageBucket,
  type UsageSummary,
  type TimeWindow,
} from '@wattline/core'

const WH = JOULES_PER_WH
const MINUTE = 60_000

/** Sums requests and idle intervals into one summary. `idle` should be the share charged to them. */
export function summarizeUsage(
  requests: readonly RequestRecord[],
  idle: readonly IdleShare[],
): UsageSummary {
  const it = new IntervalSum()
  const fac = new IntervalSum()
  const carbon = new IntervalSum()
  const idleFac = new IntervalSum()
  let failed = 0
  let outputTokens = 0
  let measuredFacility = 0
  const sources = new Set<string>()
  for (const r of requests) {
    if (r.status >= 400) failed += 1
    outputTokens += r.output_tokens
    add(it, r.energy_j, r.energy_low_j, r.energy_high_j, r.method)
    add(fac, r.facility_energy_j, r.energy_low_j * r.pue, r.energy_high_j * r.pue, r.method)
    add(carbon, r.carbon_g, r.carbon_low_g, r.carbon_high_g, r.method)
    if (r.method === 'measured') measuredFacility += r.facility_energy_j
    sources.add(r.energy_source)
  }
  for (const i of idle) {
    idleFac.addExact(i.facility_energy_j, i.method)
    fac.addExact(i.facility_energy_j, i.method)
    carbon.addExact(i.carbon_g, i.method)
    if (i.method === 'measured') measuredFacility += i.facility_energy_j
    sources.add(i.source)
  }
  const source = describeSources(sources)
  const n = requests.length
  const facilityJson = toJson(fac, source)
  const carbonJson = toJson(carbon, source)
  return {
    requests: n,
    failed_requests: failed,
    output_tokens: outputTokens,
    it_energy_j: toJson(it, source),
    facility_energy_j: facilityJson,
    idle_energy_j: toJson(idleFac, source),
    carbon_g: carbonJson,
    energy_per_1k_requests_wh: n === 0 ? null : scaleJson(facilityJson, 1000 / n / WH),
    carbon_per_1k_requests_g: n === 0 ? null : scaleJson(carbonJson, 1000 / n),
    energy_per_output_token_j:
      outputTokens === 0 ? null : scaleJson(facilityJson, 1 / outputTokens),
    idle_share: fac.value === 0 ? null : idleFac.value / fac.value,
    measured_share: fac.value === 0 ? null : measuredFacility / fac.value,
  }
}

/** Idle energy charged to a set of requests: a fraction of an idle record. */
export interface IdleShare {
  readonly backend: string
  /** Start of the idle interval (clipped to the window), epoch ms. */
  readonly from_ms: number
  /** End of the idle interval (clipped to the window), epoch ms; equal to `from_ms` for an instant. */
  readonly to_ms: number
  readonly zone: string
  readonly facility_energy_j: number
  readonly carbon_g: number
  readonly method: Method
  readonly source: string
}

/**
 * The part of each backend's idle energy charged to the requests selected by `select`, in proportion
 * to their share of that backend's request IT energy in the window (core's `EnergyShares`, as the
 * report charges it). Idle energy of a backend
 * that served nothing in the window is charged to no service (it still appears in fleet totals).
 */
export function chargeIdle(
  requests: readonly RequestRecord[],
  idle: readonly IdleEnergyRecord[],
  select: (r: RequestRecord) => boolean,
): IdleShare[] {
  // Shares follow work done: the selected requests' part of each backend's request IT energy.
  const shares = new EnergyShares()
  for (const r of requests) shares.add(r.backend, r.energy_j, select(r) ? r.energy_j : 0)
  const out: IdleShare[] = []
  for (const i of idle) {
    const f = shares.share(i.backend)
    if (f <= 0) continue
    out.push({ ...i, facility_energy_j: i.facility_energy_j * f, carbon_g: i.carbon_g * f })
  }
  return out
}

/** All of the idle energy, as shares (for fleet-wide totals). */
export function allIdle(idle: readonly IdleEnergyRecord[]): IdleShare[] {
  return idle.map((i) => ({ ...i }))
}

/**
 * Usage per time bucket (requests, facility energy incl. idle, carbon), empty buckets included:
 * core's `TimeBuckets`, as the report's over-time series — a request in its arrival bucket, an idle
 * interval spread evenly over the buckets it overlaps (an instant whole in its bucket). `at_ms` is
 * the bucket's aligned start (the first may start before the window).
 */
export function usageSeries(
  requests: readonly RequestRecord[],
  idle: readonly IdleShare[],
  window: TimeWindow,
  bucketMs: number,
): UsageBucket[] {
  const buckets = new TimeBuckets(window.from_ms, window.to_ms, bucketMs)
  for (const r of requests)
    buckets.addRequest(r.at_ms, {
      zone: r.zone,
      itJ: r.energy_j,
      facilityJ: r.facility_energy_j,
      carbonG: r.carbon_g,
      method: r.method,
    })
  for (const i of idle)
    buckets.addIdle(i.from_ms, i.to_ms, {
      zone: i.zone,
      itJ: 0, // not shown: the series carries facility energy
      facilityJ: i.facility_energy_j,
      carbonG: i.carbon_g,
      method: i.method,
    })
  return buckets.list.map((b) => ({
    at_ms: Math.floor(b.from / bucketMs) * bucketMs,
    requests: b.requests,
    facility_energy_j: b.facilityJ,
    carbon_g: b.carbonG,
    energy_per_1k_requests_wh: b.requests === 0 ? null : (b.facilityJ * 1000) / b.requests / WH,
    carbon_per_1k_requests_g: b.requests === 0 ? null : (b.carbonG * 1000) / b.requests,
  }))
}

/** A bucket width giving about 60 points over the window: 1 min, 5 min, 15 min, 1 h, 6 h or 1 day. */
export function chooseBucketMs(window: TimeWindow): number {
  const steps = [1, 5, 15, 60, 360, 1440].map((m) => m * MINUTE)
  const span = window.to_ms - window.from_ms
  return steps.find((s) => span / s <= 90) ?? (steps.at(-1) as number)
}

/**
 * Peak fleet power in the window: per minute, each backend's mean power reading, summed over
 * backends; the highest minute wins. Without any readings, falls back to energy / 60 s of the busiest
 * minute from requests (at arrival) and idle intervals (spread evenly over the minutes they span, as
 * the report does), modelled. Idle rows should be clipped to the window (`windowFacts`).
 */
export function peakPower(
  samples: readonly PowerSampleRecord[],
  requests: readonly RequestRecord[],
  idle: readonly IdleEnergyRecord[],
): PeakPower {
  if (samples.length > 0) {
    const power = new MinutePower()
    let method: Method = 'measured'
    const sources = new Set<string>()
    for (const s of samples) {
      power.add(s.at_ms, s.backend, s.power_w, s.method)
      if (s.method === 'modelled') method = 'modelled'
      sources.add(s.source)
    }
    return {
      ...peakOrNone(power.peak()),
      method,
      source: `power samples (${describeSources(sources)})`,
    }
  }
  const energy = new MinuteEnergy()
  for (const r of requests) energy.add(r.at_ms, r.energy_j)
  for (const i of idle) {
    if (i.to_ms > i.from_ms) energy.spread(i.from_ms, i.to_ms, i.energy_j)
    else energy.add(i.from_ms, i.energy_j)
  }
  return {
    ...peakOrNone(energy.peak()),
    method: 'modelled',
    source: 'ledger energy per minute / 60 s (no power samples)',
  }
}

/** The busiest minute, or no peak (`at_ms` null) when nothing drew power. */
function peakOrNone(p: { readonly powerW: number; readonly atMs: number } | undefined): {
  value: number
  at_ms: number | null
} {
  return p !== undefined && p.powerW > 0
    ? { value: p.powerW, at_ms: p.atMs }
    : { value: 0, at_ms: null }
}

/**
 * Routing savings against round-robin: for each request routed by another policy, the expected
 * carbon and energy of a uniform choice among the eligible backends (from the decision's predicted
 * scores), scaled onto the request's recorded figures. Requests without parseable scores count as
 * no saving. Modelled: the baseline was not run.
 */
export function routingSavings(requests: readonly RequestRecord[]): LeverSaving {
  let saved = 0
  let savedEnergy = 0
  let baselineCarbon = 0
  let counted = 0
  for (const r of requests) {
    const ratios = r.routing_policy === 'round-robin' ? undefined : baselineRatios(r)
    const carbonRatio = ratios?.carbon ?? 1
    const energyRatio = ratios?.energy ?? 1
    if (ratios !== undefined) counted += 1
    baselineCarbon += r.carbon_g * carbonRatio
    saved += r.carbon_g * (carbonRatio - 1)
    savedEnergy += r.facility_energy_j * (energyRatio - 1)
  }
  return {
    lever: 'routing',
    baseline: 'round-robin',
    energy_j: savedEnergy,
    carbon_g: saved,
    baseline_carbon_g: baselineCarbon,
    method: 'modelled',
    source: `routing decisions' predicted scores (${counted} of ${requests.length} requests)`,
  }
}

/**
 * The savings the ledger's `levers` field records, one per lever (cache, prefix, occupancy, tier,
 * microbatch, time-shift): IT energy and carbon each lever saved on the window's requests, against
 * the same requests without it (estimated counterfactual). Levers that never acted are left out.
 */
export function recordedLeverSavings(requests: readonly RequestRecord[]): LeverSaving[] {
  const rollup = new LeverSavingsRollup()
  for (const r of requests) rollup.add(r)
  return rollup.byLever().map((l) => ({
    lever: l.lever,
    baseline: `without ${l.lever}`,
    energy_j: l.energySavedJ,
    carbon_g: l.carbonSavedG,
    baseline_carbon_g: l.usedCarbonG + l.carbonSavedG,
    method: 'modelled' as const,
    source: `ledger levers field, estimated counterfactual, IT energy before PUE (${l.requests} requests)`,
  }))
}

/** Network energy of the window's requests (those that recorded it). */
export function networkEnergy(requests: readonly RequestRecord[]): NetworkEnergyJson {
  const n = new NetworkRollup()
  for (const r of requests) n.add(r)
  return {
    requests_counted: n.requests,
    bytes: n.bytes,
    energy_j: n.energyJ,
    carbon_g: n.carbonG,
    method: 'modelled',
    source:
      'request + response bytes × kWh/GB (network.kwh_per_gb, default Aslan et al. 2018 trend); docs/methodology.md',
  }
}

/**
 * Mean predicted carbon (and energy, when the decision recorded it) of the eligible backends ÷ the
 * chosen one's, from `routing_reason`. Energy ratio is 1 (no saving claimed) without energy scores.
 */
export function baselineRatios(r: RequestRecord): { carbon: number; energy: number } | undefined {
  const scores = parseRoutingReason(r.routing_reason)?.scores
  if (scores === undefined) return undefined
  const eligible = scores.filter((s) => s.eligible)
  const chosen = eligible.find((s) => s.backend === r.backend)
  if (chosen === undefined || eligible.length < 2) return undefined
  const mean = (f: (s: RecordedScore) => number): number =>
    eligible.reduce((t, s) => t + f(s), 0) / eligible.length
  const ratio = (base: number, mine: number): number => (mine > 0 ? base / mine : 1)
  const withEnergy = eligible.every((s) => s.energy_j !== null)
  return {
    carbon: ratio(
      mean((s) => s.carbon_g),
      chosen.carbon_g,
    ),
    energy: withEnergy
      ? ratio(
          mean((s) => s.energy_j ?? 0),
          chosen.energy_j ?? 0,
        )
      : 1,
  }
}

/** A candidate's predicted figures as the gateway records them in `routing_reason`. */
export interface RecordedScore {
  readonly backend: string
  readonly eligible: boolean
  /** Why it was ineligible, when it was. */
  readonly why: string | null
  readonly carbon_g: number
  readonly energy_j: number | null
  readonly latency_ms: number | null
}

/**
 * Reads a request row's `routing_reason`: `{"reason": string, "scores": [{backend, eligible, why?,
 * carbon_g, energy_j?, latency_ms?}]}` (the core `BackendScore` names `predictedCarbon`,
 * `predictedEnergy`, `predictedLatency` are accepted too). Undefined for free text or another shape.
 */
export function parseRoutingReason(
  text: string,
): { readonly reason: string; readonly scores: readonly RecordedScore[] } | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return undefined // a free-text reason: nothing structured to read
  }
  if (!isRecord(parsed) || !Array.isArray(parsed['scores'])) return undefined
  const scores: RecordedScore[] = []
  for (const s of parsed['scores'] as unknown[]) {
    if (!isRecord(s)) return undefined
    const backend = s['backend']
    const carbon = num(s['carbon_g'] ?? s['predictedCarbon'] ?? s['predicted_carbon_g'])
    if (typeof backend !== 'string' || carbon === undefined) return undefined
    const why = s['why'] ?? s['reason']
    scores.push({
      backend,
      eligible: s['eligible'] !== false,
      why: typeof why === 'string' ? why : null,
      carbon_g: carbon,
      energy_j: num(s['energy_j'] ?? s['predictedEnergy'] ?? s['predicted_energy_j']) ?? null,
      latency_ms:
        num(s['latency_ms'] ?? s['predictedLatency'] ?? s['predicted_latency_ms']) ?? null,
    })
  }
  const reason = parsed['reason']
  return { reason: typeof reason === 'string' ? reason : '', scores }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}

/** Adds a part, its bounds widened to hold its value (a bound on the wrong side counts as the value). */
function add(a: IntervalSum, value: number, low: number, high: number, method: Method): void {
  a.add(value, Math.min(low, value), Math.max(high, value), method)
}

/** A sum as the API sends it: `measured` only when every part was. */
function toJson(a: IntervalSum, source: string): EstimateJson {
  return {
    value: a.value,
    low: a.low,
    high: a.high,
    method: a.strictMethod(),
    source: a.parts === 0 ? 'no ledger rows in the window' : source,
  }
}

function scaleJson(e: EstimateJson, f: number): EstimateJson {
  return { ...e, value: e.value * f, low: e.low * f, high: e.high * f }
}

/** Up to three distinct sources, then a count of the rest. */
export function describeSources(sources: ReadonlySet<string>): string {
  const list = [...sources].sort()
  if (list.length === 0) return 'ledger'
  const head = list.slice(0, 3).join(', ')
  return list.length > 3 ? `ledger: ${head} and ${list.length - 3} more` : `ledger: ${head}`
}
