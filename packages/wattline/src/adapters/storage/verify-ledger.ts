/**
 * @module adapters/storage/verify-ledger
 * Verifies a stored ledger page by page (bounded memory) with core's chain verifier, and writes
 * and reads audit bundles: JSON Lines an auditor can check offline with only the public key.
 *
 * Bundle format (one JSON object per line):
 * 1. `{"type":"header","format":"wattline-audit-bundle","version":1,"created_at","from","to",
 *    "first_block","last_block","pruned":[[first,last],…],"public_keys":[{"key_id","pem"}]}`
 * 2. per block: `{"type":"block",…SignedBlockHeader}` then its rows
 *    `{"type":"row","block_seq","row_idx","row_hash","record":{…}}` in `row_idx` order;
 * 3. `{"type":"end","blocks":N,"rows":N,"head":"<last block hash>"}` (a truncated file has none).
 */
import {
  checkTail,
  createChainVerifier,
  GENESIS_HASH,
  WattlineError,
  type AuditRecord,
  type ChainVerdict,
  type ChainVerifier,
  type LedgerStore,
  type PrunedRange,
  type SignedBlockHeader,
  type StoredRow,
  type TailProblem,
  type TailVerdict,
  type VerifySignature,
} from '@wattline/core'
import { sha256Hex } from './signing-key.ts'

/** Blocks read per page while verifying or exporting. */
const PAGE_BLOCKS = 64
/** Times `verifyLedger` catches up with blocks sealed while it ran, before giving up. */
const MAX_CATCH_UP_ROUNDS = 100

/** Rows a writer quarantined on resume (a chained `quarantine` record), with its reasons. */
export interface QuarantinedRows {
  readonly at_ms: number
  readonly block_seq: number
  readonly kept_rows: number
  readonly last_block: number
  readonly rows: number
  readonly problems: readonly TailProblem[]
}

/** The verdict plus what could not be covered. */
export interface LedgerVerification {
  readonly verdict: ChainVerdict
  /** Rows written after the last sealed block (sealed at the next flush); not yet covered. */
  readonly unsealed_rows: number
  /** The unsealed tail checked against the writer's checkpoints; null when the chain failed first. */
  readonly tail: TailVerdict | null
  /** Rows quarantined by a writer: tampering it found in an unsealed tail. */
  readonly quarantined: readonly QuarantinedRows[]
}

const inRanges =
  (ranges: readonly PrunedRange[]) =>
  (seq: number): boolean =>
    ranges.some((r) => seq >= r.first_block && seq <= r.last_block)

