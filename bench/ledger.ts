/**
 * `npm run bench:ledger`: sustained request rows per second into the ledger, SQLite and (when
 * PG_URL is set) PostgreSQL side by side, each against a naive baseline measured in the same run:
 * one INSERT per row in autocommit mode (what a gateway writing synchronously would do).
 *
 * Wattline's path is the real one: the batch writer's `append` (buffered), chaining (SHA-256 per
 * row), block sealing and Ed25519 signing, rollups, and multi-row INSERTs in one transaction per
 * flush. Rows/s counts rows durable in the database after `close()`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { requestRecord } from '../packages/core/src/ledger/test-records.ts'
import { openLedger } from '../packages/wattline/src/adapters/storage/open-ledger.ts'
import { openDatabase } from '../packages/wattline/src/adapters/storage/open-database.ts'
import { KyselyLedgerStore } from '../packages/wattline/src/adapters/storage/kysely-ledger-store.ts'
import { tableOf, toRow } from '../packages/wattline/src/adapters/storage/ledger-tables.ts'
import { createPgSchemas } from '../packages/wattline/src/adapters/storage/pg-test-database.ts'

const ROWS = Number(process.env['BENCH_ROWS'] ?? 200_000)
const BASELINE_ROWS = Number(process.env['BENCH_BASELINE_ROWS'] ?? 5_000)

/** Rows per second of wall time and per second of this process's CPU time (load-insensitive). */
interface Rate {
  readonly wall: number
  readonly cpu: number
}

const cpuSeconds = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

async function wattline(url: string, dir: string): Promise<Rate> {
  const ledger = await openLedger(url, { baseDir: dir, bufferRows: ROWS + 1, batchRows: 5000 })
  const t0 = performance.now()
  const c0 = cpuSeconds()
  for (let i = 0; i < ROWS; i += 1) {
    ledger.sink.append(requestRecord(i))
    // yield now and then, as a server's event loop does between requests
    if (i % 5000 === 4999) await new Promise((r) => setImmediate(r))
  }
  await ledger.close()
  const seconds = (performance.now() - t0) / 1000
  const cpu = cpuSeconds() - c0
  if (ledger.sink.stats().dropped > 0) throw new Error('rows dropped during the benchmark')
  return { wall: ROWS / seconds, cpu: ROWS / cpu }
}

async function naive(url: string, dir: string): Promise<Rate> {
  const store = new KyselyLedgerStore(await openDatabase(url, { baseDir: dir }))
  await store.migrate()
  const spec = tableOf('request')
  const db = (await openDatabase(url, { baseDir: dir })).db
  const t0 = performance.now()
  const c0 = cpuSeconds()
  for (let i = 0; i < BASELINE_ROWS; i += 1) {
    await db
      .insertInto(spec.table)
      .values({ block_seq: 0, row_idx: i, row_hash: 'x', ...toRow(spec, requestRecord(i)) })
      .execute()
  }
  const seconds = (performance.now() - t0) / 1000
  const cpu = cpuSeconds() - c0
  await db.destroy()
  await store.close()
  return { wall: BASELINE_ROWS / seconds, cpu: BASELINE_ROWS / cpu }
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(9)

function line(name: string, rows: Rate, baseline: Rate): string {
  return [
    `${name.padEnd(11)} wattline ${fmt(rows.wall)} rows/s (${fmt(rows.cpu)} per CPU-s)`,
    `naive 1 INSERT/row ${fmt(baseline.wall)} rows/s (${fmt(baseline.cpu)} per CPU-s)`,
    `ratio ${(rows.wall / baseline.wall).toFixed(1)}× wall, ${(rows.cpu / baseline.cpu).toFixed(1)}× CPU`,
  ].join(' | ')
}

const dir = mkdtempSync(join(tmpdir(), 'wl-bench-ledger-'))
try {
  console.log(`load average ${loadavg()[0]?.toFixed(1) ?? '?'} on ${cpus().length} CPUs`)
  console.log(
    `ledger write benchmark: ${ROWS.toLocaleString('en-US')} request rows (baseline: ${BASELINE_ROWS.toLocaleString('en-US')} rows), Node ${process.version}`,
  )
  const sqliteRows = await wattline(`sqlite:${join(dir, 'a.db')}`, dir)
  const sqliteNaive = await naive(`sqlite:${join(dir, 'b.db')}`, dir)
  console.log(line('SQLite', sqliteRows, sqliteNaive))
  const pgUrl = process.env['PG_URL']
  if (pgUrl === undefined) {
    console.log(
      'PostgreSQL  skipped: PG_URL is not set (e.g. PG_URL=postgres://postgres@127.0.0.1:55433/postgres)',
    )
  } else {
    const schemas = createPgSchemas(pgUrl)
    try {
      const pgRows = await wattline(await schemas.next(), dir)
      const pgNaive = await naive(await schemas.next(), dir)
      console.log(line('PostgreSQL', pgRows, pgNaive))
    } finally {
      await schemas.drop()
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
