import { describe, expect, it } from 'vitest'
import { decodeLeverSavings, encodeLeverSavings } from './savings.ts'
import {
  budgetUnderPressure,
  checkTiers,
  chooseTier,
  parseTierPreference,
  tierSaving,
  type Tier,
} from './tiers.ts'

const BIG = 'llama-3.1-70b-instruct'
const MID = 'llama-3.1-8b-instruct'
const SMALL = 'llama-3.2-1b-instruct'
const tiers: Tier[] = [
  { model: BIG },
  { model: MID, when: { optIn: true, intensityAboveGPerKwh: 300 } },
  { model: SMALL, when: { intensityAboveGPerKwh: 600, budgetPressure: true } },
]
const calm = { intensityGPerKwh: 100, budgetPressure: false }

describe('chooseTier', () => {
  it('keeps the requested model when no condition holds', () => {
    expect(chooseTier(BIG, tiers, calm)).toEqual({ model: BIG, requested: BIG })
  })

  it('serves the lighter tier to a client that opted in', () => {
    expect(chooseTier(BIG, tiers, { ...calm, preference: 'eco' })).toEqual({
      model: MID,
      requested: BIG,
      reason: 'opt-in',
    })
  })

  it('downgrades on intensity strictly above the threshold only', () => {
    expect(chooseTier(BIG, tiers, { ...calm, intensityGPerKwh: 300 }).model).toBe(BIG)
    expect(chooseTier(BIG, tiers, { ...calm, intensityGPerKwh: 301 })).toMatchObject({
      model: MID,
      reason: 'intensity',
    })
  })

  it('picks the lightest tier whose conditions hold', () => {
    expect(chooseTier(BIG, tiers, { ...calm, intensityGPerKwh: 700 })).toMatchObject({
      model: SMALL,
      reason: 'intensity',
    })
    expect(chooseTier(BIG, tiers, { ...calm, budgetPressure: true })).toMatchObject({
      model: SMALL,
      reason: 'budget-pressure',
    })
    // A request for the middle tier only looks further down.
    expect(chooseTier(MID, tiers, { ...calm, preference: 'eco' })).toEqual({
      model: MID,
      requested: MID,
    })
  })

  it('never downgrades a client that asked for the exact model, nor a model outside the tiers', () => {
    const hot = { intensityGPerKwh: 900, budgetPressure: true }
    expect(chooseTier(BIG, tiers, { ...hot, preference: 'exact' }).model).toBe(BIG)
    expect(chooseTier('other', tiers, { ...hot, preference: 'eco' }).model).toBe('other')
    expect(chooseTier(SMALL, tiers, hot).model).toBe(SMALL)
  })
})

describe('tier settings', () => {
  it('reads the header and refuses unknown values naming the accepted ones', () => {
    expect(parseTierPreference(undefined)).toBeUndefined()
    expect(parseTierPreference(' ECO ')).toBe('eco')
    expect(parseTierPreference('exact')).toBe('exact')
    expect(() => parseTierPreference('cheap')).toThrow(/one of eco, exact/)
    try {
      parseTierPreference('cheap')
    } catch (e) {
      expect(e).toMatchObject({ code: 'WL_INVALID_INPUT', details: { param: 'x-wattline-tier' } })
    }
  })

  it('flags tier lists that would downgrade unconditionally or twice', () => {
    expect(checkTiers(tiers)).toEqual([])
    expect(
      checkTiers([
        { model: BIG, when: { optIn: true } },
        { model: MID },
        { model: BIG, when: { budgetPressure: false } },
      ]).map((i) => `${i.index}.${i.field}`),
    ).toEqual(['0.when', '1.when', '2.model', '2.when'])
    expect(checkTiers([{ model: BIG }])).toHaveLength(1)
  })

  it('is under budget pressure only when the watch judged a ratio above 1', () => {
    expect(budgetUnderPressure({ judged: true, ratio: 1.01 })).toBe(true)
    expect(budgetUnderPressure({ judged: true, ratio: 1 })).toBe(false)
    expect(budgetUnderPressure({ judged: false, ratio: 3 })).toBe(false)
  })
})

describe('tierSaving', () => {
  it('is the counterfactual minus the actual, floored at 0, with a widened interval', () => {
    const s = tierSaving({
      counterfactual: { value: 100, low: 80, high: 120 },
      actual: { value: 30, low: 25, high: 35 },
      pue: 1.5,
      intensityGPerKwh: 400,
    })
    expect(s).toEqual({
      lever: 'tier',
      energy_saved_j: 70,
      energy_saved_low_j: 45,
      energy_saved_high_j: 95,
      carbon_saved_g: (70 * 1.5 * 400) / 3_600_000,
      basis: 'estimated-counterfactual',
    })
    // Round-trips through the ledger's levers field.
    expect(decodeLeverSavings(encodeLeverSavings([s]) as string)).toEqual([s])
  })

  it('never reports a negative saving', () => {
    const s = tierSaving({
      counterfactual: { value: 10, low: 8, high: 12 },
      actual: { value: 30, low: 25, high: 35 },
      pue: 1.2,
      intensityGPerKwh: 400,
    })
    expect([
      s.energy_saved_j,
      s.energy_saved_low_j,
      s.energy_saved_high_j,
      s.carbon_saved_g,
    ]).toEqual([0, 0, 0, 0])
  })
})
