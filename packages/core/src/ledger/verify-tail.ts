/**
 * @module ledger/verify-tail
 * Checks the ledger's unsealed tail: the rows after the last sealed block, which no block signature
 * covers yet. Their row hashes are unkeyed, so anyone with database access could insert a row with
 * a correctly computed hash; what tells the writer's rows apart are its signed tail checkpoints
 * (`TailCheckpoint`, one per flush): "block n holds c rows whose running hash is h".
 *
 * The check walks the open block's rows in `row_idx` order and names, as row ranges:
 * - `row_inserted`: a repeated index, rows after the last checkpoint (no checkpoint covers them:
 *   inserted, or written by a build before ledger schema 3), or rows in a block after the open one;
 * - `row_deleted`: a gap in indices, or fewer rows than the last checkpoint counts;
 * - `row_modified`: a row whose stored hash does not chain from its predecessor (content edited),
 *   or rows whose recomputed running hash misses a checkpoint (edited and re-hashed);
 * - `signature`: a checkpoint whose signature does not verify (it is then not used).
 *
 * `authenticated_rows` is the longest prefix that ends at a checkpoint and precedes every problem:
 * the only rows a writer may seal into a signed block.
 */
import { checkpointHash, recordJson, rowHash, type HashText, type TailCheckpoint } from './chain.ts'
import type { AuditRecord } from './audit-records.ts'
import type { ChainFailureKind, StoredRow, VerifySignature } from './verify-chain.ts'

/** The tail as stored: the open block's rows and checkpoints, and any rows in later blocks. */
export interface TailInput {
  /** The open block: one after the last sealed block (0 when none). */
  readonly seq: number
  /** Hash of the last sealed block (`GENESIS_HASH` when none). */
  readonly prev_hash: string
  /** Rows of block `seq`, in `row_idx` order, duplicates kept. */
  readonly rows: readonly StoredRow[]
  /** Rows found in blocks after `seq`, by block. */
  readonly beyond: ReadonlyMap<number, readonly StoredRow[]>
  readonly checkpoints: readonly TailCheckpoint[]
}

export interface TailDeps {
  readonly hash: HashText
  /** Checks checkpoint signatures; null: signatures not checked (every checkpoint counts). */
  readonly verifySignature: VerifySignature | null
}

/** One problem, naming rows `first_row … last_row` of `block` (null: not about rows). */
export interface TailProblem {
  readonly kind: ChainFailureKind
  readonly block: number
  readonly first_row: number | null
  readonly last_row: number | null
  readonly message: string
}

/** What the tail holds and whether the writer's checkpoints vouch for it. */
export interface TailVerdict {
  readonly ok: boolean
  /** The open block. */
  readonly block: number
  /** Rows stored in the tail (open block and beyond). */
  readonly rows: number
  /** Leading rows of the open block vouched for by a checkpoint, before any problem. */
  readonly authenticated_rows: number
  /** Running hash after `authenticated_rows` rows (the block's `prev_hash` when 0). */
  readonly head: string
  /** Checkpoints whose signatures verify. */
  readonly checkpoints: number
  /** When the tail's first row was written, epoch ms (first checkpoint, else the rows' own times). */
  readonly since_ms: number | null
  /** When the tail's last checkpoint was written, epoch ms. */
  readonly last_ms: number | null
  /** Highest block holding a tail row (`block` when none beyond it). */
  readonly max_block: number
  readonly problems: readonly TailProblem[]
}

