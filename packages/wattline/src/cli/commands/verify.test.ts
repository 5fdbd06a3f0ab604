import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { requestRecord } from '@wattline/core/testing'
import { recordJson, rowHash } from '@wattline/core'
import { startChainWriter } from '../../adapters/storage/ledger-chain-writer.ts'
import { openLedger, openLedgerStore } from '../../adapters/storage/open-ledger.ts'
import { loadOrCreateSigningKey, sha256Hex } from '../../adapters/storage/signing-key.ts'
import { runCaptured, type CliRun } from '../run-cli.test-support.ts'

let dir: string
let url: string
let keyFile: string

const run = (args: string[]): Promise<CliRun> => runCaptured(args, { cwd: dir })

/** Runs SQL against the ledger file, as an attacker with database access would. */
async function tamper(statement: string): Promise<void> {
  const store = await openLedgerStore(url)
  await store.exec(statement)
  await store.close()
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wl-verify-'))
  url = `sqlite:${join(dir, 'ledger.db')}`
  const ledger = await openLedger(url, { baseDir: dir, blockRows: 5 })
  for (let i = 0; i < 15; i += 1) ledger.sink.append(requestRecord(i))
  await ledger.close()
  keyFile = join(dir, 'ledger.pub')
  writeFileSync(keyFile, ledger.signer.publicKeyPem)
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe('wattline verify', () => {
  it('exits 0 on an intact ledger, checked against the public key', async () => {
    const r = await run(['verify', '--ledger', url, '--public-key', keyFile, '--json'])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.out)).toMatchObject({
      intact: true,
      blocks: 3,
      rows: 15,
      signatures: 'public-key',
    })
  })

  it('exits 1 naming block and row of a modified row', async () => {
    await tamper(`UPDATE requests SET energy_j = 1 WHERE block_seq = 1 AND row_idx = 3`)
    const r = await run(['verify', '--ledger', url, '--public-key', keyFile])
    expect(r.code).toBe(1)
    expect(r.out).toContain('TAMPERED: block 1, row 3: row_modified')
  })

  it('exits 1 naming an inserted, a deleted and a reordered row', async () => {
    await tamper(
      `INSERT INTO requests SELECT block_seq, 5, row_hash, 'forged', at_ms, service, tenant, model, backend, zone, endpoint, status, streamed, input_tokens, output_tokens, latency_ms, ttft_ms, energy_j, energy_low_j, energy_high_j, facility_energy_j, pue, carbon_g, carbon_low_g, carbon_high_g, intensity_g_per_kwh, intensity_source, intensity_signal, intensity_stale, method, energy_source, routing_policy, routing_reason, attempts, error_code, levers, network_bytes, network_energy_j, network_carbon_g, model_requested FROM requests WHERE block_seq = 0 AND row_idx = 4`,
    )
    let r = await run(['verify', '--ledger', url, '--public-key', keyFile])
    expect(r.code).toBe(1)
    expect(r.out).toContain('block 0, row 5: row_inserted')
    await tamper(`DELETE FROM requests WHERE block_seq = 0 AND row_idx = 5`)
    await tamper(`DELETE FROM requests WHERE block_seq = 2 AND row_idx = 1`)
    r = await run(['verify', '--ledger', url, '--public-key', keyFile])
    expect(r.out).toContain('block 2, row 1: row_deleted')
    expect(r.code).toBe(1)
  })

  it('exits 1 on reordered rows', async () => {
    await tamper(`UPDATE requests SET row_idx = 99 WHERE block_seq = 1 AND row_idx = 1`)
    await tamper(`UPDATE requests SET row_idx = 1 WHERE block_seq = 1 AND row_idx = 2`)
    await tamper(`UPDATE requests SET row_idx = 2 WHERE block_seq = 1 AND row_idx = 99`)
    const r = await run(['verify', '--ledger', url, '--public-key', keyFile])
    expect(r.code).toBe(1)
    expect(r.out).toContain('block 1, row 1: row_reordered')
  })

  it('exits 1 on a corrupted signature and on a key that did not sign the ledger', async () => {
    const other = await openLedger('sqlite::memory:', { baseDir: mkdtempSync(join(dir, 'k-')) })
    writeFileSync(join(dir, 'other.pub'), other.signer.publicKeyPem)
    await other.close()
    let r = await run(['verify', '--ledger', url, '--public-key', 'other.pub'])
    expect(r.code).toBe(1)
    expect(r.out).toContain('block 0: signature')
    await tamper(`UPDATE blocks SET signature = 'AAAA' || substr(signature, 5) WHERE seq = 2`)
    r = await run(['verify', '--ledger', url, '--public-key', keyFile])
    expect(r.code).toBe(1)
    expect(r.out).toContain('block 2: signature')
    r = await run(['verify', '--ledger', url])
    expect(r.code).toBe(1)
    expect(r.out).toContain('keys stored in the ledger itself')
  })

  it('exits 2 on bad input', async () => {
    expect((await run(['verify'])).code).toBe(2)
    expect((await run(['verify', '--ledger', url, '--public-key', 'missing.pem'])).err).toContain(
      'cannot read public key missing.pem',
    )
    writeFileSync(join(dir, 'junk.pem'), 'not a key')
    expect((await run(['verify', '--ledger', url, '--public-key', 'junk.pem'])).code).toBe(2)
    expect((await run(['verify', '--ledger', 'mysql://x'])).code).toBe(2)
    expect((await run(['verify', '--bundle', 'b.jsonl'])).code).toBe(2)
  })

  it('exits 2 on a missing SQLite ledger file or folder, and creates nothing', async () => {
    const before = readdirSync(dir).sort()
    let r = await run(['verify', '--ledger', 'sqlite:./does-not-exist.db'])
    expect(r.code).toBe(2)
    expect(r.err).toContain('WL_INVALID_INPUT')
    expect(r.err).toContain(
      `no SQLite ledger at ${join(dir, 'does-not-exist.db')}: the file does not exist`,
    )
    r = await run(['verify', '--ledger', 'sqlite:./no-such-dir/ledger.db', '--json'])
    expect(r.code).toBe(2)
    expect(r.err).toContain(`the folder ${join(dir, 'no-such-dir')} does not exist`)
    r = await run([
      'export',
      '--ledger',
      'sqlite:gone.db',
      '--from',
      '2026-01-01',
      '--to',
      '2026-02-01',
      '--out',
      'b.jsonl',
    ])
    expect(r.code).toBe(2)
    expect(r.err).toContain('no SQLite ledger at')
    // nothing created: no ledger file, no -wal/-shm, no folder, no bundle
    expect(readdirSync(dir).sort()).toEqual(before)
    expect(existsSync(join(dir, 'does-not-exist.db'))).toBe(false)
    expect(existsSync(join(dir, 'no-such-dir'))).toBe(false)
  })

  it('exits 2 on an empty or in-memory SQLite path (was: an empty in-memory ledger reported intact, exit 0)', async () => {
    const before = readdirSync(dir).sort()
    for (const ledger of ['sqlite:', 'sqlite::memory:']) {
      const r = await run(['verify', '--ledger', ledger])
      expect(r.code, ledger).toBe(2)
      expect(r.err).toContain('WL_INVALID_INPUT')
      expect(r.err).toContain('in-memory SQLite database')
      expect(r.out).not.toContain('intact')
    }
    expect(readdirSync(dir).sort()).toEqual(before)
  })

  it('exits 2 naming the URL (password hidden) when the PostgreSQL ledger does not answer (was: WL_INTERNAL, exit 3, a stack)', async () => {
    for (const cmd of [
      ['verify'],
      ['export', '--from', '2026-01-01', '--to', '2026-02-01', '--out', 'b.jsonl'],
    ]) {
      const r = await run([...cmd, '--ledger', 'postgres://auditor:s3cret@127.0.0.1:1/ledger'])
      expect(r.code, cmd[0]).toBe(2)
      expect(r.err).toContain(
        'WL_INVALID_INPUT: cannot reach the PostgreSQL ledger at postgres://auditor:***@127.0.0.1:1/ledger',
      )
      expect(r.err).toContain('ECONNREFUSED')
      expect(r.err).not.toContain('s3cret')
      expect(r.err).not.toMatch(/WL_INTERNAL|\n\s+at /)
    }
    expect(existsSync(join(dir, 'b.jsonl'))).toBe(false)
  })
})

