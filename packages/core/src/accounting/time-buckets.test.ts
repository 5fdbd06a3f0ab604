import { describe, expect, it } from 'vitest'
import { MAX_BUCKETS, TimeBuckets } from './time-buckets.ts'

const H = 3_600_000

describe('TimeBuckets', () => {
  it('cuts a period into the smallest aligned width giving at most MAX_BUCKETS', () => {
    expect(new TimeBuckets(0, 2 * H).widthMs).toBe(300_000)
    expect(new TimeBuckets(0, 2 * H).list).toHaveLength(24)
    const week = new TimeBuckets(0, 7 * 24 * H)
    expect(week.widthMs).toBe(H)
    expect(week.list.length).toBeLessThanOrEqual(MAX_BUCKETS)
    // A period not on a boundary: the first and last buckets are clipped to it.
    const odd = new TimeBuckets(100_000, 700_000)
    expect(odd.list[0]?.from).toBe(100_000)
    expect(odd.list.at(-1)?.to).toBe(700_000)
  })

  it('puts a request in its arrival bucket and spreads idle energy over the buckets it spans', () => {
    const b = new TimeBuckets(0, H)
    const de = { zone: 'DE', itJ: 100, facilityJ: 125, carbonG: 0.02, method: 'measured' } as const
    b.addRequest(301_000, de)
    b.addRequest(5 * H, de) // outside: dropped
    b.addIdle(0, 600_000, {
      zone: 'FR',
      itJ: 60,
      facilityJ: 66,
      carbonG: 0.006,
      method: 'modelled',
    })
    const [first, second] = b.list
    expect(first).toMatchObject({ requests: 0, itJ: 30, idleJ: 30, modelledJ: 30 })
    expect(second?.requests).toBe(1)
    expect(second?.itJ).toBe(130)
    expect(second?.measuredJ).toBe(100)
    expect(second?.zones.get('DE')).toEqual({ requests: 1, facilityJ: 125, carbonG: 0.02 })
    expect(second?.zones.get('FR')?.facilityJ).toBe(33)
    const total = b.list.reduce((s, x) => s + x.itJ, 0)
    expect(total).toBe(160)
  })
})
