/**
 * `npm run bench:ledger`: sustained request rows per second into the ledger, SQLite and (when
 * PG_URL is set) PostgreSQL side by side, each against a naive baseline measured in the same run:
 * one INSERT per row in autocommit mode (what a gateway writing synchronously would do).
 *
 * Wattline's path is the real one: the batch writer's `append` (buffered), chaining (SHA-256 per
 * row), block sealing and Ed25519 signing, rollups, and multi-row INSERTs in one transaction per
 * flush. Rows/s counts rows durable in the database after `close()`. It runs twice per database:
 * with the flush work on the appending thread (`writer: 'in-process'`) and in the ledger writer
 * thread (`writer: 'worker'`, the gateway's mode). For each it also prints what the appending
 * thread (the gateway's event loop) pays: its own CPU time per row (Linux, /proc/self/task) and
 * its longest stall (event-loop delay, max and p99).
 *
 * Then the gateway's case (`--rate`-like, fixed): rows appended at 1,000 per second (the gateway
 * at 1,000 req/s writes about one row per request), a few per millisecond from a timer, for
 * BENCH_RATE_S seconds per mode, alternating in-process and worker BENCH_RATE_ROUNDS times: the
 * appending thread's CPU per row and its event-loop delay (p50 / p99 / max), which is what every
 * request in flight waits for while a flush runs on that thread.
 *
 * Last, the cost of handing a flush's records to the thread, on the posting thread: structured
 * clone of the record objects (what the writer does) against one JSON string, side by side.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay, performance as perf } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import { requestRecord } from '../packages/core/src/ledger/test-records.ts'
import {
  openLedger,
  type LedgerWriterMode,
} from '../packages/wattline/src/adapters/storage/open-ledger.ts'
import { openDatabase } from '../packages/wattline/src/adapters/storage/open-database.ts'
import { KyselyLedgerStore } from '../packages/wattline/src/adapters/storage/kysely-ledger-store.ts'
import { tableOf, toRow } from '../packages/wattline/src/adapters/storage/ledger-tables.ts'
import { createPgSchemas } from '../packages/wattline/src/adapters/storage/pg-test-database.ts'

const ROWS = Number(process.env['BENCH_ROWS'] ?? 200_000)
const BASELINE_ROWS = Number(process.env['BENCH_BASELINE_ROWS'] ?? 5_000)
const RATE_S = Number(process.env['BENCH_RATE_S'] ?? 6)
const RATE_ROUNDS = Number(process.env['BENCH_RATE_ROUNDS'] ?? 2)
/** Rows per second of the fixed-rate (gateway-like) runs. */
const RATE = 1000

/** Rows per second of wall time and per second of this process's CPU time (load-insensitive). */
interface Rate {
  readonly wall: number
  readonly cpu: number
}

/** A Wattline run: rates, and what the appending thread paid. */
interface WriterRun extends Rate {
  /** CPU time of the appending (main) thread per row, µs; null where /proc is absent. */
  readonly mainCpuUsPerRow: number | null
  /** Event-loop delay of the appending thread, ms. */
  readonly loopMaxMs: number
  readonly loopP99Ms: number
}

const cpuSeconds = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

/** CPU seconds of this process's main thread alone (Linux; clock ticks of 10 ms), or null. */
function mainThreadCpuSeconds(): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100 // utime + stime, USER_HZ = 100
  } catch {
    return null
  }
}

