/**
 * @module ports/ledger-store.contract
 * The contract every `LedgerStore` passes (SQLite always, PostgreSQL when PG_URL is set).
 * `make` returns a fresh, empty, migrated store.
 */
import { afterEach, expect, it } from 'vitest'
import { hasCode } from '../errors.ts'
import type { AuditRecord, ReleaseRecord } from '../ledger/audit-records.ts'
import type { SignedBlockHeader } from '../ledger/chain.ts'
import type { RollupRow } from '../ledger/rollup.ts'
import { requestRecord } from '../ledger/test-records.ts'
import type { ChainedRow, LedgerStore } from './ledger-store.ts'

const T0 = 1_750_000_000_000

/** One record of every kind, with awkward values (nulls, booleans, floats, big epoch ms). */
export function sampleRecords(): AuditRecord[] {
  return [
    requestRecord(1, { tenant: null, ttft_ms: null, energy_j: 0.1 + 0.2, streamed: true }),
    requestRecord(2, {
      tenant: 'acme',
      error_code: 'WL_UPSTREAM_TIMEOUT',
      intensity_stale: true,
      status: 504,
    }),
    {
      kind: 'idle',
      backend: 'paris',
      zone: 'FR',
      from_ms: T0,
      to_ms: T0 + 1000,
      energy_j: 1e-9,
      facility_energy_j: 1.2e-9,
      carbon_g: 0,
      method: 'measured',
      source: 'nvidia-smi',
    },
    {
      kind: 'power',
      backend: 'paris',
      at_ms: T0,
      power_w: 312.5,
      method: 'measured',
      source: 'dcgm',
    },
    {
      kind: 'intensity',
      zone: 'DE',
      at_ms: T0,
      intensity_g_per_kwh: 380.123456789,
      signal: 'marginal',
      source: 'watttime',
      forecast: true,
      stale: false,
    },
    { kind: 'dropped', at_ms: T0, since_ms: T0 - 5, rows: 3, reason: 'buffer_full' },
    {
      kind: 'budget',
      at_ms: T0,
      service: 'chat',
      family: null,
      metric: 'energy_per_1k_requests_wh',
      baseline: 100,
      stage: 'pilot',
      target: 80,
      variance_pct: 5,
      max_regression_pct: 10,
    },
    {
      kind: 'release',
      id: 'v1',
      at_ms: T0,
      service: 'chat',
      family: null,
      model: 'm',
      accepted: true,
      metric: 'energy_per_1k_requests_wh',
      value: 70,
      low: 65,
      high: 75,
      method: 'modelled',
    },
    {
      kind: 'gate',
      id: 'g1',
      at_ms: T0,
      service: 'chat',
      release: 'v1',
      passed: true,
      metric: 'energy_per_1k_requests_wh',
      value: 70,
      high: 75,
      target: 80,
      limit: 84,
      previous_release: null,
      previous_value: null,
      regression_pct: null,
      reasons: '[]',
      result_sha256: 'ab'.repeat(32),
    },
    { kind: 'retention', at_ms: T0, before_ms: T0 - 1, rows: 0, first_block: 0, last_block: 0 },
    {
      kind: 'training_run',
      id: 't1',
      model: 'm',
      started_ms: T0,
      ended_ms: T0 + 3_600_000,
      hardware: 'H100-SXM',
      accelerators: 8,
      zone: 'FR',
      energy_j: 1.5e9,
      energy_low_j: 1.4e9,
      energy_high_j: 1.6e9,
      carbon_g: 25_000,
      method: 'measured',
      source: 'dcgm',
    },
    {
      kind: 'hardware',
      id: 'h1',
      at_ms: T0,
      hardware: 'H100-SXM',
      count: 8,
      zone: 'FR',
      embodied_g: 1_500_000,
      lifetime_years: 4,
      source: 'vendor',
    },
    {
      kind: 'quarantine',
      at_ms: T0,
      first_block: 3,
      kept_rows: 5,
      last_block: 3,
      rows: 1,
      reasons: '[{"kind":"row_inserted","block":3,"first_row":5,"last_row":5,"message":"m"}]',
    },
  ]
}

