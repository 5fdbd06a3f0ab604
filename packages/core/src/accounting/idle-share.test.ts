import { describe, expect, it } from 'vitest'
import { EnergyShares, idleInPeriod, overlapFraction } from './idle-share.ts'

const period = { fromMs: 1000, toMs: 2000 }

describe('overlapFraction', () => {
  it('is the part of an interval inside the period', () => {
    expect(overlapFraction({ from_ms: 1000, to_ms: 2000 }, period)).toBe(1)
    expect(overlapFraction({ from_ms: 500, to_ms: 1500 }, period)).toBe(0.5)
    expect(overlapFraction({ from_ms: 1800, to_ms: 2800 }, period)).toBeCloseTo(0.2, 12)
    expect(overlapFraction({ from_ms: 0, to_ms: 900 }, period)).toBe(0)
  })

  it('counts a zero-length interval whole when its instant is inside', () => {
    expect(overlapFraction({ from_ms: 1500, to_ms: 1500 }, period)).toBe(1)
    expect(overlapFraction({ from_ms: 2000, to_ms: 2000 }, period)).toBe(0)
  })
})

describe('EnergyShares', () => {
  it('gives the scope its share of each key’s energy, 0 where nothing ran', () => {
    const s = new EnergyShares()
    s.add('gpu-de', 300, 300)
    s.add('gpu-de', 100, 0)
    s.add('gpu-fr', 50, 0)
    expect(s.share('gpu-de')).toBe(0.75)
    expect(s.share('gpu-fr')).toBe(0)
    expect(s.share('gpu-us')).toBe(0)
    expect(s.totalJ('gpu-de')).toBe(400)
    expect(s.scopeJ('gpu-de')).toBe(300)
  })

  it('shares of disjoint scopes add up to the whole (idle energy is conserved)', () => {
    const rows = [
      { backend: 'a', j: 120, service: 'chat' },
      { backend: 'a', j: 80, service: 'search' },
      { backend: 'a', j: 40, service: 'chat' },
      { backend: 'b', j: 10, service: 'search' },
    ]
    const shareOf = (service: string, backend: string): number => {
      const s = new EnergyShares()
      for (const r of rows) s.add(r.backend, r.j, r.service === service ? r.j : 0)
      return s.share(backend)
    }
    expect(shareOf('chat', 'a') + shareOf('search', 'a')).toBeCloseTo(1, 12)
    expect(shareOf('chat', 'b') + shareOf('search', 'b')).toBe(1)
  })
})

describe('idleInPeriod', () => {
  const idle = {
    backend: 'gpu',
    from_ms: 500,
    to_ms: 1500,
    energy_j: 100,
    facility_energy_j: 120,
    carbon_g: 0.04,
  }

  it('clips an interval that straddles the period and scales its energy and carbon', () => {
    const part = idleInPeriod(idle, period)
    expect(part).toEqual({
      ...idle,
      from_ms: 1000,
      to_ms: 1500,
      energy_j: 50,
      facility_energy_j: 60,
      carbon_g: 0.02,
    })
    // clipping again changes nothing
    expect(idleInPeriod(part as typeof idle, period)).toBe(part)
  })

  it('keeps an interval inside the period, drops one outside, keeps a point inside', () => {
    const inside = { ...idle, from_ms: 1200, to_ms: 1300 }
    expect(idleInPeriod(inside, period)).toBe(inside)
    expect(idleInPeriod({ ...idle, from_ms: 0, to_ms: 1000 }, period)).toBeUndefined()
    const point = { ...idle, from_ms: 1000, to_ms: 1000 }
    expect(idleInPeriod(point, period)).toBe(point)
    expect(idleInPeriod({ ...idle, from_ms: 2000, to_ms: 2000 }, period)).toBeUndefined()
  })

  it('keeps the whole of an interval longer than the period only for the period', () => {
    const long = idleInPeriod({ ...idle, from_ms: 0, to_ms: 4000 }, period)
    expect(long).toMatchObject({ from_ms: 1000, to_ms: 2000, energy_j: 25, facility_energy_j: 30 })
  })
})
