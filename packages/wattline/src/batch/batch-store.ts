/**
 * @module batch/batch-store
 * The Batch API's durable state in the ledger's database (SQLite or PostgreSQL, one Kysely code
 * path): files, batches, one row per input line, and the scheduler's lease row. Every state change
 * of a line is one UPDATE guarded by its expected status, so a line finished once is never
 * finished (or run) again, whatever crashes in between.
 */
import { sql, type Kysely } from 'kysely'
import type {
  BatchFileRow,
  BatchLineRow,
  BatchRow,
  BatchStatus,
  BatchTables,
  LineStatus,
} from './batch-tables.ts'

/** Lines inserted per statement (keeps under SQLite's and PostgreSQL's parameter limits). */
const INSERT_CHUNK = 500

export interface LineCounts {
  readonly pending: number
  readonly running: number
  readonly done: number
  readonly failed: number
  readonly invalid: number
  readonly cancelled: number
  readonly total: number
}

export interface LineResult {
  readonly request_id: string
  readonly response_status: number
  readonly response_body: string
  readonly error: string | null
  readonly ran_at_ms: number
  readonly zone: string | null
  readonly energy_j: number | null
  readonly carbon_g: number | null
  readonly intensity_g_per_kwh: number | null
  readonly carbon_saved_g: number | null
  readonly carbon_saved_basis: string | null
}

export class BatchStore {
  readonly db: Kysely<BatchTables>

  constructor(db: Kysely<never>) {
    this.db = db as unknown as Kysely<BatchTables>
  }

  async insertFile(row: BatchFileRow): Promise<void> {
    await this.db.insertInto('batch_files').values(row).execute()
  }

  async file(id: string): Promise<BatchFileRow | undefined> {
    return this.db.selectFrom('batch_files').selectAll().where('id', '=', id).executeTakeFirst()
  }

