/**
 * @module adapters/storage/ledger-report-source
 * The report builder's reads (`ReportSource`) over the ledger database, one Kysely code path for
 * SQLite and PostgreSQL. Only rows of sealed blocks up to the chain head are read, so a report is a
 * function of the ledger as of `chain_head` and an auditor can reproduce it. Large tables are read in
 * keyset pages (`at_ms`, `block_seq`, `row_idx`) so memory stays bounded whatever the period.
 */
import {
  REPORT_REQUEST_FIELDS,
  type AuditKind,
  type BudgetRecord,
  type GateDecisionRecord,
  type HardwareRecord,
  type IdleEnergyRecord,
  type IntensityRecord,
  type PowerSampleRecord,
  type TrainingRunRecord,
  type BudgetView,
  type ChainHeadView,
  type GateDecisionView,
  type HardwareView,
  type ReportRequest,
  type ReportSource,
  type ReportTimeRange,
  type TrainingRunView,
} from '@wattline/core'
import { budgetTerms } from '../../report/budget-terms.ts'
import { KyselyLedgerStore } from './kysely-ledger-store.ts'
import { fromRow, tableOf } from './ledger-tables.ts'
import { openDatabase, type OpenedDatabase } from './open-database.ts'

/** Rows fetched per page when streaming a table. */
export const REPORT_PAGE_ROWS = 5000

type Row = Record<string, unknown>

/** Options of a ledger report source. */
export interface LedgerReportSourceOptions {
  /**
   * Read the ledger as it stood at this height (number of sealed blocks): blocks from this number on
   * are ignored. Reproduces an earlier report after the ledger has grown. Default: the current head.
   */
  readonly atHeight?: number
  /**
   * For `wattline report`: the ledger must already exist (see `OpenDatabaseOptions.mustExist`): a
   * PostgreSQL server that does not answer is `WL_INVALID_INPUT` naming the URL, nothing is created.
   */
  readonly mustExist?: boolean
}

