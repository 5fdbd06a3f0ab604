/**
 * @module http/api/kysely-ledger-reader
 * The dashboard's `DashboardLedgerReader` over the ledger database (SQLite or PostgreSQL, one Kysely
 * code path), on its own connection so dashboard reads never queue behind the batch writer. Rows
 * written but not yet sealed into a block are included: the dashboard is live, not an audit.
 * A window holding more rows than `maxRows` is refused with `WL_INVALID_INPUT` (the API answers
 * 400 and the user picks a shorter window) rather than exhausting memory or truncating silently.
 */
import {
  WattlineError,
  type AuditKind,
  type IdleEnergyRecord,
  type PowerSampleRecord,
  type RequestRecord,
} from '@wattline/core'
import { fromRow, tableOf } from '../../adapters/storage/ledger-tables.ts'
import type { OpenedDatabase } from '../../adapters/storage/open-database.ts'
import type { DashboardLedgerReader, TimeWindow } from './ports.ts'

/** Default most rows one read may return. */
export const DEFAULT_MAX_ROWS = 2_000_000

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

  async function read(kind: AuditKind, column: string, w: TimeWindow): Promise<unknown[]> {
    const spec = tableOf(kind)
    const rows = await db
      .selectFrom(spec.table)
      .selectAll()
      .where(column, '>=', w.from_ms)
      .where(column, '<', w.to_ms)
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

  return {
    requests: async (w) => (await read('request', 'at_ms', w)) as RequestRecord[],
    idleEnergy: async (w) => (await read('idle', 'from_ms', w)) as IdleEnergyRecord[],
    powerSamples: async (w) => (await read('power', 'at_ms', w)) as PowerSampleRecord[],
  }
}