describe('wattline verify: the unsealed tail', () => {
  const T = Date.UTC(2026, 11, 5, 12, 0, 0)

  /** Rows a writer wrote after the last sealed block, then stopped before sealing (a crash). */
  async function writeUnsealed(n: number): Promise<void> {
    const store = await openLedgerStore(url)
    const signer = await loadOrCreateSigningKey(join(dir, 'wattline-ledger.key'))
    const chain = await startChainWriter(
      { store, signer, hash: sha256Hex },
      { blockRows: 100, blockMaxAgeMs: 3_600_000 },
      T,
    )
    await chain.write([requestRecord(100), requestRecord(101)], false, T)
    await chain.write(
      Array.from({ length: n - 2 }, (_, i) => requestRecord(102 + i)),
      false,
      T + 100,
    )
    await store.close()
  }

  it('reports an honest unsealed tail (rows, since when, vouched for) and exits 0', async () => {
    await writeUnsealed(3)
    const r = await run(['verify', '--ledger', url, '--public-key', keyFile])
    expect(r.code).toBe(0)
    expect(r.out).toContain(
      "3 unsealed rows since 2026-12-05T12:00:00.000Z (block 3): the writer's signed checkpoints vouch for all of them",
    )
    const j = await run(['verify', '--ledger', url, '--public-key', keyFile, '--json'])
    expect(JSON.parse(j.out)).toMatchObject({
      intact: true,
      unsealed_rows: 3,
      unsealed: { rows: 3, block: 3, since: '2026-12-05T12:00:00.000Z', vouched_rows: 3 },
      quarantined: [],
    })
  })

  it('exits 1 naming a forged row in the tail, and still after a writer resumed and sealed', async () => {
    await writeUnsealed(3)
    // an attacker appends a request with a correctly computed (unkeyed) row hash
    const store = await openLedgerStore(url)
    const tail = await store.chainTail()
    const record = requestRecord(999)
    const row_hash = rowHash(tail.open[2]!.row_hash, recordJson(record), sha256Hex)
    await store.append({
      rows: [{ block_seq: 3, row_idx: 3, row_hash, record }],
      blocks: [],
      rollups: [],
    })
    await store.close()
    let r = await run(['verify', '--ledger', url, '--public-key', keyFile])
    expect(r.code).toBe(1)
    expect(r.out).toContain('TAMPERED: unsealed tail, block 3, row 3: row_inserted')
    const ledger = await openLedger(url, { baseDir: dir, blockRows: 5 })
    ledger.sink.append(requestRecord(200))
    await ledger.close()
    r = await run(['verify', '--ledger', url, '--public-key', keyFile])
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/TAMPERED: block 3, row 3: row_inserted: .*quarantined by the writer at/)
    expect(r.out).toContain('the sealed chain verifies: 5 blocks, 20 rows')
    const after = await openLedgerStore(url)
    expect((await after.readBlocks(3, 3))[0]?.row_count).toBe(3) // the forged row is in no block
    await after.close()
  })
})

