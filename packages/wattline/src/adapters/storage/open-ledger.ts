/**
 * @module adapters/storage/open-ledger
 * The one call the composition roots make: open (and migrate) the ledger at a URL, load or create
 * the signing key, start the batch writer, the retention timer and the writer's metrics.
 *
 * `writer` picks where a flush's work (canonical JSON, SHA-256 chain, Ed25519 signatures, INSERTs)
 * runs: `'worker'`, a worker thread with its own connection (the gateway: its event loop then only
 * appends to an array and posts one message per flush); `'in-process'` (default), the calling
 * thread (CLI tools writing a few rows, tests); `'auto'`, the worker except where it cannot share
 * the database (`sqlite::memory:` lives in one connection). Both run the same chain writer.
 *
 * @example
 * const ledger = await openLedger(config.ledger.url, { ...ledgerOptionsFromConfig(config.ledger, dir), registry, writer: 'auto' })
 * ledger.sink.append(record)      // on the request path: never blocks, never throws
 * await ledger.close()            // on SIGTERM: drains the buffer, seals the last block
 */
import { isAbsolute, resolve } from 'node:path'
import { Registry } from 'prom-client'
import { counterIn } from '../../metrics/registry-metrics.ts'
import { WattlineError, type LedgerStore } from '@wattline/core'
import { KyselyLedgerStore } from './kysely-ledger-store.ts'
import { quarantineError } from './ledger-chain-writer.ts'
import {
  inProcessChainBackend,
  startLedgerWriter,
  type ChainBackend,
  type LedgerWriter,
} from './ledger-writer.ts'
import { startChainWorker } from './ledger-writer-thread.ts'
import { openDatabase } from './open-database.ts'
import {
  defaultSigningKeyPath,
  loadOrCreateSigningKey,
  sha256Hex,
  type LedgerSigner,
} from './signing-key.ts'

/** Name of the dropped-rows counter (label `reason`: buffer_full | write_failed). */
export const DROPPED_ROWS_METRIC = 'wattline_ledger_dropped_rows_total'
/** Name of the counter of ledger writer threads that died unexpectedly (`writer: 'worker'`). */
export const WRITER_CRASHES_METRIC = 'wattline_ledger_writer_crashes_total'
const DAY_MS = 86_400_000
/** How often retention runs, ms. */
const RETENTION_EVERY_MS = 3_600_000

export interface OpenLedgerOptions {
  /** Folder that relative SQLite paths and the key path resolve against. */
  readonly baseDir?: string
  /**
   * Ed25519 private key path (created when absent, 0600). Default: beside a SQLite ledger file,
   * else `<baseDir>/wattline-data/wattline-ledger.key` (`defaultSigningKeyPath`).
   */
  readonly signingKeyPath?: string
  readonly flushIntervalMs?: number
  readonly batchRows?: number
  readonly bufferRows?: number
  readonly blockRows?: number
  /** A partly filled block is sealed once this old, ms (default 1000). */
  readonly blockMaxAgeMs?: number
  /** Prune per-request rows older than this many days (rollups stay); null/undefined keeps all. */
  readonly retentionDays?: number | null
  /** Registry for `wattline_ledger_dropped_rows_total`; a private one when omitted. */
  readonly registry?: Registry
  /** Wall clock, epoch ms. Default `Date.now`. */
  readonly now?: () => number
  readonly onError?: (error: unknown) => void
  /**
   * Where flushes run: `'in-process'` (default), `'worker'` (a worker thread; refused for
   * `sqlite::memory:`), or `'auto'` (the worker where the database can be shared with it).
   */
  readonly writer?: LedgerWriterMode
  /** Entry module of the writer thread (tests substitute faulty ones); default the real one. */
  readonly workerEntry?: URL
  /**
   * Where batches go instead of a chain writer of this process: a `serve --workers N` worker passes
   * the backend that forwards them to the primary, which owns the one chain writer
   * (`compose/worker-ledger.ts`). `writer` is then ignored and `writerMode` is `'forward'`.
   */
  readonly backend?: ChainBackend
}

/** Where the batch writer's flushes run. */
export type LedgerWriterMode = 'in-process' | 'worker' | 'auto'

export interface Ledger {
  readonly store: LedgerStore
  /** The gateway's `LedgerSink` (and more: `appendAudit`, `writeNow`, `stats`). */
  readonly sink: LedgerWriter
  readonly signer: LedgerSigner
  /** Where flushes run (`'auto'` resolved); `'forward'`: to the caller's `backend`. */
  readonly writerMode: 'in-process' | 'worker' | 'forward'
  /** Runs retention once now; resolves to the rows pruned. */
  prune(): Promise<number>
  /** Drains the writer, stops timers, closes the database. */
  close(): Promise<void>
}

/** The `ledger:` config section as `OpenLedgerOptions`. */
export function ledgerOptionsFromConfig(
  config: {
    readonly flush_interval_ms: number
    readonly batch_rows: number
    readonly buffer_rows: number
    readonly block_rows: number
    readonly retention_days: number | null
    /** Unset: beside a SQLite ledger, else `wattline-data/` (`defaultSigningKeyPath`). */
    readonly signing_key_path?: string | undefined
  },
  baseDir: string,
): OpenLedgerOptions {
  return {
    baseDir,
    ...(config.signing_key_path === undefined ? {} : { signingKeyPath: config.signing_key_path }),
    flushIntervalMs: config.flush_interval_ms,
    batchRows: config.batch_rows,
    bufferRows: config.buffer_rows,
    blockRows: config.block_rows,
    retentionDays: config.retention_days,
  }
}

