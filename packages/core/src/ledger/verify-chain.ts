/**
 * @module ledger/verify-chain
 * Checks a ledger's chain block by block, and names the first bad block and row. It is incremental
 * (`createChainVerifier`) so that a store can page through millions of rows with bounded memory.
 *
 * How each tampering shows up, for rows read back in `row_idx` order:
 * 1. a row whose running hash does not match is `row_reordered` when its stored hash matches another
 *    row of the block as predecessor (it was moved), else `row_modified`;
 * 2. a repeated index, or more rows than the header counts, is `row_inserted`;
 * 3. a gap in indices, or fewer rows than counted, is `row_deleted`;
 * 4. a header whose hash does not recompute is `block_hash`, a broken link `block_link`, a gap in
 *    block numbers `block_missing`, and a signature that does not verify `signature`.
 */
import { blockHash, GENESIS_HASH, recordJson, rowHash, type HashText } from './chain.ts'
import type { SignedBlockHeader } from './chain.ts'
import type { AuditRecord } from './audit-records.ts'

export const CHAIN_FAILURES = [
  'row_modified',
  'row_inserted',
  'row_deleted',
  'row_reordered',
  'block_hash',
  'block_link',
  'block_missing',
  'signature',
] as const
export type ChainFailureKind = (typeof CHAIN_FAILURES)[number]

/** The first problem found. `row` is the row index inside `block`, or null for header problems. */
export interface ChainFailure {
  readonly kind: ChainFailureKind
  readonly block: number
  readonly row: number | null
  readonly message: string
}

/** A row as read back: its position, the stored running hash and the record rebuilt from columns. */
export interface StoredRow {
  readonly block_seq: number
  readonly row_idx: number
  readonly row_hash: string
  readonly record: AuditRecord
}

/** Checks a signature over a block hash; null when no key was given (signatures then unchecked). */
export type VerifySignature = (hashHex: string, signatureB64: string, keyId: string) => boolean

export interface ChainVerifierDeps {
  readonly hash: HashText
  readonly verifySignature: VerifySignature | null
  /** Blocks whose rows retention has pruned (from chained `retention` records): header-only checks. */
  readonly prunedBlocks?: (seq: number) => boolean
  /** Start mid-chain (an audit bundle): the first block's number and its predecessor's hash. */
  readonly start?: { readonly seq: number; readonly prev_hash: string }
}

/** Totals of a successful check. */
export interface ChainSummary {
  readonly blocks: number
  readonly rows: number
  readonly pruned_blocks: number
  readonly signatures_checked: number
  /** Hash of the last sealed block: publish it to detect truncation later. */
  readonly head: string
}

export type ChainVerdict =
  | { readonly ok: true; readonly summary: ChainSummary }
  | { readonly ok: false; readonly failure: ChainFailure; readonly summary: ChainSummary }

export interface ChainVerifier {
  /** Checks one sealed block and its rows; returns the first failure, or null. */
  block(header: SignedBlockHeader, rows: readonly StoredRow[]): ChainFailure | null
  /** The verdict so far. */
  verdict(): ChainVerdict
}

/** Creates a verifier; feed it blocks in ascending `seq` order. */
export function createChainVerifier(deps: ChainVerifierDeps): ChainVerifier {
  let expectedSeq = deps.start?.seq ?? 0
  let prevHash = deps.start?.prev_hash ?? GENESIS_HASH
  let blocks = 0
  let rows = 0
  let pruned = 0
  let signatures = 0
  let failure: ChainFailure | null = null

  const summary = (): ChainSummary => ({
    blocks,
    rows,
    pruned_blocks: pruned,
    signatures_checked: signatures,
    head: prevHash,
  })

  function check(header: SignedBlockHeader, stored: readonly StoredRow[]): ChainFailure | null {
    if (header.seq !== expectedSeq) {
      return fail('block_missing', expectedSeq, null, `block ${expectedSeq} is missing`)
    }
    if (header.prev_hash !== prevHash) {
      return fail(
        'block_link',
        header.seq,
        null,
        `prev_hash does not match block ${header.seq - 1}`,
      )
    }
    if (blockHash(header, deps.hash) !== header.hash) {
      return fail('block_hash', header.seq, null, 'header fields do not match the block hash')
    }
    if (deps.verifySignature !== null) {
      if (!deps.verifySignature(header.hash, header.signature, header.key_id)) {
        return fail(
          'signature',
          header.seq,
          null,
          `signature does not verify (key ${header.key_id})`,
        )
      }
      signatures += 1
    }
    if (stored.length === 0 && header.row_count > 0 && deps.prunedBlocks?.(header.seq) === true) {
      pruned += 1
      return null
    }
    return checkRows(header, stored, deps.hash)
  }

  return {
    block(header, stored) {
      if (failure !== null) return failure
      failure = check(header, stored)
      if (failure === null) {
        blocks += 1
        rows += stored.length
        prevHash = header.hash
        expectedSeq = header.seq + 1
      }
      return failure
    },
    verdict() {
      return failure === null
        ? { ok: true, summary: summary() }
        : { ok: false, failure, summary: summary() }
    },
  }
}

function checkRows(
  header: SignedBlockHeader,
  rows: readonly StoredRow[],
  hash: HashText,
): ChainFailure | null {
  const seq = header.seq
  let head = header.prev_hash
  for (let i = 0; i < rows.length; i += 1) {
    const row = rows[i] as StoredRow
    if (row.row_idx < i)
      return fail('row_inserted', seq, row.row_idx, 'a second row has this index')
    if (row.row_idx > i) return fail('row_deleted', seq, i, 'this row is missing')
    if (i >= header.row_count) {
      return fail('row_inserted', seq, i, `the block was sealed with ${header.row_count} rows`)
    }
    const json = recordJson(row.record)
    const expected = rowHash(head, json, hash)
    if (expected !== row.row_hash) {
      const moved = wasMoved(header.prev_hash, rows, row, json, hash)
      return moved
        ? fail('row_reordered', seq, i, `${describe(row.record)} was moved from another position`)
        : fail('row_modified', seq, i, `${describe(row.record)} does not match its hash`)
    }
    head = expected
  }
  if (rows.length < header.row_count) {
    return fail(
      'row_deleted',
      seq,
      rows.length,
      `the block was sealed with ${header.row_count} rows`,
    )
  }
  if (head !== header.rows_head) {
    return fail('row_modified', seq, null, 'stored row hashes were rewritten after sealing')
  }
  return null
}

/** True when the row's stored hash chains from some other row (or the block start): it moved. */
function wasMoved(
  start: string,
  rows: readonly StoredRow[],
  row: StoredRow,
  json: string,
  hash: HashText,
): boolean {
  if (rowHash(start, json, hash) === row.row_hash) return true
  return rows.some((other) => other !== row && rowHash(other.row_hash, json, hash) === row.row_hash)
}

function describe(record: AuditRecord): string {
  const id = 'id' in record ? ` ${record.id}` : ''
  return `${record.kind}${id}`
}

function fail(
  kind: ChainFailureKind,
  block: number,
  row: number | null,
  message: string,
): ChainFailure {
  return { kind, block, row, message }
}

export * from './verify-tail.ts'
