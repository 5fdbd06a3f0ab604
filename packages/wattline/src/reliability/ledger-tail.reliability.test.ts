/**
 * Forgeable ledger tail (issue 10). A writer process is killed (SIGKILL) with rows after its last
 * sealed block; an attacker with database access then inserts a row with a correctly computed
 * (unkeyed) hash, deletes a row, edits a row, or edits one and re-hashes every row after it.
 * `wattline verify` must exit 1 naming the rows, before and after a writer resumed and wrote more,
 * and the tampered rows must never enter a signed block. The honest crash-and-resume case exits 0.
 * Real SQLite always; PostgreSQL too when PG_URL is set.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { recordJson, rowHash, type StoredRow, type TailProblem } from '@wattline/core'
import { requestRecord } from '@wattline/core/testing'
import { openLedger, openLedgerStore } from '../adapters/storage/open-ledger.ts'
import { createPgSchemas } from '../adapters/storage/pg-test-database.ts'
import { loadOrCreateSigningKey, sha256Hex } from '../adapters/storage/signing-key.ts'
import type { VerifyReport } from '../cli/commands/verify.ts'
import { runCaptured } from '../cli/run-cli.test-support.ts'
import { atScale } from './scale.test-support.ts'

const BLOCK_ROWS = 20
const FLUSH_ROWS = 5
/** Rounds per case and database; each round picks the tail length and the row tampered. */
const ROUNDS = atScale(6, 1)
/** `verify` runs against a ledger being written. */
const LIVE_VERIFIES = atScale(100, 25)
const CASES = ['honest', 'insert', 'delete', 'edit', 'rehash'] as const
type Case = (typeof CASES)[number]

const dirs: string[] = []
const pg = process.env['PG_URL'] === undefined ? null : createPgSchemas(process.env['PG_URL'])
afterAll(async () => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  await pg?.drop()
})
if (pg === null) console.warn('ledger-tail reliability: PG_URL unset, PostgreSQL cases skipped')

