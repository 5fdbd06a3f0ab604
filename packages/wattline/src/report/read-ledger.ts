/**
 * @module report/read-ledger
 * The report's read step: one pass over each stream of the ledger (through the `ReportSource`
 * port), feeding core's accounting roll-ups, in this order: (1) requests of the period, every
 * service, so each backend's total is known for sharing idle energy; (2) idle intervals, prorated to
 * the period and, for a service report, to the service's share of each backend's request IT energy;
 * (3) power samples for the peak; (4) intensity values for the methodology; (5) the small tables
 * (budgets, gate decisions, lifecycle) and the chain head; (6) anomalies, judged against
 * `anomalyHistoryDays` of history before the period. Nothing here computes a figure: the
 * roll-ups (`@wattline/core` accounting) do, and `assemble-report.ts` writes them out.
 */
import {
  DEFAULT_MIN_REQUESTS_PER_BUCKET,
  detectSeriesAnomalies,
  EnergyShares,
  MinutePower,
  MS_PER_HOUR,
  overlapFraction,
  ScopeRollup,
  TenantUsage,
  type Anomaly,
  type ReportSource,
  type ReportTimeRange,
} from '@wattline/core'
import { HourlyMeans } from './hourly-means.ts'
import { addSavings, newSavingsAcc, type SavingsAcc } from './lever-savings.ts'
import type { ReportOptions, ReportQuery } from './report-query.ts'

/** What one of the source's small-table reads gives (`budgets`, `hardware`, …). */
type TableOf<K extends keyof ReportSource> = Awaited<ReturnType<ReportSource[K]>>

const MS_PER_DAY = 24 * MS_PER_HOUR
const DEFAULT_HISTORY_DAYS = 14

/** An intensity source seen in the period: its zones and how many values (forecast, stale). */
export interface IntensitySourceSeen {
  readonly source: string
  readonly signal: 'average' | 'marginal'
  readonly zones: Set<string>
  /** Values recorded, of which forecasts and stale ones. */
  n: number
  f: number
  s: number
}

/** Everything the report is written from. */
export interface ReportFacts {
  readonly query: ReportQuery
  readonly options: ReportOptions
  /** The scope's roll-up: totals, zones, backends, models, minutes, buckets. */
  readonly scope: ScopeRollup
  readonly savings: SavingsAcc
  readonly tenants: TenantUsage
  readonly power: MinutePower
  /** The scope's share of each zone's IT energy (requests and idle, every service). */
  readonly zoneShares: EnergyShares
  readonly intensitySources: readonly IntensitySourceSeen[]
  /** The small tables, narrowed to the scope (hardware is shared by zone share instead). */
  readonly budgets: TableOf<'budgets'>
  readonly gates: TableOf<'gateDecisions'>
  readonly training: TableOf<'trainingRuns'>
  readonly hardware: TableOf<'hardware'>
  readonly head: TableOf<'chainHead'>
  readonly anomalies: readonly Anomaly[]
  readonly seriesChecked: number
  readonly historyFrom: number
  readonly minRequests: number
}

/** Reads what the report for `query` needs from `source`. */
export async function readReportFacts(
  source: ReportSource,
  query: ReportQuery,
  options: ReportOptions,
): Promise<ReportFacts> {
  const { fromMs, toMs, service } = query
  const range: ReportTimeRange = { fromMs, toMs }
  const inScope = (s: string): boolean => service === null || s === service

  // 1. Requests.
  const scope = new ScopeRollup(range)
  const backendShares = new EnergyShares()
  const zoneShares = new EnergyShares()
  // Hourly means are all the anomaly detector uses, so they are gathered while streaming.
  const energyMeans = new HourlyMeans()
  const powerMeans = new HourlyMeans()
  const savings = newSavingsAcc()
  const tenants = new TenantUsage()
  for await (const r of source.requests(range)) {
    const mine = inScope(r.service)
    backendShares.add(r.backend, r.energy_j, mine ? r.energy_j : 0)
    if (!mine) {
      zoneShares.add(r.zone, r.energy_j, 0)
      continue
    }
    zoneShares.add(r.zone, r.energy_j, r.energy_j)
    scope.addRequest(r)
    addSavings(savings, r)
    tenants.addRequest(r)
    if (r.status < 400) energyMeans.add(r.service, r.at_ms, r.energy_j)
  }

  // 2. Idle energy, prorated to the period and to the scope's share of each backend.
  for await (const idle of source.idleEnergy(range)) {
    const inPeriod = overlapFraction(idle, range)
    const share = service === null ? 1 : backendShares.share(idle.backend)
    const chargedJ = share > 0 ? scope.addIdle(idle, share) : 0
    zoneShares.add(idle.zone, idle.energy_j * inPeriod, chargedJ)
    if (share > 0) {
      const f = inPeriod * share
      tenants.addIdle(idle.backend, idle.energy_j * f, idle.carbon_g * f)
    }
  }

  // 3. Power samples of the backends in scope.
  const scopeBackends = new Set(scope.backends.keys())
  const power = new MinutePower()
  for await (const s of source.powerSamples(range)) {
    if (!scopeBackends.has(s.backend) && service !== null) continue
    power.add(s.at_ms, s.backend, s.power_w, s.method)
    powerMeans.add(s.backend, s.at_ms, s.power_w)
  }

  // 4. Intensity values recorded in the period.
  const intensitySources = new Map<string, IntensitySourceSeen>()
  for await (const v of source.intensities(range)) {
    if (service !== null && !scope.zones.has(v.zone)) continue
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

  return {
    query,
    options,
    scope,
    savings,
    tenants,
    power,
    zoneShares,
    intensitySources: [...intensitySources.values()],
    budgets: budgets.filter((b) => inScope(b.service)),
    gates: gates.filter((g) => inScope(g.service)),
    // A service report lists the training runs of the models it served.
    training: training.filter(
      (t) => service === null || [...scope.models.values()].some((m) => m.model === t.model),
    ),
    hardware,
    head,
    anomalies,
    seriesChecked: energyMeans.keys() + powerMeans.keys(),
    historyFrom,
    minRequests,
  }
}
