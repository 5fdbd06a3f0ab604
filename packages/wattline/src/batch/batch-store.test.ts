/**
 * The batch store on real databases (SQLite; PostgreSQL with PG_URL): the scheduler row lease is
 * exclusive until it expires, and a line's result is recorded once, only by the scheduler that
 * claimed it — a scheduler that lost its lease cannot overwrite the new holder's result.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { openDatabase } from '../adapters/storage/open-database.ts'
import { KyselyLedgerStore } from '../adapters/storage/kysely-ledger-store.ts'
import { createPgSchemas } from '../adapters/storage/pg-test-database.ts'
import { BatchStore } from './batch-store.ts'
import type { BatchLineRow } from './batch-tables.ts'

const pgUrl = process.env['PG_URL']
const pg = pgUrl === undefined ? undefined : createPgSchemas(pgUrl)
if (pgUrl === undefined) console.warn('batch-store.test: PG_URL unset, PostgreSQL case skipped')
afterAll(async () => pg?.drop())

async function open(url: string): Promise<{ store: BatchStore; close(): Promise<void> }> {
  const opened = await openDatabase(url)
  const ledger = new KyselyLedgerStore(opened)
  await ledger.migrate()
  return { store: new BatchStore(opened.db as never), close: () => ledger.close() }
}

const line = (n: number): BatchLineRow => ({
  batch_id: 'batch_1',
  line_no: n,
  custom_id: `c${n}`,
  body: '{}',
  status: 'pending',
  attempts: 0,
  claimed_by: null,
  request_id: null,
  response_status: null,
  response_body: null,
  error: null,
  deferred_from_ms: 0,
  ran_at_ms: null,
  zone: null,
  energy_j: null,
  carbon_g: null,
  intensity_g_per_kwh: null,
  carbon_saved_g: null,
  carbon_saved_basis: null,
})

const result = {
  request_id: 'r',
  response_status: 200,
  response_body: '{}',
  error: null,
  ran_at_ms: 1,
  zone: 'DE',
  energy_j: 1,
  carbon_g: 1,
  intensity_g_per_kwh: 300,
  carbon_saved_g: 0,
  carbon_saved_basis: 'estimated-counterfactual',
}

const databases: [string, () => Promise<string | undefined>][] = [
  ['SQLite', async () => 'sqlite::memory:'],
  ['PostgreSQL', async () => pg?.next()],
]

describe.each(databases)('BatchStore on %s', (_name, urlOf) => {
  it('grants the scheduler lease to one holder until it expires; lines are finished once, by their claimer', async (ctx) => {
    const url = await urlOf()
    if (url === undefined) return ctx.skip()
    const { store, close } = await open(url)
    try {
      expect(await store.lease('batch-scheduler', 'A', 1_000, 500)).toBe(true)
      expect(await store.lease('batch-scheduler', 'B', 1_200, 500)).toBe(false)
      expect(await store.lease('batch-scheduler', 'A', 1_400, 500)).toBe(true) // renewal
      expect(await store.lease('batch-scheduler', 'B', 1_800, 500)).toBe(false)
      expect(await store.lease('batch-scheduler', 'B', 1_901, 500)).toBe(true) // A expired
      expect(await store.lease('batch-scheduler', 'A', 2_000, 500)).toBe(false)

      await store.createBatch(
        {
          id: 'batch_1',
          service: 's',
          tenant: null,
          endpoint: '/v1/chat/completions',
          input_file_id: 'file-1',
          completion_window: '24h',
          status: 'in_progress',
          created_at_ms: 0,
          deadline_ms: 86_400_000,
          in_progress_at_ms: 0,
          finalizing_at_ms: null,
          completed_at_ms: null,
          cancelling_at_ms: null,
          cancelled_at_ms: null,
          failed_at_ms: null,
          expired_at_ms: null,
          output_file_id: null,
          error_file_id: null,
          total: 3,
          metadata: null,
          submit_intensity: '{}',
          plan: null,
        },
        [line(1), line(2), line(3)],
      )
      const a = await store.claim('batch_1', 2, 'A')
      expect(a.map((l) => [l.line_no, l.attempts, l.status])).toEqual([
        [1, 1, 'running'],
        [2, 1, 'running'],
      ])
      expect(await store.finishLine('batch_1', 1, 'A', 'done', result)).toBe(true)
      expect(await store.finishLine('batch_1', 1, 'A', 'done', result)).toBe(false) // once
      // B takes over: A's line 2 (in flight, never recorded) goes back to pending
      expect(await store.releaseOrphans('B')).toBe(1)
      const b = await store.claim('batch_1', 5, 'B')
      expect(b.map((l) => [l.line_no, l.attempts])).toEqual([
        [2, 2],
        [3, 1],
      ])
      // A wakes up and answers line 2: refused, B's claim stands
      expect(await store.finishLine('batch_1', 2, 'A', 'done', result)).toBe(false)
      expect(await store.finishLine('batch_1', 2, 'B', 'done', result)).toBe(true)
      expect(await store.counts('batch_1')).toMatchObject({
        done: 2,
        running: 1,
        pending: 0,
        total: 3,
      })
    } finally {
      await close()
    }
  })
})
