/**
 * `npm run bench:report`: time to build a transparency report from a SQLite ledger, side by side with
 * the floor it cannot beat: streaming the same request rows out of the same database and summing
 * them (no report logic). Prints both and their ratio.
 *
 * Ledger: `--requests N` (default 200,000) synthetic request rows spread over 30 days across 3
 * services, 4 backends and 3 zones, plus one power sample per backend per minute and one idle interval
 * per backend per hour; written through the real batch writer (chained, signed). The report covers
 * the last 7 days (about a quarter of the rows, plus 14 days of anomaly history).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AuditRecord, RequestRecord } from '@wattline/core'
import { openLedgerReportSource } from '../packages/wattline/src/adapters/storage/ledger-report-source.ts'
import { openLedger } from '../packages/wattline/src/adapters/storage/open-ledger.ts'
import { buildReport } from '../packages/wattline/src/report/build-report.ts'
import { request } from '../packages/wattline/src/report/report-fixture.test-support.ts'

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const N = arg('--requests', 200_000)
const REPEAT = arg('--repeat', 3)
const DAY = 86_400_000
const END = Date.parse('2024-04-01T00:00:00Z')
const START = END - 30 * DAY
const BACKENDS = [
  { backend: 'gpu-de-1', zone: 'DE' },
  { backend: 'gpu-de-2', zone: 'DE' },
  { backend: 'gpu-fr-1', zone: 'FR' },
  { backend: 'gpu-us-1', zone: 'US-CAL-CISO' },
] as const
const SERVICES = ['chat', 'search', 'summarise'] as const

/** A deterministic pseudo-random sequence (mulberry32), so every run seeds the same ledger. */
function rng(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function* records(): Generator<AuditRecord> {
  const r = rng(42)
  for (let i = 0; i < N; i += 1) {
    const b = BACKENDS[Math.floor(r() * BACKENDS.length)] ?? BACKENDS[0]
    const rec: RequestRecord = request({
      id: `q${i}`,
      at_ms: START + Math.floor((i / N) * 30 * DAY),
      service: SERVICES[i % SERVICES.length] ?? 'chat',
      backend: b.backend,
      zone: b.zone,
      energy_j: 200 + r() * 800,
      output_tokens: 50 + Math.floor(r() * 400),
      method: r() < 0.6 ? 'measured' : 'modelled',
    })
    yield rec
  }
  for (let t = START; t < END; t += 60_000)
    for (const b of BACKENDS)
      yield {
        kind: 'power',
        backend: b.backend,
        at_ms: t,
        power_w: 300 + 100 * Math.sin(t / 3_600_000),
        method: 'measured',
        source: 'bench',
      }
  for (let t = START; t < END; t += 3_600_000)
    for (const b of BACKENDS)
      yield {
        kind: 'idle',
        backend: b.backend,
        zone: b.zone,
        from_ms: t,
        to_ms: t + 3_600_000,
        energy_j: 36_000,
        facility_energy_j: 45_000,
        carbon_g: 5,
        method: 'measured',
        source: 'bench',
      }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'wl-bench-report-'))
  const url = 'sqlite:bench.db'
  try {
    const seedStart = performance.now()
    const ledger = await openLedger(url, {
      baseDir: dir,
      signingKeyPath: join(dir, 'key.pem'),
      blockRows: 5000,
    })
    let batch: AuditRecord[] = []
    let rows = 0
    for (const rec of records()) {
      batch.push(rec)
      if (batch.length === 20_000) {
        await ledger.sink.writeNow(batch)
        rows += batch.length
        batch = []
      }
    }
    await ledger.sink.writeNow(batch)
    rows += batch.length
    await ledger.close()
    console.log(
      `seeded ${rows} rows (${N} requests) in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`,
    )

    const fromMs = END - 7 * DAY
    const { source, close } = await openLedgerReportSource(url, dir)
    const baseline: number[] = []
    const report: number[] = []
    let requests = 0
    try {
      for (let k = 0; k < REPEAT; k += 1) {
        let t = performance.now()
        let sum = 0
        let n = 0
        for await (const r of source.requests({ fromMs, toMs: END })) {
          sum += r.energy_j
          n += 1
        }
        baseline.push(performance.now() - t)
        if (sum < 0) console.log('unreachable')
        t = performance.now()
        const rep = await buildReport(
          source,
          { fromMs, toMs: END, service: null },
          { generatedAtMs: END },
        )
        report.push(performance.now() - t)
        requests = rep.totals.requests
        if (n !== requests) throw new Error(`row count mismatch: ${n} vs ${requests}`)
      }
    } finally {
      await close()
    }
    const median = (xs: number[]): number =>
      [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
    const b = median(baseline)
    const r = median(report)
    console.log(`period: 7 days, ${requests} requests (+14 days of anomaly history)`)
    console.log(`baseline (stream and sum the period's request rows): ${b.toFixed(0)} ms`)
    console.log(`buildReport (all sections, anomalies, lifecycle):    ${r.toFixed(0)} ms`)
    console.log(`ratio report / baseline: ${(r / b).toFixed(2)}× (median of ${REPEAT})`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
