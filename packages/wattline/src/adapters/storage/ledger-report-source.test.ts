import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { AuditRecord } from '@wattline/core'
import { buildReport } from '../../report/build-report.ts'
import { createMemoryReportSource } from '../../report/memory-report-source.ts'
import {
  FROM_MS,
  fixtureData,
  GENERATED_MS,
  TO_MS,
} from '../../report/report-fixture.test-support.ts'
import {
  openLedgerReportSource,
  readableReasons,
  REPORT_PAGE_ROWS,
} from './ledger-report-source.ts'
import { openLedger } from './open-ledger.ts'
import { createPgSchemas } from './pg-test-database.ts'

const PG_URL = process.env['PG_URL']
const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** The report fixture as ledger records. */
export function fixtureRecords(): AuditRecord[] {
  const d = fixtureData()
  return [
    ...(d.requests ?? []),
    ...(d.idle ?? []),
    ...(d.power ?? []),
    ...(d.intensities ?? []),
    ...(d.budgets ?? []).map((b, i): AuditRecord => ({
      kind: 'budget',
      at_ms: FROM_MS - 1000 + i,
      service: b.service,
      family: b.family,
      metric: b.metric,
      baseline: b.baseline,
      stage: b.stage,
      target: b.target,
      variance_pct: b.variance_pct,
      max_regression_pct: b.max_regression_pct ?? 0,
    })),
    ...(d.gateDecisions ?? []).map((g, i): AuditRecord => ({
      kind: 'gate',
      id: `gate-${i}`,
      at_ms: g.at_ms,
      service: g.service,
      release: g.release ?? '',
      passed: g.passed,
      metric: g.metric,
      value: g.value ?? 0,
      high: g.high ?? 0,
      target: g.target ?? 0,
      limit: (g.target ?? 0) * 1.1,
      previous_release: null,
      previous_value: null,
      regression_pct: null,
      reasons: JSON.stringify([g.reason]),
      result_sha256: '0'.repeat(64),
    })),
    ...(d.trainingRuns ?? []).map((t): AuditRecord => ({ kind: 'training_run', ...t })),
    ...(d.hardware ?? []).map((h): AuditRecord => ({
      kind: 'hardware',
      id: h.id,
      at_ms: h.in_service_from_ms,
      hardware: h.hardware,
      count: h.count,
      zone: h.zone,
      embodied_g: h.embodied_g,
      lifetime_years: h.lifetime_years,
      source: h.source,
      allocation_share: h.allocation_share,
    })),
  ]
}

async function seed(url: string, records: readonly AuditRecord[], blockRows = 7): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'wl-report-'))
  dirs.push(dir)
  const ledger = await openLedger(url, {
    baseDir: dir,
    signingKeyPath: join(dir, 'key.pem'),
    blockRows,
    now: () => GENERATED_MS,
  })
  await ledger.sink.writeNow(records)
  await ledger.close()
  return dir
}

function suite(makeUrl: () => Promise<string>): void {
  it('builds the same report from the ledger as from the records in memory', async () => {
    const url = await makeUrl()
    const dir = await seed(url, fixtureRecords())
    const { source, close } = await openLedgerReportSource(url, dir)
    try {
      for (const service of [null, 'chat']) {
        const query = { fromMs: FROM_MS, toMs: TO_MS, service }
        const fromLedger = await buildReport(source, query, { generatedAtMs: GENERATED_MS })
        const fromMemory = await buildReport(createMemoryReportSource(fixtureData()), query, {
          generatedAtMs: GENERATED_MS,
        })
        const { chain_head: head, ...rest } = fromLedger
        const { chain_head: _memoryHead, ...expected } = fromMemory
        expect(rest).toEqual(expected)
        expect(head.hash).toMatch(/^[0-9a-f]{64}$/)
        expect(head.height).toBeGreaterThan(1)
      }
    } finally {
      await close()
    }
  })

  it('streams more rows than one page, in time order', async () => {
    const url = await makeUrl()
    const n = REPORT_PAGE_ROWS + 37
    const base = fixtureData().requests?.[0]
    if (base === undefined) throw new Error('fixture has no request')
    const records: AuditRecord[] = Array.from({ length: n }, (_, i) => ({
      ...base,
      id: `p${i}`,
      // Many rows share a timestamp, so the keyset must also order by chain position.
      at_ms: FROM_MS + Math.floor(i / 3),
    }))
    const dir = await seed(url, records, 1000)
    const { source, close } = await openLedgerReportSource(url, dir)
    try {
      const ids: string[] = []
      let last = -Infinity
      for await (const r of source.requests({ fromMs: FROM_MS, toMs: TO_MS })) {
        expect(r.at_ms).toBeGreaterThanOrEqual(last)
        last = r.at_ms
        ids.push(r.id)
      }
      expect(ids).toHaveLength(n)
      expect(new Set(ids).size).toBe(n)
    } finally {
      await close()
    }
  })
}

describe('ledger report source on SQLite', () => {
  let i = 0
  suite(() => Promise.resolve(`sqlite:./ledger-${(i += 1)}.db`))
})

if (PG_URL === undefined)
  console.warn('PG_URL is not set: skipping the ledger report source on PostgreSQL')

describe.skipIf(PG_URL === undefined)('ledger report source on PostgreSQL', () => {
  const schemas = createPgSchemas(PG_URL ?? 'postgres://unset')
  afterAll(() => schemas.drop())
  suite(() => schemas.next())
})

describe('readableReasons', () => {
  it('joins lists, reads messages and keeps anything else as recorded', () => {
    expect(readableReasons('["a","b"]')).toBe('a; b')
    expect(readableReasons('[{"message":"over by 3 %"}]')).toBe('over by 3 %')
    expect(readableReasons('{"checks":["x"]}')).toBe('x')
    expect(readableReasons('not json')).toBe('not json')
  })
})
