/**
 * @module adapters/storage/ledger-tables
 * The chained tables, one per record kind, declared once: column names are the record's field
 * names, each with a portable SQL type. The same declaration builds the DDL, turns records into
 * rows and rows back into records (booleans are stored as 0/1 integers in both dialects, 64-bit
 * integers come back as numbers), so a record read back hashes exactly as it was written.
 */
import type { AuditKind, AuditRecord } from '@wattline/core'

/** Portable column types. `bigint` holds epoch ms; `real` is an IEEE double in both dialects. */
export type ColumnType = 'text' | 'real' | 'int' | 'bigint' | 'bool'

export interface ColumnSpec {
  readonly name: string
  readonly type: ColumnType
  readonly nullable: boolean
  /**
   * The migration that added the column, for columns added after `0001_initial` (always nullable).
   * When NULL such a column is left out of the record read back, so rows written before it existed
   * hash exactly as they were written.
   */
  readonly since?: number
}

export interface TableSpec {
  readonly kind: AuditKind
  readonly table: string
  readonly columns: readonly ColumnSpec[]
  /** Extra indexed columns, besides the chain position. */
  readonly indexes: readonly string[]
  /** The migration that created the table, for tables added after `0001_initial`. */
  readonly since?: number
}

const c = (name: string, type: ColumnType, nullable = false): ColumnSpec => ({
  name,
  type,
  nullable,
})
/** A nullable column added by migration `since`. */
const later = (name: string, type: ColumnType, since: number): ColumnSpec => ({
  name,
  type,
  nullable: true,
  since,
})

