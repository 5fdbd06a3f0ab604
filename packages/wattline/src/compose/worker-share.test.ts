import { describe, expect, it } from 'vitest'
import { parseWorkerCount } from './workers.ts'
import { workerShare } from './worker-share.ts'

describe('workerShare', () => {
  it('splits a limit so the shares add up to it exactly and differ by at most one', () => {
    for (const limit of [2, 3, 7, 32, 1000]) {
      for (const count of [1, 2, 3, 4, 16]) {
        if (limit < count) continue
        const shares = Array.from({ length: count }, (_, i) => workerShare(limit, i, count))
        expect(shares.reduce((a, b) => a + b, 0)).toBe(limit)
        expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1)
        expect(Math.min(...shares)).toBeGreaterThanOrEqual(1)
      }
    }
    expect([0, 1, 2].map((i) => workerShare(7, i, 3))).toEqual([3, 2, 2])
  })
})

describe('parseWorkerCount', () => {
  it('reads 1..256, and 0 or auto as the CPU count', () => {
    expect(parseWorkerCount('1', 8)).toBe(1)
    expect(parseWorkerCount('4', 8)).toBe(4)
    expect(parseWorkerCount('0', 8)).toBe(8)
    expect(parseWorkerCount('auto', 2)).toBe(2)
    expect(parseWorkerCount('AUTO', 2)).toBe(2)
    for (const bad of ['', 'two', '-1', '1.5', '257', '1e2', ' ']) {
      expect(parseWorkerCount(bad, 8)).toBeUndefined()
    }
  })
})
