import { describe, expect, it } from 'vitest'
import { gramsCo2e, ms } from '../units/quantity.ts'
import { amortiseEmbodied, CCF_SERVER_LIFESPAN_MS, embodiedShare, MS_PER_YEAR } from './embodied.ts'

const H = 3_600_000

describe('embodied emissions', () => {
  it('amortises by time and resource share (M = TE × TiR/EL × RR/ToR)', () => {
    // 1 hour of 1 of 8 GPUs of a 1,200 kg platform over CCF's 35,040 h lifespan.
    const m = embodiedShare({
      totalEmbodied: gramsCo2e(1_200_000),
      timeReserved: ms(H),
      expectedLifespan: ms(CCF_SERVER_LIFESPAN_MS),
      resourcesReserved: 1,
      totalResources: 8,
    })
    expect(m).toBeCloseTo(1_200_000 / 35_040 / 8, 9)
    expect(() =>
      embodiedShare({
        totalEmbodied: gramsCo2e(1),
        timeReserved: ms(1),
        expectedLifespan: ms(1),
        resourcesReserved: 9,
        totalResources: 8,
      }),
    ).toThrow(expect.objectContaining({ code: 'WL_INVALID_INPUT' }))
  })

  it('amortises hardware in service over the part of a period inside its life', () => {
    const rack = {
      count: 8,
      embodied_g: 150_000,
      lifetime_years: 4,
      in_service_from_ms: 0,
      allocation_share: 0.5,
    }
    const a = amortiseEmbodied(rack, 10 * H, 12 * H, 1)
    expect(a.timeInPeriodMs).toBe(2 * H)
    expect(a.timeShare).toBeCloseTo(2 / (4 * 8766), 15)
    expect(a.amortisedG).toBeCloseTo((8 * 150_000 * 2 * 0.5) / (4 * 8766), 9)
    // A service with a quarter of the zone's energy carries a quarter.
    expect(amortiseEmbodied(rack, 10 * H, 12 * H, 0.25).amortisedG).toBeCloseTo(
      a.amortisedG / 4,
      12,
    )
    // Before service and after end of life nothing is charged; a period straddling the end is cut.
    expect(amortiseEmbodied({ ...rack, in_service_from_ms: 20 * H }, 10 * H, 12 * H, 1)).toEqual({
      timeInPeriodMs: 0,
      timeShare: 0,
      amortisedG: 0,
    })
    const end = 4 * MS_PER_YEAR
    expect(amortiseEmbodied(rack, end - H, end + H, 1).timeInPeriodMs).toBe(H)
  })
})
