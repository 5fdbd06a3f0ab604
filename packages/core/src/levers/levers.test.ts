import { describe, expect, it } from 'vitest'
import type { LeverContext } from '../engine/router.ts'
import type { BackendState, RoutingDecision } from '../routing/policy.ts'
import { testProfile } from '../routing/test-profile.ts'
import { gramsPerKwh, instant, ms } from '../units/quantity.ts'
import { exactCacheHits } from './exact-cache.ts'
import { createOccupancyLever, targetOccupancy } from './occupancy.ts'
import { createPrefixAffinityLever, skippedPrefillTokens } from './prefix-affinity.ts'
import { createPrefixCacheTable } from './prefix-cache.ts'

const profile = testProfile({ maxBatch: 64 })
const state = (id: string, inflight: number, zone = 'DE', intensity = 300): BackendState => ({
  id,
  zone,
  models: ['m'],
  healthy: true,
  inflight,
  maxConcurrency: 8,
  weight: 1,
  pue: 1.2,
  profile,
  intensity: {
    zone,
    at: instant(0),
    intensity: gramsPerKwh(intensity),
    signal: 'average',
    source: 'test',
    forecast: false,
    stale: false,
  },
  networkRtt: ms(0),
})
const context = (backends: BackendState[], chosen: string): LeverContext => ({
  service: 0,
  request: { model: 'm', inputTokens: 2000, outputTokens: 100, exclude: [], sequence: 0, draw: 0 },
  snapshot: { now: instant(0), backends },
  decision: {
    kind: 'route',
    backend: chosen,
    policy: 'round-robin',
    reason: 'test',
    scores: backends.map((b) => ({
      backend: b.id,
      eligible: b.inflight < b.maxConcurrency,
      score: 0,
      predictedCarbon: 0,
      predictedLatency: 0,
    })),
  } as unknown as RoutingDecision & { kind: 'route' },
})

describe('prefix cache table', () => {
  it('matches only leading blocks and evicts the least recently used beyond capacity', () => {
    const t = createPrefixCacheTable([4])
    t.admit(0, [1, 2, 3])
    expect(t.match(0, [1, 2, 3, 9])).toBe(3)
    expect(t.match(0, [9, 1, 2])).toBe(0) // a block is reusable only after its whole prefix
    t.admit(0, [7, 8]) // capacity 4: evicts 1 (the oldest)
    expect(t.size(0)).toBe(4)
    expect(t.match(0, [1, 2])).toBe(0)
    expect(t.match(0, [7, 8])).toBe(2)
  })
})

describe('prefix affinity', () => {
  const ids = ['a', 'b', 'c']
  it('moves a request to the backend holding more of its prefix, if it has room and is not much dirtier', () => {
    const table = createPrefixCacheTable([100, 100, 100])
    table.admit(1, [10, 11, 12])
    table.admit(2, [10, 11, 12, 13])
    const blocks = [10, 11, 12, 13, 14]
    const lever = createPrefixAffinityLever({
      table,
      backendIds: ids,
      blocksOf: () => blocks,
      maxCarbonPenaltyPct: 20,
    })
    // c holds 4 blocks but is 50 % dirtier: b (3 blocks, same grid) wins.
    const moved = lever.review(
      context([state('a', 0), state('b', 1), state('c', 0, 'PL', 450)], 'a'),
    )
    expect(moved?.backend).toBe('b')
    expect(moved?.action.lever).toBe('prefix')
    // Full backends are never chosen; no block cached anywhere = no action.
    expect(
      lever.review(context([state('a', 0), state('b', 8), state('c', 0, 'PL', 450)], 'a')),
    ).toBeUndefined()
    const cold = createPrefixAffinityLever({
      table: createPrefixCacheTable([9, 9, 9]),
      backendIds: ids,
      blocksOf: () => blocks,
      maxCarbonPenaltyPct: 20,
    })
    expect(cold.review(context([state('a', 0), state('b', 0), state('c', 0)], 'a'))).toBeUndefined()
  })

  it('skips the cached prompt tokens, always prefilling at least one', () => {
    expect(skippedPrefillTokens(2000, 2)).toBe(1024)
    expect(skippedPrefillTokens(1000, 5)).toBe(999)
    expect(skippedPrefillTokens(1000, 0)).toBe(0)
  })
})

