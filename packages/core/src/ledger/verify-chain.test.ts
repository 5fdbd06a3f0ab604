import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  appendToBlock,
  GENESIS_HASH,
  openBlock,
  sealBlock,
  type SignedBlockHeader,
} from './chain.ts'
import { createChainVerifier, type StoredRow } from './verify-chain.ts'
import { requestRecord } from './test-records.ts'

const sha256 = (t: string): string => createHash('sha256').update(t).digest('hex')
const fakeSign = (h: string): string => `sig:${h}`
const verifySignature = (h: string, s: string): boolean => s === `sig:${h}`

/** Builds `n` blocks of `per` request rows each. */
function buildChain(n: number, per: number) {
  const blocks: { header: SignedBlockHeader; rows: StoredRow[] }[] = []
  let prev = GENESIS_HASH
  for (let b = 0; b < n; b += 1) {
    let open = openBlock(b, prev)
    const rows: StoredRow[] = []
    for (let r = 0; r < per; r += 1) {
      const record = requestRecord(b * per + r)
      const [next, pos] = appendToBlock(open, record, sha256)
      open = next
      rows.push({ ...pos, record })
    }
    const header = sealBlock(open, 1_750_000_100_000 + b, sha256)
    blocks.push({ header: { ...header, signature: fakeSign(header.hash), key_id: 'k1' }, rows })
    prev = header.hash
  }
  return blocks
}

function verify(blocks: ReturnType<typeof buildChain>, prunedBlocks?: (s: number) => boolean) {
  const v = createChainVerifier({
    hash: sha256,
    verifySignature,
    ...(prunedBlocks ? { prunedBlocks } : {}),
  })
  for (const b of blocks) v.block(b.header, b.rows)
  return v.verdict()
}

describe('createChainVerifier', () => {
  it('accepts an intact chain and reports totals and the head', () => {
    const chain = buildChain(3, 4)
    const verdict = verify(chain)
    expect(verdict.ok).toBe(true)
    expect(verdict.summary).toMatchObject({ blocks: 3, rows: 12, signatures_checked: 3 })
    expect(verdict.summary.head).toBe(chain[2]?.header.hash)
  })

  it('names the block and row of a modified row', () => {
    const chain = buildChain(3, 4)
    const row = chain[1]!.rows[2]!
    chain[1]!.rows[2] = { ...row, record: { ...requestRecord(6), energy_j: 1 } }
    const verdict = verify(chain)
    expect(verdict).toMatchObject({
      ok: false,
      failure: { kind: 'row_modified', block: 1, row: 2 },
    })
  })

  it('names an inserted row', () => {
    const chain = buildChain(2, 4)
    const extra = { ...chain[1]!.rows[1]!, record: requestRecord(99) }
    chain[1]!.rows.splice(2, 0, extra)
    const verdict = verify(chain)
    expect(verdict).toMatchObject({
      ok: false,
      failure: { kind: 'row_inserted', block: 1, row: 1 },
    })
  })

  it('names a deleted row, in the middle and at the end of a block', () => {
    const mid = buildChain(2, 4)
    mid[0]!.rows.splice(1, 1)
    expect(verify(mid)).toMatchObject({ failure: { kind: 'row_deleted', block: 0, row: 1 } })
    const end = buildChain(2, 4)
    end[1]!.rows.pop()
    expect(verify(end)).toMatchObject({ failure: { kind: 'row_deleted', block: 1, row: 3 } })
  })

  it('names reordered rows', () => {
    const chain = buildChain(2, 4)
    const rows = chain[1]!.rows
    const a = rows[1]!
    const b = rows[2]!
    // swap positions: each row keeps its content and stored hash, indices swap
    rows[1] = { ...b, row_idx: 1 }
    rows[2] = { ...a, row_idx: 2 }
    expect(verify(chain)).toMatchObject({ failure: { kind: 'row_reordered', block: 1, row: 1 } })
  })

  it('detects a rewritten row whose hashes were recomputed, at block level', () => {
    const chain = buildChain(2, 3)
    let open = openBlock(1, chain[0]!.header.hash)
    const rows: StoredRow[] = []
    for (let r = 0; r < 3; r += 1) {
      const record = requestRecord(100 + r)
      const [next, pos] = appendToBlock(open, record, sha256)
      open = next
      rows.push({ ...pos, record })
    }
    chain[1]!.rows = rows
    expect(verify(chain)).toMatchObject({ failure: { kind: 'row_modified', block: 1, row: null } })
  })

  it('detects a bad signature, a broken link, a missing block and an edited header', () => {
    const sig = buildChain(2, 2)
    sig[1]!.header = { ...sig[1]!.header, signature: 'sig:forged' }
    expect(verify(sig)).toMatchObject({ failure: { kind: 'signature', block: 1, row: null } })
    const missing = buildChain(3, 2)
    missing.splice(1, 1)
    expect(verify(missing)).toMatchObject({ failure: { kind: 'block_missing', block: 1 } })
    const edited = buildChain(2, 2)
    edited[0]!.header = { ...edited[0]!.header, sealed_at_ms: 1 }
    expect(verify(edited)).toMatchObject({ failure: { kind: 'block_hash', block: 0 } })
    const link = buildChain(2, 2)
    link[1]!.header = { ...link[1]!.header, prev_hash: GENESIS_HASH }
    expect(verify(link)).toMatchObject({ failure: { kind: 'block_link', block: 1 } })
  })

  it('checks only the header of a block that retention pruned', () => {
    const chain = buildChain(3, 2)
    chain[0]!.rows = []
    expect(verify(chain, (s) => s === 0)).toMatchObject({ ok: true, summary: { pruned_blocks: 1 } })
    expect(verify(chain)).toMatchObject({ failure: { kind: 'row_deleted', block: 0, row: 0 } })
  })
})
