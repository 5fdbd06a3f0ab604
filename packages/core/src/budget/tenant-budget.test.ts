import { describe, expect, it } from 'vitest'
import { judgeTenantBudget, periodWindow } from './tenant-budget.ts'

const at = (iso: string): number => Date.parse(iso)

describe('periodWindow', () => {
  it('gives the UTC calendar period holding an instant', () => {
    const t = at('2026-03-18T13:45:10.500Z') // a Wednesday
    expect(periodWindow('hour', t)).toEqual({
      fromMs: at('2026-03-18T13:00:00Z'),
      toMs: at('2026-03-18T14:00:00Z'),
    })
    expect(periodWindow('day', t)).toEqual({
      fromMs: at('2026-03-18T00:00:00Z'),
      toMs: at('2026-03-19T00:00:00Z'),
    })
    expect(periodWindow('week', t)).toEqual({
      fromMs: at('2026-03-16T00:00:00Z'),
      toMs: at('2026-03-23T00:00:00Z'),
    })
    expect(periodWindow('month', t)).toEqual({
      fromMs: at('2026-03-01T00:00:00Z'),
      toMs: at('2026-04-01T00:00:00Z'),
    })
  })

  it('starts ISO weeks on Monday (a Sunday belongs to the week before) and months roll over the year', () => {
    expect(periodWindow('week', at('2026-03-22T23:59:59Z')).fromMs).toBe(at('2026-03-16T00:00:00Z'))
    expect(periodWindow('week', at('2026-03-23T00:00:00Z')).fromMs).toBe(at('2026-03-23T00:00:00Z'))
    expect(periodWindow('month', at('2026-12-31T23:00:00Z')).toMs).toBe(at('2027-01-01T00:00:00Z'))
    expect(periodWindow('month', at('2028-02-10T00:00:00Z')).toMs).toBe(at('2028-03-01T00:00:00Z'))
  })
})

describe('judgeTenantBudget', () => {
  it('is ok below warn_at_pct, warning from it, exceeded once a cap is reached', () => {
    const caps = { energyJ: 1000, warnAtPct: 80 }
    expect(judgeTenantBudget(caps, { energyJ: 799, carbonG: 0 }).state).toBe('ok')
    expect(judgeTenantBudget(caps, { energyJ: 800, carbonG: 0 }).state).toBe('warning')
    expect(judgeTenantBudget(caps, { energyJ: 1000, carbonG: 0 })).toEqual({
      state: 'exceeded',
      ratio: 1,
      metric: 'energy_j',
    })
  })

  it('judges by the closest cap when both are set', () => {
    const caps = { energyJ: 1000, carbonG: 10, warnAtPct: 80 }
    expect(judgeTenantBudget(caps, { energyJ: 500, carbonG: 11 })).toEqual({
      state: 'exceeded',
      ratio: 1.1,
      metric: 'carbon_g',
    })
    expect(judgeTenantBudget(caps, { energyJ: 900, carbonG: 1 }).metric).toBe('energy_j')
  })
})