/**
 * Opens only the store (migrated): for read-only tools. `mustExist`: a SQLite ledger file that does
 * not exist is `WL_INVALID_INPUT`, and nothing is created (`verify`, `export`).
 */
export async function openLedgerStore(
  url: string,
  baseDir?: string,
  options: { readonly mustExist?: boolean } = {},
): Promise<LedgerStore> {
  const store = new KyselyLedgerStore(
    await openDatabase(url, {
      ...(baseDir === undefined ? {} : { baseDir }),
      ...(options.mustExist === true ? { mustExist: true } : {}),
    }),
  )
  try {
    await store.migrate()
  } catch (error) {
    await store.close()
    throw error
  }
  return store
}

/** Opens the ledger at `url` and starts its writer. */
export async function openLedger(url: string, options: OpenLedgerOptions = {}): Promise<Ledger> {
  const baseDir = options.baseDir ?? process.cwd()
  const now = options.now ?? Date.now
  const keyPath = options.signingKeyPath
  const absoluteKeyPath =
    keyPath === undefined
      ? defaultSigningKeyPath(url, baseDir)
      : isAbsolute(keyPath)
        ? keyPath
        : resolve(baseDir, keyPath)
  const writerMode =
    options.backend === undefined
      ? resolveWriterMode(url, options.writer ?? 'in-process')
      : 'forward'
  const signer = await loadOrCreateSigningKey(absoluteKeyPath)
  const store = await openLedgerStore(url, baseDir)
  const registry = options.registry ?? new Registry()
  const counter = counterIn(
    registry,
    DROPPED_ROWS_METRIC,
    'Ledger rows dropped because the writer buffer was full or a write failed (also recorded in the ledger)',
    ['reason'],
  )
  const blockRows = options.blockRows ?? 1000
  const blockMaxAgeMs = options.blockMaxAgeMs ?? 1000
  // exported from the start (at 0) in worker mode, so alerts can watch it
  const crashes =
    writerMode === 'worker'
      ? counterIn(
          registry,
          WRITER_CRASHES_METRIC,
          'Ledger writer threads that died unexpectedly (their batch in flight is re-buffered and retried on a new thread)',
          [],
        )
      : null
  let backend
  try {
    await store.setMeta(`public_key:${signer.keyId}`, signer.publicKeyPem)
    backend =
      options.backend ??
      (writerMode === 'worker'
        ? await startChainWorker({
            url,
            baseDir,
            signingKeyPath: absoluteKeyPath,
            keyId: signer.keyId,
            blockRows,
            blockMaxAgeMs,
            now,
            onQuarantine: (record) => options.onError?.(quarantineError(record)),
            onCrash: (error) => {
              crashes?.inc()
              options.onError?.(error)
            },
            ...(options.workerEntry === undefined ? {} : { entry: options.workerEntry }),
          })
        : await inProcessChainBackend(
            {
              store,
              signer,
              hash: sha256Hex,
              onQuarantine: (record) => options.onError?.(quarantineError(record)),
            },
            { blockRows, blockMaxAgeMs },
            now(),
          ))
  } catch (error) {
    await store.close()
    throw error
  }
  const sink = startLedgerWriter(
    {
      backend,
      now,
      onDropped: (rows, reason) => {
        counter.inc({ reason }, rows)
      },
      ...(options.onError === undefined ? {} : { onError: options.onError }),
    },
    {
      flushIntervalMs: Math.min(options.flushIntervalMs ?? 100, 250),
      batchRows: options.batchRows ?? 2000,
      bufferRows: options.bufferRows ?? 200_000,
      blockMaxAgeMs,
    },
  )

  async function prune(): Promise<number> {
    if (options.retentionDays === undefined || options.retentionDays === null) return 0
    await sink.flush()
    const at = now()
    const result = await store.prune(at - options.retentionDays * DAY_MS)
    if (result === null) return 0
    await sink.writeNow([
      { kind: 'retention', at_ms: at, before_ms: at - options.retentionDays * DAY_MS, ...result },
    ])
    return result.rows
  }

  const retentionTimer =
    options.retentionDays === undefined || options.retentionDays === null
      ? null
      : setInterval(() => {
          prune().catch((error: unknown) => options.onError?.(error))
        }, RETENTION_EVERY_MS)
  retentionTimer?.unref()

  return {
    store,
    sink,
    signer,
    writerMode,
    prune,
    async close() {
      if (retentionTimer !== null) clearInterval(retentionTimer)
      try {
        await sink.close()
      } finally {
        await store.close()
      }
    },
  }
}

/** `'auto'` resolved; `'worker'` refused where the database cannot be shared with a thread. */
function resolveWriterMode(url: string, mode: LedgerWriterMode): 'in-process' | 'worker' {
  const memory = url === 'sqlite::memory:' || url === 'sqlite:'
  if (mode === 'auto') return memory ? 'in-process' : 'worker'
  if (mode === 'worker' && memory) {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `an in-memory SQLite ledger (${url}) lives in one connection and cannot be written from the ledger writer thread: use a file, or writer 'in-process'`,
    )
  }
  return mode
}