function chained(records: readonly AuditRecord[], blockSeq: number, startIdx = 0): ChainedRow[] {
  return records.map((record, i) => ({
    block_seq: blockSeq,
    row_idx: startIdx + i,
    row_hash: `h${blockSeq}-${startIdx + i}`,
    record,
  }))
}

function header(seq: number, rows: number, sealedAt: number): SignedBlockHeader {
  return {
    seq,
    prev_hash: seq === 0 ? '0'.repeat(64) : `b${seq - 1}`,
    row_count: rows,
    rows_head: `h${seq}-${rows - 1}`,
    sealed_at_ms: sealedAt,
    hash: `b${seq}`,
    signature: `sig${seq}`,
    key_id: 'k',
  }
}

function rollup(over: Partial<RollupRow>): RollupRow {
  return {
    minute_ms: T0,
    service: 'chat',
    model: 'm',
    backend: 'paris',
    zone: 'FR',
    requests: 1,
    errors: 0,
    measured_requests: 0,
    input_tokens: 10,
    output_tokens: 20,
    energy_j: 1.5,
    energy_low_j: 1,
    energy_high_j: 2,
    facility_energy_j: 1.8,
    carbon_g: 0.1,
    carbon_low_g: 0.05,
    carbon_high_g: 0.2,
    latency_ms_sum: 100,
    idle_energy_j: 0,
    idle_carbon_g: 0,
    ...over,
  }
}

