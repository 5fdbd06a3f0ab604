import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { decodeLeverSavings, encodeLeverSavings, recordJson, rowHash } from '@wattline/core'
import { requestRecord } from '@wattline/core/testing'
import { openLedger, openLedgerStore } from './open-ledger.ts'
import { createPgSchemas } from './pg-test-database.ts'
import { createSignatureVerifier, parsePublicKey, sha256Hex } from './signing-key.ts'
import { SCHEMA_VERSION, SCHEMA_VERSION_TABLE } from './migrations.ts'
import { verifyLedger } from './verify-ledger.ts'

const dirs: string[] = []
/** The request columns migration 5 adds (a build before it had none of them). */
const MIGRATION_5_COLUMNS = [
  'levers',
  'network_bytes',
  'network_energy_j',
  'network_carbon_g',
  'model_requested',
]
const pg = process.env['PG_URL'] === undefined ? null : createPgSchemas(process.env['PG_URL'])
afterAll(async () => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  await pg?.drop()
})
if (pg === null) console.warn('migrations test: PG_URL unset, PostgreSQL cases skipped')

const databases: { name: string; url: (dir: string) => Promise<string> }[] = [
  { name: 'SQLite', url: (dir) => Promise.resolve(`sqlite:${join(dir, 'l.db')}`) },
]
if (pg !== null) databases.push({ name: 'PostgreSQL', url: () => pg.next() })

/**
 * A ledger as a build before schema 3 left it: 2 sealed blocks of 5 rows, no checkpoint tables,
 * and `tail` rows after the last block written without checkpoints (a crash).
 */
async function legacyLedger(url: string, dir: string, tail: number) {
  const ledger = await openLedger(url, { baseDir: dir, blockRows: 5 })
  for (let i = 0; i < 10; i += 1) ledger.sink.append(requestRecord(i))
  await ledger.close()
  const store = await openLedgerStore(url)
  await store.exec('DROP TABLE tail_checkpoints')
  await store.exec('DROP TABLE quarantine_events')
  // a build before schema 3 had applied none of the later migrations either
  for (const col of MIGRATION_5_COLUMNS) await store.exec(`ALTER TABLE requests DROP COLUMN ${col}`)
  await store.exec(`DELETE FROM ${SCHEMA_VERSION_TABLE} WHERE name >= '0003_tail_checkpoints'`)
  let previous = (await store.readBlocks(1, 1))[0]?.hash as string
  for (let i = 0; i < tail; i += 1) {
    const record = requestRecord(100 + i)
    previous = rowHash(previous, recordJson(record), sha256Hex)
    // an old writer's row: chained, no checkpoint (appended before the tables exist: a raw insert)
    await store.exec(
      `INSERT INTO requests (block_seq, row_idx, row_hash, ${Object.keys(record)
        .filter((k) => k !== 'kind')
        .join(', ')}) VALUES (2, ${i}, '${previous}', ${Object.entries(record)
        .filter(([k]) => k !== 'kind')
        .map(([, v]) =>
          v === null
            ? 'NULL'
            : typeof v === 'boolean'
              ? v
                ? 1
                : 0
              : typeof v === 'number'
                ? v
                : `'${String(v)}'`,
        )
        .join(', ')})`,
    )
  }
  await store.close()
  return ledger.signer.publicKeyPem
}

