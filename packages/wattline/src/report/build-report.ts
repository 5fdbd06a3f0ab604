/**
 * @module report/build-report
 * Builds the transparency report for a period (and optionally one service) from a ledger.
 *
 * One pass over each stream, in this order: (1) requests of the period, every service, so each
 * backend's total is known for sharing idle energy; (2) idle intervals, prorated to the period and,
 * for a service report, to the service's share of each backend's request energy; (3) power samples
 * for the peak; (4) intensity values for the methodology; (5) the small tables (budgets, gate
 * decisions, lifecycle) and the chain head; (6) anomalies, judged against `anomalyHistoryDays` of
 * history before the period. The figures follow DESIGN.md's accounting rules; docs/reports.md
 * explains each one with a worked example.
 */
import {
  DEFAULT_MIN_REQUESTS_PER_BUCKET,
  detectSeriesAnomalies,
  WattlineError,
  type Anomaly,
  type AnomalyKind,
  type SubjectSeries,
  type IdleEnergyRecord,
  type Method,
  type PowerSampleRecord,
  type IdleAllocationRule,
} from '@wattline/core'
import {
  REPORT_SCHEMA_VERSION,
  type BackendRow,
  type BudgetRow,
  type Figure,
  type FigureMethod,
  type HardwareRow,
  type RegionRow,
  type Report,
  type TenantSection,
  type TimeBucket,
  type TrainingRow,
  type ZoneRow,
} from './report-schema.ts'
import {
  addSavings,
  leverSavingsSection,
  networkSection,
  newSavingsAcc,
  type SavingsAcc,
} from './lever-savings.ts'
import { addTenantIdle, addTenantRequest, newTenantAcc, tenantSection } from './tenant-section.ts'
import type {
  BudgetView,
  ChainHeadView,
  GateDecisionView,
  HardwareView,
  ReportRequest,
  ReportSource,
  TimeRange,
  TrainingRunView,
} from './report-source.ts'

/** What to report on. */
export interface ReportQuery {
  /** Start of the period, epoch ms (inclusive). */
  readonly fromMs: number
  /** End of the period, epoch ms (exclusive). */
  readonly toMs: number
  /** One service, or null for every service in the ledger. */
  readonly service: string | null
}

/** Values the builder must not invent: the time of generation and the generator's name. */
export interface ReportOptions {
  /** When the report is generated, epoch ms (a report is a pure function of ledger and options). */
  readonly generatedAtMs: number
  readonly generator?: string
  /** Days of history before the period the anomaly detector compares against (default 14). */
  readonly anomalyHistoryDays?: number
  /**
   * Hours of a service with fewer successful requests are neither judged nor learnt from (a mean of a
   * handful of requests is noise). Default: core's `DEFAULT_MIN_REQUESTS_PER_BUCKET` (10).
   */
  readonly anomalyMinRequestsPerHour?: number
  /** How shared-pool idle energy is allocated to tenants (default `proportional`). */
  readonly idleAllocation?: IdleAllocationRule
}

const J_PER_WH = 3600
const J_PER_KWH = 3_600_000
const MS_PER_MINUTE = 60_000
const MS_PER_HOUR = 3_600_000
const MS_PER_DAY = 86_400_000
/** A Julian year, the length SCI amortisation uses for "years" of expected lifespan. */
export const MS_PER_YEAR = 365.25 * MS_PER_DAY
/** Bucket widths the time series may use; the smallest giving ≤ {@link MAX_BUCKETS} wins. */
const BUCKET_WIDTHS_MS = [
  5 * MS_PER_MINUTE,
  15 * MS_PER_MINUTE,
  MS_PER_HOUR,
  6 * MS_PER_HOUR,
  MS_PER_DAY,
  7 * MS_PER_DAY,
] as const
const MAX_BUCKETS = 240
const DEFAULT_HISTORY_DAYS = 14

/**
 * Reads the ledger through `source` and returns the report for `query`.
 * Throws `WL_INVALID_INPUT` when the period is empty or reversed.
 *
 * @example
 * const report = await buildReport(source, { fromMs, toMs, service: 'support-chat' }, { generatedAtMs: Date.now() })
 * report.energy_per_1k_requests_wh?.value // Wh of facility energy per 1,000 requests
 */