/** Checks the whole chain of `store`. `verifySignature` null: signatures are not checked. */
export async function verifyLedger(
  store: LedgerStore,
  verifySignature: VerifySignature | null,
): Promise<LedgerVerification> {
  const verifier = createChainVerifier({
    hash: sha256Hex,
    verifySignature,
    prunedBlocks: inRanges(await store.prunedRanges()),
  })
  const readQuarantines = async (): Promise<QuarantinedRows[]> =>
    (await store.quarantines()).map((q) => ({
      at_ms: q.at_ms,
      block_seq: q.first_block,
      kept_rows: q.kept_rows,
      last_block: q.last_block,
      rows: q.rows,
      problems: parseReasons(q.reasons),
    }))
  let quarantined = await readQuarantines()
  /** Rows a quarantine left out of block `seq`: the block was sealed without them. */
  const keptOf = (seq: number): number | null => {
    for (const q of quarantined) {
      if (seq === q.block_seq) return q.kept_rows
      if (seq > q.block_seq && seq <= q.last_block) return 0
    }
    return null
  }
  /** The verdict for rows found where no sealed block accounts for them. */
  const inserted = (
    seq: number,
    list: readonly { readonly row_idx: number }[],
    message: string,
  ): LedgerVerification => ({
    verdict: {
      ok: false,
      failure: { kind: 'row_inserted', block: seq, row: list[0]?.row_idx ?? 0, message },
      summary: verifier.verdict().summary,
    },
    unsealed_rows: 0,
    tail: null,
    quarantined,
  })
  let lastSealed = -1
  /** Checks sealed blocks `first…last` page by page; the failed verification, or null. */
  const checkSealed = async (first: number, last: number): Promise<LedgerVerification | null> => {
    for (let from = first; from <= last; from += PAGE_BLOCKS) {
      const to = Math.min(last, from + PAGE_BLOCKS - 1)
      const headers = await store.readBlocks(from, to)
      const rows = await store.readRows(from, to)
      for (const header of headers) {
        const stored = rows.get(header.seq) ?? []
        const kept = keptOf(header.seq)
        const sealedRows = kept === null ? stored : stored.filter((r) => r.row_idx < kept)
        if (verifier.block(header, sealedRows) !== null) {
          return { verdict: verifier.verdict(), unsealed_rows: 0, tail: null, quarantined }
        }
        lastSealed = header.seq
      }
      // rows in a block number that has no header, below the last sealed block: inserted
      for (const [seq, list] of rows) {
        if (!headers.some((h) => h.seq === seq) && seq <= last) {
          return inserted(seq, list, `block ${seq} has ${list.length} rows but no sealed header`)
        }
      }
    }
    return null
  }
  const range = await store.blockRange()
  if (range !== null) {
    const failed = await checkSealed(0, range.last)
    if (failed !== null) return failed
  }
  // The tail is read in one snapshot; blocks sealed meanwhile (a live gateway) are checked first.
  for (let round = 1; ; round += 1) {
    const stored = await store.chainTail()
    const lastSeq = stored.last?.seq ?? -1
    if (lastSeq > lastSealed) {
      if (round > MAX_CATCH_UP_ROUNDS) {
        throw new WattlineError(
          'WL_LEDGER_WRITE',
          `the ledger kept growing while it was verified (${MAX_CATCH_UP_ROUNDS} rounds); try again`,
        )
      }
      quarantined = await readQuarantines()
      const failed = await checkSealed(lastSealed + 1, lastSeq)
      if (failed !== null) return failed
      continue
    }
    const tail = checkTail(
      {
        seq: lastSealed + 1,
        prev_hash: stored.last?.hash ?? GENESIS_HASH,
        rows: stored.open,
        beyond: stored.beyond ?? new Map(),
        checkpoints: stored.checkpoints ?? [],
      },
      { hash: sha256Hex, verifySignature },
    )
    return { verdict: verifier.verdict(), unsealed_rows: tail.rows, tail, quarantined }
  }
}

/** A quarantine record's `reasons` (compact JSON written by the writer). */
function parseReasons(text: string): TailProblem[] {
  try {
    const value: unknown = JSON.parse(text)
    if (Array.isArray(value)) return value as TailProblem[]
  } catch {
    // reported below as unreadable
  }
  return [{ kind: 'row_modified', block: -1, first_row: null, last_row: null, message: text }]
}

/** Bundle header line. */
export interface BundleHeader {
  readonly type: 'header'
  readonly format: 'wattline-audit-bundle'
  readonly version: 1
  readonly created_at: string
  readonly from: string
  readonly to: string
  readonly first_block: number | null
  readonly last_block: number | null
  readonly pruned: readonly (readonly [number, number])[]
  readonly public_keys: readonly { readonly key_id: string; readonly pem: string }[]
}

/**
 * Writes the blocks sealed in [fromMs, toMs) as bundle lines through `write` (awaited, so a file
 * stream's back-pressure holds). Resolves to the numbers written.
 */
export async function exportBundle(
  store: LedgerStore,
  window: { readonly from_ms: number; readonly to_ms: number; readonly created_ms: number },
  write: (line: string) => Promise<void>,
): Promise<{ blocks: number; rows: number; head: string | null }> {
  const range = await store.blockRange({ from_ms: window.from_ms, to_ms: window.to_ms })
  const keys: { key_id: string; pem: string }[] = []
  const pruned = (await store.prunedRanges()).map((r) => [r.first_block, r.last_block] as const)
  const header: BundleHeader = {
    type: 'header',
    format: 'wattline-audit-bundle',
    version: 1,
    created_at: new Date(window.created_ms).toISOString(),
    from: new Date(window.from_ms).toISOString(),
    to: new Date(window.to_ms).toISOString(),
    first_block: range?.first ?? null,
    last_block: range?.last ?? null,
    pruned,
    public_keys: keys,
  }
  let blocks = 0
  let rows = 0
  let head: string | null = null
  const lines: string[] = []
  if (range !== null) {
    for (let from = range.first; from <= range.last; from += PAGE_BLOCKS) {
      const to = Math.min(range.last, from + PAGE_BLOCKS - 1)
      const rowsByBlock = await store.readRows(from, to)
      for (const h of await store.readBlocks(from, to)) {
        if (!keys.some((k) => k.key_id === h.key_id)) {
          const pem = await store.getMeta(`public_key:${h.key_id}`)
          if (pem !== null) keys.push({ key_id: h.key_id, pem })
        }
        lines.push(JSON.stringify({ type: 'block', ...h }))
        for (const r of rowsByBlock.get(h.seq) ?? []) {
          lines.push(
            JSON.stringify({
              type: 'row',
              block_seq: r.block_seq,
              row_idx: r.row_idx,
              row_hash: r.row_hash,
              record: r.record,
            }),
          )
          rows += 1
        }
        blocks += 1
        head = h.hash
      }
    }
  }
  await write(`${JSON.stringify(header)}\n`)
  for (const line of lines) await write(`${line}\n`)
  await write(`${JSON.stringify({ type: 'end', blocks, rows, head })}\n`)
  return { blocks, rows, head }
}

