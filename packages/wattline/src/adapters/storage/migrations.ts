/**
 * @module adapters/storage/migrations
 * Forward-only, numbered migrations, one code path for SQLite and PostgreSQL (Kysely's schema
 * builder with portable types). Applied versions are recorded in `schema_version` (Kysely's
 * migrator, which also takes a lock on PostgreSQL so replicas can start together). Never edit a
 * released migration: add the next number.
 */
import { sql, type Kysely, type Migration } from 'kysely'
import { ROLLUP_SUMS } from '@wattline/core'
import { LEDGER_TABLES, type ColumnType, type TableSpec } from './ledger-tables.ts'

const SQL_TYPES = {
  text: 'text',
  real: 'double precision',
  int: 'integer',
  bigint: 'bigint',
  bool: 'integer',
} as const satisfies Record<ColumnType, string>

/** Table names used outside the chained tables. */
export const SCHEMA_VERSION_TABLE = 'schema_version'

/** Creates a chained table: the chain position, the record's columns, its indexes. */
async function createChainedTable(db: Kysely<unknown>, spec: TableSpec): Promise<void> {
  let table = db.schema
    .createTable(spec.table)
    .ifNotExists()
    .addColumn('block_seq', 'bigint', (col) => col.notNull())
    .addColumn('row_idx', 'integer', (col) => col.notNull())
    .addColumn('row_hash', 'text', (col) => col.notNull())
  for (const col of spec.columns.filter((c) => c.since === undefined)) {
    table = table.addColumn(col.name, sql.raw(SQL_TYPES[col.type]), (b) =>
      col.nullable ? b : b.notNull(),
    )
  }
  await table
    .addPrimaryKeyConstraint(`${spec.table}_pk`, ['block_seq', 'row_idx'] as never)
    .execute()
  for (const column of spec.indexes) {
    await db.schema
      .createIndex(`${spec.table}_${column}_idx`)
      .ifNotExists()
      .on(spec.table)
      .column(column)
      .execute()
  }
}

async function initial(db: Kysely<unknown>): Promise<void> {
  for (const spec of LEDGER_TABLES.filter((t) => t.since === undefined)) {
    await createChainedTable(db, spec)
  }
  await db.schema
    .createTable('blocks')
    .ifNotExists()
    .addColumn('seq', 'bigint', (col) => col.primaryKey())
    .addColumn('prev_hash', 'text', (col) => col.notNull())
    .addColumn('row_count', 'integer', (col) => col.notNull())
    .addColumn('rows_head', 'text', (col) => col.notNull())
    .addColumn('sealed_at_ms', 'bigint', (col) => col.notNull())
    .addColumn('hash', 'text', (col) => col.notNull())
    .addColumn('signature', 'text', (col) => col.notNull())
    .addColumn('key_id', 'text', (col) => col.notNull())
    .execute()
  await db.schema
    .createIndex('blocks_sealed_at_ms_idx')
    .ifNotExists()
    .on('blocks')
    .column('sealed_at_ms')
    .execute()
  let rollups = db.schema
    .createTable('rollups_minute')
    .ifNotExists()
    .addColumn('minute_ms', 'bigint', (col) => col.notNull())
    .addColumn('service', 'text', (col) => col.notNull())
    .addColumn('model', 'text', (col) => col.notNull())
    .addColumn('backend', 'text', (col) => col.notNull())
    .addColumn('zone', 'text', (col) => col.notNull())
  for (const field of ROLLUP_SUMS) {
    rollups = rollups.addColumn(field, 'double precision', (col) => col.notNull().defaultTo(0))
  }
  await rollups
    .addPrimaryKeyConstraint('rollups_minute_pk', [
      'minute_ms',
      'service',
      'model',
      'backend',
      'zone',
    ] as never)
    .execute()
  await db.schema
    .createTable('meta')
    .ifNotExists()
    .addColumn('key', 'text', (col) => col.primaryKey())
    .addColumn('value', 'text', (col) => col.notNull())
    .execute()
}

/** Adds the nullable columns that `LEDGER_TABLES` marks as added by migration `version`. */
function addColumnsSince(version: number): (db: Kysely<unknown>) => Promise<void> {
  return async (db) => {
    for (const spec of LEDGER_TABLES) {
      for (const col of spec.columns.filter((c) => c.since === version)) {
        await db.schema
          .alterTable(spec.table)
          .addColumn(col.name, sql.raw(SQL_TYPES[col.type]))
          .execute()
      }
    }
  }
}

/**
 * The writer's signed tail checkpoints (one per flush that leaves rows unsealed; a block's are
 * dropped when it is sealed) and the chained `quarantine_events` table. Ledgers written before
 * have no checkpoints: an unsealed tail they left (only after a crash) is quarantined on resume.
 */
