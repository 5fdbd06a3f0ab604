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
 *
 * The writer never signs what it did not write. Every batch that leaves rows in the open block
 * carries a signed tail checkpoint (block, row count, running hash). Whenever the writer (re)reads
 * the tail, `checkTail` vouches for its rows with the checkpoints signed by the writer's own key;
 * when some do not verify (inserted, edited, deleted), it seals only the vouched-for prefix, leaves
 * the rest unsealed where they lie, and chains a `quarantine` record naming them (`verify` then
 * exits 1 for ever, naming them) before anything else.
 */
import { createPublicKey } from 'node:crypto'
import {
  checkpointHash,
  checkTail,
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
  type QuarantineRecord,
  type SignedBlockHeader,
  type TailCheckpoint,
  type VerifySignature,
  WattlineError,
} from '@wattline/core'
import { createSignatureVerifier, type LedgerSigner } from './signing-key.ts'

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
  /** Told when a resume quarantined rows it could not vouch for (after the record is written). */
  readonly onQuarantine?: (record: QuarantineRecord) => void
}

/** Most empty blocks a quarantine seals around rows found beyond the open block. */
const MAX_QUARANTINE_BLOCKS = 1024

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
  const ownKey = createSignatureVerifier([createPublicKey(deps.signer.publicKeyPem)])
  const resumeBlock = (at: number): Promise<OpenBlock> => resumeAt(deps, ownKey, at)
  let open: OpenBlock = await resumeBlock(atMs)
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
  ): { rows: ChainedRow[]; sealed: SignedBlockHeader[]; checkpoint?: TailCheckpoint } {
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
    return open.rows === 0
      ? { rows, sealed }
      : { rows, sealed, checkpoint: signCheckpoint(deps, open, at) }
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
      await deps.store.append(appendOf(batch, rollups))
    } catch (first) {
      open = before.open
      openedAtMs = before.openedAtMs
      try {
        open = await resumeBlock(at)
      } catch {
        throw first // the database is unreachable: the caller re-buffers
      }
      const resumed = { open, openedAtMs }
      batch = chain(records, sealAll, at)
      try {
        await deps.store.append(appendOf(batch, rollups))
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
        open = await resumeBlock(at) // rejects while the database is unreachable
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

/** The `WL_LEDGER_TAMPERED` error that reports a quarantine (logged by the ledger's opener). */
export function quarantineError(record: QuarantineRecord): WattlineError {
  return new WattlineError(
    'WL_LEDGER_TAMPERED',
    `ledger tail tampered: ${record.rows} rows after block ${record.first_block - 1} were not written by this writer (inserted, edited or deleted in the database); sealed the ${record.kept_rows} rows its checkpoints vouch for, quarantined the rest and recorded it in the chain; run wattline verify`,
    {
      details: { first_block: record.first_block, kept_rows: record.kept_rows, rows: record.rows },
    },
  )
}

function appendOf(
  batch: { rows: ChainedRow[]; sealed: SignedBlockHeader[]; checkpoint?: TailCheckpoint },
  rollups: ReturnType<typeof rollUp>,
) {
  return batch.checkpoint === undefined
    ? { rows: batch.rows, blocks: batch.sealed, rollups }
    : { rows: batch.rows, blocks: batch.sealed, rollups, checkpoint: batch.checkpoint }
}

/** The writer's signed checkpoint of the open block at `atMs`. */
function signCheckpoint(deps: ChainWriterDeps, block: OpenBlock, atMs: number): TailCheckpoint {
  const unsigned = { block_seq: block.seq, row_count: block.rows, head: block.head, at_ms: atMs }
  return {
    ...unsigned,
    signature: deps.signer.sign(checkpointHash(unsigned, deps.hash)),
    key_id: deps.signer.keyId,
  }
}

/**
 * The open block where the store's chain stands: after its last sealed block and the open rows the
 * writer's own checkpoints vouch for. A tail with rows they do not vouch for is quarantined first.
 */
async function resumeAt(
  deps: ChainWriterDeps,
  ownKey: VerifySignature,
  atMs: number,
): Promise<OpenBlock> {
  for (let attempt = 1; ; attempt += 1) {
    const tail = await deps.store.chainTail()
    const seq = tail.last === null ? 0 : tail.last.seq + 1
    const prevHash = tail.last === null ? GENESIS_HASH : tail.last.hash
    const verdict = checkTail(
      {
        seq,
        prev_hash: prevHash,
        rows: tail.open,
        beyond: tail.beyond ?? new Map(),
        checkpoints: tail.checkpoints ?? [],
      },
      { hash: deps.hash, verifySignature: ownKey },
    )
    const vouched: OpenBlock = {
      ...openBlock(seq, prevHash),
      head: verdict.head,
      rows: verdict.authenticated_rows,
    }
    if (verdict.ok) return vouched
    if (verdict.max_block - seq >= MAX_QUARANTINE_BLOCKS) {
      throw new WattlineError(
        'WL_LEDGER_TAMPERED',
        `the ledger holds rows in block ${verdict.max_block}, far after its open block ${seq}: not written by Wattline; remove them (keep a copy as evidence) before writing again`,
      )
    }
    // seal the vouched-for prefix, then empty blocks over any rows found beyond the open block
    const sealed: SignedBlockHeader[] = []
    let block = vouched
    for (let s = seq; s <= verdict.max_block; s += 1) {
      const header = sealBlock(block, atMs, deps.hash)
      sealed.push({
        ...header,
        signature: deps.signer.sign(header.hash),
        key_id: deps.signer.keyId,
      })
      block = openBlock(s + 1, header.hash)
    }
    const record: QuarantineRecord = {
      kind: 'quarantine',
      at_ms: atMs,
      first_block: seq,
      kept_rows: verdict.authenticated_rows,
      last_block: verdict.max_block,
      rows: verdict.rows - verdict.authenticated_rows,
      reasons: JSON.stringify(verdict.problems),
    }
    const row_hash = rowHash(block.head, recordJson(record), deps.hash)
    const after: OpenBlock = { ...block, head: row_hash, rows: 1 }
    try {
      await deps.store.append({
        rows: [{ block_seq: block.seq, row_idx: 0, row_hash, record }],
        blocks: sealed,
        rollups: [],
        checkpoint: signCheckpoint(deps, after, atMs),
        openRowsSeen: {
          block_seq: seq,
          last_row_idx: Math.max(-1, ...tail.open.map((r) => r.row_idx)),
        },
      })
    } catch (error) {
      if (attempt >= 3) throw error
      continue // another writer moved the chain: read the tail again
    }
    deps.onQuarantine?.(record)
    return after
  }
}