/** A seeded generator (mulberry32), so a failing round can be replayed. */
function random(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * A real writer process: for each ledger, writes `rows` request records flush by flush (a flush
 * every FLUSH_ROWS rows, a block every BLOCK_ROWS), then kills itself with SIGKILL: no close, no
 * seal, the unsealed tail left as a crash leaves it.
 */
async function writeThenCrash(dir: string, jobs: readonly { url: string; rows: number }[]) {
  const script = join(dir, 'crash-writer.mjs')
  const here = (p: string): string => JSON.stringify(new URL(p, import.meta.url).href)
  writeFileSync(
    script,
    [
      `import { register } from ${here('../../../../node_modules/tsx/dist/esm/api/index.mjs')}`,
      `register()`,
      `const { openLedger } = await import(${here('../adapters/storage/open-ledger.ts')})`,
      `const { requestRecord } = await import(${here('../../../core/src/ledger/test-records.ts')})`,
      `for (const job of ${JSON.stringify(jobs)}) {`,
      `  const ledger = await openLedger(job.url, { baseDir: ${JSON.stringify(dir)}, signingKeyPath: 'ledger.key', blockRows: ${BLOCK_ROWS}, blockMaxAgeMs: 3_600_000, flushIntervalMs: 250 })`,
      `  for (let i = 0; i < job.rows; i += 1) {`,
      `    ledger.sink.append(requestRecord(i))`,
      `    if ((i + 1) % ${FLUSH_ROWS} === 0) await ledger.sink.flush()`,
      `  }`,
      `  await ledger.sink.flush()`,
      `}`,
      `process.kill(process.pid, 'SIGKILL')`,
    ].join('\n'),
  )
  const child = spawn(process.execPath, [script], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr.on('data', (b: Buffer) => (err += b.toString()))
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => {
    child.on('exit', (_code, s) => resolve(s))
  })
  expect({ signal, err }).toEqual({ signal: 'SIGKILL', err: '' })
}

/** What the attacker does; resolves to the tampered row index (in the open block). */
async function tamper(url: string, kind: Case, tail: number, pick: () => number): Promise<number> {
  const store = await openLedgerStore(url)
  try {
    const t = await store.chainTail()
    const seq = t.last === null ? 0 : t.last.seq + 1
    const row = Math.floor(pick() * tail)
    switch (kind) {
      case 'honest':
        return -1
      case 'insert': {
        // a forged request whose row hash is computed exactly as the writer would (unkeyed)
        const record = requestRecord(9_000, { energy_j: 0.000_1 })
        const last = t.open[t.open.length - 1] as StoredRow
        const row_hash = rowHash(last.row_hash, recordJson(record), sha256Hex)
        await store.append({
          rows: [{ block_seq: seq, row_idx: tail, row_hash, record }],
          blocks: [],
          rollups: [],
        })
        return tail
      }
      case 'delete':
        await store.exec(`DELETE FROM requests WHERE block_seq = ${seq} AND row_idx = ${row}`)
        return row
      case 'edit':
        await store.exec(
          `UPDATE requests SET energy_j = 0.0001 WHERE block_seq = ${seq} AND row_idx = ${row}`,
        )
        return row
      case 'rehash': {
        // edit one row, then recompute its hash and every later row's, as a careful attacker would
        let previous = row === 0 ? (t.last?.hash ?? '0'.repeat(64)) : t.open[row - 1]!.row_hash
        for (const r of t.open.slice(row)) {
          const record = r.row_idx === row ? { ...r.record, energy_j: 0.000_1 } : r.record
          previous = rowHash(previous, recordJson(record as typeof r.record), sha256Hex)
          const energy = r.row_idx === row ? ', energy_j = 0.0001' : ''
          await store.exec(
            `UPDATE requests SET row_hash = '${previous}'${energy} WHERE block_seq = ${seq} AND row_idx = ${r.row_idx}`,
          )
        }
        return row
      }
    }
  } finally {
    await store.close()
  }
}

async function verify(dir: string, url: string) {
  const r = await runCaptured(
    ['verify', '--ledger', url, '--public-key', join(dir, 'ledger.pub'), '--json'],
    { cwd: dir },
  )
  return { code: r.code, report: JSON.parse(r.out) as VerifyReport, err: r.err }
}

const covers = (p: TailProblem, row: number): boolean =>
  p.first_row !== null && p.first_row <= row && row <= (p.last_row ?? p.first_row)
const EXPECTED_KIND: Record<Case, string> = {
  honest: 'none',
  insert: 'row_inserted',
  delete: 'row_deleted',
  edit: 'row_modified',
  rehash: 'row_modified',
}

const databases: { name: string; url: (dir: string, i: number) => Promise<string> }[] = [
  { name: 'SQLite', url: (dir, i) => Promise.resolve(`sqlite:${join(dir, `l${i}.db`)}`) },
]
if (pg !== null) databases.push({ name: 'PostgreSQL', url: () => pg.next() })

describe.each(databases)('forgeable ledger tail ($name)', (db) => {
  it(`raises no false alarm: ${LIVE_VERIFIES} verifies of a ledger a writer thread is appending to`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-tail-live-'))
    dirs.push(dir)
    const url = await db.url(dir, 0)
    const ledger = await openLedger(url, {
      baseDir: dir,
      signingKeyPath: 'ledger.key',
      writer: 'worker',
      blockRows: 50,
      blockMaxAgeMs: 300,
      flushIntervalMs: 5,
    })
    writeFileSync(join(dir, 'ledger.pub'), ledger.signer.publicKeyPem)
    let appended = 0
    const timer = setInterval(() => {
      for (let i = 0; i < 7; i += 1) ledger.sink.append(requestRecord((appended += 1)))
    }, 2)
    const alarms: string[] = []
    let sawTail = 0
    try {
      for (let i = 0; i < LIVE_VERIFIES; i += 1) {
        const r = await verify(dir, url)
        if (r.code !== 0) alarms.push(JSON.stringify(r.report.failure))
        if ((r.report.unsealed?.rows ?? 0) > 0) sawTail += 1
      }
    } finally {
      clearInterval(timer)
      await ledger.close()
    }
    expect(alarms).toEqual([])
    expect(sawTail).toBeGreaterThan(0) // the verifies did meet a live unsealed tail
    const final = await verify(dir, url)
    expect(final.code).toBe(0)
    expect(final.report.rows).toBe(appended)
    console.info(
      `ledger-tail ${db.name}: ${LIVE_VERIFIES} verifies during writing (${appended} rows), ${sawTail} met an unsealed tail, ${alarms.length} false alarms`,
    )
  }, 120_000)

  it(`detects ${CASES.length - 1} kinds of tail tampering × ${ROUNDS} rounds and never seals them; an honest crash verifies`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-tail-'))
    dirs.push(dir)
    const pick = random(10)
    const jobs = []
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const kind of CASES) {
        // 2 sealed blocks, then an open block of 6..19 rows (checkpoints every FLUSH_ROWS rows)
        const tail = 6 + Math.floor(pick() * (BLOCK_ROWS - 6))
        jobs.push({ kind, tail, url: await db.url(dir, jobs.length), rows: 2 * BLOCK_ROWS + tail })
      }
    }
    await writeThenCrash(dir, jobs)
    // the auditor's copy of the public key (the writer created the private key)
    const signer = await loadOrCreateSigningKey(join(dir, 'ledger.key'))
    expect(signer.created).toBe(false)
    writeFileSync(join(dir, 'ledger.pub'), signer.publicKeyPem)
    let detected = 0
    for (const [index, job] of jobs.entries()) {
      const row = await tamper(job.url, job.kind, job.tail, pick)
      if (job.kind === 'honest') {
        const before = await verify(dir, job.url)
        expect(before.code, JSON.stringify(before.report)).toBe(0)
        expect(before.report.unsealed).toMatchObject({ rows: job.tail, vouched_rows: job.tail })
        expect(before.report.unsealed?.since).not.toBeNull()
      } else {
        const before = await verify(dir, job.url)
        const problems = before.report.unsealed?.problems ?? []
        const named = problems.find((p) => p.kind === EXPECTED_KIND[job.kind] && covers(p, row))
        expect({ code: before.code, named: named !== undefined }, JSON.stringify(problems)).toEqual(
          { code: 1, named: true },
        )
      }
      // a writer resumes (the same key; in process, or in its writer thread every other job),
      // writes more and closes: seals and signs
      const reported: string[] = []
      const ledger = await openLedger(job.url, {
        baseDir: dir,
        signingKeyPath: 'ledger.key',
        blockRows: BLOCK_ROWS,
        writer: index % 2 === 0 ? 'in-process' : 'worker',
        onError: (error) => reported.push((error as { code?: string }).code ?? String(error)),
      })
      for (let i = 0; i < 7; i += 1) ledger.sink.append(requestRecord(20_000 + i))
      await ledger.close()
      const after = await verify(dir, job.url)
      const store = await openLedgerStore(job.url)
      const [block2] = await store.readBlocks(2, 2)
      await store.close()
      if (job.kind === 'honest') {
        expect(after.code, JSON.stringify(after.report)).toBe(0)
        expect(after.report).toMatchObject({ rows: 2 * BLOCK_ROWS + job.tail + 7, quarantined: [] })
        expect(reported).toEqual([])
        continue
      }
      const q = after.report.quarantined[0]
      const named = q?.problems.find((p) => p.kind === EXPECTED_KIND[job.kind] && covers(p, row))
      expect(
        { code: after.code, named: named !== undefined },
        JSON.stringify(after.report),
      ).toEqual({ code: 1, named: true })
      expect(reported).toEqual(['WL_LEDGER_TAMPERED']) // the resuming writer says so at once
      // the tampered row (and any row after it) is in no signed block
      // (the writer's own flush timer may add checkpoints between the explicit flushes, so the
      // vouched-for prefix can end anywhere up to the tampered row, never past it)
      expect(q?.kept_rows).toBeLessThanOrEqual(row)
      if (job.kind === 'insert') expect(q?.kept_rows).toBe(job.tail) // the writer's rows all sealed
      expect(block2?.row_count).toBe(q?.kept_rows)
      expect(after.report.unsealed?.rows).toBe(0)
      detected += 1
    }
    expect(detected).toBe(ROUNDS * (CASES.length - 1))
    console.info(
      `ledger-tail ${db.name}: ${detected}/${ROUNDS * (CASES.length - 1)} tampered tails detected before and after resume, ${ROUNDS} honest crashes verified`,
    )
  }, 120_000)
})
