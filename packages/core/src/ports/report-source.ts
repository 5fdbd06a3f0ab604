/**
 * @module ports/report-source
 * What the report builder reads from a ledger, as a narrow port: rows of a time range streamed in
 * time order (so a year of requests never has to sit in memory), plus the small tables (budgets, gate
 * decisions, lifecycle inputs) and the chain head. The ledger adapter
 * (`wattline/src/adapters/storage/ledger-report-source.ts`) and the in-memory source used by tests
 * both implement it; the builder does not know which it has.
 */
import type { BudgetRecord, TrainingRunRecord } from '../ledger/audit-records.ts'
import type {
  IdleEnergyRecord,
  IntensityRecord,
  PowerSampleRecord,
  RequestRecord,
} from '../ledger/records.ts'

/**
 * The request fields a report reads. Sources may return whole records; the ledger source selects only
 * these columns (request ids, latencies and routing reasons are not needed and can be large).
 */
export const REPORT_REQUEST_FIELDS = [
  'at_ms',
  'service',
  'tenant',
  'model',
  'backend',
  'zone',
  'status',
  'error_code',
  'input_tokens',
  'output_tokens',
  'energy_j',
  'energy_low_j',
  'energy_high_j',
  'facility_energy_j',
  'pue',
  'carbon_g',
  'carbon_low_g',
  'carbon_high_g',
  'intensity_g_per_kwh',
  'intensity_source',
  'intensity_signal',
  'intensity_stale',
  'method',
  'energy_source',
  'levers',
  'network_bytes',
  'network_energy_j',
  'network_carbon_g',
] as const satisfies readonly (keyof RequestRecord)[]

/** A request as the report reads it. */
export type ReportRequest = Pick<RequestRecord, (typeof REPORT_REQUEST_FIELDS)[number]>

/** A half-open range of epoch ms, `[fromMs, toMs)` (exported by the report module as `TimeRange`). */
export interface ReportTimeRange {
  readonly fromMs: number
  readonly toMs: number
}

/**
 * A budget as recorded in the ledger (the latest per service, family and metric): the record's
 * fields, `max_regression_pct` null where the row has none.
 */
export interface BudgetView extends Omit<BudgetRecord, 'kind' | 'at_ms' | 'max_regression_pct'> {
  readonly max_regression_pct: number | null
}

/** A gate decision as recorded in the ledger. */
export interface GateDecisionView {
  readonly at_ms: number
  readonly service: string
  readonly release: string | null
  readonly passed: boolean
  readonly metric: string
  readonly value: number | null
  /** Upper end of the result's interval, the figure the gate holds against the limit. */
  readonly high: number | null
  readonly target: number | null
  /** Human-readable reasons (the ledger keeps them as compact JSON). */
  readonly reason: string
}

/** A training or fine-tuning run (lifecycle input), as the ledger's `training_runs` holds it. */
export type TrainingRunView = Omit<TrainingRunRecord, 'kind'>

/** Hardware in service (lifecycle input) whose embodied emissions are amortised over reports. */
export interface HardwareView {
  readonly id: string
  readonly hardware: string
  readonly count: number
  /** The grid zone the hardware runs in; a service report takes the service's share of it. */
  readonly zone: string
  /** Embodied emissions of one unit, g CO2e, and where the figure comes from. */
  readonly embodied_g: number
  readonly source: string
  readonly lifetime_years: number
  readonly in_service_from_ms: number
  /** Share of the units' capacity reserved for the software (SCI's RR/ToR), 0..1. */
  readonly allocation_share: number
}

/** The newest block of the ledger's hash chain. */
export interface ChainHeadView {
  readonly hash: string | null
  /** Number of sealed blocks. */
  readonly height: number
  readonly sealed_at_ms: number | null
  readonly algorithm: string
}

/** The reads the report builder needs. Streams yield rows oldest first. */
export interface ReportSource {
  /** Requests with `at_ms` in the range (every service). */
  requests(range: ReportTimeRange): AsyncIterable<ReportRequest>
  /** Idle-energy intervals that overlap the range. */
  idleEnergy(range: ReportTimeRange): AsyncIterable<IdleEnergyRecord>
  /** Power samples with `at_ms` in the range. */
  powerSamples(range: ReportTimeRange): AsyncIterable<PowerSampleRecord>
  /** Intensity values recorded in the range. */
  intensities(range: ReportTimeRange): AsyncIterable<IntensityRecord>
  /** The budgets in force (latest record per service, family and metric). */
  budgets(): Promise<readonly BudgetView[]>
  /** Gate decisions taken in the range. */
  gateDecisions(range: ReportTimeRange): Promise<readonly GateDecisionView[]>
  trainingRuns(): Promise<readonly TrainingRunView[]>
  hardware(): Promise<readonly HardwareView[]>
  chainHead(): Promise<ChainHeadView>
}