describe('wattline export + verify --bundle', () => {
  const window = ['--from', '2000-01-01T00:00:00Z', '--to', '2100-01-01T00:00:00Z']

  it('round-trips: the exported bundle verifies offline', async () => {
    const e = await run(['export', '--ledger', url, ...window, '--out', 'bundle.jsonl', '--json'])
    expect(e.code).toBe(0)
    expect(JSON.parse(e.out)).toMatchObject({ blocks: 3, rows: 15 })
    const r = await run(['verify', '--bundle', 'bundle.jsonl', '--public-key', keyFile, '--json'])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.out)).toMatchObject({ intact: true, blocks: 3, rows: 15 })
  })

  it('names the block and row of a bundle edited after export, and rejects a truncated bundle', async () => {
    await run(['export', '--ledger', url, ...window, '--out', 'bundle.jsonl'])
    const path = join(dir, 'bundle.jsonl')
    const lines = readFileSync(path, 'utf8').split('\n')
    const i = lines.findIndex((l) => l.includes('"row_idx":2') && l.includes('"block_seq":1'))
    lines[i] = (lines[i] as string).replace('"output_tokens":207', '"output_tokens":7')
    writeFileSync(path, lines.join('\n'))
    let r = await run(['verify', '--bundle', 'bundle.jsonl', '--public-key', keyFile])
    expect(r.code).toBe(1)
    expect(r.out).toContain('block 1, row 2: row_modified')
    writeFileSync(path, lines.slice(0, 9).join('\n'))
    r = await run(['verify', '--bundle', 'bundle.jsonl', '--public-key', keyFile])
    expect(r.code).toBe(2)
    expect(r.err).toContain('truncated')
  })

  it('exits 2 naming --out when the bundle cannot be written (was: WL_INTERNAL, exit 3)', async () => {
    const r = await run([
      'export',
      '--ledger',
      url,
      '--from',
      '2020-01-01',
      '--to',
      '2030-01-01',
      '--out',
      'no-such-dir/b.jsonl',
    ])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/^wattline: WL_INVALID_INPUT: cannot write no-such-dir\/b\.jsonl: ENOENT/)
    expect(existsSync(join(dir, 'no-such-dir'))).toBe(false)
  })

  it('exits 2 on a bad time window', async () => {
    const r = await run([
      'export',
      '--ledger',
      url,
      '--from',
      'yesterday',
      '--to',
      '2100-01-01',
      '--out',
      'b',
    ])
    expect(r.code).toBe(2)
    expect(r.err).toContain('--from must be an ISO 8601 time')
  })
})

