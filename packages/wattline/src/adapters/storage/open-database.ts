/**
 * @module adapters/storage/open-database
 * Turns a ledger URL into a Kysely instance and the capabilities the store needs. This is the one
 * place that knows the two drivers; everything above reads capability flags.
 *
 * - `sqlite:PATH` (relative to `baseDir`), `sqlite::memory:`: better-sqlite3 with WAL, NORMAL sync
 *   and a busy timeout.
 * - `postgres://…` / `postgresql://…`: a `pg.Pool`; int8 is parsed as a JS number (epoch ms and
 *   counts stay far below 2^53).
 */
import { isAbsolute, resolve } from 'node:path'
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely'
import { WattlineError } from '@wattline/core'

/** What differs between databases, as data. */
export interface DatabaseCapabilities {
  readonly dialect: 'sqlite' | 'postgres'
  /** Most bound parameters one statement may carry. */
  readonly maxParameters: number
  /** Tables live in named schemas (`current_schema()`); the migrator must be told which. */
  readonly namedSchemas: boolean
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
    let handle
    try {
      handle = new Database(path)
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
      db: new Kysely({ dialect: new SqliteDialect({ database: handle }) }),
      capabilities: { dialect: 'sqlite', maxParameters: 32_766, namedSchemas: false },
      displayUrl: `sqlite:${path}`,
    }
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const pg = await import('pg')
    pg.default.types.setTypeParser(20, Number)
    const pool = new pg.default.Pool({ connectionString: url, max: options.poolSize ?? 4 })
    return {
      db: new Kysely({ dialect: new PostgresDialect({ pool }) }),
      capabilities: { dialect: 'postgres', maxParameters: 65_535, namedSchemas: true },
      displayUrl: url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@'),
    }
  }
  throw new WattlineError(
    'WL_INVALID_INPUT',
    `ledger URL must start with sqlite:, postgres:// or postgresql:// (got ${JSON.stringify(url)})`,
  )
}
