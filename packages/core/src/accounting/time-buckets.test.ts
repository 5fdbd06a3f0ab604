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

  it('takes a given width, and lands a zero-length idle interval whole in its bucket', () => {
    const b = new TimeBuckets(90_000, 400_000, 60_000)
    expect(b.widthMs).toBe(60_000)
    expect(b.list.map((x) => x.from)).toEqual([90_000, 120_000, 180_000, 240_000, 300_000, 360_000])
    const f = { zone: 'FR', itJ: 10, facilityJ: 12, carbonG: 0.001, method: 'measured' } as const
    b.addIdle(200_000, 200_000, f)
    b.addIdle(400_000, 400_000, f) // the period's end is outside it
    expect(b.list.map((x) => x.idleJ)).toEqual([0, 0, 10, 0, 0, 0])
    // an interval over a bucket edge is split by its overlap with each
    b.addIdle(100_000, 140_000, f)
    expect(b.list[0]?.idleJ).toBe(5)
    expect(b.list[1]?.idleJ).toBe(5)
  })
})