/** Checks a bundle's text offline. Throws `WL_INVALID_INPUT` naming the line for malformed input. */
export function verifyBundle(
  text: string,
  name: string,
  verifySignature: VerifySignature | null,
): { verdict: ChainVerdict; header: BundleHeader } {
  const lines = text.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  const parse = (i: number): Record<string, unknown> => {
    try {
      const v: unknown = JSON.parse(lines[i] as string)
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        throw new Error('not a JSON object')
      return v as Record<string, unknown>
    } catch (cause) {
      throw new WattlineError('WL_INVALID_INPUT', `${name}:${i + 1}: ${(cause as Error).message}`, {
        cause,
      })
    }
  }
  if (lines.length === 0) throw new WattlineError('WL_INVALID_INPUT', `${name}: empty bundle`)
  const header = parse(0)
  if (
    header['type'] !== 'header' ||
    header['format'] !== 'wattline-audit-bundle' ||
    header['version'] !== 1
  ) {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `${name}:1: not a wattline audit bundle (version 1) header`,
    )
  }
  const end = parse(lines.length - 1)
  if (end['type'] !== 'end') {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `${name}:${lines.length}: no end line: the bundle is truncated`,
    )
  }
  const h = header as unknown as BundleHeader
  const pruned = inRanges(
    h.pruned.map(([first, last]) => ({ first_block: first, last_block: last })),
  )
  let verifier: ChainVerifier | null = null
  let block: SignedBlockHeader | null = null
  let rows: StoredRow[] = []
  const finish = (): void => {
    if (block === null) return
    // A bundle starts mid-chain: begin at its first block's stated predecessor.
    verifier ??= createChainVerifier({
      hash: sha256Hex,
      verifySignature,
      prunedBlocks: pruned,
      start: { seq: block.seq, prev_hash: block.prev_hash },
    })
    rows.sort((x, y) => x.row_idx - y.row_idx)
    verifier.block(block, rows)
  }
  for (let i = 1; i < lines.length - 1; i += 1) {
    const line = parse(i)
    if (line['type'] === 'block') {
      finish()
      const { type: _type, ...rest } = line
      block = rest as unknown as SignedBlockHeader
      rows = []
    } else if (line['type'] === 'row') {
      if (block === null) {
        throw new WattlineError('WL_INVALID_INPUT', `${name}:${i + 1}: row before any block`)
      }
      rows.push({
        block_seq: Number(line['block_seq']),
        row_idx: Number(line['row_idx']),
        row_hash: String(line['row_hash']),
        record: line['record'] as AuditRecord,
      })
    } else {
      throw new WattlineError(
        'WL_INVALID_INPUT',
        `${name}:${i + 1}: unknown line type ${JSON.stringify(line['type'])}`,
      )
    }
  }
  finish()
  const empty = { blocks: 0, rows: 0, pruned_blocks: 0, signatures_checked: 0, head: '' }
  const verdict: ChainVerdict = (verifier as ChainVerifier | null)?.verdict() ?? {
    ok: true,
    summary: empty,
  }
  const endBlocks = Number(end['blocks'])
  if (verdict.ok && endBlocks !== verdict.summary.blocks) {
    const missingAt = (h.first_block ?? 0) + verdict.summary.blocks
    return {
      header: h,
      verdict: {
        ok: false,
        failure: {
          kind: 'block_missing',
          block: missingAt,
          row: null,
          message: `the end line counts ${endBlocks} blocks, the bundle holds ${verdict.summary.blocks}`,
        },
        summary: verdict.summary,
      },
    }
  }
  return { verdict, header: h }
}
