import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import type { AuditRecord } from '@wattline/core'
import { requestRecord } from '@wattline/core/testing'
import { openLedger, openLedgerStore } from './open-ledger.ts'
import { createSignatureVerifier, parsePublicKey } from './signing-key.ts'
import { verifyLedger } from './verify-ledger.ts'

const dirs: string[] = []
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'wl-ledger-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** A budget record (a table of its own: only the chain-tail check can see a fork through it). */
function budget(at: number): AuditRecord {
  return {
    kind: 'budget',
    at_ms: at,
    service: 'chat',
    family: null,
    metric: 'energy_per_1k_requests_wh',
    baseline: 100,
    stage: 'pilot',
    target: 80,
    variance_pct: 5,
    max_regression_pct: 10,
  }
}

/** A manual clock so block ages are deterministic. */
function manualClock(start = 1_750_000_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

/** Both writer modes run the same suite; a worker needs a file (`:memory:` is one connection). */
const MODES = ['in-process', 'worker'] as const
const memoryOr = (mode: (typeof MODES)[number], dir: string): string =>
  mode === 'worker' ? `sqlite:${join(dir, 'm.db')}` : 'sqlite::memory:'

describe.each(MODES)('openLedger batch writer (%s)', (writer) => {
  it('chains, seals and signs blocks that verify, across flushes and a restart', async () => {
    const dir = tempDir()
    const clock = manualClock()
    const url = `sqlite:${join(dir, 'l.db')}`
    const opts = {
      baseDir: dir,
      blockRows: 4,
      flushIntervalMs: 250,
      now: clock.now,
      blockMaxAgeMs: 60_000,
      writer,
    }
    const ledger = await openLedger(url, opts)
    for (let i = 0; i < 10; i += 1) ledger.sink.append(requestRecord(i))
    await ledger.sink.flush() // 2 full blocks, 2 rows in the open block
    expect(ledger.sink.stats()).toMatchObject({ written: 10, blocks: 2, buffered: 0 })
    await ledger.close() // seals the open block
    const again = await openLedger(url, opts)
    for (let i = 10; i < 13; i += 1) again.sink.append(requestRecord(i))
    await again.close()
    const store = await openLedgerStore(url)
    const key = createSignatureVerifier([parsePublicKey(again.signer.publicKeyPem, 'key')])
    const result = await verifyLedger(store, key)
    expect(result.verdict).toMatchObject({
      ok: true,
      summary: { blocks: 4, rows: 13, signatures_checked: 4 },
    })
    const rollups = await store.rollups({ from_ms: 0, to_ms: Number.MAX_SAFE_INTEGER })
    expect(rollups.reduce((a, r) => a + r.requests, 0)).toBe(13)
    await store.close()
  })

  it('shares one chain between two writers (gate next to a running gateway) without forking it', async () => {
    const dir = tempDir()
    const url = `sqlite:${join(dir, 'l.db')}`
    const opts = { baseDir: dir, blockRows: 4, flushIntervalMs: 250, blockMaxAgeMs: 60_000, writer }
    const gateway = await openLedger(url, opts)
    const gate = await openLedger(url, opts)
    for (let i = 0; i < 6; i += 1) gateway.sink.append(requestRecord(i))
    await gateway.sink.flush() // block 0 sealed, rows 0–1 of block 1 written, block 1 open
    // the gate's writer resumes after those rows and seals block 1 at once
    await gate.sink.writeNow([budget(1)])
    // the gateway's idea of block 1 is stale now: its next rows must go after the gate's block
    for (let i = 6; i < 9; i += 1) gateway.sink.append(requestRecord(i))
    await gateway.sink.flush()
    await gate.sink.writeNow([budget(2)])
    await gateway.close()
    await gate.close()
    const store = await openLedgerStore(url)
    const key = createSignatureVerifier([parsePublicKey(gateway.signer.publicKeyPem, 'key')])
    const result = await verifyLedger(store, key)
    expect(result.verdict).toMatchObject({ ok: true, summary: { rows: 11 } })
    const ids = (await store.requests({ from_ms: 0, to_ms: Number.MAX_SAFE_INTEGER })).map(
      (r) => r.id,
    )
    expect(ids.sort()).toEqual(Array.from({ length: 9 }, (_, i) => `req-${i}`).sort())
    await store.close()
  })

  it('never blocks on a full buffer: drops, counts in the metric, and records the drop in the ledger', async () => {
    const dir = tempDir()
    const registry = new Registry()
    const ledger = await openLedger(memoryOr(writer, dir), {
      baseDir: dir,
      writer,
      bufferRows: 5,
      batchRows: 1000,
      flushIntervalMs: 250,
      registry,
    })
    const started = performance.now()
    for (let i = 0; i < 12; i += 1) ledger.sink.append(requestRecord(i))
    expect(performance.now() - started).toBeLessThan(50)
    expect(ledger.sink.stats()).toMatchObject({ buffered: 5, dropped: 7 })
    const metrics = await registry.getMetricsAsJSON()
    const dropped = metrics.find((m) => m.name === 'wattline_ledger_dropped_rows_total')
    expect(dropped?.values).toEqual([{ labels: { reason: 'buffer_full' }, value: 7 }])
    await ledger.sink.flush()
    const rows = (await ledger.store.readRows(0, 10)).get(0) ?? []
    expect(rows[0]?.record).toMatchObject({ kind: 'dropped', rows: 7, reason: 'buffer_full' })
    expect(rows.filter((r) => r.record.kind === 'request')).toHaveLength(5)
    await ledger.close()
  })

  it('flushes on its own within the interval, and drains on close', async () => {
    const dir = tempDir()
    const ledger = await openLedger(memoryOr(writer, dir), {
      baseDir: dir,
      flushIntervalMs: 20,
      writer,
    })
    ledger.sink.append(requestRecord(1))
    const deadline = Date.now() + 2000
    while (ledger.sink.stats().written === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5))
    }
    expect(ledger.sink.stats().written).toBe(1)
    ledger.sink.append(requestRecord(2))
    const store = ledger.store
    await ledger.sink.close()
    expect((await store.requests({ from_ms: 0, to_ms: Number.MAX_SAFE_INTEGER })).length).toBe(2)
    await store.close()
  })

  it('prunes old per-request rows, keeps rollups, and still verifies', async () => {
    const clock = manualClock()
    const dir = tempDir()
    const ledger = await openLedger(memoryOr(writer, dir), {
      baseDir: dir,
      writer,
      blockRows: 3,
      retentionDays: 1,
      now: clock.now,
    })
    for (let i = 0; i < 6; i += 1) ledger.sink.append(requestRecord(i))
    await ledger.sink.flush()
    clock.advance(2 * 86_400_000)
    for (let i = 6; i < 8; i += 1) ledger.sink.append(requestRecord(i))
    await ledger.sink.flush()
    expect(await ledger.prune()).toBe(6)
    const left = await ledger.store.requests({ from_ms: 0, to_ms: Number.MAX_SAFE_INTEGER })
    expect(left.map((r) => r.id)).toEqual(['req-6', 'req-7'])
    const rollups = await ledger.store.rollups({ from_ms: 0, to_ms: Number.MAX_SAFE_INTEGER })
    expect(rollups.reduce((a, r) => a + r.requests, 0)).toBe(8)
    const key = createSignatureVerifier([parsePublicKey(ledger.signer.publicKeyPem, 'key')])
    const result = await verifyLedger(ledger.store, key)
    expect(result.verdict).toMatchObject({ ok: true, summary: { pruned_blocks: 2 } })
    await ledger.close()
  })
})