/** Checks the unsealed tail against the writer's checkpoints. */
export function checkTail(input: TailInput, deps: TailDeps): TailVerdict {
  const problems: TailProblem[] = []
  const seq = input.seq
  const problem = (
    kind: ChainFailureKind,
    first: number | null,
    last: number | null,
    message: string,
    block = seq,
  ): void => {
    problems.push({ kind, block, first_row: first, last_row: last, message })
  }

  const byCount = new Map<number, TailCheckpoint>()
  for (const cp of input.checkpoints) {
    if (cp.block_seq !== seq) continue // a sealed block's leftover: the block signature rules
    const signed =
      deps.verifySignature === null ||
      deps.verifySignature(checkpointHash(cp, deps.hash), cp.signature, cp.key_id)
    if (!signed) {
      problem(
        'signature',
        null,
        null,
        `the checkpoint at row ${cp.row_count} does not verify (key ${cp.key_id})`,
      )
      continue
    }
    if (cp.row_count > 0) byCount.set(cp.row_count, cp)
  }
  const lastCount = Math.max(0, ...byCount.keys())

  let next = 0 // the index expected next
  let contiguous = true // no gap or repeat so far: `running` is the authenticated chain
  let running = input.prev_hash
  let previousStored = input.prev_hash
  let lastMatched = 0
  const matched: { count: number; head: string }[] = [{ count: 0, head: input.prev_hash }]
  for (const row of input.rows) {
    if (row.row_idx < next) {
      problem('row_inserted', row.row_idx, row.row_idx, `a second row has index ${row.row_idx}`)
      contiguous = false
      continue
    }
    const json = recordJson(row.record)
    if (row.row_idx > next) {
      problem(
        'row_deleted',
        next,
        row.row_idx - 1,
        `${span(next, row.row_idx - 1)} missing: the writer wrote them`,
      )
      contiguous = false
    } else if (rowHash(previousStored, json, deps.hash) !== row.row_hash) {
      problem(
        'row_modified',
        row.row_idx,
        row.row_idx,
        `${describe(row.record)} does not match its hash`,
      )
      contiguous = false
    }
    previousStored = row.row_hash
    next = row.row_idx + 1
    if (!contiguous) continue
    running = rowHash(running, json, deps.hash)
    const cp = byCount.get(next)
    if (cp === undefined) continue
    if (cp.head === running) {
      matched.push({ count: next, head: running })
      lastMatched = next
    } else {
      problem(
        'row_modified',
        lastMatched,
        next - 1,
        `${span(lastMatched, next - 1)} do not match the writer's checkpoint at row ${next}: edited and re-hashed`,
      )
      contiguous = false
    }
  }
  if (lastCount > next) {
    problem(
      'row_deleted',
      next,
      lastCount - 1,
      `${span(next, lastCount - 1)} missing: the writer's checkpoint counts ${lastCount} rows`,
    )
  } else if (next > lastCount && input.rows.length > 0) {
    problem(
      'row_inserted',
      lastCount,
      next - 1,
      byCount.size === 0
        ? `${span(lastCount, next - 1)} covered by no writer checkpoint: inserted, or written before ledger schema 3`
        : `${span(lastCount, next - 1)} written after the writer's last checkpoint (of ${lastCount} rows): not written by the writer`,
    )
  }
  let maxBlock = seq
  let beyondRows = 0
  for (const [block, list] of [...input.beyond].sort((a, b) => a[0] - b[0])) {
    if (block <= seq || list.length === 0) continue
    const idx = list.map((r) => r.row_idx)
    problem(
      'row_inserted',
      Math.min(...idx),
      Math.max(...idx),
      `${list.length} rows in block ${block}, after the open block ${seq}`,
      block,
    )
    maxBlock = Math.max(maxBlock, block)
    beyondRows += list.length
  }

  const firstBad = Math.min(
    Number.POSITIVE_INFINITY,
    ...problems
      .filter((p) => p.block === seq && p.first_row !== null)
      .map((p) => p.first_row as number),
  )
  const good = [...matched].reverse().find((m) => m.count <= firstBad) ?? matched[0]
  const times = [...byCount.values()].map((c) => c.at_ms)
  const recordTimes = input.rows.map((r) => recordTime(r.record)).filter((t) => t !== null)
  const since =
    times.length > 0 ? Math.min(...times) : recordTimes.length > 0 ? Math.min(...recordTimes) : null
  return {
    ok: problems.length === 0,
    block: seq,
    rows: input.rows.length + beyondRows,
    authenticated_rows: good?.count ?? 0,
    head: good?.head ?? input.prev_hash,
    checkpoints: byCount.size,
    since_ms: since,
    last_ms: times.length > 0 ? Math.max(...times) : null,
    max_block: maxBlock,
    problems,
  }
}

function span(first: number, last: number): string {
  return first === last ? `row ${first} is` : `rows ${first}-${last} are`
}

function describe(record: AuditRecord): string {
  const id = 'id' in record ? ` ${record.id}` : ''
  return `${record.kind}${id}`
}

/** A record's own time, epoch ms, when it has one. */
function recordTime(record: AuditRecord): number | null {
  const r = record as unknown as Record<string, unknown>
  for (const key of ['at_ms', 'from_ms', 'started_ms']) {
    if (typeof r[key] === 'number' && Number.isFinite(r[key])) return r[key]
  }
  return null
}
