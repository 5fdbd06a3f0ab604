/**
 * @module adapters/storage/kysely-ledger-store
 * The `LedgerStore` over Kysely: one code path for SQLite and PostgreSQL. Rows of a batch, the
 * blocks it seals and its rollups are written in one transaction. Chained rows, the bulk of every
 * batch, go through the bulk inserter (bulk-insert.ts: statements compiled once per table, shaped
 * by the `bulkInsert` capability flag, not a dialect check); blocks and rollups, a handful per
 * flush, use ordinary multi-row INSERTs sized from the parameter limit.
 */
import { Migrator, sql, type Kysely, type Transaction } from 'kysely'
import {
  PRUNABLE_KINDS,
  ROLLUP_SUMS,
  WattlineError,
  type AppendBatch,
  type AuditRecord,
  type ChainedRow,
  type ChainTail,
  type LedgerStore,
  type PrunedRange,
  type PruneResult,
  type QuarantineRecord,
  type ReleaseRecord,
  type RequestRecord,
  type RollupRow,
  type SignedBlockHeader,
  type StoredRow,
  type TailCheckpoint,
  type TimeRange,
} from '@wattline/core'
import { createBulkInserter, type BulkInserter } from './bulk-insert.ts'
import { LEDGER_TABLES, fromRow, tableOf, type TableSpec } from './ledger-tables.ts'
import { MIGRATIONS, SCHEMA_VERSION_TABLE } from './migrations.ts'
import type { OpenedDatabase } from './open-database.ts'

type Db = Kysely<Record<string, Record<string, unknown>>>
type Executor = Db | Transaction<Record<string, Record<string, unknown>>>

const BLOCK_COLUMNS = [
  'seq',
  'prev_hash',
  'row_count',
  'rows_head',
  'sealed_at_ms',
  'hash',
  'signature',
  'key_id',
] as const
const CHECKPOINT_COLUMNS = [
  'block_seq',
  'row_count',
  'head',
  'at_ms',
  'signature',
  'key_id',
] as const
const ROLLUP_KEYS = ['minute_ms', 'service', 'model', 'backend', 'zone'] as const
/** Tries of a migration whose catalog scan met a schema or table dropped by another client. */
const MIGRATE_ATTEMPTS = 3
/** `meta` key whose upsert serialises appends; its value names the last position written. */
const CHAIN_HEAD_KEY = 'chain_head'

/** A `LedgerStore` over an opened database. */
export class KyselyLedgerStore implements LedgerStore {
  readonly dialect: string
  readonly appendsFromJson: boolean
  readonly #db: Db
  readonly #maxParameters: number
  readonly #namedSchemas: boolean
  readonly #bulk: BulkInserter

  constructor(opened: OpenedDatabase) {
    this.#db = opened.db
    this.dialect = opened.capabilities.dialect
    this.#maxParameters = opened.capabilities.maxParameters
    this.#namedSchemas = opened.capabilities.namedSchemas
    this.#bulk = createBulkInserter(opened.db, opened.capabilities)
    this.appendsFromJson = opened.capabilities.bulkInsert === 'json-recordset'
  }

