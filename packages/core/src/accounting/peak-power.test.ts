import { describe, expect, it } from 'vitest'
import { MinuteEnergy, MinutePower } from './peak-power.ts'

const M = 60_000

describe('MinutePower', () => {
  it('sums per-backend minute means and takes the highest minute (earliest on a tie)', () => {
    const p = new MinutePower()
    expect(p.peak()).toBeUndefined()
    p.add(0, 'a', 300, 'measured')
    p.add(30_000, 'a', 500, 'measured') // a: mean 400 W in minute 0
    p.add(10_000, 'b', 200, 'modelled') // + b 200 W = 600 W
    p.add(M + 1, 'a', 600, 'measured') // minute 1: 600 W, a tie, later
    p.add(2 * M, 'b', 100, 'modelled')
    const peak = p.peak()
    expect(peak?.powerW).toBe(600)
    expect(peak?.atMs).toBe(0)
    expect([...(peak?.methods ?? [])].sort()).toEqual(['measured', 'modelled'])
    expect(p.samples).toBe(5)
    expect(p.backendPeaks()).toEqual(
      new Map([
        ['a', 600],
        ['b', 200],
      ]),
    )
  })
})

describe('MinuteEnergy', () => {
  it('takes the busiest minute’s energy over 60 s, spreading intervals evenly', () => {
    const e = new MinuteEnergy()
    expect(e.peak()).toBeUndefined()
    e.add(1000, 6000)
    e.add(2000, 6000)
    e.spread(M, 3 * M, 1200) // 600 J in each of minutes 1 and 2
    e.add(2 * M + 5, 13_000)
    expect(e.peak()).toEqual({ powerW: 13_600 / 60, atMs: 2 * M })
    const half = new MinuteEnergy()
    half.spread(30_000, 90_000, 120) // half in minute 0, half in minute 1
    expect(half.peak()).toEqual({ powerW: 1, atMs: 0 })
  })
})
