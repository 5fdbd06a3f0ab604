import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { EnergyProfile } from '../energy/profile.ts'
import { gramsPerKwh, instant, ms } from '../units/quantity.ts'
import { createCarbonAware } from './carbon-aware.ts'
import { createLatencyFirst } from './latency-first.ts'
import { createLeastLoaded } from './least-loaded.ts'
import { createPolicy } from './policies.ts'
import {
  ROUTING_POLICIES,
  type BackendState,
  type RoutingRequest,
  type RoutingSnapshot,
} from './policy.ts'
import { predict } from './predict.ts'
import { createRoundRobin } from './round-robin.ts'
import { testProfile } from './test-profile.ts'
import { createWeighted } from './weighted.ts'

const MODEL = 'llama-3.1-8b-instruct'
const H100 = testProfile()
const SLOW = testProfile({ msPerTokenAt1: 40, msPerTokenAtMax: 80 })

function backend(
  id: string,
  zone: string,
  intensity: number,
  over: Partial<BackendState> & { profile?: EnergyProfile } = {},
): BackendState {
  return {
    id,
    zone,
    models: [MODEL],
    healthy: true,
    inflight: 0,
    maxConcurrency: 32,
    weight: 1,
    pue: 1.2,
    profile: H100,
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
    ...over,
  }
}

function request(over: Partial<RoutingRequest> = {}): RoutingRequest {
  return {
    model: MODEL,
    inputTokens: 100,
    outputTokens: 100,
    exclude: [],
    sequence: 0,
    draw: 0,
    ...over,
  }
}

const snap = (...backends: BackendState[]): RoutingSnapshot => ({ now: instant(0), backends })

const fleet = (): RoutingSnapshot =>
  snap(backend('paris', 'FR', 50), backend('frankfurt', 'DE', 380), backend('warsaw', 'PL', 700))

describe('predict', () => {
  it('charges facility energy at the zone intensity and predicts at inflight + 1', () => {
    const p = predict(backend('paris', 'FR', 100), request({ inputTokens: 0, outputTokens: 10 }))
    expect(p.occupancy).toBe(1)
    expect(p.energy).toBeCloseTo(20) // 10 tokens × 2 J at batch 1
    expect(p.carbon).toBeCloseTo(((20 * 1.2) / 3_600_000) * 100)
    expect(p.latency).toBeCloseTo(100)
  })

  it('stretches compute time beyond the profile’s largest batch', () => {
    const small = testProfile({ maxBatch: 4, msPerTokenAt1: 10, msPerTokenAtMax: 10 })
    const at4 = predict(
      backend('a', 'FR', 1, { profile: small, inflight: 3 }),
      request({ inputTokens: 0 }),
    )
    const at8 = predict(
      backend('a', 'FR', 1, { profile: small, inflight: 7 }),
      request({ inputTokens: 0 }),
    )
    expect(at8.latency).toBeCloseTo(at4.latency * 2)
  })
})

describe('carbon-aware', () => {
  const policy = createCarbonAware()

  it('routes to the greenest feasible backend and records every alternative', () => {
    const d = policy(fleet(), request())
    expect(d.kind).toBe('route')
    if (d.kind !== 'route') return
    expect(d.backend).toBe('paris')
    expect(d.scores.map((s) => s.backend)).toEqual(['paris', 'frankfurt', 'warsaw'])
    expect(d.scores.every((s) => s.eligible)).toBe(true)
    expect(d.scores[0]?.score).toBeLessThan(d.scores[1]?.score ?? 0)
  })

  it('holds the SLO: a greener but too slow backend loses', () => {
    const s = snap(
      backend('slow-green', 'FR', 30, { profile: SLOW }),
      backend('fast-brown', 'DE', 400),
    )
    const d = policy(s, request({ outputTokens: 100, sloP95: ms(2000) }))
    expect(d.kind === 'route' && d.backend).toBe('fast-brown')
    expect(d.scores.find((x) => x.backend === 'slow-green')?.reason).toBe('slo')
    // Without the SLO the green one wins.
    expect(policy(s, request()).kind === 'route' && policy(s, request())).toMatchObject({
      backend: 'slow-green',
    })
  })

  it('uses measured overhead in the latency prediction', () => {
    const s = snap(
      backend('green', 'FR', 30, { observedOverhead: ms(5000) }),
      backend('brown', 'DE', 400),
    )
    expect(policy(s, request({ sloP95: ms(4000) }))).toMatchObject({ backend: 'brown' })
  })

  it('spills over to the next greenest as capacity fills', () => {
    const s = snap(
      backend('paris', 'FR', 50, { inflight: 32 }),
      backend('frankfurt', 'DE', 380),
      backend('warsaw', 'PL', 700),
    )
    const d = policy(s, request())
    expect(d).toMatchObject({ kind: 'route', backend: 'frankfurt' })
    expect(d.scores[0]).toMatchObject({ backend: 'paris', eligible: false, reason: 'full' })
  })

  it('does not herd: decisions against a snapshot updated with each routed request spread by capacity', () => {
    let backends = fleet().backends.map((b) => ({ ...b, maxConcurrency: 4 }))
    const chosen: string[] = []
    for (let i = 0; i < 10; i++) {
      const d = policy(snap(...backends), request())
      if (d.kind !== 'route') break
      chosen.push(d.backend)
      backends = backends.map((b) => (b.id === d.backend ? { ...b, inflight: b.inflight + 1 } : b))
    }
    expect(chosen).toEqual([
      ...Array(4).fill('paris'),
      ...Array(4).fill('frankfurt'),
      'warsaw',
      'warsaw',
    ])
  })

  it('does not flap: keeps the previous choice within the tolerance band', () => {
    const s = snap(backend('a', 'FR', 100), backend('b', 'SE', 98))
    expect(policy(s, request())).toMatchObject({ backend: 'b' })
    expect(policy(s, request({ sticky: 'a' }))).toMatchObject({ backend: 'a' })
    const far = snap(backend('a', 'FR', 100), backend('b', 'SE', 50))
    expect(policy(far, request({ sticky: 'a' }))).toMatchObject({ backend: 'b' })
  })

  it('skips unhealthy and excluded backends (retries go elsewhere)', () => {
    const s = snap(
      backend('paris', 'FR', 50, { healthy: false }),
      backend('frankfurt', 'DE', 380),
      backend('warsaw', 'PL', 700),
    )
    expect(policy(s, request())).toMatchObject({ backend: 'frankfurt' })
    expect(policy(s, request({ exclude: ['frankfurt'] }))).toMatchObject({ backend: 'warsaw' })
  })

  it('picks the fastest when no backend meets the SLO', () => {
    const s = snap(backend('slow', 'FR', 30, { profile: SLOW }), backend('fast', 'DE', 400))
    expect(policy(s, request({ sloP95: ms(1) }))).toMatchObject({ kind: 'route', backend: 'fast' })
  })

  it('rejects with a reason when nothing can serve', () => {
    expect(policy(fleet(), request({ model: 'nope' }))).toMatchObject({
      kind: 'reject',
      reason: 'unknown-model',
    })
    const full = snap(
      backend('a', 'FR', 1, { inflight: 32 }),
      backend('b', 'DE', 1, { healthy: false }),
    )
    expect(policy(full, request())).toMatchObject({ kind: 'reject', reason: 'all-full' })
    const down = snap(backend('a', 'FR', 1, { healthy: false }))
    expect(policy(down, request())).toMatchObject({ kind: 'reject', reason: 'no-backend' })
  })
})

