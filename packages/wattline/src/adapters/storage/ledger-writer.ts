/**
 * @module adapters/storage/ledger-writer
 * The bounded asynchronous batch writer: the gateway's `LedgerSink`. This is its buffering half,
 * which runs on the caller's event loop and does almost nothing there: `append` only pushes onto an
 * in-memory array (never awaits, never throws); a timer hands the buffer over every
 * `flushIntervalMs` (≤ 250), and a full batch is handed over at once. The chaining, hashing,
 * signing and INSERTs happen in a `ChainBackend`: in process (`inProcessChainBackend`, same thread)
 * or in the ledger worker thread (`ledger-writer-thread.ts`), which runs the same chain writer.
 *
 * One batch is in flight at a time; while it is, rows keep buffering. When the buffer is full
 * (the database or the worker lags), rows are dropped and counted: in
 * `wattline_ledger_dropped_rows_total` and, at the next flush, as a chained `dropped` record in the
 * ledger itself. Never silent. A failed write (database down, worker crashed) puts its rows back at
 * the head of the buffer while there is room and counts the rest as `write_failed`.
 */
import type { AuditRecord, DroppedRowsRecord, LedgerRecord, LedgerSink } from '@wattline/core'
import {
  startChainWriter,
  type ChainWriteResult,
  type ChainWriterDeps,
  type ChainWriterOptions,
  type OpenBlockState,
} from './ledger-chain-writer.ts'

export interface LedgerWriterOptions {
  /** Longest wait of a buffered row, ms (≤ 250). */
  readonly flushIntervalMs: number
  /** A flush starts at once when this many rows are buffered. */
  readonly batchRows: number
  /** Buffer bound (rows waiting, not counting the batch in flight); beyond it rows are dropped and counted. */
  readonly bufferRows: number
  /** A partly filled block is sealed at the next flush once it is this old, ms. */
  readonly blockMaxAgeMs: number
}

/** Where batches are chained, signed and written: this thread or the ledger worker thread. */
export interface ChainBackend {
  /** Chains and writes one batch (see `ChainWriter.write`); never called concurrently. */
  write(records: readonly AuditRecord[], sealAll: boolean, atMs: number): Promise<ChainWriteResult>
  /** The open block as of the last write (or the start). */
  state(): OpenBlockState
  /** Releases the backend (stops the worker thread); the store itself is closed by its owner. */
  close(): Promise<void>
}

export interface LedgerWriterDeps {
  readonly backend: ChainBackend
  /** Wall clock, epoch ms (seal times, block ages, dropped-row records): read once per flush. */
  readonly now: () => number
  /** Called for every dropped row (the prom-client counter in production). */
  readonly onDropped?: (rows: number, reason: DroppedRowsRecord['reason']) => void
  /** Called when a write fails (logged by the caller); the rows are re-buffered when room allows. */
  readonly onError?: (error: unknown) => void
}

/** What the writer has done so far. */
export interface LedgerWriterStats {
  readonly buffered: number
  readonly written: number
  readonly dropped: number
  readonly blocks: number
}

export interface LedgerWriter extends LedgerSink {
  /** Like `append`, for every chained kind (gate decisions, releases, retention, …). */
  appendAudit(record: AuditRecord): void
  /** Appends records and resolves once they are durable and their block is sealed. */
  writeNow(records: readonly AuditRecord[]): Promise<void>
  stats(): LedgerWriterStats
}

/** A backend that chains and writes on the calling thread (`writer: 'in-process'`). */
export async function inProcessChainBackend(
  deps: ChainWriterDeps,
  options: ChainWriterOptions,
  atMs: number,
): Promise<ChainBackend> {
  const chain = await startChainWriter(deps, options, atMs)
  return {
    write: (records, sealAll, at) => chain.write(records, sealAll, at),
    state: () => chain.state(),
    close: () => Promise.resolve(),
  }
}

/** Starts the buffering half over a backend (which has resumed the chain already). */
export function startLedgerWriter(
  deps: LedgerWriterDeps,
  options: LedgerWriterOptions,
): LedgerWriter {
  const { backend } = deps
  let buffer: AuditRecord[] = []
  let pendingDropped = 0
  let droppedSince = 0
  let written = 0
  let droppedTotal = 0
  let blocks = 0
  let closed = false
  /** The last write failed: try again even with nothing buffered (resume, surface the error). */
  let failing = false
  let queue: Promise<void> = Promise.resolve()
  let flushQueued = false
  let timerFlushQueued = false

  const drop = (rows: number, reason: DroppedRowsRecord['reason']): void => {
    if (pendingDropped === 0) droppedSince = deps.now()
    pendingDropped += rows
    droppedTotal += rows
    deps.onDropped?.(rows, reason)
  }

  async function flushOnce(sealAll: boolean): Promise<void> {
    const at = deps.now()
    const records = buffer
    buffer = []
    if (pendingDropped > 0) {
      records.unshift({
        kind: 'dropped',
        at_ms: at,
        since_ms: droppedSince,
        rows: pendingDropped,
        reason: 'buffer_full',
      })
      pendingDropped = 0
    }
    if (records.length === 0 && !failing) {
      const open = backend.state()
      const aged = at - open.openedAtMs >= options.blockMaxAgeMs
      if (open.openRows === 0 || !(sealAll || aged)) return
    }
    try {
      const done = await backend.write(records, sealAll, at)
      written += done.rows
      blocks += done.blocks
      failing = false
    } catch (error) {
      failing = true
      const room = Math.max(0, options.bufferRows - buffer.length)
      const keep = records.slice(0, room)
      buffer = [...keep, ...buffer]
      if (records.length > keep.length) drop(records.length - keep.length, 'write_failed')
      deps.onError?.(error)
      throw error
    }
  }

  const enqueue = (sealAll: boolean): Promise<void> => {
    const run = queue.then(() => flushOnce(sealAll))
    queue = run.catch(() => undefined)
    return run
  }

  const timer = setInterval(() => {
    // one timer flush waits at most: a lagging backend does not pile up flushes
    if (timerFlushQueued) return
    timerFlushQueued = true
    const run = queue.then(() => {
      timerFlushQueued = false
      return flushOnce(false)
    })
    queue = run.catch(() => undefined) // reported through onError; retried next tick
  }, options.flushIntervalMs)
  timer.unref()

  const push = (record: AuditRecord): void => {
    if (closed || buffer.length >= options.bufferRows) {
      drop(1, 'buffer_full')
      return
    }
    buffer.push(record)
    if (buffer.length >= options.batchRows && !flushQueued) {
      flushQueued = true
      queueMicrotask(() => {
        flushQueued = false
        enqueue(false).catch(() => undefined)
      })
    }
  }

  let closing: Promise<void> | null = null
  return {
    append(record: LedgerRecord): void {
      push(record)
    },
    appendAudit(record: AuditRecord): void {
      push(record)
    },
    async writeNow(records: readonly AuditRecord[]): Promise<void> {
      buffer.push(...records)
      await enqueue(true)
    },
    flush(): Promise<void> {
      return enqueue(false)
    },
    close(): Promise<void> {
      if (closing !== null) return closing
      closed = true
      clearInterval(timer)
      closing = (async () => {
        try {
          await enqueue(true)
        } finally {
          await backend.close()
        }
      })()
      return closing
    },
    stats(): LedgerWriterStats {
      return { buffered: buffer.length, written, dropped: droppedTotal, blocks }
    },
  }
}