async function wattline(url: string, dir: string, writer: LedgerWriterMode): Promise<WriterRun> {
  const ledger = await openLedger(url, {
    baseDir: dir,
    bufferRows: ROWS + 1,
    batchRows: 5000,
    writer,
  })
  const loop = monitorEventLoopDelay({ resolution: 1 })
  loop.enable()
  const t0 = performance.now()
  const c0 = cpuSeconds()
  const m0 = mainThreadCpuSeconds()
  for (let i = 0; i < ROWS; i += 1) {
    ledger.sink.append(requestRecord(i))
    // yield now and then, as a server's event loop does between requests
    if (i % 500 === 499) await new Promise((r) => setImmediate(r))
  }
  await ledger.close()
  const seconds = (performance.now() - t0) / 1000
  const cpu = cpuSeconds() - c0
  const m1 = mainThreadCpuSeconds()
  loop.disable()
  if (ledger.sink.stats().dropped > 0) throw new Error('rows dropped during the benchmark')
  return {
    wall: ROWS / seconds,
    cpu: ROWS / cpu,
    mainCpuUsPerRow: m0 === null || m1 === null ? null : ((m1 - m0) * 1e6) / ROWS,
    loopMaxMs: loop.max / 1e6,
    loopP99Ms: loop.percentile(99) / 1e6,
  }
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

function line(name: string, rows: WriterRun, baseline: Rate): string {
  return [
    `${name.padEnd(24)} wattline ${fmt(rows.wall)} rows/s (${fmt(rows.cpu)} per CPU-s)`,
    `naive 1 INSERT/row ${fmt(baseline.wall)} rows/s (${fmt(baseline.cpu)} per CPU-s)`,
    `ratio ${(rows.wall / baseline.wall).toFixed(1)}× wall, ${(rows.cpu / baseline.cpu).toFixed(1)}× CPU`,
    `appending thread: ${rows.mainCpuUsPerRow === null ? '?' : rows.mainCpuUsPerRow.toFixed(2)} µs CPU/row, loop delay max ${rows.loopMaxMs.toFixed(1)} ms, p99 ${rows.loopP99Ms.toFixed(1)} ms`,
  ].join(' | ')
}

function modes(name: string, inProcess: WriterRun, worker: WriterRun): string {
  const ratio = (a: number | null, b: number | null): string =>
    a === null || b === null || b === 0 ? '?' : `${(a / b).toFixed(1)}×`
  return (
    `${name.padEnd(24)} worker vs in-process: ${ratio(worker.wall, inProcess.wall)} rows/s wall, ` +
    `appending thread CPU/row ${ratio(inProcess.mainCpuUsPerRow, worker.mainCpuUsPerRow)} less, ` +
    `longest stall ${inProcess.loopMaxMs.toFixed(1)} → ${worker.loopMaxMs.toFixed(1)} ms`
  )
}

/** A fixed-rate run: the appending thread's CPU per row and event-loop delay. */
interface RateRun {
  readonly rows: number
  readonly mainCpuUsPerRow: number | null
  readonly loopP50Ms: number
  readonly loopP99Ms: number
  readonly loopMaxMs: number
}

async function fixedRate(url: string, dir: string, writer: LedgerWriterMode): Promise<RateRun> {
  const ledger = await openLedger(url, { baseDir: dir, writer })
  await new Promise((r) => setTimeout(r, 300)) // the thread's start-up is not part of the run
  const loop = monitorEventLoopDelay({ resolution: 1 })
  const m0 = mainThreadCpuSeconds()
  loop.enable()
  let rows = 0
  const t0 = performance.now()
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - t0
      const due = Math.min(Math.floor((elapsed / 1000) * RATE), RATE_S * RATE)
      while (rows < due) ledger.sink.append(requestRecord(rows++))
      if (elapsed >= RATE_S * 1000) {
        clearInterval(timer)
        resolve()
      }
    }, 1)
  })
  loop.disable()
  const m1 = mainThreadCpuSeconds()
  await ledger.close()
  if (ledger.sink.stats().written !== rows) throw new Error('rows missing after the fixed-rate run')
  return {
    rows,
    mainCpuUsPerRow: m0 === null || m1 === null ? null : ((m1 - m0) * 1e6) / rows,
    loopP50Ms: loop.percentile(50) / 1e6,
    loopP99Ms: loop.percentile(99) / 1e6,
    loopMaxMs: loop.max / 1e6,
  }
}

function rateLine(name: string, writer: string, r: RateRun): string {
  return (
    `${name.padEnd(11)} ${writer.padEnd(10)} at ${String(RATE)} rows/s: appending thread ${r.mainCpuUsPerRow === null ? '?' : r.mainCpuUsPerRow.toFixed(1)} µs CPU/row ` +
    `(timer loop included), event-loop delay p50 ${r.loopP50Ms.toFixed(2)} / p99 ${r.loopP99Ms.toFixed(2)} / max ${r.loopMaxMs.toFixed(2)} ms`
  )
}