/** Every chained table. Order = `AUDIT_KINDS`. */
export const LEDGER_TABLES: readonly TableSpec[] = [
  {
    kind: 'request',
    table: 'requests',
    indexes: ['at_ms', 'service'],
    columns: [
      c('id', 'text'),
      c('at_ms', 'bigint'),
      c('service', 'text'),
      c('tenant', 'text', true),
      c('model', 'text'),
      c('backend', 'text'),
      c('zone', 'text'),
      c('endpoint', 'text'),
      c('status', 'int'),
      c('streamed', 'bool'),
      c('input_tokens', 'int'),
      c('output_tokens', 'int'),
      c('latency_ms', 'real'),
      c('ttft_ms', 'real', true),
      c('energy_j', 'real'),
      c('energy_low_j', 'real'),
      c('energy_high_j', 'real'),
      c('facility_energy_j', 'real'),
      c('pue', 'real'),
      c('carbon_g', 'real'),
      c('carbon_low_g', 'real'),
      c('carbon_high_g', 'real'),
      c('intensity_g_per_kwh', 'real'),
      c('intensity_source', 'text'),
      c('intensity_signal', 'text'),
      c('intensity_stale', 'bool'),
      c('method', 'text'),
      c('energy_source', 'text'),
      c('routing_policy', 'text'),
      c('routing_reason', 'text'),
      c('attempts', 'int'),
      c('error_code', 'text', true),
      later('levers', 'text', 5),
      later('network_bytes', 'bigint', 5),
      later('network_energy_j', 'real', 5),
      later('network_carbon_g', 'real', 5),
      later('model_requested', 'text', 5),
    ],
  },
  {
    kind: 'idle',
    table: 'idle_energy',
    indexes: ['from_ms'],
    columns: [
      c('backend', 'text'),
      c('zone', 'text'),
      c('from_ms', 'bigint'),
      c('to_ms', 'bigint'),
      c('energy_j', 'real'),
      c('facility_energy_j', 'real'),
      c('carbon_g', 'real'),
      c('method', 'text'),
      c('source', 'text'),
    ],
  },
  {
    kind: 'power',
    table: 'power_samples',
    indexes: ['at_ms'],
    columns: [
      c('backend', 'text'),
      c('at_ms', 'bigint'),
      c('power_w', 'real'),
      c('method', 'text'),
      c('source', 'text'),
    ],
  },
  {
    kind: 'intensity',
    table: 'intensity_values',
    indexes: ['at_ms'],
    columns: [
      c('zone', 'text'),
      c('at_ms', 'bigint'),
      c('intensity_g_per_kwh', 'real'),
      c('signal', 'text'),
      c('source', 'text'),
      c('forecast', 'bool'),
      c('stale', 'bool'),
    ],
  },
  {
    kind: 'dropped',
    table: 'dropped_rows',
    indexes: [],
    columns: [c('at_ms', 'bigint'), c('since_ms', 'bigint'), c('rows', 'int'), c('reason', 'text')],
  },
  {
    kind: 'budget',
    table: 'budgets',
    indexes: ['service'],
    columns: [
      c('at_ms', 'bigint'),
      c('service', 'text'),
      c('family', 'text', true),
      c('metric', 'text'),
      c('baseline', 'real'),
      c('stage', 'text'),
      c('target', 'real'),
      c('variance_pct', 'real'),
      c('max_regression_pct', 'real'),
    ],
  },
  {
    kind: 'release',
    table: 'releases',
    indexes: ['service'],
    columns: [
      c('id', 'text'),
      c('at_ms', 'bigint'),
      c('service', 'text'),
      c('family', 'text', true),
      c('model', 'text'),
      c('accepted', 'bool'),
      c('metric', 'text'),
      c('value', 'real'),
      c('low', 'real'),
      c('high', 'real'),
      c('method', 'text'),
    ],
  },
  {
    kind: 'gate',
    table: 'gate_decisions',
    indexes: ['service'],
    columns: [
      c('id', 'text'),
      c('at_ms', 'bigint'),
      c('service', 'text'),
      c('release', 'text'),
      c('passed', 'bool'),
      c('metric', 'text'),
      c('value', 'real'),
      c('high', 'real'),
      c('target', 'real'),
      c('limit', 'real'),
      c('previous_release', 'text', true),
      c('previous_value', 'real', true),
      c('regression_pct', 'real', true),
      c('reasons', 'text'),
      c('result_sha256', 'text'),
    ],
  },
  {
    kind: 'retention',
    table: 'retention_events',
    indexes: [],
    columns: [
      c('at_ms', 'bigint'),
      c('before_ms', 'bigint'),
      c('rows', 'int'),
      c('first_block', 'bigint'),
      c('last_block', 'bigint'),
    ],
  },
  {
    kind: 'training_run',
    table: 'training_runs',
    indexes: ['started_ms'],
    columns: [
      c('id', 'text'),
      c('model', 'text'),
      c('started_ms', 'bigint'),
      c('ended_ms', 'bigint'),
      c('hardware', 'text'),
      c('accelerators', 'int'),
      c('zone', 'text'),
      c('energy_j', 'real'),
      c('energy_low_j', 'real'),
      c('energy_high_j', 'real'),
      c('carbon_g', 'real'),
      c('method', 'text'),
      c('source', 'text'),
    ],
  },
  {
    kind: 'hardware',
    table: 'hardware_inventory',
    indexes: [],
    columns: [
      c('id', 'text'),
      c('at_ms', 'bigint'),
      c('hardware', 'text'),
      c('count', 'int'),
      c('zone', 'text'),
      c('embodied_g', 'real'),
      c('lifetime_years', 'real'),
      c('source', 'text'),
      later('allocation_share', 'real', 2),
    ],
  },
  {
    kind: 'quarantine',
    table: 'quarantine_events',
    indexes: [],
    since: 3,
    columns: [
      c('at_ms', 'bigint'),
      c('first_block', 'bigint'),
      c('kept_rows', 'int'),
      c('last_block', 'bigint'),
      c('rows', 'int'),
      c('reasons', 'text'),
    ],
  },
]

const BY_KIND = new Map(LEDGER_TABLES.map((t) => [t.kind, t]))

/** The table spec of a kind. */
export function tableOf(kind: AuditKind): TableSpec {
  const spec = BY_KIND.get(kind)
  if (spec === undefined) throw new Error(`no ledger table for kind ${kind}`)
  return spec
}

/** A record as a row of its table, added to `row` (which may already hold the chain columns). */
export function toRow(
  spec: TableSpec,
  record: AuditRecord,
  row: Record<string, unknown> = {},
): Record<string, unknown> {
  const source = record as unknown as Record<string, unknown>
  for (const col of spec.columns) {
    const v = source[col.name]
    row[col.name] = col.type === 'bool' ? (v === true ? 1 : 0) : (v ?? null)
  }
  return row
}

/** A row back into its record, with the types the record had. */
export function fromRow(spec: TableSpec, row: Readonly<Record<string, unknown>>): AuditRecord {
  const record: Record<string, unknown> = { kind: spec.kind }
  for (const col of spec.columns) {
    const v = row[col.name]
    if (v === null || v === undefined) {
      if (col.since === undefined) record[col.name] = null
      continue
    }
    switch (col.type) {
      case 'bool':
        record[col.name] = v === 1 || v === true || v === '1'
        break
      case 'int':
      case 'bigint':
      case 'real':
        record[col.name] = Number(v)
        break
      case 'text':
        record[col.name] = String(v)
        break
    }
  }
  return record as unknown as AuditRecord
}
