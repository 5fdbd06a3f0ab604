import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Registry } from 'prom-client'
import { hasCode, type IdleEnergyRecord } from '@wattline/core'
import { openLedger, type Ledger } from '../../adapters/storage/open-ledger.ts'
import { openDatabase, type OpenedDatabase } from '../../adapters/storage/open-database.ts'
import { createPgSchemas } from '../../adapters/storage/pg-test-database.ts'
import { createAnomalyWatch } from './anomaly-watch.ts'
import { createDashboardFixture } from './dashboard-fixture.test-support.ts'
import { createKyselyLedgerReader } from '../../adapters/storage/kysely-ledger-reader.ts'
import { createMemoryLedgerReader } from './memory-ledger-reader.ts'

const HOUR = 3_600_000
const PG_URL = process.env['PG_URL']
if (PG_URL === undefined) {
  console.warn('[kysely-ledger-reader] PostgreSQL run SKIPPED: PG_URL is not set (SQLite runs)')
}
const dir = mkdtempSync(join(tmpdir(), 'wl-dash-ledger-'))
const pgSchemas = PG_URL === undefined ? undefined : createPgSchemas(PG_URL)
afterAll(async () => {
  await pgSchemas?.drop()
  rmSync(dir, { recursive: true, force: true })
})

// Eight days: the last day's injected anomalies have seven days of same-hour history (5 needed).
const fixture = createDashboardFixture(Date.UTC(2025, 5, 16, 12), 8)

const DIALECTS: readonly { name: string; url: () => Promise<string> }[] = [
  { name: 'sqlite', url: () => Promise.resolve(`sqlite:${join(dir, 'ledger.db')}`) },
  ...(pgSchemas === undefined ? [] : [{ name: 'postgres', url: () => pgSchemas.next() }]),
]

describe.each(DIALECTS)('createKyselyLedgerReader over a seeded $name ledger', ({ name, url }) => {
  let ledger: Ledger
  let opened: OpenedDatabase

  beforeAll(async () => {
    const u = await url()
    ledger = await openLedger(u, { signingKeyPath: join(dir, `${name}.key`) })
    for (const r of fixture.records) ledger.sink.append(r)
    await ledger.sink.flush()
    opened = await openDatabase(u)
  }, 60_000)
  afterAll(async () => {
    await opened?.db.destroy()
    await ledger?.close()
  })

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

  it('flags from hourly means computed in the database exactly what the raw rows flag', async () => {
    const window = { from_ms: fixture.now - 86_400_000, to_ms: fixture.now }
    const reader = createKyselyLedgerReader(opened)
    const scan = (ledger: Parameters<typeof createAnomalyWatch>[0]['ledger']) =>
      createAnomalyWatch({ ledger, registry: new Registry() }).scan(window)
    const fromDb = await scan(reader)
    const { hourlyMeans: _unused, ...rawOnly } = reader
    const fromRows = await scan(rawOnly)
    expect(fromDb.map((a) => [a.kind, a.subject, a.at_ms])).toEqual([
      ['backend_power', 'warsaw', fixture.injected.powerFaultAt],
      ['energy_per_request', 'chat', fixture.injected.energySpikeAt],
    ])
    expect(
      fromDb.map((a) => [a.subject, a.at_ms, a.expected.toFixed(6), a.value.toFixed(6)]),
    ).toEqual(fromRows.map((a) => [a.subject, a.at_ms, a.expected.toFixed(6), a.value.toFixed(6)]))
  })
  // Last: it appends to the shared ledger.
  it('finds an idle interval longer than any seen before, appended after its first read', async () => {
    const reader = createKyselyLedgerReader(opened)
    const w = { from_ms: fixture.now - HOUR, to_ms: fixture.now }
    const memory = createMemoryLedgerReader(fixture.records)
    // The fixture's intervals are an hour long: the reader searches an hour back from `from`.
    expect(await reader.idleEnergy(w)).toEqual(await memory.idleEnergy(w))
    const long: IdleEnergyRecord = {
      kind: 'idle',
      backend: 'paris',
      zone: 'FR',
      from_ms: fixture.now - 10 * 24 * HOUR,
      to_ms: fixture.now - HOUR / 2,
      energy_j: 777_600,
      facility_energy_j: 933_120,
      carbon_g: 12.5,
      method: 'modelled',
      source: 'modelled:profile',
    }
    ledger.sink.append(long)
    await ledger.sink.flush()
    const after = await reader.idleEnergy(w)
    expect(after).toEqual(await createMemoryLedgerReader([...fixture.records, long]).idleEnergy(w))
    expect(after[0]).toEqual(long) // it starts first
  })
})
