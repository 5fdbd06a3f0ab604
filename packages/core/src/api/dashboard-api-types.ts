/**
 * @module api/dashboard-api-types
 * The wire types of the gateway's read-only JSON API under `/api/` (docs/api.md): what the server
 * (`wattline` http/api) builds and what the dashboard reads. Pure type declarations, snake_case with
 * unit suffixes as on the wire; both sides `import type` them from here so they cannot drift apart.
 */
import type { Anomaly } from '../anomaly/detect.ts'
import type { Signal } from '../carbon/intensity.ts'
import type { Method } from '../units/estimate.ts'

/** A figure with its interval, method and source, as the API sends it. */
export interface EstimateJson {
  readonly value: number
  readonly low: number
  readonly high: number
  readonly method: Method
  readonly source: string
}

/** The window a response covers: ISO-8601 (UTC) and epoch milliseconds, from ≤ t < to. */
export interface WindowJson {
  readonly from: string
  readonly to: string
  readonly from_ms: number
  readonly to_ms: number
}

/** Totals over a set of requests (and the idle energy charged to them). */
export interface UsageSummary {
  readonly requests: number
  readonly failed_requests: number
  readonly output_tokens: number
  readonly it_energy_j: EstimateJson
  readonly facility_energy_j: EstimateJson
  readonly idle_energy_j: EstimateJson
  readonly carbon_g: EstimateJson
  readonly energy_per_1k_requests_wh: EstimateJson | null
  readonly carbon_per_1k_requests_g: EstimateJson | null
  readonly energy_per_output_token_j: EstimateJson | null
  /** Idle facility energy / all facility energy (0–1). */
  readonly idle_share: number | null
  /** Share of facility energy that was measured by a meter rather than modelled (0–1). */
  readonly measured_share: number | null
}

/** A point of a time series of usage, one per bucket (bucket start `at_ms`, epoch ms). */
export interface UsageBucket {
  readonly at_ms: number
  readonly requests: number
  readonly facility_energy_j: number
  readonly carbon_g: number
  readonly energy_per_1k_requests_wh: number | null
  readonly carbon_per_1k_requests_g: number | null
}

