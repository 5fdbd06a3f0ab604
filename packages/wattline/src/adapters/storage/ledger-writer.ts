/**
 * @module adapters/storage/ledger-writer
 * The bounded asynchronous batch writer: the gateway's `LedgerSink`. `append` only pushes onto an
 * in-memory buffer (never awaits, never throws); a timer flushes every `flushIntervalMs` (≤ 250),
 * and a full batch flushes at once. Each flush chains the rows, seals full (or old) blocks, signs
 * them, computes the rows' rollups and writes all of it in one transaction.
 *
 * When the buffer is full, rows are dropped and counted: in `wattline_ledger_dropped_rows_total`
 * and, at the next flush, as a chained `dropped` record in the ledger itself. Never silent.
 *
 * Several writers may share one ledger (`wattline gate` next to a running gateway, gateway
 * replicas on one PostgreSQL): the store refuses a batch that does not start at the chain's tail,
 * and the writer then re-reads the tail, chains the same records again after it and retries once
 * at once (later flushes start from a fresh tail too). The chain never forks.
 */
import {
  openBlock,
  recordJson,
  rollUp,
  rowHash,
  sealBlock,
  GENESIS_HASH,
  type AuditRecord,
  type ChainedRow,
  type DroppedRowsRecord,
  type HashText,
  type LedgerRecord,
  type LedgerSink,
  type LedgerStore,
  type OpenBlock,
  type SignedBlockHeader,
} from '@wattline/core'
import type { LedgerSigner } from './signing-key.ts'

export interface LedgerWriterOptions {
  /** Longest wait of a buffered row, ms (≤ 250). */
  readonly flushIntervalMs: number
  /** A flush starts at once when this many rows are buffered. */
  readonly batchRows: number
  /** Buffer bound; beyond it rows are dropped and counted. */
  readonly bufferRows: number
  /** Rows per block. */
  readonly blockRows: number
  /** A partly filled block is sealed at the end of a flush once it is this old, ms. */
  readonly blockMaxAgeMs: number
}

export interface LedgerWriterDeps {
  readonly store: LedgerStore
  readonly signer: LedgerSigner
  readonly hash: HashText
  /** Wall clock, epoch ms (seal times, dropped-row records). */
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

/** Starts a writer, resuming the chain where the store left it. */
export async function startLedgerWriter(
  deps: LedgerWriterDeps,
  options: LedgerWriterOptions,
): Promise<LedgerWriter> {
  let open: OpenBlock = await resumeBlock(deps.store)
  let openedAtMs = deps.now()
  /** Set after a failed append: the chain may have moved under another writer. */
  let stale = false
  let buffer: AuditRecord[] = []
  let pendingDropped = 0
  let droppedSince = 0
  let written = 0
  let droppedTotal = 0
  let blocks = 0
  let closed = false
  let queue: Promise<void> = Promise.resolve()
  let flushQueued = false
  const keepJson = deps.store.appendsFromJson === true

  const drop = (rows: number, reason: DroppedRowsRecord['reason']): void => {
    if (pendingDropped === 0) droppedSince = deps.now()
    pendingDropped += rows
    droppedTotal += rows
    deps.onDropped?.(rows, reason)
  }

  const seal = (sealed: SignedBlockHeader[]): void => {
    const header = sealBlock(open, deps.now(), deps.hash)
    sealed.push({ ...header, signature: deps.signer.sign(header.hash), key_id: deps.signer.keyId })
    open = openBlock(header.seq + 1, header.hash)
    openedAtMs = deps.now()
  }

  /** Chains `records` after the open block: their rows and the blocks they fill (signed). */
  function chain(
    records: readonly AuditRecord[],
    sealAll: boolean,
  ): { rows: ChainedRow[]; sealed: SignedBlockHeader[] } {
    const rows: ChainedRow[] = []
    const sealed: SignedBlockHeader[] = []
    for (const record of records) {
      if (open.rows === 0) openedAtMs = deps.now()
      // appendToBlock's steps, keeping the canonical JSON when the store writes rows from it
      const json = recordJson(record)
      const row_hash = rowHash(open.head, json, deps.hash)
      const block_seq = open.seq
      const row_idx = open.rows
      rows.push(
        keepJson
          ? { block_seq, row_idx, row_hash, record, json }
          : { block_seq, row_idx, row_hash, record },
      )
      open = { seq: open.seq, prev_hash: open.prev_hash, head: row_hash, rows: open.rows + 1 }
      if (open.rows >= options.blockRows) seal(sealed)
    }
    if (open.rows > 0 && (sealAll || deps.now() - openedAtMs >= options.blockMaxAgeMs)) seal(sealed)
    return { rows, sealed }
  }

  /** Chains and appends; on failure re-reads the chain tail and tries once more. */
  async function chainAndAppend(records: readonly AuditRecord[], sealAll: boolean): Promise<void> {
    const before = { open, openedAtMs }
    const rollups = rollUp(records)
    let batch = chain(records, sealAll)
    try {
      await deps.store.append({ rows: batch.rows, blocks: batch.sealed, rollups })
    } catch (first) {
      open = before.open
      openedAtMs = before.openedAtMs
      try {
        open = await resumeBlock(deps.store)
      } catch {
        throw first // the database is unreachable: the caller re-buffers
      }
      const resumed = { open, openedAtMs }
      batch = chain(records, sealAll)
      try {
        await deps.store.append({ rows: batch.rows, blocks: batch.sealed, rollups })
      } catch (second) {
        open = resumed.open
        openedAtMs = resumed.openedAtMs
        throw second
      }
    }
    written += batch.rows.length
    blocks += batch.sealed.length
  }

  async function flushOnce(sealAll: boolean): Promise<void> {
    if (stale) {
      try {
        open = await resumeBlock(deps.store)
      } catch (error) {
        deps.onError?.(error) // the database is still unreachable; the buffer waits
        throw error
      }
      stale = false
    }
    const records = buffer
    buffer = []
    if (pendingDropped > 0) {
      records.unshift({
        kind: 'dropped',
        at_ms: deps.now(),
        since_ms: droppedSince,
        rows: pendingDropped,
        reason: 'buffer_full',
      })
      pendingDropped = 0
    }
    const aged = open.rows > 0 && deps.now() - openedAtMs >= options.blockMaxAgeMs
    if (records.length === 0 && !(open.rows > 0 && (sealAll || aged))) return
    try {
      await chainAndAppend(records, sealAll)
    } catch (error) {
      stale = true
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
    enqueue(false).catch(() => undefined) // reported through onError; retried next tick
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
    async close(): Promise<void> {
      if (closed) return queue
      closed = true
      clearInterval(timer)
      await enqueue(true)
    },
    stats(): LedgerWriterStats {
      return { buffered: buffer.length, written, dropped: droppedTotal, blocks }
    },
  }
}

/** The open block where the store's chain stands: after its last sealed block and open rows. */
async function resumeBlock(store: LedgerStore): Promise<OpenBlock> {
  const tail = await store.chainTail()
  const block = openBlock(
    tail.last === null ? 0 : tail.last.seq + 1,
    tail.last === null ? GENESIS_HASH : tail.last.hash,
  )
  const lastOpen = tail.open[tail.open.length - 1]
  return lastOpen === undefined
    ? block
    : { ...block, head: lastOpen.row_hash, rows: tail.open.length }
}