export async function buildReport(
  source: ReportSource,
  query: ReportQuery,
  options: ReportOptions,
): Promise<Report> {
  const { fromMs, toMs, service } = query
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || !(toMs > fromMs)) {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `report period must have from < to (got from=${iso(fromMs)}, to=${iso(toMs)})`,
      { details: { fromMs, toMs } },
    )
  }
  const range: TimeRange = { fromMs, toMs }
  const inScope = (s: string): boolean => service === null || s === service
  const buckets = makeBuckets(fromMs, toMs)

  // 1. Requests.
  const acc = newScopeAcc()
  const allBackendJ = new Map<string, number>()
  /** IT energy of every service by zone (J), for the zone shares of hardware. */
  const allZoneJ = new Map<string, number>()
  // Hourly means are all the anomaly detector uses, so they are gathered while streaming: memory
  // grows with series × hours, not rows, and one point per hour at its mean gives the same result.
  const energyMeans = new HourlyMeans()
  const powerMeans = new HourlyMeans()
  const savings = newSavingsAcc()
  const tenants = newTenantAcc()
  for await (const r of source.requests(range)) {
    allBackendJ.set(r.backend, (allBackendJ.get(r.backend) ?? 0) + r.energy_j)
    allZoneJ.set(r.zone, (allZoneJ.get(r.zone) ?? 0) + r.energy_j)
    if (inScope(r.service)) {
      addRequest(acc, r, buckets)
      addSavings(savings, r)
      addTenantRequest(tenants, r)
      if (r.status < 400) energyMeans.add(r.service, r.at_ms, r.energy_j)
    }
  }

  // 2. Idle energy, prorated to the period and to the scope's share of each backend.
  for await (const idle of source.idleEnergy(range)) {
    const inPeriodJ = idle.energy_j * overlapFraction(idle, range)
    allZoneJ.set(idle.zone, (allZoneJ.get(idle.zone) ?? 0) + inPeriodJ)
    const share = idleShare(idle, acc, allBackendJ, service)
    if (share > 0) addIdle(acc, idle, range, share, buckets)
    if (share > 0) {
      const f = overlapFraction(idle, range) * share
      addTenantIdle(tenants, idle.backend, idle.energy_j * f, idle.carbon_g * f)
    }
  }

  // 3. Power samples of the backends in scope.
  const scopeBackends = new Set(acc.backends.keys())
  const powerByMinute = new Map<number, Map<string, { sum: number; n: number }>>()
  const powerMethods = new Map<number, Set<Method>>()
  const backendPeak = new Map<string, number>()
  let sampleCount = 0
  for await (const s of source.powerSamples(range)) {
    if (!scopeBackends.has(s.backend) && service !== null) continue
    sampleCount += 1
    addSample(powerByMinute, powerMethods, s)
    powerMeans.add(s.backend, s.at_ms, s.power_w)
  }
  for (const perBackend of powerByMinute.values()) {
    for (const [backend, { sum, n }] of perBackend) {
      backendPeak.set(backend, Math.max(backendPeak.get(backend) ?? 0, sum / n))
    }
  }
  const peak = peakPower(powerByMinute, powerMethods, acc, sampleCount)

  // 4. Intensity values recorded in the period.
  const intensitySources = new Map<
    string,
    {
      source: string
      signal: 'average' | 'marginal'
      zones: Set<string>
      n: number
      f: number
      s: number
    }
  >()
  for await (const v of source.intensities(range)) {
    if (service !== null && !acc.zones.has(v.zone)) continue
    const key = `${v.source}\u0000${v.signal}`
    const e = intensitySources.get(key) ?? {
      source: v.source,
      signal: v.signal,
      zones: new Set<string>(),
      n: 0,
      f: 0,
      s: 0,
    }
    e.zones.add(v.zone)
    e.n += 1
    if (v.forecast) e.f += 1
    if (v.stale) e.s += 1
    intensitySources.set(key, e)
  }

  // 5. Small tables and the chain head.
  const [budgets, gates, training, hardware, head] = await Promise.all([
    source.budgets(),
    source.gateDecisions(range),
    source.trainingRuns(),
    source.hardware(),
    source.chainHead(),
  ])

  // 6. Anomalies, against history before the period.
  const historyDays = options.anomalyHistoryDays ?? DEFAULT_HISTORY_DAYS
  const historyFrom = fromMs - historyDays * MS_PER_DAY
  for await (const r of source.requests({ fromMs: historyFrom, toMs: fromMs })) {
    if (inScope(r.service) && r.status < 400) energyMeans.add(r.service, r.at_ms, r.energy_j)
  }
  for await (const s of source.powerSamples({ fromMs: historyFrom, toMs: fromMs })) {
    if (service === null || scopeBackends.has(s.backend))
      powerMeans.add(s.backend, s.at_ms, s.power_w)
  }
  const minRequests = options.anomalyMinRequestsPerHour ?? DEFAULT_MIN_REQUESTS_PER_BUCKET
  const anomalies = detectSeriesAnomalies(
    [...energyMeans.series('energy_per_request'), ...powerMeans.series('backend_power')],
    { fromMs, toMs, bucketMs: MS_PER_HOUR, minRequestsPerBucket: minRequests },
  )
  const seriesChecked = energyMeans.keys() + powerMeans.keys()

  return assemble({
    query,
    options,
    acc,
    savings,
    tenants: tenantSection(tenants, options.idleAllocation),
    buckets,
    peak,
    backendPeak,
    intensitySources: [...intensitySources.values()],
    budgets: budgets.filter((b) => inScope(b.service)),
    gates: gates.filter((g) => inScope(g.service)),
    training: training.filter((t) => service === null || acc.models.has(t.model)),
    hardware,
    allZoneJ,
    head,
    anomalies,
    seriesChecked,
    historyFrom,
    minRequests,
  })
}

