/**
 * @module adapters/storage/pg-test-database
 * Test helper: a fresh PostgreSQL schema per store, so contract tests never see each other's rows.
 * Used only when PG_URL is set (CI starts a server; see docs/ledger.md for a local throwaway one).
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'

/** A URL whose connections use a new, empty schema; `drop` removes every schema it created. */
export function createPgSchemas(baseUrl: string): {
  next(): Promise<string>
  drop(): Promise<void>
} {
  const created: string[] = []
  return {
    async next() {
      const schema = `wl_test_${randomBytes(6).toString('hex')}`
      const client = new pg.Client({ connectionString: baseUrl })
      await client.connect()
      try {
        await client.query(`CREATE SCHEMA ${schema}`)
      } finally {
        await client.end()
      }
      created.push(schema)
      const url = new URL(baseUrl)
      url.searchParams.set('options', `-c search_path=${schema}`)
      return url.toString()
    },
    async drop() {
      if (created.length === 0) return
      const client = new pg.Client({ connectionString: baseUrl })
      await client.connect()
      try {
        for (const schema of created.splice(0)) await client.query(`DROP SCHEMA ${schema} CASCADE`)
      } finally {
        await client.end()
      }
    },
  }
}