  async migrate(): Promise<number> {
    // Kysely's migrator lists tables across every schema of the database (then keeps ours). A schema
    // or table another client drops meanwhile (another tenant, a parallel test run) can fail that
    // catalog scan with "schema/relation/column does not exist" (its pg_get_serial_sequence call
    // reads every column): nothing of ours, so try again.
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.#migrateOnce()
      } catch (error) {
        const code = ((error as { cause?: { code?: unknown } }).cause ?? {}).code
        if (attempt >= MIGRATE_ATTEMPTS || !['3F000', '42P01', '42703'].includes(String(code)))
          throw error
      }
    }
  }

  /**
   * The number of migrations when every one is already recorded in `schema_version`, else null.
   * One small read: an up-to-date ledger (every `verify`, every restart) skips Kysely's migrator,
   * whose catalog scan across all schemas can trip over another client's schema being dropped.
   */
  async #appliedAll(): Promise<number | null> {
    let names: string[]
    try {
      const rows = await this.#db.selectFrom(SCHEMA_VERSION_TABLE).select('name').execute()
      names = rows.map((r) => String(r['name']))
    } catch {
      return null // no schema_version yet: a new ledger
    }
    const wanted = Object.keys(MIGRATIONS)
    return wanted.every((n) => names.includes(n)) ? wanted.length : null
  }

  async #migrateOnce(): Promise<number> {
    const upToDate = await this.#appliedAll()
    if (upToDate !== null) return upToDate
    // Kysely looks for its tables in every schema; pin it to ours so schemas never mix.
    const schema = this.#namedSchemas
      ? String(
          (await sql<{ s: string }>`select current_schema() as s`.execute(this.#db)).rows[0]?.s,
        )
      : undefined
    const migrator = new Migrator({
      db: this.#db,
      ...(schema === undefined ? {} : { migrationTableSchema: schema }),
      provider: { getMigrations: () => Promise.resolve({ ...MIGRATIONS }) },
      migrationTableName: SCHEMA_VERSION_TABLE,
      migrationLockTableName: `${SCHEMA_VERSION_TABLE}_lock`,
    })
    const { error } = await migrator.migrateToLatest()
    if (error !== undefined) {
      throw new WattlineError('WL_LEDGER_WRITE', `ledger migration failed: ${String(error)}`, {
        cause: error,
      })
    }
    let applied
    try {
      applied = await migrator.getMigrations()
    } catch (cause) {
      throw new WattlineError(
        'WL_LEDGER_WRITE',
        `ledger migration check failed: ${String(cause)}`,
        {
          cause,
        },
      )
    }
    return applied.filter((m) => m.executedAt !== undefined).length
  }

  async append(batch: AppendBatch): Promise<void> {
    try {
      await this.#db.transaction().execute(async (tx) => {
        await this.#claimTail(tx, batch)
        const byTable = new Map<TableSpec, ChainedRow[]>()
        for (const row of batch.rows) {
          const spec = tableOf(row.record.kind)
          let list = byTable.get(spec)
          if (list === undefined) byTable.set(spec, (list = []))
          list.push(row)
        }
        for (const [spec, rows] of byTable) await this.#bulk.insert(tx, spec, rows)
        if (batch.blocks.length > 0) {
          await this.#insertChunked(
            tx,
            'blocks',
            batch.blocks.map((b) => pick(b, BLOCK_COLUMNS)),
          )
        }
        if (batch.rollups.length > 0) await this.#addRollups(tx, batch.rollups)
        const lastSealed = batch.blocks[batch.blocks.length - 1]
        if (lastSealed !== undefined) {
          // sealed: the block signature covers those rows now
          await tx.deleteFrom('tail_checkpoints').where('block_seq', '<=', lastSealed.seq).execute()
        }
        if (batch.checkpoint !== undefined) {
          await tx
            .insertInto('tail_checkpoints')
            .values(pick(batch.checkpoint, CHECKPOINT_COLUMNS))
            .execute()
        }
      })
    } catch (cause) {
      throw new WattlineError(
        'WL_LEDGER_WRITE',
        `ledger write of ${batch.rows.length} rows failed: ${(cause as Error).message}`,
        { cause },
      )
    }
  }

  /**
   * The chain's tail, read in one transaction (repeatable read on PostgreSQL, a WAL snapshot on
   * SQLite): the last block, the open block's rows and its checkpoints agree even while another
   * writer appends, so a live tail is never mistaken for a tampered one.
   */
  async chainTail(): Promise<ChainTail> {
    return this.#db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (tx) => {
        const last = await tx
          .selectFrom('blocks')
          .selectAll()
          .orderBy('seq', 'desc')
          .limit(1)
          .executeTakeFirst()
        const header = last === undefined ? null : toHeader(last)
        const openSeq = header === null ? 0 : header.seq + 1
        const rows = await readRowsOf(tx, openSeq, Number.MAX_SAFE_INTEGER)
        const beyond = new Map([...rows].filter(([seq]) => seq > openSeq))
        const checkpoints = await tx
          .selectFrom('tail_checkpoints')
          .selectAll()
          .where('block_seq', '>=', openSeq)
          .orderBy('block_seq')
          .orderBy('row_count')
          .execute()
        return {
          last: header,
          open: rows.get(openSeq) ?? [],
          beyond,
          checkpoints: checkpoints.map(toCheckpoint),
        }
      })
  }

  async quarantines(): Promise<readonly QuarantineRecord[]> {
    const spec = tableOf('quarantine')
    const rows = await this.#db
      .selectFrom(spec.table)
      .selectAll()
      .orderBy('block_seq')
      .orderBy('row_idx')
      .execute()
    return rows.map((r) => fromRow(spec, r) as QuarantineRecord)
  }

  async readBlocks(fromSeq: number, toSeq: number): Promise<readonly SignedBlockHeader[]> {
    const rows = await this.#db
      .selectFrom('blocks')
      .selectAll()
      .where('seq', '>=', fromSeq)
      .where('seq', '<=', toSeq)
      .orderBy('seq')
      .execute()
    return rows.map(toHeader)
  }

  readRows(fromSeq: number, toSeq: number): Promise<ReadonlyMap<number, readonly StoredRow[]>> {
    return readRowsOf(this.#db, fromSeq, toSeq)
  }

  async blockRange(range?: TimeRange): Promise<{ first: number; last: number } | null> {
    let q = this.#db
      .selectFrom('blocks')
      .select((eb) => [eb.fn.min('seq').as('first'), eb.fn.max('seq').as('last')])
    if (range !== undefined) {
      q = q.where('sealed_at_ms', '>=', range.from_ms).where('sealed_at_ms', '<', range.to_ms)
    }
    const r = await q.executeTakeFirst()
    if (r === undefined || r['first'] === null || r['first'] === undefined) return null
    return { first: Number(r['first']), last: Number(r['last']) }
  }

  async prunedRanges(): Promise<readonly PrunedRange[]> {
    const rows = await this.#db
      .selectFrom('retention_events')
      .select(['first_block', 'last_block'])
      .execute()
    return rows.map((r) => ({
      first_block: Number(r['first_block']),
      last_block: Number(r['last_block']),
    }))
  }

  async prune(beforeMs: number): Promise<PruneResult | null> {
    const range = await this.blockRange({ from_ms: 0, to_ms: beforeMs })
    if (range === null) return null
    const ranges = await this.prunedRanges()
    const already = ranges.reduce((m, r) => Math.max(m, r.last_block), -1)
    const first = Math.max(range.first, already + 1)
    if (first > range.last) return null
    let rows = 0
    await this.#db.transaction().execute(async (tx) => {
      for (const kind of PRUNABLE_KINDS) {
        const res = await tx
          .deleteFrom(tableOf(kind).table)
          .where('block_seq', '>=', first)
          .where('block_seq', '<=', range.last)
          .executeTakeFirst()
        rows += Number(res.numDeletedRows)
      }
    })
    return { rows, first_block: first, last_block: range.last }
  }

  async requests(
    range: TimeRange,
    options: { readonly service?: string; readonly limit?: number } = {},
  ): Promise<readonly RequestRecord[]> {
    const spec = tableOf('request')
    let q = this.#db
      .selectFrom(spec.table)
      .selectAll()
      .where('at_ms', '>=', range.from_ms)
      .where('at_ms', '<', range.to_ms)
    if (options.service !== undefined) q = q.where('service', '=', options.service)
    q = q.orderBy('at_ms').orderBy('block_seq').orderBy('row_idx')
    if (options.limit !== undefined) q = q.limit(options.limit)
    const rows = await q.execute()
    return rows.map((r) => fromRow(spec, r) as RequestRecord)
  }

  async rollups(
    range: TimeRange,
    options: { readonly service?: string } = {},
  ): Promise<readonly RollupRow[]> {
    let q = this.#db
      .selectFrom('rollups_minute')
      .selectAll()
      .where('minute_ms', '>=', range.from_ms)
      .where('minute_ms', '<', range.to_ms)
    if (options.service !== undefined) q = q.where('service', '=', options.service)
    const rows = await q
      .orderBy('minute_ms')
      .orderBy('service')
      .orderBy('model')
      .orderBy('backend')
      .orderBy('zone')
      .execute()
    return rows.map((r) => {
      const out: Record<string, unknown> = {}
      for (const k of ROLLUP_KEYS) out[k] = k === 'minute_ms' ? Number(r[k]) : String(r[k])
      for (const k of ROLLUP_SUMS) out[k] = Number(r[k])
      return out as unknown as RollupRow
    })
  }

  async lastAcceptedRelease(service: string, family: string | null): Promise<ReleaseRecord | null> {
    const spec = tableOf('release')
    let q = this.#db
      .selectFrom(spec.table)
      .selectAll()
      .where('service', '=', service)
      .where('accepted', '=', 1)
    q = family === null ? q.where('family', 'is', null) : q.where('family', '=', family)
    const row = await q
      .orderBy('at_ms', 'desc')
      .orderBy('block_seq', 'desc')
      .orderBy('row_idx', 'desc')
      .limit(1)
      .executeTakeFirst()
    return row === undefined ? null : (fromRow(spec, row) as ReleaseRecord)
  }

  async getMeta(key: string): Promise<string | null> {
    const row = await this.#db
      .selectFrom('meta')
      .select('value')
      .where('key', '=', key)
      .executeTakeFirst()
    return row === undefined ? null : String(row['value'])
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.#db
      .insertInto('meta')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute()
  }

  async exec(statement: string): Promise<void> {
    await sql.raw(statement).execute(this.#db)
  }

  async close(): Promise<void> {
    await this.#db.destroy()
  }

  /**
   * Takes the chain for this transaction and checks the batch starts at its tail. The upsert of
   * `meta.chain_head` is the lock (a row lock on PostgreSQL, the write lock on SQLite, both held to
   * commit), so two writers cannot both pass the check; a batch whose first position (or first
   * sealed block) is already taken fails with `WL_LEDGER_WRITE` and the writer re-reads the tail.
   */
  async #claimTail(tx: Executor, batch: AppendBatch): Promise<void> {
    const firstRow = batch.rows[0]
    const firstBlock = batch.blocks[0]
    const lastRow = batch.rows[batch.rows.length - 1]
    const lastBlock = batch.blocks[batch.blocks.length - 1]
    let seq: number
    let idx: number
    if (firstRow !== undefined) [seq, idx] = [firstRow.block_seq, firstRow.row_idx]
    else if (firstBlock !== undefined) [seq, idx] = [firstBlock.seq, firstBlock.row_count]
    else return
    const head =
      lastRow === undefined
        ? `sealed ${String(lastBlock?.seq)}`
        : `block ${lastRow.block_seq} row ${lastRow.row_idx}`
    await tx
      .insertInto('meta')
      .values({ key: CHAIN_HEAD_KEY, value: head })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: head }))
      .execute()
    let taken = tx
      .selectFrom('blocks')
      .select(sql<number>`1`.as('taken'))
      .where('seq', '>=', Math.min(seq, firstBlock?.seq ?? seq))
    for (const spec of LEDGER_TABLES) {
      taken = taken.unionAll(
        tx
          .selectFrom(spec.table)
          .select(sql<number>`1`.as('taken'))
          // a row-value range: one index seek on the primary key in both databases
          .where((eb) => eb(eb.refTuple('block_seq', 'row_idx'), '>=', eb.tuple(seq, idx))),
      )
    }
    if ((await taken.limit(1).executeTakeFirst()) !== undefined) {
      throw new WattlineError(
        'WL_LEDGER_WRITE',
        `the ledger chain moved: block ${seq} row ${idx} onwards was already written by another writer`,
      )
    }
    const seen = batch.openRowsSeen
    if (seen === undefined) return
    // a quarantine: the open block must still be exactly as the writer judged it
    for (const spec of LEDGER_TABLES) {
      const later = await tx
        .selectFrom(spec.table)
        .select('row_idx')
        .where('block_seq', '=', seen.block_seq)
        .where('row_idx', '>', seen.last_row_idx)
        .limit(1)
        .executeTakeFirst()
      if (later !== undefined) {
        throw new WattlineError(
          'WL_LEDGER_WRITE',
          `the ledger chain moved: block ${seen.block_seq} got rows after ${seen.last_row_idx} from another writer`,
        )
      }
    }
  }

  async #insertChunked(
    tx: Executor,
    table: string,
    rows: readonly Record<string, unknown>[],
  ): Promise<void> {
    const first = rows[0]
    if (first === undefined) return
    const perStatement = Math.max(1, Math.floor(this.#maxParameters / Object.keys(first).length))
    for (let i = 0; i < rows.length; i += perStatement) {
      await tx
        .insertInto(table)
        .values(rows.slice(i, i + perStatement))
        .execute()
    }
  }

  async #addRollups(tx: Executor, rollups: readonly RollupRow[]): Promise<void> {
    const perStatement = Math.floor(this.#maxParameters / (ROLLUP_KEYS.length + ROLLUP_SUMS.length))
    for (let i = 0; i < rollups.length; i += perStatement) {
      const chunk = rollups.slice(i, i + perStatement) as unknown as Record<string, unknown>[]
      await tx
        .insertInto('rollups_minute')
        .values(chunk)
        .onConflict((oc) =>
          oc.columns([...ROLLUP_KEYS]).doUpdateSet((eb) => {
            const set: Record<string, unknown> = {}
            for (const f of ROLLUP_SUMS) {
              set[f] = eb(eb.ref(`rollups_minute.${f}`), '+', eb.ref(`excluded.${f}`))
            }
            return set as never
          }),
        )
        .execute()
    }
  }
}

function toHeader(r: Readonly<Record<string, unknown>>): SignedBlockHeader {
  return {
    seq: Number(r['seq']),
    prev_hash: String(r['prev_hash']),
    row_count: Number(r['row_count']),
    rows_head: String(r['rows_head']),
    sealed_at_ms: Number(r['sealed_at_ms']),
    hash: String(r['hash']),
    signature: String(r['signature']),
    key_id: String(r['key_id']),
  }
}

/** Rows of blocks `from…to` through `ex` (the database or a transaction), by block, in index order. */
async function readRowsOf(
  ex: Executor,
  fromSeq: number,
  toSeq: number,
): Promise<ReadonlyMap<number, readonly StoredRow[]>> {
  const out = new Map<number, StoredRow[]>()
  for (const spec of LEDGER_TABLES) {
    const rows = await ex
      .selectFrom(spec.table)
      .selectAll()
      .where('block_seq', '>=', fromSeq)
      .where('block_seq', '<=', toSeq)
      .execute()
    for (const r of rows) {
      const seq = Number(r['block_seq'])
      let list = out.get(seq)
      if (list === undefined) out.set(seq, (list = []))
      list.push({
        block_seq: seq,
        row_idx: Number(r['row_idx']),
        row_hash: String(r['row_hash']),
        record: fromRow(spec, r),
      })
    }
  }
  for (const list of out.values()) list.sort((a, b) => a.row_idx - b.row_idx)
  return out
}

function toCheckpoint(r: Readonly<Record<string, unknown>>): TailCheckpoint {
  return {
    block_seq: Number(r['block_seq']),
    row_count: Number(r['row_count']),
    head: String(r['head']),
    at_ms: Number(r['at_ms']),
    signature: String(r['signature']),
    key_id: String(r['key_id']),
  }
}

function pick<T extends object, K extends keyof T>(
  value: T,
  keys: readonly K[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const k of keys) out[k as string] = value[k]
  return out
}

/** Rebuilds a record from a row of its table (exposed for export/tools). */
export function recordFromRow(
  kind: AuditRecord['kind'],
  row: Readonly<Record<string, unknown>>,
): AuditRecord {
  return fromRow(tableOf(kind), row)
}