// ---------------------------------------------------------------------------------------------
// Accumulators

interface FigAcc {
  v: number
  lo: number
  hi: number
  measured: boolean
  modelled: boolean
}
const newFig = (): FigAcc => ({ v: 0, lo: 0, hi: 0, measured: false, modelled: false })
function addFig(f: FigAcc, v: number, lo: number, hi: number, method: Method): void {
  f.v += v
  f.lo += lo
  f.hi += hi
  if (method === 'measured') f.measured = true
  else f.modelled = true
}

interface ZoneAcc {
  requests: number
  itJ: number
  facilityJ: number
  idleFacilityJ: number
  carbon: FigAcc
  /** Σ intensity × facility energy, for the energy-weighted mean intensity. */
  intensityJ: number
  signals: Set<'average' | 'marginal'>
  sources: Set<string>
}
interface BackendAcc {
  zone: string
  requests: number
  itJ: number
  facilityJ: number
  idleJ: number
  outputTokens: number
  methods: Set<Method>
}
interface ModelAcc {
  service: string
  model: string
  requests: number
  itJ: number
  outputTokens: number
  carbonG: number
}
interface ScopeAcc {
  requests: number
  failed: number
  inputTokens: number
  outputTokens: number
  it: FigAcc
  idleIt: FigAcc
  facility: FigAcc
  carbon: FigAcc
  measuredJ: number
  modelledJ: number
  measuredRequests: number
  modelledRequests: number
  staleRequests: number
  signalRequests: Map<'average' | 'marginal', number>
  energySources: Set<string>
  zones: Map<string, ZoneAcc>
  backends: Map<string, BackendAcc>
  models: Map<string, ModelAcc>
  services: Set<string>
  /** IT energy (J) by minute start, for the power peak when there are no samples. */
  minuteJ: Map<number, number>
  minuteMethods: Map<number, Set<Method>>
}

function newScopeAcc(): ScopeAcc {
  return {
    requests: 0,
    failed: 0,
    inputTokens: 0,
    outputTokens: 0,
    it: newFig(),
    idleIt: newFig(),
    facility: newFig(),
    carbon: newFig(),
    measuredJ: 0,
    modelledJ: 0,
    measuredRequests: 0,
    modelledRequests: 0,
    staleRequests: 0,
    signalRequests: new Map(),
    energySources: new Set(),
    zones: new Map(),
    backends: new Map(),
    models: new Map(),
    services: new Set(),
    minuteJ: new Map(),
    minuteMethods: new Map(),
  }
}

function zoneAcc(acc: ScopeAcc, zone: string): ZoneAcc {
  let z = acc.zones.get(zone)
  if (z === undefined) {
    z = {
      requests: 0,
      itJ: 0,
      facilityJ: 0,
      idleFacilityJ: 0,
      carbon: newFig(),
      intensityJ: 0,
      signals: new Set(),
      sources: new Set(),
    }
    acc.zones.set(zone, z)
  }
  return z
}

function backendAcc(acc: ScopeAcc, backend: string, zone: string): BackendAcc {
  let b = acc.backends.get(backend)
  if (b === undefined) {
    b = {
      zone,
      requests: 0,
      itJ: 0,
      facilityJ: 0,
      idleJ: 0,
      outputTokens: 0,
      methods: new Set(),
    }
    acc.backends.set(backend, b)
  }
  return b
}

