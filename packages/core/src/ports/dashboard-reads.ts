/**
 * @module ports/dashboard-reads
 * The narrow, read-only views the dashboard API needs: the ledger reader, the gateway's live state,
 * budget watch results and tracked savings. The composition root adapts the ledger store and the
 * gateway's live state to these; tests pass in-memory fakes. Nothing here writes. The records that
 * are also sent as they are (`BudgetStatus`, `LeverSaving`, `LiveZoneIntensity`) are API wire types,
 * declared with the others in `api/dashboard-api-types.ts`.
 */
import type { SubjectSeries } from '../anomaly/ledger-anomalies.ts'
import type { BudgetStatus, LeverSaving, LiveZoneIntensity } from '../api/dashboard-api-types.ts'
import type { IdleEnergyRecord, PowerSampleRecord, RequestRecord } from '../ledger/records.ts'
import type { RoutingDecision } from '../routing/policy.ts'
import type { Method } from '../units/estimate.ts'

/** A half-open interval of wall-clock time, epoch milliseconds (UTC): from ≤ t < to. */
export interface TimeWindow {
  readonly from_ms: number
  readonly to_ms: number
}

/** What the dashboard reads from the ledger: facts inside a window, in time order. */
export interface DashboardLedgerReader {
  /** Request rows with `from_ms ≤ at_ms < to_ms`. */
  requests(window: TimeWindow): Promise<readonly RequestRecord[]>
  /**
   * Idle-energy intervals that overlap the window (`from_ms < to` and `to_ms > from`), whole, by
   * start: the caller prorates them to the window (core's `idleInPeriod`), as the report does.
   */
  idleEnergy(window: TimeWindow): Promise<readonly IdleEnergyRecord[]>
  /** Backend power readings inside the window. */
  powerSamples(window: TimeWindow): Promise<readonly PowerSampleRecord[]>
  /**
   * Optional: hourly means computed where the rows live (energy per successful request per service,
   * J; power per backend, W), so anomaly detection over weeks of history reads a few thousand
   * points instead of every row. Must equal bucketing the rows by hour (bucket start = `at_ms`).
   */
  hourlyMeans?(window: TimeWindow): Promise<readonly SubjectSeries[]>
}

/** A backend as the gateway sees it now. */
export interface LiveBackend {
  readonly id: string
  readonly zone: string
  readonly hardware: string
  readonly models: readonly string[]
  readonly healthy: boolean
  /** Requests in flight now. */
  readonly inflight: number
  readonly max_concurrency: number
  /** Occupancy shaping's target running requests (all replicas); undefined without it. */
  readonly occupancy_target?: number
  /** Power usage effectiveness of the site (dimensionless, ≥ 1). */
  readonly pue: number
  /** Latest IT power reading (W), null before the first one. */
  readonly power_w: number | null
  readonly power_method: Method
  /** Meter that produced `power_w`, e.g. `modelled:profile` or `dcgm:http://…`. */
  readonly power_source: string
}

/** A routing decision recently taken, with why. */
export interface LiveDecision {
  readonly at_ms: number
  readonly request_id: string
  readonly service: string
  readonly model: string
  readonly decision: RoutingDecision
}

/** The gateway's live state. All methods are cheap, synchronous reads of in-memory state. */
export interface DashboardLiveState {
  backends(): readonly LiveBackend[]
  zones(): readonly LiveZoneIntensity[]
  /** The most recent decisions, newest first, at most `limit`. */
  recentDecisions(limit: number): readonly LiveDecision[]
}

/** Source of budget watch results (the ledger's production watch). */
export interface BudgetStatusSource {
  budgets(): readonly BudgetStatus[]
}

/** Savings the gateway tracks itself (caching, batching…), over a window. Optional. */
export interface SavingsSource {
  savings(window: TimeWindow): Promise<readonly LeverSaving[]>
}