describe('wattline ledger export-key', () => {
  it('prints the public key matching the signing key, which verifies the ledger', async () => {
    const r = await run(['ledger', 'export-key', '--signing-key', 'wattline-ledger.key'])
    expect(r.code).toBe(0)
    expect(r.out).toBe(readFileSync(keyFile, 'utf8'))
    const w = await run([
      'ledger',
      'export-key',
      '--signing-key',
      'wattline-ledger.key',
      '--out',
      'k.pub',
    ])
    expect(w.code).toBe(0)
    expect((await run(['verify', '--ledger', url, '--public-key', 'k.pub'])).code).toBe(0)
  })

  it('finds the key beside --ledger, and never creates one', async () => {
    const r = await run(['ledger', 'export-key', '--ledger', 'sqlite:./ledger.db'])
    expect(r.code).toBe(0)
    expect(r.out).toBe(readFileSync(keyFile, 'utf8'))
    // from a folder with no key: nothing beside the ledger, none created
    const elsewhere = mkdtempSync(join(dir, 'cwd-'))
    const missing = await runCaptured(['ledger', 'export-key', '--ledger', 'sqlite:./other/l.db'], {
      cwd: elsewhere,
    })
    expect(missing.code).toBe(2)
    expect(missing.err).toContain(
      `no ledger signing key at ${join(elsewhere, 'other', 'wattline-ledger.key')}`,
    )
    expect(existsSync(join(elsewhere, 'other'))).toBe(false)
  })
})
