import { describe, expect, it } from 'vitest'
import { permutationP, ranks, spearman, spearmanInterval } from './rank-stats.ts'

describe('bench rank statistics', () => {
  it('ranks with ties sharing the mean rank', () => {
    expect(ranks([3, 1, 2, 2])).toEqual([4, 1, 2.5, 2.5])
  })

  it("Spearman's rho: monotone 1, reversed -1, one neighbour swap of 7 = 1 - 6*2/(7*48)", () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 400])).toBeCloseTo(1, 12)
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12)
    expect(spearman([1, 2, 3, 4, 5, 6, 7], [1, 2, 4, 3, 5, 6, 7])).toBeCloseTo(1 - 12 / 336, 12)
  })

  it('exact permutation p: a perfect ranking of 4 is 1 ordering in 24; a reversed one is certain', () => {
    expect(permutationP([1, 2, 3, 4], [1, 2, 3, 4])).toBeCloseTo(1 / 24, 12)
    expect(permutationP([1, 2, 3, 4], [4, 3, 2, 1])).toBe(1)
  })

  it('seeded Monte Carlo p for n > 9 is small for a perfect ranking and reproducible', () => {
    const xs = Array.from({ length: 12 }, (_, i) => i)
    const p = permutationP(xs, xs, 2000, 7)
    expect(p).toBeLessThan(0.002)
    expect(permutationP(xs, xs, 2000, 7)).toBe(p)
  })

  it('Fisher-z interval with SE 1.06/sqrt(n-3): none for n <= 3, contains rho, narrows with n', () => {
    expect(spearmanInterval(0.8, 3)).toBeUndefined()
    const [lo7, hi7] = spearmanInterval(0.8, 7) ?? [NaN, NaN]
    expect(lo7).toBeCloseTo(Math.tanh(Math.atanh(0.8) - (1.96 * 1.06) / 2), 12)
    expect(hi7).toBeCloseTo(Math.tanh(Math.atanh(0.8) + (1.96 * 1.06) / 2), 12)
    const [lo40, hi40] = spearmanInterval(0.8, 40) ?? [NaN, NaN]
    expect(lo40).toBeGreaterThan(lo7)
    expect(hi40).toBeLessThan(hi7)
    expect(lo40).toBeLessThan(0.8)
    expect(hi40).toBeGreaterThan(0.8)
  })
})