describe.each(databases)('ledger migration to schema 3 ($name)', (db) => {
  it('migrates a ledger closed cleanly forward: it verifies and goes on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-mig-'))
    dirs.push(dir)
    const url = await db.url(dir)
    const pem = await legacyLedger(url, dir, 0)
    const ledger = await openLedger(url, { baseDir: dir, blockRows: 5 })
    ledger.sink.append(requestRecord(50))
    await ledger.close()
    const store = await openLedgerStore(url)
    expect(await store.migrate()).toBe(SCHEMA_VERSION)
    const result = await verifyLedger(store, createSignatureVerifier([parsePublicKey(pem, 'k')]))
    expect(result.verdict).toMatchObject({ ok: true, summary: { blocks: 3, rows: 11 } })
    expect(result.quarantined).toEqual([])
    await store.close()
  })

  it('quarantines a legacy unsealed tail (no checkpoint can vouch for it) and verify names it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-mig-'))
    dirs.push(dir)
    const url = await db.url(dir)
    const pem = await legacyLedger(url, dir, 3)
    const reported: unknown[] = []
    const ledger = await openLedger(url, {
      baseDir: dir,
      blockRows: 5,
      onError: (e) => reported.push(e),
    })
    ledger.sink.append(requestRecord(50))
    await ledger.close()
    expect(reported).toEqual([expect.objectContaining({ code: 'WL_LEDGER_TAMPERED' })])
    const store = await openLedgerStore(url)
    const result = await verifyLedger(store, createSignatureVerifier([parsePublicKey(pem, 'k')]))
    expect(result.verdict.ok).toBe(true) // every signed block verifies
    expect(result.quarantined).toHaveLength(1)
    expect(result.quarantined[0]).toMatchObject({ block_seq: 2, kept_rows: 0, rows: 3 })
    expect(result.quarantined[0]?.problems[0]).toMatchObject({
      kind: 'row_inserted',
      first_row: 0,
      last_row: 2,
      message: expect.stringContaining('before ledger schema 3'),
    })
    await store.close()
  })
})

describe.each(databases)('ledger migration 5: levers, network, tiers ($name)', (db) => {
  const saved = encodeLeverSavings([
    {
      lever: 'cache',
      energy_saved_j: 150.25,
      energy_saved_low_j: 120,
      energy_saved_high_j: 190.75,
      carbon_saved_g: 0.0023,
      basis: 'estimated-counterfactual',
    },
  ]) as string
  const extras = {
    levers: saved,
    network_bytes: 4096,
    network_energy_j: 0.12,
    network_carbon_g: 0.000002,
    model_requested: 'llama-3.1-70b-instruct',
  }

  it('keeps rows written before it verifiable, chains the new fields and detects their tampering', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-mig5-'))
    dirs.push(dir)
    const url = await db.url(dir)
    // a ledger as schema 4 left it: no migration-5 columns
    const first = await openLedger(url, { baseDir: dir, blockRows: 5 })
    for (let i = 0; i < 10; i += 1) first.sink.append(requestRecord(i))
    await first.close()
    let store = await openLedgerStore(url)
    for (const col of MIGRATION_5_COLUMNS)
      await store.exec(`ALTER TABLE requests DROP COLUMN ${col}`)
    await store.exec(`DELETE FROM ${SCHEMA_VERSION_TABLE} WHERE name >= '0005'`)
    await store.close()

    const ledger = await openLedger(url, { baseDir: dir, blockRows: 5 })
    for (let i = 10; i < 15; i += 1) ledger.sink.append(requestRecord(i, extras))
    await ledger.close()
    store = await openLedgerStore(url)
    expect(await store.migrate()).toBe(SCHEMA_VERSION)
    const verifier = createSignatureVerifier([parsePublicKey(ledger.signer.publicKeyPem, 'k')])
    const ok = await verifyLedger(store, verifier)
    expect(ok.verdict).toMatchObject({ ok: true, summary: { blocks: 3, rows: 15 } })
    const rows = await store.requests({ from_ms: 0, to_ms: Number.MAX_SAFE_INTEGER })
    const old = rows.find((r) => r.id === 'req-3')
    expect(old).not.toHaveProperty('levers')
    const fresh = rows.find((r) => r.id === 'req-12')
    expect(fresh).toMatchObject(extras)
    expect(decodeLeverSavings(fresh?.levers ?? '')).toEqual([
      expect.objectContaining({ lever: 'cache', energy_saved_j: 150.25 }),
    ])

    await store.exec(
      `UPDATE requests SET levers = '${saved.replace('150.25', '1502.5')}' WHERE id = 'req-12'`,
    )
    const tampered = await verifyLedger(store, verifier)
    expect(tampered.verdict.ok).toBe(false)
    await store.exec(`UPDATE requests SET network_bytes = 1 WHERE id = 'req-13'`)
    await store.close()
  })
})