function addRequest(acc: ScopeAcc, r: ReportRequest, buckets: Buckets): void {
  acc.requests += 1
  if (r.status >= 400 || r.error_code !== null) acc.failed += 1
  acc.inputTokens += r.input_tokens
  acc.outputTokens += r.output_tokens
  addFig(acc.it, r.energy_j, r.energy_low_j, r.energy_high_j, r.method)
  addFig(
    acc.facility,
    r.facility_energy_j,
    r.energy_low_j * r.pue,
    r.energy_high_j * r.pue,
    r.method,
  )
  addFig(acc.carbon, r.carbon_g, r.carbon_low_g, r.carbon_high_g, r.method)
  if (r.method === 'measured') {
    acc.measuredJ += r.energy_j
    acc.measuredRequests += 1
  } else {
    acc.modelledJ += r.energy_j
    acc.modelledRequests += 1
  }
  if (r.intensity_stale) acc.staleRequests += 1
  acc.signalRequests.set(r.intensity_signal, (acc.signalRequests.get(r.intensity_signal) ?? 0) + 1)
  acc.energySources.add(r.energy_source)
  acc.services.add(r.service)

  const z = zoneAcc(acc, r.zone)
  z.requests += 1
  z.itJ += r.energy_j
  z.facilityJ += r.facility_energy_j
  addFig(z.carbon, r.carbon_g, r.carbon_low_g, r.carbon_high_g, r.method)
  z.intensityJ += r.intensity_g_per_kwh * r.facility_energy_j
  z.signals.add(r.intensity_signal)
  z.sources.add(r.intensity_source)

  const b = backendAcc(acc, r.backend, r.zone)
  b.requests += 1
  b.itJ += r.energy_j
  b.facilityJ += r.facility_energy_j
  b.outputTokens += r.output_tokens
  b.methods.add(r.method)

  const mk = `${r.service}\u0000${r.model}`
  const m = acc.models.get(mk) ?? {
    service: r.service,
    model: r.model,
    requests: 0,
    itJ: 0,
    outputTokens: 0,
    carbonG: 0,
  }
  m.requests += 1
  m.itJ += r.energy_j
  m.outputTokens += r.output_tokens
  m.carbonG += r.carbon_g
  acc.models.set(mk, m)

  const minute = Math.floor(r.at_ms / MS_PER_MINUTE) * MS_PER_MINUTE
  acc.minuteJ.set(minute, (acc.minuteJ.get(minute) ?? 0) + r.energy_j)
  const mm = acc.minuteMethods.get(minute) ?? new Set<Method>()
  mm.add(r.method)
  acc.minuteMethods.set(minute, mm)

  const bucket = buckets.at(r.at_ms)
  if (bucket !== undefined) {
    bucket.requests += 1
    bucket.itJ += r.energy_j
    bucket.facilityJ += r.facility_energy_j
    bucket.carbonG += r.carbon_g
    if (r.method === 'measured') bucket.measuredJ += r.energy_j
    else bucket.modelledJ += r.energy_j
    addBucketZone(bucket, r.zone, 1, r.facility_energy_j, r.carbon_g)
  }
}

/**
 * The share of a backend's idle energy charged to the scope: all of it for a fleet report; for a
 * service report, the service's share of the backend's request energy in the period (nothing when
 * the service did not use the backend).
 */
function idleShare(
  idle: IdleEnergyRecord,
  acc: ScopeAcc,
  allBackendJ: ReadonlyMap<string, number>,
  service: string | null,
): number {
  if (service === null) return 1
  const total = allBackendJ.get(idle.backend) ?? 0
  const mine = acc.backends.get(idle.backend)?.itJ ?? 0
  return total > 0 ? mine / total : 0
}

function addIdle(
  acc: ScopeAcc,
  idle: IdleEnergyRecord,
  range: TimeRange,
  share: number,
  buckets: Buckets,
): void {
  const f = overlapFraction(idle, range) * share
  if (f === 0) return
  const from = Math.max(idle.from_ms, range.fromMs)
  // A zero-length interval is a point: give it one millisecond so it lands in one slot.
  const to = Math.max(Math.min(idle.to_ms, range.toMs), from + 1)
  const itJ = idle.energy_j * f
  const facJ = idle.facility_energy_j * f
  const carbon = idle.carbon_g * f
  addFig(acc.idleIt, itJ, itJ, itJ, idle.method)
  addFig(acc.it, itJ, itJ, itJ, idle.method)
  addFig(acc.facility, facJ, facJ, facJ, idle.method)
  addFig(acc.carbon, carbon, carbon, carbon, idle.method)
  if (idle.method === 'measured') acc.measuredJ += itJ
  else acc.modelledJ += itJ
  acc.energySources.add(idle.source)

  const z = zoneAcc(acc, idle.zone)
  z.idleFacilityJ += facJ
  z.itJ += itJ
  z.facilityJ += facJ
  addFig(z.carbon, carbon, carbon, carbon, idle.method)
  if (facJ > 0) z.intensityJ += (carbon / (facJ / J_PER_KWH)) * facJ

  const b = backendAcc(acc, idle.backend, idle.zone)
  b.idleJ += itJ
  b.facilityJ += facJ
  b.methods.add(idle.method)

  // Spread evenly over the interval's minutes and buckets.
  spread(from, to, MS_PER_MINUTE, (start, frac) => {
    acc.minuteJ.set(start, (acc.minuteJ.get(start) ?? 0) + itJ * frac)
    const mm = acc.minuteMethods.get(start) ?? new Set<Method>()
    mm.add(idle.method)
    acc.minuteMethods.set(start, mm)
  })
  for (const bucket of buckets.list) {
    const o = Math.min(to, bucket.to) - Math.max(from, bucket.from)
    if (o <= 0) continue
    const bf = o / (to - from)
    bucket.idleJ += itJ * bf
    bucket.itJ += itJ * bf
    bucket.facilityJ += facJ * bf
    bucket.carbonG += carbon * bf
    if (idle.method === 'measured') bucket.measuredJ += itJ * bf
    else bucket.modelledJ += itJ * bf
    addBucketZone(bucket, idle.zone, 0, facJ * bf, carbon * bf)
  }
}

function addBucketZone(
  bucket: BucketAcc,
  zone: string,
  requests: number,
  facilityJ: number,
  carbonG: number,
): void {
  const z = bucket.zones.get(zone) ?? { requests: 0, facilityJ: 0, carbonG: 0 }
  z.requests += requests
  z.facilityJ += facilityJ
  z.carbonG += carbonG
  bucket.zones.set(zone, z)
}