  /** Creates the batch and its lines in one transaction. */
  async createBatch(batch: BatchRow, lines: readonly BatchLineRow[]): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('batches').values(batch).execute()
      for (let i = 0; i < lines.length; i += INSERT_CHUNK) {
        await tx
          .insertInto('batch_lines')
          .values(lines.slice(i, i + INSERT_CHUNK))
          .execute()
      }
    })
  }

  async batch(id: string): Promise<BatchRow | undefined> {
    return this.db.selectFrom('batches').selectAll().where('id', '=', id).executeTakeFirst()
  }

  /** Batches the scheduler still works on, earliest deadline first. */
  async activeBatches(): Promise<BatchRow[]> {
    return this.db
      .selectFrom('batches')
      .selectAll()
      .where('status', 'in', ['in_progress', 'cancelling', 'finalizing'])
      .orderBy('deadline_ms')
      .orderBy('id')
      .execute()
  }

  async counts(batchId: string): Promise<LineCounts> {
    const rows = await this.db
      .selectFrom('batch_lines')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('batch_id', '=', batchId)
      .groupBy('status')
      .execute()
    const by = new Map(rows.map((r) => [r.status, Number(r.n)]))
    const get = (s: LineStatus): number => by.get(s) ?? 0
    const c = {
      pending: get('pending'),
      running: get('running'),
      done: get('done'),
      failed: get('failed'),
      invalid: get('invalid'),
      cancelled: get('cancelled'),
    }
    return { ...c, total: Object.values(c).reduce((s, n) => s + n, 0) }
  }

  /** Carbon totals of the batch's executed lines (gCO2e). */
  async carbon(
    batchId: string,
  ): Promise<{ carbon_g: number; carbon_saved_g: number; energy_j: number }> {
    const r = await this.db
      .selectFrom('batch_lines')
      .select((eb) => [
        eb.fn.sum<number>('carbon_g').as('carbon_g'),
        eb.fn.sum<number>('carbon_saved_g').as('carbon_saved_g'),
        eb.fn.sum<number>('energy_j').as('energy_j'),
      ])
      .where('batch_id', '=', batchId)
      .executeTakeFirst()
    return {
      carbon_g: Number(r?.carbon_g ?? 0),
      carbon_saved_g: Number(r?.carbon_saved_g ?? 0),
      energy_j: Number(r?.energy_j ?? 0),
    }
  }

  /**
   * Claims up to `n` pending lines of a batch for `holder` (status → running, attempts + 1), in
   * line order. Only the lease holder claims, so the guarded UPDATE never races another scheduler.
   */
  async claim(batchId: string, n: number, holder: string): Promise<BatchLineRow[]> {
    if (n <= 0) return []
    const picked = await this.db
      .selectFrom('batch_lines')
      .select('line_no')
      .where('batch_id', '=', batchId)
      .where('status', '=', 'pending')
      .orderBy('line_no')
      .limit(n)
      .execute()
    const claimed: BatchLineRow[] = []
    for (const { line_no } of picked) {
      const r = await this.db
        .updateTable('batch_lines')
        .set({ status: 'running', claimed_by: holder, attempts: sql<number>`attempts + 1` })
        .where('batch_id', '=', batchId)
        .where('line_no', '=', line_no)
        .where('status', '=', 'pending')
        .returningAll()
        .executeTakeFirst()
      if (r !== undefined) claimed.push(r)
    }
    return claimed
  }

  /** Records a line's result, once: only a line still running under `holder` is updated. */
  async finishLine(
    batchId: string,
    lineNo: number,
    holder: string,
    status: 'done' | 'failed',
    result: LineResult,
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('batch_lines')
      .set({ status, ...result })
      .where('batch_id', '=', batchId)
      .where('line_no', '=', lineNo)
      .where('status', '=', 'running')
      .where('claimed_by', '=', holder)
      .executeTakeFirst()
    return Number(r.numUpdatedRows) === 1
  }

  /**
   * Lines left running by a scheduler that is gone (crashed, or lost its lease) go back to pending:
   * their results were never recorded. Returns how many.
   */
  async releaseOrphans(holder: string): Promise<number> {
    const r = await this.db
      .updateTable('batch_lines')
      .set({ status: 'pending', claimed_by: null })
      .where('status', '=', 'running')
      .where((eb) => eb.or([eb('claimed_by', '!=', holder), eb('claimed_by', 'is', null)]))
      .executeTakeFirst()
    return Number(r.numUpdatedRows)
  }

  /** Marks every pending line of a batch `status` (cancelled / failed at expiry). */
  async closePending(batchId: string, status: LineStatus, error: string | null): Promise<void> {
    await this.db
      .updateTable('batch_lines')
      .set({ status, error })
      .where('batch_id', '=', batchId)
      .where('status', '=', 'pending')
      .execute()
  }

  /** Failed lines whose error starts with `prefix` (e.g. `batch_expired`). */
  async failedWith(batchId: string, prefix: string): Promise<number> {
    const r = await this.db
      .selectFrom('batch_lines')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('batch_id', '=', batchId)
      .where('status', '=', 'failed')
      .where('error', 'like', `${prefix}%`)
      .executeTakeFirst()
    return Number(r?.n ?? 0)
  }

  async lines(batchId: string): Promise<BatchLineRow[]> {
    return this.db
      .selectFrom('batch_lines')
      .selectAll()
      .where('batch_id', '=', batchId)
      .orderBy('line_no')
      .execute()
  }

  /** Moves a batch from one of `from` to `to`, setting `set`; false when it was not in `from`. */
  async transition(
    id: string,
    from: readonly BatchStatus[],
    to: BatchStatus,
    set: Partial<BatchRow> = {},
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('batches')
      .set({ ...set, status: to })
      .where('id', '=', id)
      .where('status', 'in', [...from])
      .executeTakeFirst()
    return Number(r.numUpdatedRows) === 1
  }

  async setPlan(id: string, plan: string): Promise<void> {
    await this.db.updateTable('batches').set({ plan }).where('id', '=', id).execute()
  }

  /**
   * Takes or renews the named lease for `holder` until `now + ttl`: granted when free, expired, or
   * already held by `holder`. A row lease with expiry; works the same on SQLite and PostgreSQL.
   */
  async lease(name: string, holder: string, nowMs: number, ttlMs: number): Promise<boolean> {
    const renewed = await this.db
      .updateTable('batch_leases')
      .set({ holder, expires_at_ms: nowMs + ttlMs })
      .where('name', '=', name)
      .where((eb) => eb.or([eb('holder', '=', holder), eb('expires_at_ms', '<', nowMs)]))
      .executeTakeFirst()
    if (Number(renewed.numUpdatedRows) === 1) return true
    try {
      await this.db
        .insertInto('batch_leases')
        .values({ name, holder, expires_at_ms: nowMs + ttlMs })
        .execute()
      return true
    } catch {
      return false // another holder's row exists (primary key)
    }
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.db
      .deleteFrom('batch_leases')
      .where('name', '=', name)
      .where('holder', '=', holder)
      .execute()
  }
}
