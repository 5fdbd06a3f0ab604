/**
 * @module ledger/audit-records
 * Records the ledger holds besides what the gateway emits (`LedgerRecord`): dropped-row counters,
 * budgets, releases, gate decisions, retention events, training runs and hardware inventory.
 * Every `AuditRecord` is chained and signed the same way; field names are the SQL/wire names.
 */
import type { Method } from '../units/estimate.ts'
import type { LedgerRecord } from './records.ts'

/** Rows the batch writer had to drop because its buffer was full: never silent. */
export interface DroppedRowsRecord {
  readonly kind: 'dropped'
  /** Epoch ms when the count was recorded. */
  readonly at_ms: number
  /** First drop in this count, epoch ms. */
  readonly since_ms: number
  readonly rows: number
  readonly reason: 'buffer_full' | 'write_failed'
}

/** A service's budget as it stood when recorded (by `gate`, or at gateway start). */
export interface BudgetRecord {
  readonly kind: 'budget'
  readonly at_ms: number
  readonly service: string
  /** Model-family prefix, or null for the service-wide budget. */
  readonly family: string | null
  readonly metric: string
  readonly baseline: number
  readonly stage: string
  readonly target: number
  readonly variance_pct: number
  readonly max_regression_pct: number
}

/** A release candidate judged by the gate; `accepted` ones are the reference for regressions. */
export interface ReleaseRecord {
  readonly kind: 'release'
  readonly id: string
  readonly at_ms: number
  readonly service: string
  readonly family: string | null
  readonly model: string
  readonly accepted: boolean
  readonly metric: string
  readonly value: number
  readonly low: number
  readonly high: number
  readonly method: Method
}

/** A gate decision with every number it used; `reasons` is compact JSON of the checks. */
export interface GateDecisionRecord {
  readonly kind: 'gate'
  readonly id: string
  readonly at_ms: number
  readonly service: string
  readonly release: string
  readonly passed: boolean
  readonly metric: string
  readonly value: number
  readonly high: number
  readonly target: number
  readonly limit: number
  readonly previous_release: string | null
  readonly previous_value: number | null
  readonly regression_pct: number | null
  readonly reasons: string
  /** SHA-256 (hex) of the benchmark result file the decision was taken on. */
  readonly result_sha256: string
}

/** Per-request rows older than `before_ms` were pruned; rollups stay. */
export interface RetentionRecord {
  readonly kind: 'retention'
  readonly at_ms: number
  readonly before_ms: number
  readonly rows: number
  /** Blocks whose request rows are gone (headers and signatures remain), inclusive range. */
  readonly first_block: number
  readonly last_block: number
}

/** A model training or fine-tuning run, for lifecycle reports. */
export interface TrainingRunRecord {
  readonly kind: 'training_run'
  readonly id: string
  readonly model: string
  readonly started_ms: number
  readonly ended_ms: number
  readonly hardware: string
  readonly accelerators: number
  readonly zone: string
  /** Facility energy of the run, J, with its interval. */
  readonly energy_j: number
  readonly energy_low_j: number
  readonly energy_high_j: number
  readonly carbon_g: number
  readonly method: Method
  /** Provenance, including how the energy was obtained (metered, GPU-hours × power, …). */
  readonly source: string
}

/** Hardware in service, for embodied-emission amortisation. */
export interface HardwareRecord {
  readonly kind: 'hardware'
  readonly id: string
  readonly at_ms: number
  readonly hardware: string
  readonly count: number
  readonly zone: string
  /** Embodied emissions of one unit, grams CO2e, and its expected lifetime, years. */
  readonly embodied_g: number
  readonly lifetime_years: number
  readonly source: string
  /**
   * Share of the units' capacity reserved for the software (SCI's RR/ToR), 0..1. Absent in records
   * written before ledger schema 2, which count as 1.
   */
  readonly allocation_share?: number
}

/**
 * The writer found rows after the last sealed block that it cannot authenticate (inserted, edited,
 * or a gap from a deleted row: see `checkTail`). It sealed only the authenticated prefix of block
 * `first_block` (`kept_rows` rows), left the rest unsealed where they lie, and chains this record
 * first after them, so `verify` names them (exit 1) for ever. Blocks `first_block + 1 … last_block`
 * were sealed empty, around rows found beyond the open block.
 */
export interface QuarantineRecord {
  readonly kind: 'quarantine'
  /** Epoch ms when the writer resumed and quarantined the rows. */
  readonly at_ms: number
  /** The block that was open: sealed with only `kept_rows` rows. */
  readonly first_block: number
  /** Rows of `first_block` sealed (authenticated by the writer's tail checkpoints). */
  readonly kept_rows: number
  /** Last block sealed by the quarantine (empty blocks around foreign rows), ≥ `first_block`. */
  readonly last_block: number
  /** Stored rows left out of every block. */
  readonly rows: number
  /** Compact JSON of the problems found: `[{kind, block, first_row, last_row, message}]`. */
  readonly reasons: string
}

/** Everything the ledger chains. */
export type AuditRecord =
  | LedgerRecord
  | DroppedRowsRecord
  | BudgetRecord
  | ReleaseRecord
  | GateDecisionRecord
  | RetentionRecord
  | TrainingRunRecord
  | HardwareRecord
  | QuarantineRecord

export type AuditKind = AuditRecord['kind']

/** Every kind, in a fixed order (the order tables are read in when verifying). */
export const AUDIT_KINDS = [
  'request',
  'idle',
  'power',
  'intensity',
  'dropped',
  'budget',
  'release',
  'gate',
  'retention',
  'training_run',
  'hardware',
  'quarantine',
] as const satisfies readonly AuditKind[]
