/**
 * Every `DashboardLedgerReader` against the port's contract: the ledger database reader (SQLite, and
 * PostgreSQL when PG_URL is set) and the in-memory reader.
 */
import { afterAll } from 'vitest'
import { testDashboardLedgerReader } from '@wattline/core/testing'
import { createKyselyLedgerReader } from '../../adapters/storage/kysely-ledger-reader.ts'
import { ledgerDialects } from '../../adapters/storage/ledger-dialects.test-support.ts'
import { openDatabase } from '../../adapters/storage/open-database.ts'
import { createMemoryLedgerReader } from './memory-ledger-reader.ts'

const { dialects, cleanup } = ledgerDialects('dashboard-ledger-reader contract')
afterAll(cleanup)

testDashboardLedgerReader('in-memory', (records) =>
  Promise.resolve({ reader: createMemoryLedgerReader(records) }),
)

for (const dialect of dialects)
  testDashboardLedgerReader(`ledger database (${dialect.name})`, async (records) => {
    const { url, dir } = await dialect.seed(records)
    const opened = await openDatabase(url, { baseDir: dir, poolSize: 2 })
    return { reader: createKyselyLedgerReader(opened), close: () => opened.db.destroy() }
  })