/** The fraction of an idle interval inside the range (1 for a zero-length interval inside it). */
function overlapFraction(idle: IdleEnergyRecord, range: TimeRange): number {
  const span = idle.to_ms - idle.from_ms
  const o = Math.min(idle.to_ms, range.toMs) - Math.max(idle.from_ms, range.fromMs)
  if (span <= 0) return idle.from_ms >= range.fromMs && idle.from_ms < range.toMs ? 1 : 0
  return Math.max(0, o) / span
}

/** Calls `fn(start, fraction)` for each `step`-aligned slot that `[from, to)` overlaps. */
function spread(
  from: number,
  to: number,
  step: number,
  fn: (start: number, fraction: number) => void,
): void {
  const total = to - from
  for (let start = Math.floor(from / step) * step; start < to; start += step) {
    const o = Math.min(to, start + step) - Math.max(from, start)
    if (o > 0) fn(start, o / total)
  }
}

function addSample(
  byMinute: Map<number, Map<string, { sum: number; n: number }>>,
  methods: Map<number, Set<Method>>,
  s: PowerSampleRecord,
): void {
  const minute = Math.floor(s.at_ms / MS_PER_MINUTE) * MS_PER_MINUTE
  const perBackend = byMinute.get(minute) ?? new Map<string, { sum: number; n: number }>()
  const e = perBackend.get(s.backend) ?? { sum: 0, n: 0 }
  e.sum += s.power_w
  e.n += 1
  perBackend.set(s.backend, e)
  byMinute.set(minute, perBackend)
  const m = methods.get(minute) ?? new Set<Method>()
  m.add(s.method)
  methods.set(minute, m)
}

interface Peak {
  value: number | null
  atMs: number | null
  method: FigureMethod | null
  basis: 'power-samples' | 'per-minute-energy' | 'none'
}

/**
 * Peak IT power: the highest one-minute total over backends of their mean sampled power; without
 * samples, the highest one-minute average of attributed IT energy (requests at their arrival minute,
 * idle spread evenly), which is modelled.
 */
function peakPower(
  byMinute: ReadonlyMap<number, ReadonlyMap<string, { sum: number; n: number }>>,
  methods: ReadonlyMap<number, ReadonlySet<Method>>,
  acc: ScopeAcc,
  sampleCount: number,
): Peak {
  let best: { w: number; at: number } | undefined
  if (sampleCount > 0) {
    for (const [minute, perBackend] of byMinute) {
      let w = 0
      for (const { sum, n } of perBackend.values()) w += sum / n
      if (best === undefined || w > best.w || (w === best.w && minute < best.at))
        best = { w, at: minute }
    }
    if (best === undefined) return { value: null, atMs: null, method: null, basis: 'none' }
    return {
      value: best.w,
      atMs: best.at,
      method: methodOf(methods.get(best.at) ?? new Set()),
      basis: 'power-samples',
    }
  }
  for (const [minute, j] of acc.minuteJ) {
    const w = j / 60
    if (best === undefined || w > best.w || (w === best.w && minute < best.at))
      best = { w, at: minute }
  }
  if (best === undefined) return { value: null, atMs: null, method: null, basis: 'none' }
  return { value: best.w, atMs: best.at, method: 'modelled', basis: 'per-minute-energy' }
}

// ---------------------------------------------------------------------------------------------
// Time buckets

interface BucketAcc {
  from: number
  to: number
  requests: number
  itJ: number
  idleJ: number
  facilityJ: number
  carbonG: number
  measuredJ: number
  modelledJ: number
  zones: Map<string, { requests: number; facilityJ: number; carbonG: number }>
}
interface Buckets {
  readonly widthMs: number
  readonly list: readonly BucketAcc[]
  at(ms: number): BucketAcc | undefined
}

/** Epoch-aligned buckets covering `[fromMs, toMs)`, the first and last clipped to the period. */
function makeBuckets(fromMs: number, toMs: number): Buckets {
  const widthMs =
    BUCKET_WIDTHS_MS.find((w) => Math.ceil(toMs / w) - Math.floor(fromMs / w) <= MAX_BUCKETS) ??
    Math.ceil((toMs - fromMs) / MAX_BUCKETS)
  const list: BucketAcc[] = []
  const first = Math.floor(fromMs / widthMs) * widthMs
  for (let start = first; start < toMs; start += widthMs) {
    list.push({
      from: Math.max(start, fromMs),
      to: Math.min(start + widthMs, toMs),
      requests: 0,
      itJ: 0,
      idleJ: 0,
      facilityJ: 0,
      carbonG: 0,
      measuredJ: 0,
      modelledJ: 0,
      zones: new Map(),
    })
  }
  return {
    widthMs,
    list,
    at: (ms) => list[Math.floor(ms / widthMs) - Math.floor(first / widthMs)],
  }
}

// ---------------------------------------------------------------------------------------------
// Assembly

