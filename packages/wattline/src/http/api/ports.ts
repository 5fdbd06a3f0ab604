/**
 * @module http/api/ports
 * The narrow, read-only views the dashboard API needs. The composition root adapts the ledger store
 * and the gateway's live state to these; tests pass in-memory fakes. Nothing here writes.
 */
import type {
  IdleEnergyRecord,
  Method,
  PowerSampleRecord,
  RequestRecord,
  RoutingDecision,
  Signal,
  SubjectSeries,
} from '@wattline/core'

/** A half-open interval of wall-clock time, epoch milliseconds (UTC): from ≤ t < to. */
export interface TimeWindow {
  readonly from_ms: number
  readonly to_ms: number
}

/** What the dashboard reads from the ledger: facts inside a window, in time order. */
export interface DashboardLedgerReader {
  /** Request rows with `from_ms ≤ at_ms < to_ms`. */
  requests(window: TimeWindow): Promise<readonly RequestRecord[]>
  /** Idle-energy intervals that start inside the window. */
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
  /** Power usage effectiveness of the site (dimensionless, ≥ 1). */
  readonly pue: number
  /** Latest IT power reading (W), null before the first one. */
  readonly power_w: number | null
  readonly power_method: Method
  /** Meter that produced `power_w`, e.g. `modelled:profile` or `dcgm:http://…`. */
  readonly power_source: string
}

/** Current grid intensity of a zone as routing uses it. */
export interface LiveZoneIntensity {
  readonly zone: string
  readonly intensity_g_per_kwh: number
  readonly signal: Signal
  readonly source: string
  /** Start of the interval the value covers, epoch ms. */
  readonly at_ms: number
  readonly forecast: boolean
  readonly stale: boolean
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

/** One service's production budget watch, as last evaluated. */
export interface BudgetStatus {
  readonly service: string
  /** `energy_per_1k_requests_wh`, `energy_per_output_token_j` or `carbon_per_1k_requests_g`. */
  readonly metric: string
  /** Unit of `baseline`, `target` and `value`, e.g. `Wh/1k requests`. */
  readonly unit: string
  readonly stage: string
  readonly baseline: number
  /** The stage target: baseline × (1 − stage reduction). */
  readonly target: number
  /** The metric over the watch window; null until enough requests were seen. */
  readonly value: number | null
  readonly method: Method
  /** The watch's ratio: value / (target × (1 + variance)); > 1 means over budget. */
  readonly ratio: number | null
  readonly breached: boolean
  readonly window_s: number
  readonly evaluated_at_ms: number | null
}

/** Source of budget watch results (the ledger's production watch). */
export interface BudgetStatusSource {
  budgets(): readonly BudgetStatus[]
}

/** A saving attributed to one optimisation lever against a named baseline. */
export interface LeverSaving {
  /** `routing`, `caching`, `batching`, `shaping`, `time-shifting`, … */
  readonly lever: string
  /** What the saving is measured against, e.g. `round-robin`. */
  readonly baseline: string
  /** Facility energy saved (J); negative when the lever cost energy. */
  readonly energy_j: number
  /** Carbon saved (gCO2e); negative when the lever cost carbon. */
  readonly carbon_g: number
  /** Carbon the baseline would have emitted for the same requests (gCO2e). */
  readonly baseline_carbon_g: number
  readonly method: Method
  readonly source: string
}

/** Savings the gateway tracks itself (caching, batching…), over a window. Optional. */
export interface SavingsSource {
  savings(window: TimeWindow): Promise<readonly LeverSaving[]>
}
