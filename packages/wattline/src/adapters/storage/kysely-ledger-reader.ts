/**
 * @module adapters/storage/kysely-ledger-reader
 * The dashboard's `DashboardLedgerReader` over the ledger database (SQLite or PostgreSQL, one Kysely
 * code path), on its own connection so dashboard reads never queue behind the batch writer. Rows
 * written but not yet sealed into a block are included: the dashboard is live, not an audit.
 * A window holding more rows than `maxRows` is refused with `WL_INVALID_INPUT` (the API answers
 * 400 and the user picks a shorter window) rather than exhausting memory or truncating silently.
 * Idle intervals are read whole when they overlap the window (the API prorates them); the search
 * looks back from the window's start no further than the longest interval in the ledger.
 */
import {
  WattlineError,
  type AuditKind,
  type DashboardLedgerReader,
  type IdleEnergyRecord,
  type PowerSampleRecord,
  type RequestRecord,
  type SeriesPoint,
  type TimeWindow,
} from '@wattline/core'
import { sql } from 'kysely'
import { fromRow, tableOf } from './ledger-tables.ts'
import type { OpenedDatabase } from './open-database.ts'

/** Default most rows one read may return. */
export const DEFAULT_MAX_ROWS = 2_000_000
const HOUR_MS = 3_600_000

export interface KyselyLedgerReaderOptions {
  readonly maxRows?: number
}

/** A reader over an opened ledger database (tables created by the ledger's migrations). */
export function createKyselyLedgerReader(
  opened: OpenedDatabase,
  options: KyselyLedgerReaderOptions = {},
): DashboardLedgerReader {
  const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS
  const db = opened.db

  /**
   * Rows of `kind` with `column` in the window, ordered by it. With `overlap` (intervals), those
   * that overlap the window instead — `column < to` and `overlap.end > from`, as the report reads
   * them — searched from `from − overlap.lookbackMs` on (no interval is longer), so the index on
   * `column` serves a bounded range however long the ledger is.
   */
  async function read(
    kind: AuditKind,
    column: string,
    w: TimeWindow,
    overlap?: { readonly end: string; readonly lookbackMs: number },
  ): Promise<unknown[]> {
    const spec = tableOf(kind)
    let q = db.selectFrom(spec.table).selectAll().where(column, '<', w.to_ms)
    q =
      overlap === undefined
        ? q.where(column, '>=', w.from_ms)
        : q.where(column, '>=', w.from_ms - overlap.lookbackMs).where(overlap.end, '>', w.from_ms)
    const rows = await q
      .orderBy(column)
      .orderBy('block_seq')
      .orderBy('row_idx')
      .limit(maxRows + 1)
      .execute()
    if (rows.length > maxRows) {
      throw new WattlineError(
        'WL_INVALID_INPUT',
        `the window holds more than ${maxRows} ${kind} rows; choose a shorter window`,
        { details: { param: 'from', kind, max_rows: maxRows } },
      )
    }
    return rows.map((r) => fromRow(spec, r))
  }

  /**
   * The longest idle interval in the ledger (ms), kept current from the rows appended since the
   * last look: the chain only appends, so rows new since then have `block_seq` ≥ the highest seen,
   * and the primary key serves that range. The first call reads the whole table once.
   */
  const longestIdle = { ms: 0, fromSeq: 0 }
  async function longestIdleMs(): Promise<number> {
    const spec = tableOf('idle')
    const row = await db
      .selectFrom(spec.table)
      .select(sql<unknown>`max(${sql.ref('to_ms')} - ${sql.ref('from_ms')})`.as('len'))
      .select(sql<unknown>`max(${sql.ref('block_seq')})`.as('seq'))
      .where('block_seq', '>=', longestIdle.fromSeq)
      .executeTakeFirst()
    if (row !== undefined && row.seq !== null) {
      longestIdle.ms = Math.max(longestIdle.ms, Number(row.len))
      longestIdle.fromSeq = Math.max(longestIdle.fromSeq, Number(row.seq))
    }
    return longestIdle.ms
  }

  /** Hourly means of `value` per `subject` for rows of `kind` in the window, in the database. */
  async function hourly(
    kind: AuditKind,
    subject: string,
    value: string,
    w: TimeWindow,
    successfulOnly: boolean,
  ): Promise<Map<string, SeriesPoint[]>> {
    const spec = tableOf(kind)
    // A literal, not a bound parameter: PostgreSQL matches GROUP BY to SELECT by expression text.
    const hour = sql<number>`(${sql.ref('at_ms')} - (${sql.ref('at_ms')} % ${sql.lit(HOUR_MS)}))`
    let q = db
      .selectFrom(spec.table)
      .select([sql.ref<string>(subject).as('subject'), hour.as('hour_ms')])
      .select(sql<number>`avg(${sql.ref(value)})`.as('mean'))
      .select(sql<number>`count(*)`.as('n'))
      .where('at_ms', '>=', w.from_ms)
      .where('at_ms', '<', w.to_ms)
    if (successfulOnly) q = q.where('status', '<', 400)
    const rows = await q.groupBy([subject, hour]).orderBy('hour_ms').execute()
    const out = new Map<string, SeriesPoint[]>()
    for (const r of rows) {
      const key = String(r['subject'])
      const list = out.get(key) ?? []
      list.push({ at_ms: Number(r['hour_ms']), value: Number(r['mean']), count: Number(r['n']) })
      out.set(key, list)
    }
    return out
  }

  return {
    async hourlyMeans(w) {
      const [energy, power] = await Promise.all([
        hourly('request', 'service', 'energy_j', w, true),
        hourly('power', 'backend', 'power_w', w, false),
      ])
      return [
        ...[...energy].map(([subject, series]) => ({
          kind: 'energy_per_request' as const,
          subject,
          series,
        })),
        ...[...power].map(([subject, series]) => ({
          kind: 'backend_power' as const,
          subject,
          series,
        })),
      ]
    },
    requests: async (w) => (await read('request', 'at_ms', w)) as RequestRecord[],
    // Whole intervals that overlap the window; the API prorates them (core's `idleInPeriod`).
    idleEnergy: async (w) =>
      (await read('idle', 'from_ms', w, {
        end: 'to_ms',
        lookbackMs: await longestIdleMs(),
      })) as IdleEnergyRecord[],
    powerSamples: async (w) => (await read('power', 'at_ms', w)) as PowerSampleRecord[],
  }
}