async function fixedRates(name: string, url: () => Promise<string>, dir: string): Promise<void> {
  for (let round = 0; round < RATE_ROUNDS; round += 1) {
    for (const writer of ['in-process', 'worker'] as const) {
      console.log(rateLine(name, writer, await fixedRate(await url(), dir, writer)))
    }
  }
}

/** µs per record on the posting thread to hand `n` records to a thread: clone vs JSON string. */
async function transferProbe(): Promise<string[]> {
  const sink = new Worker('require("node:worker_threads").parentPort.on("message", () => {})', {
    eval: true,
  })
  const out: string[] = []
  try {
    for (const n of [100, 1000]) {
      const records = Array.from({ length: n }, (_, i) => requestRecord(i))
      const rounds = Math.ceil(200_000 / n)
      const best = { clone: Infinity, json: Infinity }
      for (let r = 0; r < 5; r += 1) {
        for (const mode of ['clone', 'json'] as const) {
          const t0 = perf.now()
          for (let k = 0; k < rounds; k += 1) {
            sink.postMessage(mode === 'clone' ? records : JSON.stringify(records))
          }
          best[mode] = Math.min(best[mode], ((perf.now() - t0) * 1000) / (rounds * n))
          await new Promise((res) => setTimeout(res, 20)) // let the thread drain its queue
        }
      }
      out.push(
        `transfer of ${String(n).padStart(4)} records: structured clone ${best.clone.toFixed(2)} µs/record, one JSON string ${best.json.toFixed(2)} µs/record on the posting thread (best of 5; ratio JSON/clone ${(best.json / best.clone).toFixed(2)}×)`,
      )
    }
  } finally {
    await sink.terminate()
  }
  return out
}

const dir = mkdtempSync(join(tmpdir(), 'wl-bench-ledger-'))
try {
  console.log(`load average ${loadavg()[0]?.toFixed(1) ?? '?'} on ${cpus().length} CPUs`)
  console.log(
    `ledger write benchmark: ${ROWS.toLocaleString('en-US')} request rows (baseline: ${BASELINE_ROWS.toLocaleString('en-US')} rows), Node ${process.version}`,
  )
  const sqliteRows = await wattline(`sqlite:${join(dir, 'a.db')}`, dir, 'in-process')
  const sqliteWorker = await wattline(`sqlite:${join(dir, 'c.db')}`, dir, 'worker')
  const sqliteNaive = await naive(`sqlite:${join(dir, 'b.db')}`, dir)
  console.log(line('SQLite in-process', sqliteRows, sqliteNaive))
  console.log(line('SQLite worker thread', sqliteWorker, sqliteNaive))
  console.log(modes('SQLite', sqliteRows, sqliteWorker))
  let fileNo = 0
  await fixedRates('SQLite', () => Promise.resolve(`sqlite:${join(dir, `r${fileNo++}.db`)}`), dir)
  const pgUrl = process.env['PG_URL']
  if (pgUrl === undefined) {
    console.log(
      'PostgreSQL  skipped: PG_URL is not set (e.g. PG_URL=postgres://postgres@127.0.0.1:55433/postgres)',
    )
  } else {
    const schemas = createPgSchemas(pgUrl)
    try {
      const pgRows = await wattline(await schemas.next(), dir, 'in-process')
      const pgWorker = await wattline(await schemas.next(), dir, 'worker')
      const pgNaive = await naive(await schemas.next(), dir)
      console.log(line('PostgreSQL in-process', pgRows, pgNaive))
      console.log(line('PostgreSQL worker thread', pgWorker, pgNaive))
      console.log(modes('PostgreSQL', pgRows, pgWorker))
      await fixedRates('PostgreSQL', () => schemas.next(), dir)
    } finally {
      await schemas.drop()
    }
  }
  for (const l of await transferProbe()) console.log(l)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
