/**
 * @module ports/ledger-store
 * Where the ledger lives. The batch writer appends chained rows, sealed blocks and rollups in one
 * transaction; `verify`, `export`, `gate` and reports read them back. Records come back exactly as
 * they went in (same field values and types), because their hashes depend on it.
 */
import type {
  AuditKind,
  AuditRecord,
  QuarantineRecord,
  ReleaseRecord,
} from '../ledger/audit-records.ts'
import type { RowPosition, SignedBlockHeader, TailCheckpoint } from '../ledger/chain.ts'
import type { RequestRecord } from '../ledger/records.ts'
import type { RollupRow } from '../ledger/rollup.ts'
import type { StoredRow } from '../ledger/verify-chain.ts'

/** A record with its place in the chain. */
export interface ChainedRow extends RowPosition {
  readonly record: AuditRecord
  /**
   * `recordJson(record)` when the writer already computed it for the row hash. A store may write
   * the row from this text (it is exactly what the hash covers) instead of serialising again.
   */
  readonly json?: string
}

/** One atomic append. */
export interface AppendBatch {
  readonly rows: readonly ChainedRow[]
  /** Blocks sealed by this batch (their rows are in this batch or earlier ones). */
  readonly blocks: readonly SignedBlockHeader[]
  /** Per-minute aggregates to add into existing ones. */
  readonly rollups: readonly RollupRow[]
  /**
   * The writer's signed statement of the open block after this batch (absent when the batch leaves
   * it empty). Checkpoints of blocks this batch seals are dropped in the same transaction.
   */
  readonly checkpoint?: TailCheckpoint
  /**
   * For a quarantine: the highest row index the writer saw in block `block_seq` (-1: none). The
   * append fails as "the chain moved" if that block holds a later row by then, so honest rows
   * another writer appended meanwhile are never left out of the sealed block.
   */
  readonly openRowsSeen?: { readonly block_seq: number; readonly last_row_idx: number }
}

/** Where the chain stands, to resume after a restart. */
export interface ChainTail {
  readonly last: SignedBlockHeader | null
  /** Rows already written into the open (unsealed) block, in `row_idx` order. */
  readonly open: readonly StoredRow[]
  /** Rows found in blocks after the open one (none unless someone wrote them by hand), by block. */
  readonly beyond?: ReadonlyMap<number, readonly StoredRow[]>
  /** The writer's checkpoints of the open block (`checkTail` vouches for rows with them). */
  readonly checkpoints?: readonly TailCheckpoint[]
}

/** Block numbers whose high-volume rows retention has removed, inclusive ranges. */
export interface PrunedRange {
  readonly first_block: number
  readonly last_block: number
}

/** What a retention run removed. */
export interface PruneResult {
  readonly rows: number
  readonly first_block: number
  readonly last_block: number
}

/** Time filter, epoch ms, `from` inclusive and `to` exclusive. */
export interface TimeRange {
  readonly from_ms: number
  readonly to_ms: number
}

/** Kinds that retention prunes (per-request and per-sample rows); the rest stay. */
export const PRUNABLE_KINDS = [
  'request',
  'power',
  'idle',
  'intensity',
] as const satisfies readonly AuditKind[]

export interface LedgerStore {
  /** Dialect name for messages (`sqlite`, `postgres`). */
  readonly dialect: string
  /**
   * True when `append` writes rows from `ChainedRow.json`; writers pass the JSON only then (holding
   * a batch's JSON text until it is written costs memory and garbage-collection time).
   */
  readonly appendsFromJson?: boolean
  /** Applies pending forward-only migrations; resolves to the schema version. */
  migrate(): Promise<number>
  /** Writes a batch atomically (all or nothing). Fails only with `WL_LEDGER_WRITE`. */
  append(batch: AppendBatch): Promise<void>
  chainTail(): Promise<ChainTail>
  /** Sealed block headers with `from ≤ seq ≤ to`, ascending. */
  readBlocks(fromSeq: number, toSeq: number): Promise<readonly SignedBlockHeader[]>
  /** Rows of blocks `from…to`, each block's rows in `row_idx` order (duplicates kept). */
  readRows(fromSeq: number, toSeq: number): Promise<ReadonlyMap<number, readonly StoredRow[]>>
  /** Lowest and highest sealed block numbers sealed inside `range`, or null. */
  blockRange(range?: TimeRange): Promise<{ readonly first: number; readonly last: number } | null>
  /** Ranges recorded by chained `retention` records. */
  prunedRanges(): Promise<readonly PrunedRange[]>
  /** Chained `quarantine` records, in chain order. */
  quarantines(): Promise<readonly QuarantineRecord[]>
  /** Removes prunable rows of sealed blocks sealed before `beforeMs`; null when nothing to prune. */
  prune(beforeMs: number): Promise<PruneResult | null>
  /** Request records inside `range`, by time; optional service filter and row limit. */
  requests(
    range: TimeRange,
    options?: { readonly service?: string; readonly limit?: number },
  ): Promise<readonly RequestRecord[]>
  /** Per-minute rollups inside `range`, by minute. */
  rollups(range: TimeRange, options?: { readonly service?: string }): Promise<readonly RollupRow[]>
  /** The newest accepted release of a service (and family, null = service-wide). */
  lastAcceptedRelease(service: string, family: string | null): Promise<ReleaseRecord | null>
  /** Small key/value settings (public keys by id). */
  getMeta(key: string): Promise<string | null>
  setMeta(key: string, value: string): Promise<void>
  /** Runs raw SQL for tests and tools (tamper tests, ad-hoc checks). */
  exec(sql: string): Promise<void>
  close(): Promise<void>
}
