/**
 * @module adapters/storage/bulk-insert
 * How a flush's chained rows reach their tables fast, on one Kysely code path. Every statement is
 * built with Kysely once per table (and per size) and its SQL text reused, so a flush neither
 * rebuilds an operation tree per cell nor compiles SQL the size of the batch. The database's
 * `bulkInsert` capability picks the shape of the statement:
 *
 * - `prepared-values` (SQLite): multi-row `INSERT … VALUES` of a fixed size, `VALUES_ROWS` rows,
 *   then one-row statements for the rest. With the driver's statement cache (open-database.ts)
 *   SQLite prepares each text once per connection; binding in-process costs little.
 * - `json-recordset` (PostgreSQL): one JSON-array parameter per chunk,
 *   `INSERT … SELECT … FROM json_to_recordset($1) AS x(<typed columns>)`. One parameter instead of
 *   thousands, each otherwise converted to text and sent separately by the driver; the server
 *   parses numbers with its exact float8 input. Each row's JSON is the canonical JSON the writer
 *   hashed (`ChainedRow.json`) with the chain position spliced in, so the stored values are the
 *   hashed ones by construction.
 *
 * SQLite's `json_each` was measured for the first shape too and is slower there (each `->>`
 * searches the row object again): see docs/benchmarks.md.
 */
import { CompiledQuery, sql, type Kysely, type RawBuilder, type Transaction } from 'kysely'
import { recordJson, type ChainedRow } from '@wattline/core'
import type { ColumnType, TableSpec } from './ledger-tables.ts'
import type { DatabaseCapabilities } from './open-database.ts'

type Db = Kysely<Record<string, Record<string, unknown>>>
type Executor = Db | Transaction<Record<string, Record<string, unknown>>>

/** Inserts the chained rows of one table inside the caller's transaction. */
export interface BulkInserter {
  insert(tx: Executor, spec: TableSpec, rows: readonly ChainedRow[]): Promise<void>
}

/** The chain position columns every chained table starts with. */
const CHAIN_COLUMNS: readonly (readonly [string, ColumnType])[] = [
  ['block_seq', 'bigint'],
  ['row_idx', 'int'],
  ['row_hash', 'text'],
]
/** Rows per multi-row VALUES statement (64 × 35 columns stays far below SQLite's 32,766). */
const VALUES_ROWS = 32
/** Types of `json_to_recordset`'s column definition list (booleans arrive as JSON true/false). */
const RECORDSET_TYPES = {
  text: 'text',
  real: 'double precision',
  int: 'integer',
  bigint: 'bigint',
  bool: 'boolean',
} as const satisfies Record<ColumnType, string>
/** Rows per JSON statement, and characters of JSON per statement (whichever comes first). */
const JSON_CHUNK_ROWS = 20_000
const JSON_CHUNK_CHARS = 16 * 1024 * 1024

/** A bulk inserter for `db`, shaped by its capabilities. */
export function createBulkInserter(db: Db, capabilities: DatabaseCapabilities): BulkInserter {
  return capabilities.bulkInsert === 'json-recordset'
    ? jsonRecordsetInserter(db)
    : preparedValuesInserter(db, capabilities.maxParameters)
}

function columnsOf(spec: TableSpec): readonly (readonly [string, ColumnType])[] {
  return [...CHAIN_COLUMNS, ...spec.columns.map((c) => [c.name, c.type] as const)]
}

function preparedValuesInserter(db: Db, maxParameters: number): BulkInserter {
  const texts = new Map<string, string>()
  /** `INSERT INTO t (cols) VALUES (?…), …` for `rows` rows, compiled by Kysely once. */
  const textFor = (spec: TableSpec, rows: number): string => {
    const key = `${spec.table}\u0000${rows}`
    let text = texts.get(key)
    if (text === undefined) {
      const blank = Object.fromEntries(columnsOf(spec).map(([name]) => [name, null]))
      text = db
        .insertInto(spec.table)
        .values(Array.from({ length: rows }, () => blank))
        .compile().sql
      texts.set(key, text)
    }
    return text
  }
  return {
    async insert(tx, spec, rows) {
      const width = CHAIN_COLUMNS.length + spec.columns.length
      const per = Math.max(1, Math.min(VALUES_ROWS, Math.floor(maxParameters / width)))
      let i = 0
      for (; i + per <= rows.length; i += per) {
        await tx.executeQuery(CompiledQuery.raw(textFor(spec, per), bind(spec, rows, i, per)))
      }
      for (; i < rows.length; i += 1) {
        await tx.executeQuery(CompiledQuery.raw(textFor(spec, 1), bind(spec, rows, i, 1)))
      }
    },
  }
}

/** The parameters of rows `from…from+count`, row-major, as `toRow` would store them. */
function bind(
  spec: TableSpec,
  rows: readonly ChainedRow[],
  from: number,
  count: number,
): unknown[] {
  const out: unknown[] = []
  for (let r = from; r < from + count; r += 1) {
    const row = rows[r] as ChainedRow
    const record = row.record as unknown as Readonly<Record<string, unknown>>
    out.push(row.block_seq, row.row_idx, row.row_hash)
    for (const col of spec.columns) {
      const v = record[col.name]
      out.push(col.type === 'bool' ? (v === true ? 1 : 0) : (v ?? null))
    }
  }
  return out
}

function jsonRecordsetInserter(db: Db): BulkInserter {
  const texts = new Map<string, string>()
  /** `INSERT INTO t (cols) SELECT x.… FROM json_to_recordset($1) AS x(col type, …)`. */
  const textFor = (spec: TableSpec): string => {
    let text = texts.get(spec.table)
    if (text === undefined) {
      const columns = columnsOf(spec)
      const defs = columns.map(
        ([name, type]) => sql`${sql.id(name)} ${sql.raw(RECORDSET_TYPES[type])}`,
      )
      const source = sql`json_to_recordset(cast(${''} as json)) as x(${sql.join(defs)})`
      const pick = (name: string, type: ColumnType): RawBuilder<unknown> =>
        type === 'bool'
          ? sql`cast(${sql.ref(`x.${name}`)} as integer)`
          : sql`${sql.ref(`x.${name}`)}`
      text = db
        .insertInto(spec.table)
        .columns(columns.map(([name]) => name) as never)
        .expression(
          db
            .selectFrom(source as never)
            .select(columns.map(([name, type]) => pick(name, type).as(name)) as never),
        )
        .compile().sql
      texts.set(spec.table, text)
    }
    return text
  }
  return {
    async insert(tx, spec, rows) {
      const text = textFor(spec)
      let parts: string[] = []
      let chars = 0
      const run = async (): Promise<void> => {
        const json = `[${parts.join(',')}]`
        parts = []
        chars = 0
        await tx.executeQuery(CompiledQuery.raw(text, [json]))
      }
      for (const row of rows) {
        const json = row.json ?? recordJson(row.record)
        // `{"block_seq":…,"row_idx":…,"row_hash":…,` + the record's members: no record field uses
        // these three names, so the object stays valid JSON with unique keys.
        const part = `{"block_seq":${row.block_seq},"row_idx":${row.row_idx},"row_hash":${JSON.stringify(row.row_hash)},${json.slice(1)}`
        parts.push(part)
        chars += part.length
        if (parts.length >= JSON_CHUNK_ROWS || chars >= JSON_CHUNK_CHARS) await run()
      }
      if (parts.length > 0) await run()
    },
  }
}