interface Parts {
  query: ReportQuery
  options: ReportOptions
  acc: ScopeAcc
  savings: SavingsAcc
  tenants: TenantSection
  buckets: Buckets
  peak: Peak
  backendPeak: ReadonlyMap<string, number>
  intensitySources: readonly {
    source: string
    signal: 'average' | 'marginal'
    zones: Set<string>
    n: number
    f: number
    s: number
  }[]
  budgets: readonly BudgetView[]
  gates: readonly GateDecisionView[]
  training: readonly TrainingRunView[]
  hardware: readonly HardwareView[]
  /** IT energy (requests and idle) of every service by zone in the period, J. */
  allZoneJ: ReadonlyMap<string, number>
  head: ChainHeadView
  anomalies: readonly Anomaly[]
  seriesChecked: number
  historyFrom: number
  minRequests: number
}

function assemble(p: Parts): Report {
  const { acc, query } = p
  const { fromMs, toMs, service } = query
  const R = acc.requests
  const perK = (f: FigAcc, unitJ: number, n: number): Figure | null =>
    n > 0 ? scaleFig(f, 1000 / n / unitJ) : null

  // Totals and intensities.
  const itWh = scaleFig(acc.it, 1 / J_PER_WH)
  const facilityWh = scaleFig(acc.facility, 1 / J_PER_WH)
  const carbon = scaleFig(acc.carbon, 1)
  const totalCarbon = acc.carbon.v

  // Zones and regions.
  const zoneRows: ZoneRow[] = [...acc.zones.entries()]
    .map(([zone, z]) => ({
      zone,
      region: regionOfZone(zone),
      requests: z.requests,
      share_of_requests_pct: pct(z.requests, R),
      facility_energy_wh: round(z.facilityJ / J_PER_WH),
      idle_facility_energy_wh: round(z.idleFacilityJ / J_PER_WH),
      carbon_g: scaleFig(z.carbon, 1),
      share_of_carbon_pct: pct(z.carbon.v, totalCarbon),
      mean_intensity_g_per_kwh: round(z.facilityJ > 0 ? z.intensityJ / z.facilityJ : 0),
      signals: [...z.signals].sort(),
      intensity_sources: [...z.sources].sort(),
    }))
    .sort((a, b) => b.carbon_g.value - a.carbon_g.value || a.zone.localeCompare(b.zone))
  const regions = new Map<string, { zones: string[]; requests: number; facJ: number; c: FigAcc }>()
  for (const [zone, z] of acc.zones) {
    const region = regionOfZone(zone)
    const r = regions.get(region) ?? { zones: [], requests: 0, facJ: 0, c: newFig() }
    r.zones.push(zone)
    r.requests += z.requests
    r.facJ += z.facilityJ
    r.c.v += z.carbon.v
    r.c.lo += z.carbon.lo
    r.c.hi += z.carbon.hi
    r.c.measured ||= z.carbon.measured
    r.c.modelled ||= z.carbon.modelled
    regions.set(region, r)
  }
  const regionRows: RegionRow[] = [...regions.entries()]
    .map(([region, r]) => ({
      region,
      basis: 'zone-country' as const,
      zones: r.zones.sort(),
      requests: r.requests,
      facility_energy_wh: round(r.facJ / J_PER_WH),
      carbon_g: scaleFig(r.c, 1),
      share_of_carbon_pct: pct(r.c.v, totalCarbon),
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
        it_energy_wh: round(b.itJ / J_PER_WH),
        idle_energy_wh: round(b.idleJ / J_PER_WH),
        pue: round(itJ > 0 ? b.facilityJ / itJ : 0),
        peak_power_w: p.backendPeak.has(backend) ? round(p.backendPeak.get(backend) ?? 0) : null,
        energy_per_output_token_j: b.outputTokens > 0 ? round(b.itJ / b.outputTokens) : null,
        method: methodOf(b.methods),
      }
    })
    .sort((a, b) => a.backend.localeCompare(b.backend))
  const pues = backendRows.filter((b) => b.pue > 0).map((b) => b.pue)

  // Budgets.
  const budgetRows: BudgetRow[] = p.budgets.map((b) => {
    const rows = [...acc.models.values()].filter(
      (m) => m.service === b.service && (b.family === null || m.model.startsWith(b.family)),
    )
    const n = rows.reduce((s, m) => s + m.requests, 0)
    const itJ = rows.reduce((s, m) => s + m.itJ, 0)
    const tok = rows.reduce((s, m) => s + m.outputTokens, 0)
    const cg = rows.reduce((s, m) => s + m.carbonG, 0)
    const actual = budgetActual(b.metric, n, itJ, tok, cg)
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
  const hardwareRows: HardwareRow[] = p.hardware
    .map((h) =>
      amortise(
        h,
        fromMs,
        toMs,
        service === null ? 1 : share(acc.zones.get(h.zone)?.itJ ?? 0, p.allZoneJ.get(h.zone) ?? 0),
      ),
    )
    .filter((h) => service === null || h.scope_share > 0)
  const M = hardwareRows.reduce((s, h) => s + h.amortised_g, 0)
  const trainingRows: TrainingRow[] = p.training.map((t) => ({
    name: t.id,
    model: t.model,
    hardware: t.hardware,
    accelerators: t.accelerators,
    zone: t.zone,
    start: iso(t.started_ms),
    end: iso(t.ended_ms),
    energy_kwh: {
      value: round(t.energy_j / J_PER_KWH),
      low: round(t.energy_low_j / J_PER_KWH),
      high: round(t.energy_high_j / J_PER_KWH),
      method: t.method,
    },
    carbon_kg: round(t.carbon_g / 1000),
    intensity_g_per_kwh: t.energy_j > 0 ? round(t.carbon_g / (t.energy_j / J_PER_KWH)) : null,
    method: t.method,
    source: t.source,
    overlaps_period: t.started_ms < toMs && t.ended_ms > fromMs,
  }))

  // SCI = (E·I + M) / R.
  const eKwh = scaleFig(acc.facility, 1 / J_PER_KWH)
  const total: Figure = {
    value: round(carbon.value + M),
    low: round(carbon.low + M),
    high: round(carbon.high + M),
    method: carbon.method,
  }
  const sciPer = (r: number): Figure | null =>
    r > 0
      ? {
          value: round(total.value / r),
          low: round(total.low / r),
          high: round(total.high / r),
          method: total.method,
        }
      : null
  const kTokens = acc.outputTokens / 1000

  const measuredShare = pct(acc.measuredJ, acc.measuredJ + acc.modelledJ)
  const bucketRows: TimeBucket[] = p.buckets.list.map((b) => ({
    from: iso(b.from),
    to: iso(b.to),
    requests: b.requests,
    it_energy_wh: round(b.itJ / J_PER_WH),
    idle_energy_wh: round(b.idleJ / J_PER_WH),
    facility_energy_wh: round(b.facilityJ / J_PER_WH),
    carbon_g: round(b.carbonG),
    measured_energy_wh: round(b.measuredJ / J_PER_WH),
    modelled_energy_wh: round(b.modelledJ / J_PER_WH),
    by_zone: [...b.zones.entries()]
      .sort((x, y) => x[0].localeCompare(y[0]))
      .map(([zone, z]) => ({
        zone,
        requests: z.requests,
        facility_energy_wh: round(z.facilityJ / J_PER_WH),
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
    generator: p.options.generator ?? 'wattline',
    generated_at: iso(p.options.generatedAtMs),
    period: { from: iso(fromMs), to: iso(toMs), duration_h: round((toMs - fromMs) / MS_PER_HOUR) },
    scope: {
      service,
      services: [...acc.services].sort(),
      models: [...new Set([...acc.models.values()].map((m) => m.model))].sort(),
      backends: [...acc.backends.keys()].sort(),
    },
    totals: {
      requests: R,
      failed_requests: acc.failed,
      input_tokens: acc.inputTokens,
      output_tokens: acc.outputTokens,
      it_energy_wh: itWh,
      idle_it_energy_wh: scaleFig(acc.idleIt, 1 / J_PER_WH),
      facility_energy_wh: facilityWh,
      idle_share_pct: pct(acc.idleIt.v, acc.it.v),
      carbon_g: carbon,
    },
    energy_per_1k_requests_wh: perK(acc.facility, J_PER_WH, R),
    it_energy_per_1k_requests_wh: perK(acc.it, J_PER_WH, R),
    energy_per_1k_output_tokens_wh: perK(acc.facility, J_PER_WH, acc.outputTokens),
    carbon_per_1k_requests_g: perK(acc.carbon, 1, R),
    peak_power_w: {
      value: p.peak.value === null ? null : round(p.peak.value),
      at: p.peak.atMs === null ? null : iso(p.peak.atMs),
      method: p.peak.method,
      basis: p.peak.basis,
      interval_s: 60,
    },
    pue: {
      energy_weighted: acc.it.v > 0 ? round(acc.facility.v / acc.it.v) : null,
      min: pues.length > 0 ? Math.min(...pues) : null,
      max: pues.length > 0 ? Math.max(...pues) : null,
    },
    carbon_by_zone: zoneRows,
    carbon_by_region: regionRows,
    by_backend: backendRows,
    over_time: { bucket_s: p.buckets.widthMs / 1000, buckets: bucketRows },
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
        sources: p.intensitySources
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
      notes: methodologyNotes(acc, p, measuredShare),
    },
    savings_by_lever: leverSavingsSection(p.savings),
    tenants: p.tenants,
    network: networkSection(p.savings),
    budgets: budgetRows,
    gate_decisions: p.gates.map((g) => ({
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
      i_g_per_kwh: acc.facility.v > 0 ? round(acc.carbon.v / (acc.facility.v / J_PER_KWH)) : null,
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
      training_energy_kwh: round(trainingRows.reduce((s, t) => s + t.energy_kwh.value, 0)),
      training_carbon_kg: round(trainingRows.reduce((s, t) => s + t.carbon_kg, 0)),
      hardware: hardwareRows,
      embodied_amortised_g: round(M),
    },
    anomalies: {
      detector: `detectSeriesAnomalies: hourly means, same hour of day, median/MAD, |z| > 3.5; energy-per-request hours with < ${p.minRequests} requests skipped`,
      history_from: iso(p.historyFrom),
      series_checked: p.seriesChecked,
      items: p.anomalies.map((a) => ({
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
      hash: p.head.hash,
      height: p.head.height,
      at: p.head.sealed_at_ms === null ? null : iso(p.head.sealed_at_ms),
      algorithm: p.head.algorithm,
      verify_command: 'wattline verify --ledger <URL>',
    },
  }
}

/**
 * SCI's M for one hardware item over `[fromMs, toMs)`:
 * TE × TiR/EL × RR/ToR, with TE = count × embodied per unit, TiR the part of the period inside the
 * service life, EL the expected lifespan, RR/ToR the allocation share; `scopeShare` further limits
 * fleet-wide hardware to a service's share (1 otherwise).
 */
export function amortise(
  h: HardwareView,
  fromMs: number,
  toMs: number,
  scopeShare: number,
): HardwareRow {
  const lifeMs = h.lifetime_years * MS_PER_YEAR
  const endOfLife = h.in_service_from_ms + lifeMs
  const tir = Math.max(0, Math.min(toMs, endOfLife) - Math.max(fromMs, h.in_service_from_ms))
  const te = h.count * h.embodied_g
  const timeShare = tir / lifeMs
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
    time_in_period_h: round(tir / MS_PER_HOUR),
    time_share: round(timeShare),
    scope_share: round(scopeShare),
    amortised_g: round(te * timeShare * h.allocation_share * scopeShare),
  }
}

function budgetActual(
  metric: string,
  requests: number,
  itJ: number,
  outputTokens: number,
  carbonG: number,
): number | null {
  switch (metric) {
    case 'energy_per_1k_requests_wh':
      return requests > 0 ? (itJ / J_PER_WH / requests) * 1000 : null
    case 'energy_per_output_token_j':
      return outputTokens > 0 ? itJ / outputTokens : null
    case 'carbon_per_1k_requests_g':
      return requests > 0 ? (carbonG / requests) * 1000 : null
    default:
      return null
  }
}

function methodologyNotes(acc: ScopeAcc, p: Parts, measuredShare: number): string[] {
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
  if (p.peak.basis === 'per-minute-energy')
    notes.push(
      'No power samples were recorded in the period: peak power is the highest one-minute average of attributed energy (modelled).',
    )
  if (p.hardware.length === 0)
    notes.push(
      'No hardware inventory is recorded: M (embodied) is 0 and SCI understates the total.',
    )
  return notes
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/** Running means per (series key, UTC hour). */
class HourlyMeans {
  readonly #sums = new Map<string, Map<number, { sum: number; n: number }>>()

  add(key: string, atMs: number, value: number): void {
    if (!Number.isFinite(value)) return
    const hour = Math.floor(atMs / MS_PER_HOUR) * MS_PER_HOUR
    let byHour = this.#sums.get(key)
    if (byHour === undefined) this.#sums.set(key, (byHour = new Map()))
    const e = byHour.get(hour) ?? { sum: 0, n: 0 }
    e.sum += value
    e.n += 1
    byHour.set(hour, e)
  }

  keys(): number {
    return this.#sums.size
  }

  /** One series per key: hourly means in time order, with the number of values in each. */
  series(kind: AnomalyKind): SubjectSeries[] {
    return [...this.#sums].map(([subject, byHour]) => ({
      kind,
      subject,
      series: [...byHour]
        .sort((a, b) => a[0] - b[0])
        .map(([at_ms, { sum, n }]) => ({ at_ms, value: sum / n, count: n })),
    }))
  }
}

/** Rounds away floating-point noise (12 significant digits) so reports are stable and comparable. */
export function round(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x === 0 ? 0 : x
  return Number(x.toPrecision(12))
}

function pct(part: number, whole: number): number {
  return whole > 0 ? round((part / whole) * 100) : 0
}

function share(part: number, whole: number): number {
  return whole > 0 ? Math.min(1, part / whole) : 0
}

function methodOf(methods: ReadonlySet<Method>): FigureMethod {
  if (methods.has('measured') && methods.has('modelled')) return 'mixed'
  return methods.has('measured') ? 'measured' : 'modelled'
}

function scaleFig(f: FigAcc, k: number): Figure {
  return {
    value: round(f.v * k),
    low: round(f.lo * k),
    high: round(f.hi * k),
    method: f.measured && f.modelled ? 'mixed' : f.measured ? 'measured' : 'modelled',
  }
}

/** The region a zone belongs to: the ISO 3166 country prefix of its Electricity Maps id. */
export function regionOfZone(zone: string): string {
  const dash = zone.indexOf('-')
  return dash > 0 ? zone.slice(0, dash) : zone
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms)
}
