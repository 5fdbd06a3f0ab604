/**
 * Test helper for contract suites run against the ledger database: SQLite always, PostgreSQL when
 * PG_URL is set (skipped with a notice otherwise). Each `seed` writes records into a fresh ledger
 * (a new SQLite file, a new PostgreSQL schema), seals them into blocks, and returns its URL; call
 * `cleanup` from `afterAll`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AuditRecord } from '@wattline/core'
import { openLedger } from './open-ledger.ts'
import { createPgSchemas } from './pg-test-database.ts'

export interface LedgerDialect {
  readonly name: 'sqlite' | 'postgres'
  /** Writes `records` (in order) into a fresh ledger; resolves to its URL and folder. */
  seed(records: readonly AuditRecord[]): Promise<{ url: string; dir: string }>
}

export function ledgerDialects(suite: string): {
  readonly dialects: readonly LedgerDialect[]
  cleanup(): Promise<void>
} {
  const pgUrl = process.env['PG_URL']
  if (pgUrl === undefined)
    console.warn(`[${suite}] PG_URL is not set: the PostgreSQL run is SKIPPED (SQLite runs)`)
  const schemas = pgUrl === undefined ? undefined : createPgSchemas(pgUrl)
  const dirs: string[] = []
  let n = 0
  const seedAt =
    (url: (dir: string) => Promise<string>) =>
    async (records: readonly AuditRecord[]): Promise<{ url: string; dir: string }> => {
      const dir = mkdtempSync(join(tmpdir(), 'wl-contract-'))
      dirs.push(dir)
      const u = await url(dir)
      const ledger = await openLedger(u, {
        baseDir: dir,
        signingKeyPath: join(dir, 'key.pem'),
        blockRows: 500,
      })
      try {
        await ledger.sink.writeNow(records)
      } finally {
        await ledger.close()
      }
      return { url: u, dir }
    }
  const dialects: LedgerDialect[] = [
    { name: 'sqlite', seed: seedAt((dir) => Promise.resolve(`sqlite:${join(dir, `l${n++}.db`)}`)) },
  ]
  if (schemas !== undefined) dialects.push({ name: 'postgres', seed: seedAt(() => schemas.next()) })
  return {
    dialects,
    async cleanup() {
      await schemas?.drop()
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
    },
  }
}
