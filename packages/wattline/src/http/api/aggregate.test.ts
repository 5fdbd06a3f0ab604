import { describe, expect, it } from 'vitest'
import { encodeLeverSavings } from '@wattline/core'
import { requestRecord } from '@wattline/core/testing'
import {
  chooseBucketMs,
  networkEnergy,
  parseRoutingReason,
  recordedLeverSavings,
} from './aggregate.ts'

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

describe('recordedLeverSavings and networkEnergy', () => {
  const saving = (lever: 'cache' | 'microbatch', j: number, g: number) => ({
    lever,
    energy_saved_j: j,
    energy_saved_low_j: j / 2,
    energy_saved_high_j: j * 2,
    carbon_saved_g: g,
    basis: 'estimated-counterfactual' as const,
  })
  const rows = [
    requestRecord(1, {
      carbon_g: 0,
      levers: encodeLeverSavings([saving('cache', 100, 0.3)]) as string,
    }),
    requestRecord(2, {
      carbon_g: 0.1,
      levers: encodeLeverSavings([saving('microbatch', 5, 0.01)]) as string,
      network_bytes: 1000,
      network_energy_j: 0.005,
      network_carbon_g: 0.0000001,
    }),
    requestRecord(3, {
      carbon_g: 0.2,
      levers: encodeLeverSavings([saving('cache', 50, 0.1)]) as string,
    }),
    requestRecord(4, { network_bytes: 3000, network_energy_j: 0.015 }),
  ]

  it('adds the ledger’s savings per lever, in lever order, against the same requests without it', () => {
    const out = recordedLeverSavings(rows)
    expect(out.map((s) => [s.lever, s.energy_j, s.carbon_g])).toEqual([
      ['cache', 150, expect.closeTo(0.4, 9)],
      ['microbatch', 5, 0.01],
    ])
    // Baseline = what the requests emitted + what the lever saved.
    expect(out[0]?.baseline_carbon_g).toBeCloseTo(0.2 + 0.4, 9)
    expect(out[0]?.source).toContain('2 requests')
    expect(recordedLeverSavings([requestRecord(5)])).toEqual([])
  })

  it('sums network bytes and energy of the requests that recorded them', () => {
    expect(networkEnergy(rows)).toMatchObject({
      requests_counted: 2,
      bytes: 4000,
      energy_j: expect.closeTo(0.02, 12),
      method: 'modelled',
    })
  })
})
