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
  fixtureRecords,
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
      input_tokens: i,
    }))
    const dir = await seed(url, records, 1000)
    const { source, close } = await openLedgerReportSource(url, dir)
    try {
      // input_tokens numbers the rows: they must come back once each, in chain order.
      const seen: number[] = []
      for await (const r of source.requests({ fromMs: FROM_MS, toMs: TO_MS })) {
        seen.push(r.input_tokens)
        expect(Object.keys(r)).not.toContain('routing_reason')
      }
      expect(seen).toEqual(Array.from({ length: n }, (_, i) => i))
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
