import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { RequestRecord } from '@wattline/core'
import { requestRecord } from '@wattline/core/testing'
import {
  DROPPED_ROWS_METRIC,
  WRITER_CRASHES_METRIC,
  openLedger,
  openLedgerStore,
  type LedgerWriterMode,
} from './open-ledger.ts'
import { createPgSchemas } from './pg-test-database.ts'
import { createSignatureVerifier, parsePublicKey } from './signing-key.ts'
import { verifyLedger } from './verify-ledger.ts'

const dirs: string[] = []
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'wl-ledger-thread-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const FAULTY_ENTRY = new URL('./ledger-worker-faults.test-support.ts', import.meta.url)
const ALL = { from_ms: 0, to_ms: Number.MAX_SAFE_INTEGER }

function manualClock(start = 1_750_000_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

/** Records with awkward values for canonical JSON and storage (unicode, -0, tiny/huge doubles). */
function awkward(i: number): RequestRecord {
  return requestRecord(i, {
    id: `req-${i}-é✓😀`,
    tenant: i % 3 === 0 ? null : `tenant "${i}"\n`,
    energy_j: i % 4 === 0 ? -0 : 1e-300 * (i + 1),
    carbon_g: 0.1 + 0.2 * i,
    latency_ms: 2 ** 52 + i,
    ttft_ms: i % 2 === 0 ? null : 0.000001,
  })
}

/**
 * Writes the same records, at the same (manual) times, with the same key, in one mode; returns
 * every block and row as stored. Includes overflow (a `dropped` record), several flushes, an aged
 * partial block, a writeNow and the drain on close.
 */
async function writeScript(url: string, dir: string, keyPath: string, writer: LedgerWriterMode) {
  const clock = manualClock()
  const registry = new Registry()
  const ledger = await openLedger(url, {
    baseDir: dir,
    signingKeyPath: keyPath,
    now: clock.now,
    blockRows: 7,
    blockMaxAgeMs: 5_000,
    bufferRows: 40,
    batchRows: 1_000,
    flushIntervalMs: 250,
    registry,
    writer,
  })
  expect(ledger.writerMode).toBe(writer)
  for (let i = 0; i < 45; i += 1) ledger.sink.append(requestRecord(i)) // 5 dropped
  clock.advance(10)
  await ledger.sink.flush()
  for (let i = 45; i < 60; i += 1) ledger.sink.append(awkward(i))
  await ledger.sink.flush()
  clock.advance(6_000) // the open block is now old: the next flush seals it
  ledger.sink.append({
    kind: 'power',
    backend: 'paris',
    at_ms: clock.now(),
    power_w: 412.5,
    method: 'measured',
    source: 'nvidia-smi',
  })
  await ledger.sink.flush()
  await ledger.sink.writeNow([
    {
      kind: 'budget',
      at_ms: clock.now(),
      service: 'chat',
      family: null,
      metric: 'energy_per_1k_requests_wh',
      baseline: 100,
      stage: 'pilot',
      target: 80,
      variance_pct: 5,
      max_regression_pct: 10,
    },
  ])
  for (let i = 60; i < 64; i += 1) ledger.sink.append(requestRecord(i))
  clock.advance(3)
  const stats = ledger.sink.stats()
  await ledger.close()
  const store = await openLedgerStore(url, dir)
  try {
    const blocks = await store.readBlocks(0, 1_000)
    const rows = await store.readRows(0, 1_000)
    const rollups = await store.rollups(ALL)
    const metrics = await registry.getMetricsAsJSON()
    return {
      blocks,
      rows: [...rows.entries()],
      rollups,
      stats: { ...stats, written: ledger.sink.stats().written },
      dropped: metrics.find((m) => m.name === DROPPED_ROWS_METRIC)?.values,
      publicKeyPem: ledger.signer.publicKeyPem,
    }
  } finally {
    await store.close()
  }
}

describe('ledger writer thread (writer: worker)', () => {
  it('writes exactly what the in-process writer writes: same rows, hashes, blocks, signatures, rollups and counts', async () => {
    const dir = tempDir()
    const keyPath = join(dir, 'a.key')
    const inProcess = await writeScript(`sqlite:${join(dir, 'a.db')}`, dir, keyPath, 'in-process')
    const worker = await writeScript(`sqlite:${join(dir, 'b.db')}`, dir, keyPath, 'worker')
    expect(worker.blocks.length).toBeGreaterThanOrEqual(10)
    expect(worker.blocks).toEqual(inProcess.blocks) // hashes and (deterministic Ed25519) signatures
    expect(worker.rows).toEqual(inProcess.rows)
    expect(worker.rollups).toEqual(inProcess.rollups)
    expect(worker.stats).toEqual(inProcess.stats)
    expect(worker.dropped).toEqual([{ labels: { reason: 'buffer_full' }, value: 5 }])
    expect(inProcess.dropped).toEqual(worker.dropped)
    // -0 is stored as 0 by SQLite in both modes; the hash covers canonical JSON ("0") either way
    const first = worker.rows[0]?.[1][0]?.record
    expect(first).toMatchObject({ kind: 'dropped', rows: 5, reason: 'buffer_full' })
    const store = await openLedgerStore(`sqlite:${join(dir, 'b.db')}`, dir)
    const key = createSignatureVerifier([parsePublicKey(worker.publicKeyPem, 'key')])
    const verdict = (await verifyLedger(store, key)).verdict
    expect(verdict).toMatchObject({ ok: true, summary: { rows: 40 + 1 + 15 + 1 + 1 + 4 } })
    await store.close()
  })

  it('drains on close: every buffered row written, the last block sealed, the thread ended', async () => {
    const dir = tempDir()
    const url = `sqlite:${join(dir, 'l.db')}`
    // OS threads of this process (Linux): the writer thread is one while it runs
    const threads = (): number => readdirSync('/proc/self/task').length
    const warm = await openLedger(url, { baseDir: dir, writer: 'in-process' })
    await warm.close()
    const before = threads()
    const ledger = await openLedger(url, { baseDir: dir, writer: 'worker', flushIntervalMs: 250 })
    expect(threads()).toBeGreaterThan(before)
    for (let i = 0; i < 2_500; i += 1) ledger.sink.append(requestRecord(i))
    await ledger.close()
    expect(threads()).toBe(before)
    expect(ledger.sink.stats()).toMatchObject({ written: 2_500, buffered: 0, blocks: 3 })
    const store = await openLedgerStore(url, dir)
    const key = createSignatureVerifier([parsePublicKey(ledger.signer.publicKeyPem, 'key')])
    const result = await verifyLedger(store, key)
    expect(result.verdict).toMatchObject({ ok: true, summary: { rows: 2_500, blocks: 3 } })
    expect((await store.chainTail()).open).toHaveLength(0)
    await store.close()
  })

  it('leaves nothing running after close: a process that opens, writes and closes exits by itself', async () => {
    const dir = tempDir()
    const script = join(dir, 'writer.mjs')
    const openLedgerUrl = new URL('./open-ledger.ts', import.meta.url).href
    const testRecordsUrl = new URL('../../../../core/src/ledger/test-records.ts', import.meta.url)
      .href
    writeFileSync(
      script,
      [
        `import { register } from ${JSON.stringify(new URL('../../../../../node_modules/tsx/dist/esm/api/index.mjs', import.meta.url).href)}`,
        `register()`,
        `const { openLedger } = await import(${JSON.stringify(openLedgerUrl)})`,
        `const { requestRecord } = await import(${JSON.stringify(testRecordsUrl)})`,
        `const ledger = await openLedger('sqlite:./w.db', { baseDir: process.cwd(), writer: 'worker' })`,
        `for (let i = 0; i < 300; i += 1) ledger.sink.append(requestRecord(i))`,
        `await ledger.close()`,
        `console.log(JSON.stringify(ledger.sink.stats()))`,
      ].join('\n'),
    )
    // run from a folder outside the repository: the thread must find tsx without the cwd's help
    const child = spawn(process.execPath, [script], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (b: Buffer) => (out += b.toString()))
    child.stderr.on('data', (b: Buffer) => (err += b.toString()))
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        resolve(null)
      }, 25_000)
      child.on('exit', (c) => {
        clearTimeout(timer)
        resolve(c)
      })
    })
    expect({ code, err }).toEqual({ code: 0, err: '' })
    expect(JSON.parse(out)).toMatchObject({ written: 300, buffered: 0, dropped: 0 })
  })

  it('surfaces a crashed thread (error + metric), re-buffers its batch and writes it on a new thread', async () => {
    const dir = tempDir()
    const url = `sqlite:${join(dir, 'l.db')}`
    const registry = new Registry()
    const errors: unknown[] = []
    const ledger = await openLedger(url, {
      baseDir: dir,
      writer: 'worker',
      workerEntry: FAULTY_ENTRY,
      registry,
      flushIntervalMs: 250,
      onError: (e) => errors.push(e),
    })
    const crashes = async () =>
      (await registry.getMetricsAsJSON()).find((m) => m.name === WRITER_CRASHES_METRIC)?.values[0]
        ?.value
    expect(await crashes()).toBe(0)
    for (let i = 0; i < 3; i += 1) ledger.sink.append(requestRecord(i))
    await ledger.sink.flush()
    writeFileSync(join(dir, 'faults.json'), JSON.stringify({ crash: true }))
    for (let i = 3; i < 6; i += 1) ledger.sink.append(requestRecord(i))
    await expect(ledger.sink.flush()).rejects.toMatchObject({
      code: 'WL_LEDGER_WRITE',
      message: expect.stringMatching(/stopped unexpectedly.*injected ledger writer crash/),
    })
    expect(ledger.sink.stats()).toMatchObject({ written: 3, buffered: 3, dropped: 0 })
    expect(await crashes()).toBe(1)
    expect(errors.length).toBeGreaterThanOrEqual(2) // the crash, and the failed write
    // the drain restarts the thread at once; it resumes from the chain's tail
    await ledger.close()
    expect(ledger.sink.stats()).toMatchObject({ written: 6, buffered: 0, dropped: 0 })
    const store = await openLedgerStore(url, dir)
    const key = createSignatureVerifier([parsePublicKey(ledger.signer.publicKeyPem, 'key')])
    expect((await verifyLedger(store, key)).verdict).toMatchObject({
      ok: true,
      summary: { rows: 6 },
    })
    const ids = (await store.requests(ALL)).map((r) => r.id)
    expect(ids).toEqual(Array.from({ length: 6 }, (_, i) => `req-${i}`))
    await store.close()
  })

  it('applies back-pressure when the thread lags: the buffer stays bounded, drops are counted and recorded', async () => {
    const dir = tempDir()
    const url = `sqlite:${join(dir, 'l.db')}`
    const registry = new Registry()
    writeFileSync(join(dir, 'faults.json'), JSON.stringify({ delayMs: 400 }))
    const ledger = await openLedger(url, {
      baseDir: dir,
      writer: 'worker',
      workerEntry: FAULTY_ENTRY,
      registry,
      bufferRows: 10,
      batchRows: 5,
      flushIntervalMs: 250,
    })
    for (let i = 0; i < 5; i += 1) ledger.sink.append(requestRecord(i)) // a batch goes in flight
    await new Promise((r) => setImmediate(r))
    const started = performance.now()
    for (let i = 5; i < 17; i += 1) ledger.sink.append(requestRecord(i)) // 10 fit, 2 dropped
    expect(performance.now() - started).toBeLessThan(20) // appends never wait for the thread
    expect(ledger.sink.stats()).toMatchObject({ buffered: 10, dropped: 2, written: 0 })
    const dropped = (await registry.getMetricsAsJSON()).find((m) => m.name === DROPPED_ROWS_METRIC)
    expect(dropped?.values).toEqual([{ labels: { reason: 'buffer_full' }, value: 2 }])
    rmSync(join(dir, 'faults.json'))
    await ledger.close()
    expect(ledger.sink.stats()).toMatchObject({ written: 16, dropped: 2, buffered: 0 })
    const store = await openLedgerStore(url, dir)
    const records = [...(await store.readRows(0, 100)).values()].flat().map((r) => r.record)
    expect(records.filter((r) => r.kind === 'request')).toHaveLength(15)
    expect(records.find((r) => r.kind === 'dropped')).toMatchObject({
      rows: 2,
      reason: 'buffer_full',
    })
    await store.close()
  })

  it('refuses a worker for an in-memory SQLite ledger (one connection) and picks in-process for auto', async () => {
    const dir = tempDir()
    await expect(
      openLedger('sqlite::memory:', { baseDir: dir, writer: 'worker' }),
    ).rejects.toMatchObject({
      code: 'WL_INVALID_INPUT',
      message: expect.stringMatching(/in-memory/),
    })
    const auto = await openLedger('sqlite::memory:', { baseDir: dir, writer: 'auto' })
    expect(auto.writerMode).toBe('in-process')
    await auto.close()
    const file = await openLedger(`sqlite:${join(dir, 'f.db')}`, { baseDir: dir, writer: 'auto' })
    expect(file.writerMode).toBe('worker')
    await file.close()
  })
})

const pgUrl = process.env['PG_URL']
if (pgUrl === undefined) {
  console.warn('PG_URL is not set: skipping the ledger writer thread on PostgreSQL')
}

describe.skipIf(pgUrl === undefined)('ledger writer thread on PostgreSQL', () => {
  const schemas = createPgSchemas(pgUrl ?? '')
  afterAll(() => schemas.drop())

  it('writes exactly what the in-process writer writes', async () => {
    const dir = tempDir()
    const keyPath = join(dir, 'a.key')
    const inProcess = await writeScript(await schemas.next(), dir, keyPath, 'in-process')
    const worker = await writeScript(await schemas.next(), dir, keyPath, 'worker')
    expect(worker.blocks).toEqual(inProcess.blocks)
    expect(worker.rows).toEqual(inProcess.rows)
    expect(worker.rollups).toEqual(inProcess.rollups)
    expect(worker.stats).toEqual(inProcess.stats)
  })
})
