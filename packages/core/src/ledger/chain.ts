/**
 * @module ledger/chain
 * The ledger's hash chain. Rows are appended to numbered blocks. Inside a block every row carries a
 * running hash, `row_hash = H(previous row_hash + "\n" + canonical JSON of the row)`, starting from
 * the previous block's hash; a block's hash covers its sequence number, the previous block's hash,
 * its row count and the last row hash, so it covers every row in order. Block hashes are signed
 * (Ed25519) by the shell. SHA-256 comes in as a function: core cannot import node:crypto.
 */
import { canonicalJson, type JsonValue } from './canonical-json.ts'
import type { AuditRecord } from './audit-records.ts'

/** SHA-256 of the UTF-8 bytes of `text`, as 64 lower-case hex digits (node:crypto in the shell). */
export type HashText = (text: string) => string

/** The `prev_hash` of block 0. */
export const GENESIS_HASH = '0'.repeat(64)
/** Version of the hashing scheme, part of every block hash. */
export const CHAIN_VERSION = 1

/** A sealed block's header, as stored in the `blocks` table. */
export interface BlockHeader {
  readonly seq: number
  readonly prev_hash: string
  readonly row_count: number
  /** `row_hash` of the block's last row. */
  readonly rows_head: string
  /** Epoch ms when the block was sealed. */
  readonly sealed_at_ms: number
  readonly hash: string
}

/** A block header with its signature (base64 Ed25519 over the UTF-8 hex `hash`). */
export interface SignedBlockHeader extends BlockHeader {
  readonly signature: string
  /** First 16 hex digits of SHA-256 of the public key (SPKI DER). */
  readonly key_id: string
}

/** Where a row sits in the chain. */
export interface RowPosition {
  readonly block_seq: number
  readonly row_idx: number
  readonly row_hash: string
}

/** The block being filled. */
export interface OpenBlock {
  readonly seq: number
  readonly prev_hash: string
  readonly head: string
  readonly rows: number
}

/** Canonical JSON of a record, the exact text its row hash covers. */
export function recordJson(record: AuditRecord): string {
  return canonicalJson(record as unknown as JsonValue)
}

/** The running hash of a row after `previous` (the previous row's hash, or the previous block's). */
export function rowHash(previous: string, json: string, hash: HashText): string {
  return hash(`${previous}\n${json}`)
}

/** Opens block `seq` after a block whose hash is `prevHash`. */
export function openBlock(seq: number, prevHash: string): OpenBlock {
  return { seq, prev_hash: prevHash, head: prevHash, rows: 0 }
}

/** Appends one record: returns the block's new state and the row's position. */
export function appendToBlock(
  block: OpenBlock,
  record: AuditRecord,
  hash: HashText,
): readonly [OpenBlock, RowPosition] {
  const h = rowHash(block.head, recordJson(record), hash)
  const position: RowPosition = { block_seq: block.seq, row_idx: block.rows, row_hash: h }
  return [{ ...block, head: h, rows: block.rows + 1 }, position]
}

/** The hash a block header must carry. */
export function blockHash(header: Omit<BlockHeader, 'hash'>, hash: HashText): string {
  return hash(
    canonicalJson({
      v: CHAIN_VERSION,
      seq: header.seq,
      prev_hash: header.prev_hash,
      row_count: header.row_count,
      rows_head: header.rows_head,
      sealed_at_ms: header.sealed_at_ms,
    }),
  )
}

/** Seals an open block at `sealedAtMs` (epoch ms). */
export function sealBlock(block: OpenBlock, sealedAtMs: number, hash: HashText): BlockHeader {
  const unsigned = {
    seq: block.seq,
    prev_hash: block.prev_hash,
    row_count: block.rows,
    rows_head: block.head,
    sealed_at_ms: sealedAtMs,
  }
  return { ...unsigned, hash: blockHash(unsigned, hash) }
}

/**
 * The writer's signed statement, written in the same transaction as each batch that leaves rows in
 * the open block: "block `block_seq` holds `row_count` rows whose running hash is `head`". Row
 * hashes are unkeyed (anyone can compute one), so only these checkpoints tell rows the writer wrote
 * from rows inserted, edited or deleted in the database before their block is sealed. Checkpoints of
 * a block are dropped when it is sealed: the block signature covers its rows from then on.
 */
export interface TailCheckpoint {
  readonly block_seq: number
  readonly row_count: number
  readonly head: string
  /** Epoch ms of the flush that wrote it. */
  readonly at_ms: number
  /** Base64 Ed25519 over the UTF-8 hex of `checkpointHash`. */
  readonly signature: string
  readonly key_id: string
}

/**
 * The hash a checkpoint's signature covers. Its canonical JSON has a `checkpoint` member that no
 * block header has, so a checkpoint signature can never stand for a block signature.
 */
export function checkpointHash(
  checkpoint: Pick<TailCheckpoint, 'block_seq' | 'row_count' | 'head' | 'at_ms'>,
  hash: HashText,
): string {
  return hash(
    canonicalJson({
      checkpoint: CHAIN_VERSION,
      seq: checkpoint.block_seq,
      row_count: checkpoint.row_count,
      head: checkpoint.head,
      at_ms: checkpoint.at_ms,
    }),
  )
}