describe('occupancy', () => {
  it('targets the largest batch that still meets the SLO, and the slots without one', () => {
    const loose = targetOccupancy(profile, 64, 500, 200, 60_000)
    const tight = targetOccupancy(profile, 64, 500, 200, 4_000)
    expect(loose).toBeGreaterThan(tight)
    const latency = (b: number) =>
      500 * profile.timePerInputToken(b) + 200 * profile.timePerOutputToken(b)
    expect(latency(tight)).toBeLessThanOrEqual(4_000)
    if (tight < 64) expect(latency(tight + 1)).toBeGreaterThan(4_000)
    expect(targetOccupancy(profile, 64, 500, 200, undefined)).toBe(64)
  })

  it('fills the fullest backend of the chosen zone below its target before spreading', () => {
    const lever = createOccupancyLever({ backendIds: ['a', 'b', 'c'], targets: [6, 6, 6] })
    expect(
      lever.review(context([state('a', 0), state('b', 4), state('c', 5, 'FR')], 'a'))?.backend,
    ).toBe('b')
    // Every backend at its target: the policy's choice stands.
    expect(
      lever.review(context([state('a', 6), state('b', 6), state('c', 6)], 'a')),
    ).toBeUndefined()
    // Already the fullest below target: no move.
    expect(
      lever.review(context([state('a', 5), state('b', 2), state('c', 0)], 'a')),
    ).toBeUndefined()
  })

  it('leaves a request on the backend holding its prefix while that one is below target', () => {
    const lever = createOccupancyLever({
      backendIds: ['a', 'b'],
      targets: [6, 6],
      pinned: (j) => j === 0,
    })
    expect(lever.review(context([state('a', 1), state('b', 4)], 'a'))).toBeUndefined()
    // At its target the prefix no longer holds it: consolidation moves it as before.
    expect(lever.review(context([state('a', 6), state('b', 4)], 'a'))?.backend).toBe('b')
    // Not pinned on b: b's request is moved to the fuller a.
    expect(lever.review(context([state('a', 5), state('b', 1)], 'b'))?.backend).toBe('a')
  })
})

describe('levers on a service limited to some backends', () => {
  // The router's snapshot holds only the service's backends (here b and c of the fleet a, b, c):
  // the levers find each backend's state by id, not by its fleet index.
  const fleet = ['a', 'b', 'c']
  it('prefix affinity reads the right backend state', () => {
    const table = createPrefixCacheTable([100, 100, 100])
    table.admit(2, [10, 11])
    const lever = createPrefixAffinityLever({
      table,
      backendIds: fleet,
      blocksOf: () => [10, 11],
      maxCarbonPenaltyPct: 0,
    })
    const moved = lever.review(context([state('b', 0), state('c', 1)], 'b'))
    expect(moved?.backend).toBe('c')
    // c full: no move (its own state says so, not a's or b's).
    expect(lever.review(context([state('b', 0), state('c', 8)], 'b'))).toBeUndefined()
  })
  it('occupancy shaping reads the right backend state', () => {
    const lever = createOccupancyLever({ backendIds: fleet, targets: [4, 4, 4] })
    expect(lever.review(context([state('b', 0), state('c', 2)], 'b'))?.backend).toBe('c')
    expect(lever.review(context([state('b', 2), state('c', 0)], 'b'))).toBeUndefined()
  })
})

describe('exact cache in a trace', () => {
  it('hits an identical prompt of the same service within the TTL only', () => {
    const hits = exactCacheHits({
      arrival: [0, 10, 20, 5_000, 30],
      inputTokens: [600, 600, 600, 600, 600],
      outputTokens: [10, 10, 10, 10, 11],
      service: [0, 0, 1, 0, 0],
      prefixBlocks: [
        [1, 2],
        [1, 2],
        [1, 2],
        [1, 2],
        [1, 2],
      ],
      ttlMs: 1_000,
    })
    // 1: repeat of 0; 2: other service; 3: past the TTL (stored again); 4: other output length.
    expect([...hits]).toEqual([0, 1, 0, 0, 0])
  })
  it('with minUses 2, stores an answer on its request second coming (the gateway min_uses)', () => {
    const same = (n: number) => Array.from({ length: n }, () => [7, 8])
    const run = (minUses?: number) => [
      ...exactCacheHits({
        arrival: [0, 1, 2, 3],
        inputTokens: [100, 100, 100, 100],
        outputTokens: [5, 5, 5, 5],
        service: [0, 0, 0, 0],
        prefixBlocks: same(4),
        ttlMs: 1_000,
        ...(minUses === undefined ? {} : { minUses }),
      }),
    ]
    expect(run()).toEqual([0, 1, 1, 1])
    expect(run(2)).toEqual([0, 0, 1, 1])
    expect(run(3)).toEqual([0, 0, 0, 1])
  })
})