/** Peak fleet power in a window. */
export interface PeakPower {
  /** Highest per-minute fleet power (W): the sum over backends of each one's mean power in a minute. */
  readonly value: number
  /** Start of that minute, epoch ms; null without any data. */
  readonly at_ms: number | null
  readonly method: Method
  readonly source: string
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

/** A lever's saving as the overview sends it: with carbon saved as a percentage of the baseline's. */
export interface LeverSavingJson extends LeverSaving {
  /** 100 × carbon_g / baseline_carbon_g (%) of the served requests; null when the baseline emitted nothing. */
  readonly carbon_pct: number | null
  /**
   * The same saving as a share of everything the fleet would have emitted in the window without it,
   * idle included: 100 × carbon_g / (window carbon + carbon_g) (%); null when nothing was emitted.
   */
  readonly carbon_pct_of_total: number | null
}

/** Served vs idle energy in a window, so a headline never hides idle power behind a served-only saving. */
export interface EnergySplit {
  /** Facility energy of the requests themselves (J). */
  readonly served_facility_energy_j: number
  /** Facility energy drawn by backends with nothing to do (J). */
  readonly idle_facility_energy_j: number
  /** idle ÷ (served + idle); null without energy. */
  readonly idle_share: number | null
  /** True when idle is more than half of the energy: savings on served requests then move the total little. */
  readonly idle_dominates: boolean
}

/** `GET /api/overview`. */
export interface OverviewBody {
  readonly window: WindowJson
  readonly summary: UsageSummary
  readonly peak_power_w: PeakPower
  readonly savings: readonly LeverSavingJson[]
  /** Intensity signals the requests were accounted with (`average`, `marginal`). */
  readonly intensity_signals: readonly string[]
  /** Width of each `series` bucket (ms). */
  readonly bucket_ms: number
  readonly series: readonly UsageBucket[]
  readonly budgets_breached: number
  readonly energy_split: EnergySplit
  /** Earliest ledger fact (request or idle interval) in the window, epoch ms; null when empty. */
  readonly data_from_ms: number | null
  /** Network energy at the service boundary in the window, apart from compute (not in `summary`). */
  readonly network: NetworkEnergyJson
}

/** Network energy of the requests in a window (ledger `network_*` fields). */
export interface NetworkEnergyJson {
  readonly requests_counted: number
  /** Request + response bytes. */
  readonly bytes: number
  /** Modelled network energy (J) and its carbon (gCO2e). */
  readonly energy_j: number
  readonly carbon_g: number
  readonly method: 'modelled'
  readonly source: string
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

/** A service's totals in the window and its budget watch. */
export interface ServiceRow {
  readonly name: string
  readonly summary: UsageSummary
  readonly budget: BudgetStatus | null
}

/** `GET /api/services`. */
export interface ServicesBody {
  readonly window: WindowJson
  readonly services: readonly ServiceRow[]
}

/** `GET /api/services/:name`. */
export interface ServiceDetailBody extends ServiceRow {
  readonly window: WindowJson
  /** The budget's metric computed over the requested window (unit: the budget's unit). */
  readonly window_value: number | null
  /** window_value / stage target; > 1 means the window was over budget. */
  readonly window_burn: number | null
  readonly bucket_ms: number
  readonly series: readonly UsageBucket[]
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

/** One grid zone in the window. */
export interface ZoneRow {
  readonly zone: string
  readonly current: LiveZoneIntensity | null
  readonly requests: number
  /** Requests in this zone / all requests in the window (0–1). */
  readonly share_of_requests: number | null
  readonly facility_energy_j: number
  readonly carbon_g: number
  /** This zone's carbon / all carbon in the window (0–1). */
  readonly share_of_carbon: number | null
  /**
   * Facility-energy-weighted mean intensity (gCO2e/kWh) the zone's requests and idle energy were
   * accounted with (idle at its carbon ÷ facility energy), as the report's carbon by zone.
   */
  readonly mean_intensity_g_per_kwh: number | null
  /** `measured` only when every request and idle figure in the zone was. */
  readonly method: Method
}

/** `GET /api/zones`. */
export interface ZonesBody {
  readonly window: WindowJson
  readonly zones: readonly ZoneRow[]
}

/** One backend: live state (null when the gateway does not know it now) and its window figures. */
export interface BackendRow {
  readonly id: string
  readonly zone: string
  readonly hardware: string | null
  readonly healthy: boolean | null
  readonly inflight: number | null
  readonly max_concurrency: number | null
  /** inflight / max_concurrency now (0–1). */
  readonly occupancy: number | null
  /**
   * Occupancy shaping's target running requests (all replicas), the batch the gateway fills the
   * backend to before spreading (modelled); null without occupancy shaping.
   */
  readonly occupancy_target: number | null
  readonly pue: number | null
  /** Latest IT power reading (W). */
  readonly power_w: number | null
  readonly power_method: Method | null
  readonly power_source: string | null
  readonly requests: number
  readonly output_tokens: number
  /** IT energy of the backend's requests in the window (J). */
  readonly it_energy_j: number
  readonly measured_energy_j: number
  readonly modelled_energy_j: number
  /** measured / (measured + modelled) IT energy (0–1). */
  readonly measured_share: number | null
  /** IT energy per output token (J/token). */
  readonly energy_per_output_token_j: number | null
  readonly idle_energy_j: number
  /** Mean of the power readings in the window (W). */
  readonly mean_power_w: number | null
}

/** `GET /api/backends`. */
export interface BackendsBody {
  readonly window: WindowJson
  readonly backends: readonly BackendRow[]
}

/** A candidate backend of a routing decision with the policy's predictions. */
export interface ScoreJson {
  readonly backend: string
  readonly eligible: boolean
  readonly reason: string | null
  /** Predicted energy (J); null when the decision did not record an energy prediction. */
  readonly predicted_energy_j: number | null
  /** Predicted carbon (gCO2e). */
  readonly predicted_carbon_g: number
  /** Predicted latency (ms); null when not recorded. */
  readonly predicted_latency_ms: number | null
  /** The policy's score; null for decisions read back from the ledger. */
  readonly score: number | null
}

/** A routing decision with why. */
export interface DecisionJson {
  readonly at: string
  readonly at_ms: number
  readonly request_id: string
  readonly service: string
  readonly model: string
  readonly kind: 'route' | 'reject'
  readonly policy: string
  readonly backend: string | null
  readonly reason: string
  readonly scores: readonly ScoreJson[]
  /** `live` (the gateway's memory) or `ledger` (read back from request rows). */
  readonly origin: 'live' | 'ledger'
}

/** `GET /api/decisions`: newest first. */
export interface DecisionsBody {
  readonly decisions: readonly DecisionJson[]
}

/** `GET /api/anomalies`: newest first. */
export interface AnomaliesBody {
  readonly window: WindowJson
  readonly anomalies: readonly Anomaly[]
}

/** `GET /api/budgets`. */
export interface BudgetsBody {
  readonly budgets: readonly BudgetStatus[]
  /** Services whose watch is over budget. */
  readonly breached: readonly string[]
}

/** A tenant's row of `GET /api/tenants`. */
export interface TenantRowJson {
  /** The tenant of the API key; null: requests without one. */
  readonly tenant: string | null
  /** True when the tenant is named in the config (`api_keys` or `tenants`). */
  readonly configured: boolean
  readonly requests: number
  readonly failed_requests: number
  /** IT energy attributed to its requests (before PUE). */
  readonly it_energy_j: EstimateJson
  readonly carbon_g: EstimateJson
  /** Its share of the window's request IT energy (0–1); null when there was none. */
  readonly share_of_it_energy: number | null
  readonly share_of_requests: number | null
  /** Shared-pool idle IT energy allocated to it by `idle_allocation`, J. */
  readonly idle_allocated_j: number
  readonly idle_allocated_carbon_g: number
}

/** `GET /api/tenants`: per-tenant usage in the window, idle energy allocated by a stated rule. */
export interface TenantsBody {
  readonly window: WindowJson
  readonly idle_allocation: 'proportional' | 'equal' | 'requests'
  readonly idle_allocation_basis: string
  /** Idle IT energy recorded in the window, J; allocated + unallocated = this. */
  readonly pool_idle_energy_j: number
  /** Idle IT energy of backends no request used in the window (no tenant to charge), J. */
  readonly unallocated_idle_energy_j: number
  readonly tenants: readonly TenantRowJson[]
}
