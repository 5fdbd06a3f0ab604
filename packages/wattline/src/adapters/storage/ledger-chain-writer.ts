/**
 * @module adapters/storage/ledger-chain-writer
 * The CPU and database half of the ledger's batch writer: given a batch of records, chains them
 * after the ledger's tail (canonical JSON + SHA-256 per row), seals full (or old) blocks and signs
 * them (Ed25519), computes the rows' per-minute rollups and writes all of it in one transaction.
 *
 * It runs wherever the writer's `write` runs: on the caller's thread (`writer: 'in-process'`) or
 * inside the ledger worker thread (`ledger-worker.ts`), the same code either way, so both modes
 * write byte-identical chains. It holds no timer and reads no clock: every call carries its time
 * (`atMs`), taken once per flush by the buffering half (`ledger-writer.ts`).
 *
 * Several writers may share one ledger: the store refuses a batch that does not start at the
 * chain's tail; the chain writer then re-reads the tail, chains the same records again after it and
 * retries once at once (after a failure, the next write starts from a fresh tail too).
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
  type HashText,
  type LedgerStore,
  type OpenBlock,
  type SignedBlockHeader,
} from '@wattline/core'
import type { LedgerSigner } from './signing-key.ts'

/** Where the open block stands after a write (mirrored by the buffering half). */
export interface OpenBlockState {
  /** Rows in the open (unsealed) block. */
  readonly openRows: number
  /** When the open block got its first row, epoch ms. */
  readonly openedAtMs: number
}

/** What one `write` did. */
export interface ChainWriteResult extends OpenBlockState {
  /** Rows written. */
  readonly rows: number
  /** Blocks sealed and signed. */
  readonly blocks: number
}

/** Chains and writes batches; one call at a time. */
export interface ChainWriter {
  /**
   * Chains `records` after the tail and writes them with the blocks they fill, in one transaction.
   * `sealAll` also seals the open block; a partly filled block older than `blockMaxAgeMs` at `atMs`
   * is sealed anyway. With no records and nothing to seal it writes nothing. Rejects with the
   * store's error (`WL_LEDGER_WRITE`); nothing of the batch is then written.
   */
  write(records: readonly AuditRecord[], sealAll: boolean, atMs: number): Promise<ChainWriteResult>
  /** The open block now. */
  state(): OpenBlockState
}

export interface ChainWriterDeps {
  readonly store: LedgerStore
  readonly signer: LedgerSigner
  readonly hash: HashText
}

export interface ChainWriterOptions {
  /** Rows per block. */
  readonly blockRows: number
  /** A partly filled block is sealed at the end of a write once it is this old, ms. */
  readonly blockMaxAgeMs: number
}

/** A chain writer resuming where the store's chain stands; `atMs` starts the open block's age. */
export async function startChainWriter(
  deps: ChainWriterDeps,
  options: ChainWriterOptions,
  atMs: number,
): Promise<ChainWriter> {
  let open: OpenBlock = await resumeBlock(deps.store)
  let openedAtMs = atMs
  /** Set after a failed append: the chain may have moved under another writer. */
  let stale = false
  const keepJson = deps.store.appendsFromJson === true

  const seal = (sealed: SignedBlockHeader[], at: number): void => {
    const header = sealBlock(open, at, deps.hash)
    sealed.push({ ...header, signature: deps.signer.sign(header.hash), key_id: deps.signer.keyId })
    open = openBlock(header.seq + 1, header.hash)
    openedAtMs = at
  }

  /** Chains `records` after the open block: their rows and the blocks they fill (signed). */
  function chain(
    records: readonly AuditRecord[],
    sealAll: boolean,
    at: number,
  ): { rows: ChainedRow[]; sealed: SignedBlockHeader[] } {
    const rows: ChainedRow[] = []
    const sealed: SignedBlockHeader[] = []
    for (const record of records) {
      if (open.rows === 0) openedAtMs = at
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
      if (open.rows >= options.blockRows) seal(sealed, at)
    }
    if (open.rows > 0 && (sealAll || at - openedAtMs >= options.blockMaxAgeMs)) seal(sealed, at)
    return { rows, sealed }
  }

  /** Chains and appends; on failure re-reads the chain tail and tries once more. */
  async function chainAndAppend(
    records: readonly AuditRecord[],
    sealAll: boolean,
    at: number,
  ): Promise<{ rows: number; blocks: number }> {
    const before = { open, openedAtMs }
    const rollups = rollUp(records)
    let batch = chain(records, sealAll, at)
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
      batch = chain(records, sealAll, at)
      try {
        await deps.store.append({ rows: batch.rows, blocks: batch.sealed, rollups })
      } catch (second) {
        open = resumed.open
        openedAtMs = resumed.openedAtMs
        throw second
      }
    }
    return { rows: batch.rows.length, blocks: batch.sealed.length }
  }

  const state = (): OpenBlockState => ({ openRows: open.rows, openedAtMs })

  return {
    state,
    async write(records, sealAll, at) {
      if (stale) {
        open = await resumeBlock(deps.store) // rejects while the database is unreachable
        stale = false
      }
      const aged = open.rows > 0 && at - openedAtMs >= options.blockMaxAgeMs
      if (records.length === 0 && !(open.rows > 0 && (sealAll || aged))) {
        return { rows: 0, blocks: 0, ...state() }
      }
      try {
        const done = await chainAndAppend(records, sealAll, at)
        return { ...done, ...state() }
      } catch (error) {
        stale = true
        throw error
      }
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