async function tailCheckpoints(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('tail_checkpoints')
    .ifNotExists()
    .addColumn('block_seq', 'bigint', (col) => col.notNull())
    .addColumn('row_count', 'integer', (col) => col.notNull())
    .addColumn('head', 'text', (col) => col.notNull())
    .addColumn('at_ms', 'bigint', (col) => col.notNull())
    .addColumn('signature', 'text', (col) => col.notNull())
    .addColumn('key_id', 'text', (col) => col.notNull())
    .addPrimaryKeyConstraint('tail_checkpoints_pk', ['block_seq', 'row_count'] as never)
    .execute()
  for (const spec of LEDGER_TABLES.filter((t) => t.since === 3)) {
    await createChainedTable(db, spec)
  }
}

/**
 * The Batch API's state (docs/batch.md): uploaded files, batches, one row per input line (its
 * result, the ledger request id it ran as, `deferred_from_ms`/`ran_at_ms` and the carbon saved
 * versus running at submission), and the scheduler's lease row. Plain tables, not hash-chained:
 * each executed line is also an ordinary chained `requests` row, found by its request id.
 */
async function batchTables(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('batch_files')
    .ifNotExists()
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('purpose', 'text', (col) => col.notNull())
    .addColumn('filename', 'text', (col) => col.notNull())
    .addColumn('bytes', 'bigint', (col) => col.notNull())
    .addColumn('service', 'text', (col) => col.notNull())
    .addColumn('tenant', 'text')
    .addColumn('created_at_ms', 'bigint', (col) => col.notNull())
    .addColumn('content', 'text', (col) => col.notNull())
    .execute()
  await db.schema
    .createTable('batches')
    .ifNotExists()
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('service', 'text', (col) => col.notNull())
    .addColumn('tenant', 'text')
    .addColumn('endpoint', 'text', (col) => col.notNull())
    .addColumn('input_file_id', 'text', (col) => col.notNull())
    .addColumn('completion_window', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('created_at_ms', 'bigint', (col) => col.notNull())
    .addColumn('deadline_ms', 'bigint', (col) => col.notNull())
    .addColumn('in_progress_at_ms', 'bigint')
    .addColumn('finalizing_at_ms', 'bigint')
    .addColumn('completed_at_ms', 'bigint')
    .addColumn('cancelling_at_ms', 'bigint')
    .addColumn('cancelled_at_ms', 'bigint')
    .addColumn('failed_at_ms', 'bigint')
    .addColumn('expired_at_ms', 'bigint')
    .addColumn('output_file_id', 'text')
    .addColumn('error_file_id', 'text')
    .addColumn('total', 'integer', (col) => col.notNull())
    .addColumn('metadata', 'text')
    .addColumn('submit_intensity', 'text', (col) => col.notNull())
    .addColumn('plan', 'text')
    .execute()
  await db.schema
    .createIndex('batches_status_idx')
    .ifNotExists()
    .on('batches')
    .column('status')
    .execute()
  await db.schema
    .createTable('batch_lines')
    .ifNotExists()
    .addColumn('batch_id', 'text', (col) => col.notNull())
    .addColumn('line_no', 'integer', (col) => col.notNull())
    .addColumn('custom_id', 'text')
    .addColumn('body', 'text')
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('claimed_by', 'text')
    .addColumn('request_id', 'text')
    .addColumn('response_status', 'integer')
    .addColumn('response_body', 'text')
    .addColumn('error', 'text')
    .addColumn('deferred_from_ms', 'bigint', (col) => col.notNull())
    .addColumn('ran_at_ms', 'bigint')
    .addColumn('zone', 'text')
    .addColumn('energy_j', 'double precision')
    .addColumn('carbon_g', 'double precision')
    .addColumn('intensity_g_per_kwh', 'double precision')
    .addColumn('carbon_saved_g', 'double precision')
    .addColumn('carbon_saved_basis', 'text')
    .addPrimaryKeyConstraint('batch_lines_pk', ['batch_id', 'line_no'] as never)
    .execute()
  await db.schema
    .createIndex('batch_lines_status_idx')
    .ifNotExists()
    .on('batch_lines')
    .columns(['batch_id', 'status'])
    .execute()
  await db.schema
    .createTable('batch_leases')
    .ifNotExists()
    .addColumn('name', 'text', (col) => col.primaryKey())
    .addColumn('holder', 'text', (col) => col.notNull())
    .addColumn('expires_at_ms', 'bigint', (col) => col.notNull())
    .execute()
}

/** Every migration by name; names sort in application order. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '0001_initial': { up: initial },
  /** hardware_inventory.allocation_share (lifecycle reports: SCI's RR/ToR). */
  '0002_hardware_allocation_share': { up: addColumnsSince(2) },
  '0003_tail_checkpoints': { up: tailCheckpoints },
  /** Batch API: files, batches, per-line results, the scheduler lease (docs/batch.md). */
  '0004_batch_api': { up: batchTables },
  /**
   * requests: `levers` (what each lever saved, basis stated), `network_bytes` /
   * `network_energy_j` / `network_carbon_g` (energy at the service boundary, apart from compute),
   * `model_requested` (a quality tier served another model). Nullable; older rows hash unchanged.
   */
  '0005_levers_network_tiers': { up: addColumnsSince(5) },
})

/** The schema version this build writes (the number of the last migration). */
export const SCHEMA_VERSION = Object.keys(MIGRATIONS).length
