/**
 * @module adapters/storage/open-database
 * Turns a ledger URL into a Kysely instance and the capabilities the store needs. This is the one
 * place that knows the two drivers; everything above reads capability flags.
 *
 * - `sqlite:PATH` (relative to `baseDir`), `sqlite::memory:`: better-sqlite3 with WAL, NORMAL sync
 *   and a busy timeout; prepared INSERT statements are kept and reused by SQL text (Kysely's
 *   SQLite driver would otherwise prepare every statement again).
 * - `postgres://…` / `postgresql://…`: a `pg.Pool`; int8 is parsed as a JS number (epoch ms and
 *   counts stay far below 2^53).
 */
import { existsSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { Kysely, PostgresDialect, SqliteDialect, type SqliteDatabase } from 'kysely'
import type BetterSqlite3 from 'better-sqlite3'
import { WattlineError } from '@wattline/core'

/** What differs between databases, as data. */
export interface DatabaseCapabilities {
  readonly dialect: 'sqlite' | 'postgres'
  /** Most bound parameters one statement may carry. */
  readonly maxParameters: number
  /** Tables live in named schemas (`current_schema()`); the migrator must be told which. */
  readonly namedSchemas: boolean
  /**
   * Shape of the statements that insert a flush's chained rows (bulk-insert.ts):
   * `prepared-values`, fixed-size multi-row VALUES whose prepared statements the driver keeps
   * (SQLite, in-process binding), or `json-recordset`, one JSON-array parameter per chunk read by
   * `json_to_recordset` (PostgreSQL, where every separate parameter costs a text conversion).
   */
  readonly bulkInsert: 'prepared-values' | 'json-recordset'
}

export interface OpenedDatabase {
  readonly db: Kysely<Record<string, Record<string, unknown>>>
  readonly capabilities: DatabaseCapabilities
  /** The URL with any password removed, for messages. */
  readonly displayUrl: string
}

export interface OpenDatabaseOptions {
  /** Folder relative SQLite paths resolve against (the config file's folder). */
  readonly baseDir?: string
  /** PostgreSQL pool size. */
  readonly poolSize?: number
  /**
   * For tools that read an existing ledger (`verify`, `export`): a SQLite file that does not exist,
   * or an in-memory one (`sqlite:`, `sqlite::memory:`, which can hold nothing to read), is
   * `WL_INVALID_INPUT` and nothing is created (no file, no folder); a PostgreSQL server that does
   * not answer (refused, unknown host, no such database, bad credentials) is `WL_INVALID_INPUT`
   * naming the URL without its password, not an internal error.
   */
  readonly mustExist?: boolean
}

/** Opens the database at `url`. Throws `WL_INVALID_INPUT` for an unknown scheme. */
export async function openDatabase(
  url: string,
  options: OpenDatabaseOptions = {},
): Promise<OpenedDatabase> {
  if (url.startsWith('sqlite:')) {
    const { default: Database } = await import('better-sqlite3')
    const rest = url.slice('sqlite:'.length)
    const path =
      rest === ':memory:' || rest === ''
        ? ':memory:'
        : isAbsolute(rest)
          ? rest
          : resolve(options.baseDir ?? process.cwd(), rest)
    if (options.mustExist === true && path === ':memory:') {
      throw new WattlineError(
        'WL_INVALID_INPUT',
        `${JSON.stringify(url)} names an in-memory SQLite database, which holds no ledger to read; give sqlite:PATH of the ledger file`,
        { details: { url } },
      )
    }
    if (options.mustExist === true && !existsSync(path)) {
      const folder = dirname(path)
      throw new WattlineError(
        'WL_INVALID_INPUT',
        existsSync(folder)
          ? `no SQLite ledger at ${path}: the file does not exist (nothing was created; check --ledger)`
          : `no SQLite ledger at ${path}: the folder ${folder} does not exist (nothing was created; check --ledger)`,
        { details: { file: path } },
      )
    }
    let handle
    try {
      // fileMustExist: never create a file while checking (a race after the check above included)
      handle = new Database(path, { fileMustExist: options.mustExist === true })
    } catch (cause) {
      throw new WattlineError(
        'WL_INVALID_INPUT',
        `cannot open SQLite ledger ${path}: ${(cause as Error).message}`,
        { cause },
      )
    }
    handle.pragma('journal_mode = WAL')
    handle.pragma('synchronous = NORMAL')
    handle.pragma('busy_timeout = 5000')
    handle.pragma('temp_store = MEMORY')
    return {
      db: new Kysely({ dialect: new SqliteDialect({ database: keepingInsertStatements(handle) }) }),
      capabilities: {
        dialect: 'sqlite',
        maxParameters: 32_766,
        namedSchemas: false,
        bulkInsert: 'prepared-values',
      },
      displayUrl: `sqlite:${path}`,
    }
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const pg = await import('pg')
    pg.default.types.setTypeParser(20, Number)
    const pool = new pg.default.Pool({ connectionString: url, max: options.poolSize ?? 4 })
    const displayUrl = url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')
    if (options.mustExist === true) {
      try {
        await pool.query('select 1')
      } catch (cause) {
        await pool.end().catch(() => undefined)
        const e = cause as { code?: string; message?: string }
        throw new WattlineError(
          'WL_INVALID_INPUT',
          `cannot reach the PostgreSQL ledger at ${displayUrl}: ${[e.code, e.message].filter(Boolean).join(' ')} (check --ledger)`,
          { cause, details: { url: displayUrl } },
        )
      }
    }
    return {
      db: new Kysely({ dialect: new PostgresDialect({ pool }) }),
      capabilities: {
        dialect: 'postgres',
        maxParameters: 65_535,
        namedSchemas: true,
        bulkInsert: 'json-recordset',
      },
      displayUrl,
    }
  }
  throw new WattlineError(
    'WL_INVALID_INPUT',
    `ledger URL must start with sqlite:, postgres:// or postgresql:// (got ${JSON.stringify(url)})`,
  )
}

/** Most distinct INSERT texts kept prepared per SQLite connection. */
const INSERT_STATEMENTS_KEPT = 128

/**
 * The better-sqlite3 handle as Kysely's `SqliteDatabase`, keeping prepared INSERT statements by SQL
 * text (the ledger's bulk inserts reuse a few texts at high rates). Only INSERTs are kept: they are
 * run to completion at once, never iterated, so a kept statement is never busy when reused.
 */
function keepingInsertStatements(handle: BetterSqliteHandle): SqliteDatabase {
  const kept = new Map<string, ReturnType<BetterSqliteHandle['prepare']>>()
  return {
    close: () => handle.close(),
    prepare(text) {
      if (!/^insert\s/i.test(text)) return handle.prepare(text)
      let statement = kept.get(text)
      if (statement === undefined) {
        statement = handle.prepare(text)
        if (kept.size < INSERT_STATEMENTS_KEPT) kept.set(text, statement)
      }
      return statement
    },
  }
}

type BetterSqliteHandle = BetterSqlite3.Database