/** Registers the contract tests; call inside a `describe`. */
export function testLedgerStore(make: () => Promise<LedgerStore>): void {
  const opened: LedgerStore[] = []
  const fresh = async (): Promise<LedgerStore> => {
    const s = await make()
    opened.push(s)
    return s
  }
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close()
  })

  it('migrates idempotently to a recorded schema version', async () => {
    const store = await fresh()
    const version = await store.migrate()
    expect(version).toBeGreaterThanOrEqual(1)
    expect(await store.migrate()).toBe(version)
  })

  it('gives every kind of record back exactly as it was written', async () => {
    const store = await fresh()
    const records = sampleRecords()
    await store.append({
      rows: chained(records, 0),
      blocks: [header(0, records.length, T0)],
      rollups: [],
    })
    const rows = (await store.readRows(0, 0)).get(0) ?? []
    expect(rows.map((r) => r.record)).toEqual(records)
    expect(rows.map((r) => r.row_idx)).toEqual(records.map((_, i) => i))
    expect(rows[0]?.row_hash).toBe('h0-0')
    expect(await store.readBlocks(0, 10)).toEqual([header(0, records.length, T0)])
    expect(await store.quarantines()).toEqual(records.filter((r) => r.kind === 'quarantine'))
  })

  it('reports the chain tail: last sealed block and the rows of the open block', async () => {
    const store = await fresh()
    expect(await store.chainTail()).toMatchObject({ last: null, open: [] })
    const a = sampleRecords().slice(0, 2)
    const checkpoint = (seq: number, count: number) => ({
      block_seq: seq,
      row_count: count,
      head: `h${seq}-${count - 1}`,
      at_ms: T0,
      signature: 'sig',
      key_id: 'k',
    })
    await store.append({
      rows: chained(a, 0),
      blocks: [],
      rollups: [],
      checkpoint: checkpoint(0, 2),
    })
    await store.append({ rows: [], blocks: [header(0, 2, T0)], rollups: [] })
    await store.append({
      rows: chained(sampleRecords().slice(2, 5), 1),
      blocks: [],
      rollups: [],
      checkpoint: checkpoint(1, 3),
    })
    const tail = await store.chainTail()
    expect(tail.last?.seq).toBe(0)
    expect(tail.open.map((r) => r.row_idx)).toEqual([0, 1, 2])
    // sealing block 0 dropped its checkpoint; the open block's stays
    expect(tail.checkpoints).toEqual([checkpoint(1, 3)])
    expect(tail.beyond?.size ?? 0).toBe(0)
    expect(await store.blockRange()).toEqual({ first: 0, last: 0 })
  })

  it('writes a batch atomically and reports failures as WL_LEDGER_WRITE', async () => {
    const store = await fresh()
    const rows = chained(sampleRecords().slice(0, 1), 0)
    await store.append({ rows, blocks: [], rollups: [] })
    const error = await store
      .append({
        rows: [...chained([requestRecord(7)], 0, 1), ...rows],
        blocks: [header(0, 2, T0)],
        rollups: [],
      })
      .catch((e: unknown) => e)
    expect(hasCode(error, 'WL_LEDGER_WRITE')).toBe(true)
    expect((await store.readRows(0, 0)).get(0)?.length).toBe(1)
    expect(await store.readBlocks(0, 0)).toEqual([])
  })

  it('refuses a quarantine whose view of the open block is stale (openRowsSeen)', async () => {
    const store = await fresh()
    await store.append({ rows: chained(sampleRecords().slice(0, 3), 0), blocks: [], rollups: [] })
    // the writer judged block 0 when it held rows 0-1: seal 1 row, quarantine record in block 1
    const quarantine = sampleRecords().filter((r) => r.kind === 'quarantine')
    const stale = await store
      .append({
        rows: chained(quarantine, 1),
        blocks: [header(0, 1, T0)],
        rollups: [],
        openRowsSeen: { block_seq: 0, last_row_idx: 1 },
      })
      .catch((e: unknown) => e)
    expect(hasCode(stale, 'WL_LEDGER_WRITE')).toBe(true)
    expect(await store.readBlocks(0, 0)).toEqual([])
    // with the current view it goes in, the extra rows left where they are
    await store.append({
      rows: chained(quarantine, 1),
      blocks: [header(0, 1, T0)],
      rollups: [],
      openRowsSeen: { block_seq: 0, last_row_idx: 2 },
    })
    expect(await store.readBlocks(0, 0)).toEqual([header(0, 1, T0)])
    expect((await store.readRows(0, 0)).get(0)).toHaveLength(3)
    expect(await store.quarantines()).toEqual(quarantine)
  })

  it('refuses a batch that does not start at the chain tail (another writer moved it)', async () => {
    const store = await fresh()
    await store.append({ rows: chained(sampleRecords().slice(0, 3), 0), blocks: [], rollups: [] })
    // a writer that saw only row 0 appends a gate decision at row 1, a table of its own
    const gate = sampleRecords().filter((r) => r.kind === 'gate')
    const late = await store
      .append({ rows: chained(gate, 0, 1), blocks: [header(0, 2, T0)], rollups: [rollup({})] })
      .catch((e: unknown) => e)
    expect(hasCode(late, 'WL_LEDGER_WRITE')).toBe(true)
    // and sealing block 0 with fewer rows than it holds is refused as well
    const short = await store
      .append({ rows: [], blocks: [header(0, 2, T0)], rollups: [] })
      .catch((e: unknown) => e)
    expect(hasCode(short, 'WL_LEDGER_WRITE')).toBe(true)
    expect((await store.readRows(0, 0)).get(0)?.map((r) => r.record.kind)).toEqual([
      'request',
      'request',
      'idle',
    ])
    expect(await store.readBlocks(0, 0)).toEqual([])
    expect(await store.rollups({ from_ms: 0, to_ms: T0 * 2 })).toEqual([])
    // at the tail it goes in
    await store.append({ rows: chained(gate, 0, 3), blocks: [header(0, 4, T0)], rollups: [] })
    expect((await store.readRows(0, 0)).get(0)?.map((r) => r.record.kind)).toEqual([
      'request',
      'request',
      'idle',
      'gate',
    ])
  })

  it('adds rollups into existing minutes', async () => {
    const store = await fresh()
    await store.append({ rows: [], blocks: [], rollups: [rollup({}), rollup({ zone: 'DE' })] })
    await store.append({ rows: [], blocks: [], rollups: [rollup({ requests: 2, energy_j: 0.25 })] })
    const got = await store.rollups({ from_ms: T0, to_ms: T0 + 60_000 })
    expect(got).toHaveLength(2)
    const fr = got.find((r) => r.zone === 'FR')
    expect(fr?.requests).toBe(3)
    expect(fr?.energy_j).toBeCloseTo(1.75)
    expect(await store.rollups({ from_ms: T0, to_ms: T0 + 60_000 }, { service: 'other' })).toEqual(
      [],
    )
  })

  it('prunes per-request rows of old blocks only, keeping rollups and other records', async () => {
    const store = await fresh()
    const records = sampleRecords().filter((r) => r.kind !== 'retention')
    await store.append({
      rows: chained(records, 0),
      blocks: [header(0, records.length, T0)],
      rollups: [rollup({})],
    })
    await store.append({
      rows: chained([requestRecord(9)], 1),
      blocks: [header(1, 1, T0 + 10_000)],
      rollups: [],
    })
    const result = await store.prune(T0 + 5_000)
    expect(result).toEqual({ rows: 5, first_block: 0, last_block: 0 })
    const left = (await store.readRows(0, 1)).get(0) ?? []
    expect(left.map((r) => r.record.kind)).toEqual([
      'dropped',
      'budget',
      'release',
      'gate',
      'training_run',
      'hardware',
      'quarantine',
    ])
    expect((await store.readRows(1, 1)).get(1)).toHaveLength(1)
    expect(await store.rollups({ from_ms: 0, to_ms: T0 * 2 })).toHaveLength(1)
    expect(await store.prune(T0 + 5_000)).toMatchObject({ rows: 0 })
  })

  it('finds the newest accepted release of a service and family', async () => {
    const store = await fresh()
    const rel = (
      id: string,
      at: number,
      accepted: boolean,
      family: string | null,
    ): ReleaseRecord => ({
      kind: 'release',
      id,
      at_ms: at,
      service: 'chat',
      family,
      model: 'm',
      accepted,
      metric: 'energy_per_1k_requests_wh',
      value: at - T0,
      low: 0,
      high: 1,
      method: 'modelled',
    })
    await store.append({
      rows: chained(
        [
          rel('v1', T0 + 1, true, null),
          rel('v2', T0 + 2, true, null),
          rel('v3', T0 + 3, false, null),
          rel('f1', T0 + 4, true, 'llama'),
        ],
        0,
      ),
      blocks: [],
      rollups: [],
    })
    expect((await store.lastAcceptedRelease('chat', null))?.id).toBe('v2')
    expect((await store.lastAcceptedRelease('chat', 'llama'))?.id).toBe('f1')
    expect(await store.lastAcceptedRelease('other', null)).toBeNull()
  })

  it('lists requests by time and service, and keeps settings', async () => {
    const store = await fresh()
    const reqs = [requestRecord(1), requestRecord(2, { service: 'search' }), requestRecord(3)]
    await store.append({ rows: chained(reqs, 0), blocks: [], rollups: [] })
    const got = await store.requests({ from_ms: T0, to_ms: T0 + 2_500 }, { service: 'chat' })
    expect(got.map((r) => r.id)).toEqual(['req-1'])
    expect(await store.requests({ from_ms: 0, to_ms: T0 * 2 }, { limit: 2 })).toHaveLength(2)
    expect(await store.getMeta('k')).toBeNull()
    await store.setMeta('k', 'a')
    await store.setMeta('k', 'b')
    expect(await store.getMeta('k')).toBe('b')
  })
}