describe('baselines', () => {
  it('round-robin takes turns among eligible backends', () => {
    const p = createRoundRobin()
    const ids = [0, 1, 2, 3].map((sequence) => {
      const d = p(fleet(), request({ sequence }))
      return d.kind === 'route' ? d.backend : ''
    })
    expect(ids).toEqual(['paris', 'frankfurt', 'warsaw', 'paris'])
  })

  it('least-loaded picks the lowest utilisation', () => {
    const s = snap(
      backend('a', 'FR', 1, { inflight: 5 }),
      backend('b', 'DE', 1, { inflight: 2 }),
      backend('c', 'PL', 1, { inflight: 9 }),
    )
    expect(createLeastLoaded()(s, request())).toMatchObject({ backend: 'b' })
  })

  it('latency-first picks the fastest', () => {
    const s = snap(backend('slow', 'FR', 1, { profile: SLOW }), backend('fast', 'DE', 900))
    expect(createLatencyFirst()(s, request())).toMatchObject({ backend: 'fast' })
  })

  it('weighted follows the draw over configured weights', () => {
    const s = snap(backend('a', 'FR', 1, { weight: 1 }), backend('b', 'DE', 1, { weight: 3 }))
    const p = createWeighted()
    expect(p(s, request({ draw: 0.2 }))).toMatchObject({ backend: 'a' })
    expect(p(s, request({ draw: 0.3 }))).toMatchObject({ backend: 'b' })
    expect(p(s, request({ draw: 0.99 }))).toMatchObject({ backend: 'b' })
  })
})

describe('every policy', () => {
  const arbBackend = fc.record({
    inflight: fc.integer({ min: 0, max: 40 }),
    healthy: fc.boolean(),
    intensity: fc.double({ min: 0, max: 1000, noNaN: true }),
    weight: fc.double({ min: 0, max: 5, noNaN: true }),
    serves: fc.boolean(),
  })
  it.each(ROUTING_POLICIES)(
    '%s only routes to an eligible backend, and is deterministic',
    (name) => {
      const policy = createPolicy(name)
      fc.assert(
        fc.property(
          fc.array(arbBackend, { minLength: 0, maxLength: 6 }),
          fc.nat(),
          fc.double({ min: 0, max: 0.9999, noNaN: true }),
          fc.option(fc.integer({ min: 1, max: 20_000 }), { nil: undefined }),
          (specs, sequence, draw, slo) => {
            const s = snap(
              ...specs.map((x, i) =>
                backend(`b${i}`, 'FR', x.intensity, {
                  inflight: x.inflight,
                  healthy: x.healthy,
                  weight: x.weight,
                  models: x.serves ? [MODEL] : ['other'],
                }),
              ),
            )
            const req = request({
              sequence,
              draw,
              ...(slo === undefined ? {} : { sloP95: ms(slo) }),
            })
            const d = policy(s, req)
            expect(policy(s, req)).toEqual(d)
            expect(d.scores).toHaveLength(specs.length)
            if (d.kind === 'route') {
              const b = s.backends.find((x) => x.id === d.backend)
              expect(b?.healthy).toBe(true)
              expect(b?.models).toContain(MODEL)
              expect((b?.inflight ?? 99) < (b?.maxConcurrency ?? 0)).toBe(true)
            } else {
              const usable = s.backends.some(
                (b) => b.healthy && b.models.includes(MODEL) && b.inflight < b.maxConcurrency,
              )
              expect(usable).toBe(false)
            }
          },
        ),
        { numRuns: 200 },
      )
    },
  )
})
