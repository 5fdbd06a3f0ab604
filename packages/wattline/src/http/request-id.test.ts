import { describe, expect, it } from 'vitest'
import { newRequestId } from './request-id.ts'

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('newRequestId', () => {
  it('gives version 4 UUIDs in the canonical form, all different, across batches', () => {
    const ids = Array.from({ length: 1_000 }, () => newRequestId())
    for (const id of ids) expect(id).toMatch(V4)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('uses every hex digit in every free position (the bytes are random, not fixed)', () => {
    const seen = Array.from({ length: 36 }, () => new Set<string>())
    for (let n = 0; n < 2_000; n++) [...newRequestId()].forEach((c, i) => seen[i]!.add(c))
    const fixed = new Map([
      [8, 1],
      [13, 1],
      [14, 1], // the version digit
      [18, 1],
      [19, 4], // the variant digit: 8, 9, a or b
      [23, 1],
    ])
    seen.forEach((s, i) => expect(s.size, `position ${String(i)}`).toBe(fixed.get(i) ?? 16))
  })

  it('returns a string that later ids do not change (it is not a view of the buffer)', () => {
    const first = newRequestId()
    const copy = `${first}`
    newRequestId()
    expect(first).toBe(copy)
  })
})
