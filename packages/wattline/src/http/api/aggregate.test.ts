import { describe, expect, it } from 'vitest'
import { chooseBucketMs, parseRoutingReason } from './aggregate.ts'

describe('parseRoutingReason', () => {
  it('reads the gateway’s recorded shape, with or without energy predictions', () => {
    const text = JSON.stringify({
      reason: 'least predicted carbon',
      scores: [
        { backend: 'paris', eligible: true, score: 0.01, carbon_g: 0.012, latency_ms: 900 },
        {
          backend: 'warsaw',
          eligible: false,
          why: 'full',
          score: null,
          carbon_g: 0.1,
          latency_ms: 950,
        },
      ],
    })
    expect(parseRoutingReason(text)).toEqual({
      reason: 'least predicted carbon',
      scores: [
        {
          backend: 'paris',
          eligible: true,
          why: null,
          carbon_g: 0.012,
          energy_j: null,
          latency_ms: 900,
        },
        {
          backend: 'warsaw',
          eligible: false,
          why: 'full',
          carbon_g: 0.1,
          energy_j: null,
          latency_ms: 950,
        },
      ],
    })
  })

  it('gives up on free text or a foreign shape instead of guessing', () => {
    expect(parseRoutingReason('next in rotation')).toBeUndefined()
    expect(parseRoutingReason('{"scores":[{"backend":1}]}')).toBeUndefined()
    expect(parseRoutingReason('[]')).toBeUndefined()
  })
})

describe('chooseBucketMs', () => {
  it('keeps a trend to at most 90 points', () => {
    const MIN = 60_000
    expect(chooseBucketMs({ from_ms: 0, to_ms: 60 * MIN })).toBe(MIN)
    expect(chooseBucketMs({ from_ms: 0, to_ms: 24 * 60 * MIN })).toBe(60 * MIN)
    expect(chooseBucketMs({ from_ms: 0, to_ms: 30 * 24 * 60 * MIN })).toBe(24 * 60 * MIN)
  })
})
