import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  appendToBlock,
  checkpointHash,
  openBlock,
  recordJson,
  rowHash,
  type TailCheckpoint,
} from './chain.ts'
import type { StoredRow } from './verify-chain.ts'
import { checkTail, type TailInput } from './verify-tail.ts'
import { requestRecord } from './test-records.ts'

const sha256 = (t: string): string => createHash('sha256').update(t).digest('hex')
const sign = (h: string): string => `sig:${h}`
const verifySignature = (h: string, s: string, keyId: string): boolean =>
  keyId === 'k1' && s === `sig:${h}`
const PREV = 'a'.repeat(64)
const T0 = 1_750_000_000_000

/** An open block 3 of 10 rows written in flushes of 4, 4 and 2 rows (checkpoints at 4, 8, 10). */
function honestTail(): { rows: StoredRow[]; checkpoints: TailCheckpoint[] } {
  let open = openBlock(3, PREV)
  const rows: StoredRow[] = []
  const checkpoints: TailCheckpoint[] = []
  for (let i = 0; i < 10; i += 1) {
    const record = requestRecord(i)
    const [next, pos] = appendToBlock(open, record, sha256)
    open = next
    rows.push({ ...pos, record })
    if (open.rows === 4 || open.rows === 8 || open.rows === 10) {
      const cp = { block_seq: 3, row_count: open.rows, head: open.head, at_ms: T0 + open.rows }
      checkpoints.push({ ...cp, signature: sign(checkpointHash(cp, sha256)), key_id: 'k1' })
    }
  }
  return { rows, checkpoints }
}

const input = (over: Partial<TailInput> = {}): TailInput => {
  const { rows, checkpoints } = honestTail()
  return { seq: 3, prev_hash: PREV, rows, beyond: new Map(), checkpoints, ...over }
}
const check = (over: Partial<TailInput> = {}) =>
  checkTail(input(over), { hash: sha256, verifySignature })

/** A forged row i: content of request 100+i, its hash computed (unkeyed) after `previous`. */
function forged(i: number, previous: string, block = 3): StoredRow {
  const record = requestRecord(100 + i)
  return {
    block_seq: block,
    row_idx: i,
    row_hash: rowHash(previous, recordJson(record), sha256),
    record,
  }
}

describe('checkTail', () => {
  it('vouches for an honest tail: every row covered, since the first checkpoint', () => {
    const v = check()
    expect(v).toMatchObject({ ok: true, rows: 10, authenticated_rows: 10, checkpoints: 3 })
    expect(v.since_ms).toBe(T0 + 4)
    expect(v.last_ms).toBe(T0 + 10)
    expect(v.head).toBe(honestTail().rows[9]?.row_hash)
  })

  it('names a row appended with a correctly computed hash after the last checkpoint', () => {
    const { rows, checkpoints } = honestTail()
    const v = check({ rows: [...rows, forged(10, rows[9]!.row_hash)], checkpoints })
    expect(v.ok).toBe(false)
    expect(v.problems).toEqual([
      expect.objectContaining({ kind: 'row_inserted', block: 3, first_row: 10, last_row: 10 }),
    ])
    expect(v.authenticated_rows).toBe(10) // the writer's rows stay sealable
  })

  it('names a deleted middle row and a deleted last row', () => {
    const { rows } = honestTail()
    const middle = check({ rows: rows.filter((r) => r.row_idx !== 5) })
    expect(middle.problems[0]).toMatchObject({ kind: 'row_deleted', first_row: 5, last_row: 5 })
    expect(middle.authenticated_rows).toBe(4)
    const last = check({ rows: rows.slice(0, 9) })
    expect(last.problems).toEqual([
      expect.objectContaining({ kind: 'row_deleted', first_row: 9, last_row: 9 }),
    ])
    expect(last.authenticated_rows).toBe(8)
  })

  it('names an edited row, with and without its hashes recomputed', () => {
    const { rows } = honestTail()
    const edited = rows.map((r) =>
      r.row_idx === 6 ? { ...r, record: { ...r.record, energy_j: 1 } as typeof r.record } : r,
    )
    const plain = check({ rows: edited })
    expect(plain.problems[0]).toMatchObject({ kind: 'row_modified', first_row: 6, last_row: 6 })
    expect(plain.authenticated_rows).toBe(4)
    // re-hash the edited row and every row after it: only the checkpoint at row 8 can tell
    let previous = rows[5]!.row_hash
    const rehashed = edited.map((r) => {
      if (r.row_idx < 6) return r
      const row_hash = rowHash(previous, recordJson(r.record), sha256)
      previous = row_hash
      return { ...r, row_hash }
    })
    const v = check({ rows: rehashed })
    expect(v.problems[0]).toMatchObject({ kind: 'row_modified', first_row: 4, last_row: 7 })
    expect(v.authenticated_rows).toBe(4)
  })

  it('ignores a checkpoint signed by another key and quarantines a tail no checkpoint covers', () => {
    const { rows, checkpoints } = honestTail()
    const foreign = checkpoints.map((c) => ({ ...c, key_id: 'k2' }))
    const v = check({ rows, checkpoints: foreign })
    expect(v.problems.filter((p) => p.kind === 'signature')).toHaveLength(3)
    expect(v.problems.at(-1)).toMatchObject({ kind: 'row_inserted', first_row: 0, last_row: 9 })
    expect(v.authenticated_rows).toBe(0)
    const legacy = check({ rows, checkpoints: [] })
    expect(legacy.problems).toEqual([
      expect.objectContaining({ kind: 'row_inserted', first_row: 0, last_row: 9 }),
    ])
    expect(legacy.problems[0]?.message).toContain('before ledger schema 3')
    expect(legacy.since_ms).toBe(T0) // the rows' own times
  })

  it('names a repeated index and rows in a block after the open one', () => {
    const { rows } = honestTail()
    const dup = check({
      rows: [...rows.slice(0, 3), forged(2, rows[1]!.row_hash), ...rows.slice(3)],
    })
    expect(dup.problems[0]).toMatchObject({ kind: 'row_inserted', first_row: 2, last_row: 2 })
    expect(dup.authenticated_rows).toBe(0)
    const beyond = check({ beyond: new Map([[5, [forged(0, PREV, 5)]]]) })
    expect(beyond.problems).toEqual([
      expect.objectContaining({ kind: 'row_inserted', block: 5, first_row: 0 }),
    ])
    expect(beyond).toMatchObject({ max_block: 5, rows: 11, authenticated_rows: 10 })
  })

  it('reports an empty tail as intact', () => {
    expect(check({ rows: [], checkpoints: [] })).toMatchObject({
      ok: true,
      rows: 0,
      authenticated_rows: 0,
      head: PREV,
      since_ms: null,
    })
  })
})
