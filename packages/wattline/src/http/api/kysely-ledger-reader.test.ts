import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hasCode } from '@wattline/core'
import { openLedger, type Ledger } from '../../adapters/storage/open-ledger.ts'
import { openDatabase, type OpenedDatabase } from '../../adapters/storage/open-database.ts'
import { createDashboardFixture } from './dashboard-fixture.ts'
import { Registry } from 'prom-client'
import { createAnomalyWatch } from './anomaly-watch.ts'
import { createKyselyLedgerReader } from './kysely-ledger-reader.ts'
import { createMemoryLedgerReader } from './memory-ledger-reader.ts'

const HOUR = 3_600_000
const dir = mkdtempSync(join(tmpdir(), 'wl-dash-ledger-'))
const url = `sqlite:${join(dir, 'ledger.db')}`
const fixture = createDashboardFixture(Date.UTC(2025, 5, 16, 12), 2)
let ledger: Ledger
let opened: OpenedDatabase

beforeAll(async () => {
  ledger = await openLedger(url, { signingKeyPath: join(dir, 'ledger.key') })
  for (const r of fixture.records) ledger.sink.append(r)
  await ledger.sink.flush()
  opened = await openDatabase(url)
})
afterAll(async () => {
  await opened?.db.destroy()
  await ledger?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('createKyselyLedgerReader over a seeded SQLite ledger', () => {
  it('reads back the same requests, idle intervals and power samples as were written', async () => {
    const reader = createKyselyLedgerReader(opened)
    const memory = createMemoryLedgerReader(fixture.records)
    const w = { from_ms: fixture.now - 6 * HOUR, to_ms: fixture.now }
    const [requests, idle, power] = await Promise.all([
      reader.requests(w),
      reader.idleEnergy(w),
      reader.powerSamples(w),
    ])
    expect(requests.length).toBeGreaterThan(50)
    expect(requests.map((r) => r.id)).toEqual((await memory.requests(w)).map((r) => r.id))
    expect(requests[0]).toEqual((await memory.requests(w))[0])
    expect(idle).toEqual(await memory.idleEnergy(w))
    expect(power.length).toBe((await memory.powerSamples(w)).length)
  })

  it('refuses a window with more rows than its limit instead of truncating', async () => {
    const reader = createKyselyLedgerReader(opened, { maxRows: 10 })
    const error = await reader
      .requests({ from_ms: fixture.now - 24 * HOUR, to_ms: fixture.now })
      .catch((e: unknown) => e)
    expect(hasCode(error, 'WL_INVALID_INPUT')).toBe(true)
    expect(String((error as Error).message)).toMatch(/more than 10 request rows/)
  })
})

describe('anomalies from hourly means computed in SQLite', () => {
  it('flag exactly what detection over the raw rows flags', async () => {
    const fixture15 = createDashboardFixture(Date.UTC(2025, 5, 16, 12), 15)
    const url15 = `sqlite:${join(dir, 'ledger15.db')}`
    const writer = await openLedger(url15, { signingKeyPath: join(dir, 'ledger15.key') })
    for (const r of fixture15.records) writer.sink.append(r)
    await writer.sink.flush()
    const db = await openDatabase(url15)
    try {
      const window = { from_ms: fixture15.now - 86_400_000, to_ms: fixture15.now }
      const reader = createKyselyLedgerReader(db)
      const fromDb = await createAnomalyWatch({ ledger: reader, registry: new Registry() }).scan(
        window,
      )
      const { hourlyMeans: _unused, ...rawOnly } = reader
      const fromRows = await createAnomalyWatch({
        ledger: rawOnly,
        registry: new Registry(),
      }).scan(window)
      expect(fromDb.map((a) => [a.kind, a.subject, a.at_ms])).toEqual([
        ['backend_power', 'warsaw', fixture15.injected.powerFaultAt],
        ['energy_per_request', 'chat', fixture15.injected.energySpikeAt],
      ])
      expect(fromDb.map((a) => [a.subject, a.at_ms, a.expected.toFixed(6)])).toEqual(
        fromRows.map((a) => [a.subject, a.at_ms, a.expected.toFixed(6)]),
      )
    } finally {
      await db.db.destroy()
      await writer.close()
    }
  })
})
