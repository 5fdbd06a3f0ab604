import { describe, expect, it } from 'vitest'
import { IntervalSum } from './interval-sum.ts'

describe('IntervalSum', () => {
  it('adds values and bounds, and says which methods went in', () => {
    const s = new IntervalSum()
    expect(s.sumMethod()).toBe('modelled')
    expect(s.strictMethod()).toBe('modelled')
    s.add(10, 9, 11, 'measured')
    expect(s.sumMethod()).toBe('measured')
    expect(s.strictMethod()).toBe('measured')
    s.addExact(5, 'modelled')
    expect([s.value, s.low, s.high, s.parts]).toEqual([15, 14, 16, 2])
    expect(s.sumMethod()).toBe('mixed')
    expect(s.strictMethod()).toBe('modelled')
  })

  it('merges another sum', () => {
    const a = new IntervalSum()
    a.add(1, 0.5, 2, 'measured')
    const b = new IntervalSum()
    b.add(3, 2, 4, 'modelled')
    a.addSum(b)
    expect([a.value, a.low, a.high, a.parts, a.sumMethod()]).toEqual([4, 2.5, 6, 2, 'mixed'])
  })
})