/** A `ReportSource` over an opened (and migrated) ledger database. */
export function createLedgerReportSource(
  opened: OpenedDatabase,
  options: LedgerReportSourceOptions = {},
): ReportSource {
  const db = opened.db
  let headPromise: Promise<ChainHeadView & { seq: number }> | undefined

  /** The chain head, read once per source so every query sees the same ledger. */
  const head = (): Promise<ChainHeadView & { seq: number }> =>
    (headPromise ??= db
      .selectFrom('blocks')
      .select(['seq', 'hash', 'sealed_at_ms'])
      .where('seq', '<', options.atHeight ?? Number.MAX_SAFE_INTEGER)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst()
      .then((r) =>
        r === undefined
          ? { hash: null, height: 0, sealed_at_ms: null, algorithm: 'sha256', seq: -1 }
          : {
              hash: String(r['hash']),
              height: Number(r['seq']) + 1,
              sealed_at_ms: Number(r['sealed_at_ms']),
              algorithm: 'sha256',
              seq: Number(r['seq']),
            },
      ))

  /** Streams a table's records with `column` in `[from, to)`, ordered by it, in keyset pages. */
  async function* stream(
    kind: AuditKind,
    column: string,
    from: number,
    to: number,
    overlapEnd?: string,
    fields?: readonly string[],
  ): AsyncIterable<Row> {
    const full = tableOf(kind)
    const spec =
      fields === undefined
        ? full
        : { ...full, columns: full.columns.filter((c) => fields.includes(c.name)) }
    const columns = [...spec.columns.map((c) => c.name), 'block_seq', 'row_idx']
    const { seq } = await head()
    let after: { at: number; block: number; idx: number } | undefined
    for (;;) {
      let q = db
        .selectFrom(spec.table)
        .select(columns)
        .where('block_seq', '<=', seq)
        .where(column, '<', to)
      // Intervals (idle energy) overlap the range when they end after its start.
      q = overlapEnd === undefined ? q.where(column, '>=', from) : q.where(overlapEnd, '>', from)
      if (after !== undefined) {
        // Row-value comparison: the index on the time column serves the range, and both dialects
        // order ties by chain position.
        const a = after
        q = q.where((eb) =>
          eb(eb.refTuple(column, 'block_seq', 'row_idx'), '>', eb.tuple(a.at, a.block, a.idx)),
        )
      }
      const rows = await q
        .orderBy(column)
        .orderBy('block_seq')
        .orderBy('row_idx')
        .limit(REPORT_PAGE_ROWS)
        .execute()
      for (const r of rows) yield fromRow(spec, r) as unknown as Row
      const last = rows[rows.length - 1]
      if (last === undefined || rows.length < REPORT_PAGE_ROWS) return
      after = {
        at: Number(last[column]),
        block: Number(last['block_seq']),
        idx: Number(last['row_idx']),
      }
    }
  }

  /** Every record of a small table, in chain order. */
  async function all(kind: AuditKind): Promise<Row[]> {
    const spec = tableOf(kind)
    const { seq } = await head()
    const rows = await db
      .selectFrom(spec.table)
      .selectAll()
      .where('block_seq', '<=', seq)
      .orderBy('block_seq')
      .orderBy('row_idx')
      .execute()
    return rows.map((r) => fromRow(spec, r) as unknown as Row)
  }

  return {
    requests: (r: ReportTimeRange) =>
      stream(
        'request',
        'at_ms',
        r.fromMs,
        r.toMs,
        undefined,
        REPORT_REQUEST_FIELDS,
      ) as AsyncIterable<ReportRequest>,
    idleEnergy: (r: ReportTimeRange) =>
      stream('idle', 'from_ms', r.fromMs, r.toMs, 'to_ms') as AsyncIterable<IdleEnergyRecord>,
    powerSamples: (r: ReportTimeRange) =>
      stream('power', 'at_ms', r.fromMs, r.toMs) as AsyncIterable<PowerSampleRecord>,
    intensities: (r: ReportTimeRange) =>
      stream('intensity', 'at_ms', r.fromMs, r.toMs) as AsyncIterable<IntensityRecord>,
    async budgets(): Promise<readonly BudgetView[]> {
      // The latest record per service, family and metric is the budget in force.
      const latest = new Map<string, BudgetRecord>()
      for (const b of (await all('budget')) as unknown as BudgetRecord[])
        latest.set(`${b.service}\u0000${b.family ?? ''}\u0000${b.metric}`, b)
      return [...latest.values()]
        .sort(
          (a, b) =>
            a.service.localeCompare(b.service) ||
            (a.family ?? '').localeCompare(b.family ?? '') ||
            a.metric.localeCompare(b.metric),
        )
        .map((b) => ({
          service: b.service,
          family: b.family,
          ...budgetTerms(b),
        }))
    },
    async gateDecisions(r: ReportTimeRange): Promise<readonly GateDecisionView[]> {
      const out: GateDecisionView[] = []
      for await (const row of stream('gate', 'at_ms', r.fromMs, r.toMs)) {
        const g = row as unknown as GateDecisionRecord
        out.push({
          at_ms: g.at_ms,
          service: g.service,
          release: g.release,
          passed: g.passed,
          metric: g.metric,
          value: g.value,
          high: g.high,
          target: g.target,
          reason: readableReasons(g.reasons),
        })
      }
      return out
    },
    async trainingRuns(): Promise<readonly TrainingRunView[]> {
      return ((await all('training_run')) as unknown as TrainingRunRecord[]).map((t) => ({
        id: t.id,
        model: t.model,
        hardware: t.hardware,
        accelerators: t.accelerators,
        zone: t.zone,
        started_ms: t.started_ms,
        ended_ms: t.ended_ms,
        energy_j: t.energy_j,
        energy_low_j: t.energy_low_j,
        energy_high_j: t.energy_high_j,
        carbon_g: t.carbon_g,
        method: t.method,
        source: t.source,
      }))
    },
    async hardware(): Promise<readonly HardwareView[]> {
      // A later record with the same id supersedes an earlier one (a correction).
      const latest = new Map<string, HardwareRecord>()
      for (const h of (await all('hardware')) as unknown as HardwareRecord[]) latest.set(h.id, h)
      return [...latest.values()].map((h) => ({
        id: h.id,
        hardware: h.hardware,
        count: h.count,
        zone: h.zone,
        embodied_g: h.embodied_g,
        source: h.source,
        lifetime_years: h.lifetime_years,
        in_service_from_ms: h.at_ms,
        allocation_share: h.allocation_share ?? 1,
      }))
    },
    async chainHead(): Promise<ChainHeadView> {
      const { hash, height, sealed_at_ms, algorithm } = await head()
      return { hash, height, sealed_at_ms, algorithm }
    },
  }
}

/** A report source over the ledger at `url` (migrated first), with a way to close it. */
export async function openLedgerReportSource(
  url: string,
  baseDir?: string,
  options: LedgerReportSourceOptions = {},
): Promise<{ readonly source: ReportSource; close(): Promise<void> }> {
  const opened = await openDatabase(url, {
    ...(baseDir === undefined ? {} : { baseDir }),
    ...(options.mustExist === true ? { mustExist: true } : {}),
  })
  const store = new KyselyLedgerStore(opened)
  try {
    await store.migrate()
  } catch (error) {
    await store.close()
    throw error
  }
  return { source: createLedgerReportSource(opened, options), close: () => store.close() }
}

/**
 * The gate's reasons (compact JSON) as one sentence: a list of strings is joined; objects give their
 * `message`/`reason`/`detail`; anything else is shown as recorded.
 */
export function readableReasons(reasons: string): string {
  let parsed: unknown
  try {
    parsed = JSON.parse(reasons)
  } catch {
    return reasons
  }
  const text = (x: unknown): string => {
    if (typeof x === 'string') return x
    if (typeof x === 'object' && x !== null) {
      const o = x as Record<string, unknown>
      for (const key of ['message', 'reason', 'detail'])
        if (typeof o[key] === 'string') return o[key]
    }
    return JSON.stringify(x)
  }
  if (Array.isArray(parsed)) return parsed.map(text).join('; ')
  if (typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as Row)['checks']))
    return ((parsed as Row)['checks'] as unknown[]).map(text).join('; ')
  return text(parsed)
}
