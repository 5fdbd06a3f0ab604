import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { allocateIdle, IDLE_ALLOCATION_RULES, type TenantPoolUse } from './tenant-idle.ts'

const use = (tenant: string | null, activeJ: number, requests: number): TenantPoolUse => ({
  tenant,
  activeJ,
  requests,
})

describe('allocateIdle', () => {
  it('shares proportionally to active energy by default, equally, or by requests', () => {
    const uses = [use('a', 300, 1), use('b', 100, 3)]
    expect(allocateIdle(80, uses, 'proportional')).toEqual([60, 20])
    expect(allocateIdle(80, uses, 'equal')).toEqual([40, 40])
    expect(allocateIdle(80, uses, 'requests')).toEqual([20, 60])
  })

  it('falls back to request counts when every active energy is 0 (cache hits only)', () => {
    expect(allocateIdle(90, [use('a', 0, 2), use('b', 0, 1)], 'proportional')).toEqual([60, 30])
  })

  it('allocates nothing when no tenant used the pool (the caller reports it unallocated)', () => {
    expect(allocateIdle(50, [], 'proportional')).toEqual([])
    expect(allocateIdle(50, [use('a', 0, 0)], 'equal')).toEqual([0])
  })

  it('conserves the idle energy under every rule (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.001, max: 1e9, noNaN: true }),
        fc.array(
          fc.record({
            activeJ: fc.double({ min: 0, max: 1e6, noNaN: true }),
            requests: fc.integer({ min: 1, max: 1000 }),
          }),
          { minLength: 1, maxLength: 20 },
        ),
        fc.constantFrom(...IDLE_ALLOCATION_RULES),
        (idleJ, raw, rule) => {
          const shares = allocateIdle(
            idleJ,
            raw.map((r, i) => use(`t${i}`, r.activeJ, r.requests)),
            rule,
          )
          const sum = shares.reduce((s, x) => s + x, 0)
          expect(Math.abs(sum - idleJ)).toBeLessThanOrEqual(idleJ * 1e-9)
          for (const s of shares) expect(s).toBeGreaterThanOrEqual(0)
        },
      ),
    )
  })
})
