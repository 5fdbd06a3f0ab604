import { afterAll, describe } from 'vitest'
import { testLedgerStore } from '@wattline/core/testing'
import { openLedgerStore } from './open-ledger.ts'
import { createPgSchemas } from './pg-test-database.ts'

const PG_URL = process.env['PG_URL']

describe('KyselyLedgerStore on SQLite', () => {
  testLedgerStore(() => openLedgerStore('sqlite::memory:'))
})

if (PG_URL === undefined) {
  console.warn('PG_URL is not set: skipping the ledger contract suite on PostgreSQL')
}

describe.skipIf(PG_URL === undefined)('KyselyLedgerStore on PostgreSQL', () => {
  const schemas = createPgSchemas(PG_URL ?? 'postgres://unset')
  afterAll(() => schemas.drop())
  testLedgerStore(async () => openLedgerStore(await schemas.next()))
})
