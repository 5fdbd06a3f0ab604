import { describe, expect, it } from 'vitest'
import type { IntensityPoint } from '../carbon/intensity.ts'
import { seededRandom } from '../ports/random.ts'
import { createPolicy } from '../routing/policies.ts'
import type { RoutingPolicy, RoutingRequest, RoutingSnapshot } from '../routing/policy.ts'
import { testProfile } from '../routing/test-profile.ts'
import { gramsPerKwh, instant } from '../units/quantity.ts'
import {
  createRouter,
  NO_LEVERS,
  type LoadSnapshot,
  type RouterBackend,
  type RouterRequest,
  type RoutingLever,
} from './router.ts'

const fast = testProfile({ model: 'm' })
const slow = testProfile({ model: 'm', msPerTokenAt1: 60, msPerTokenAtMax: 120 })
const other = testProfile({ model: 'n', joulesPerTokenAt1: 9 })

const backend = (id: string, zone: string, models: string[] = ['m']): RouterBackend => ({
  id,
  zone,
  models,
  maxConcurrency: 2,
  weight: 1,
  pue: 1.2,
  profiles: new Map(models.map((m) => [m, m === 'n' ? other : id === 'c' ? slow : fast])),
})
const BACKENDS = [backend('a', 'DE'), backend('b', 'FR'), backend('c', 'SE', ['m', 'n'])]

const point = (zone: string, g: number): IntensityPoint => ({
  zone,
  at: instant(0),
  intensity: gramsPerKwh(g),
  signal: 'average',
  source: 'test',
  forecast: false,
  stale: false,
})

function load(over: Partial<{ inflight: number[]; healthy: boolean[]; g: number[] }> = {}) {
  const g = over.g ?? [400, 60, 30]
  return {
    now: 1_700_000_000_000,
    inflight: over.inflight ?? [0, 0, 0],
    healthy: over.healthy ?? [true, true, true],
    intensity: BACKENDS.map((b, j) => point(b.zone, g[j] as number)),
    networkRttMs: [0, 0, 0],
    overheadMs: [Number.NaN, Number.NaN, Number.NaN],
  } satisfies LoadSnapshot
}

const req = (over: Partial<RouterRequest> = {}): RouterRequest => ({
  service: 0,
  model: 'm',
  inputTokens: 100,
  outputTokens: 50,
  exclude: [],
  ...over,
})

/** A policy that records what it was given and answers with `answer`. */
function recording(answer: (s: RoutingSnapshot, r: RoutingRequest) => ReturnType<RoutingPolicy>) {
  const seen: { ids: string[]; request: RoutingRequest; profiles: string[] }[] = []
  const policy: RoutingPolicy = (s, r) => {
    seen.push({
      ids: s.backends.map((b) => b.id),
      request: { ...r },
      profiles: s.backends.map((b) => b.profile.model),
    })
    return answer(s, r)
  }
  return { policy, seen }
}

describe('createRouter', () => {
  it('routes with the service policy and keeps the previous choice per service and model as sticky', () => {
    const router = createRouter({
      backends: BACKENDS,
      services: [{ name: 's', policy: createPolicy('carbon-aware') }],
      random: seededRandom(1),
    })
    const first = router.decide(req(), load())
    expect(first.kind).toBe('route')
    if (first.kind !== 'route') return
    expect(first.backend).toBe(2) // SE, greenest
    expect(first.routing.backend).toBe('c')
    expect(first.levers).toBe(NO_LEVERS)
    // With SE a little dirtier than FR, hysteresis keeps the sticky choice (c) within tolerance.
    const second = router.decide(req(), load({ g: [400, 60, 61] }))
    expect(second.kind === 'route' && second.routing.backend).toBe('c')
    expect(second.kind === 'route' && second.routing.reason).toMatch(/kept/)
  })

  it('gives the policy the service backends only, the model profile, sequence, draw and sticky', () => {
    const { policy, seen } = recording((s) => ({
      kind: 'route',
      backend: s.backends[s.backends.length - 1]!.id,
      policy: 'round-robin',
      reason: 't',
      scores: [],
    }))
    const router = createRouter({
      backends: BACKENDS,
      services: [
        { name: 'all', policy },
        { name: 'bc', policy, backends: ['c', 'b'], sloP95Ms: 900 },
      ],
      random: seededRandom(3),
    })
    router.decide(req({ service: 1, model: 'n' }), load())
    router.decide(req({ service: 1, model: 'm' }), load())
    router.decide(req({ service: 0 }), load())
    expect(seen[0]!.ids).toEqual(['b', 'c']) // fleet order, not the service list's order
    expect(seen[0]!.profiles).toEqual(['m', 'n']) // b lacks n: its first profile
    expect(seen[0]!.request.sloP95).toBe(900)
    expect(seen[0]!.request.sticky).toBeUndefined()
    expect(seen[1]!.profiles).toEqual(['m', 'm'])
    expect(seen[1]!.request.sticky).toBeUndefined() // sticky is per model
    expect(seen[2]!.ids).toEqual(['a', 'b', 'c'])
    expect('sloP95' in seen[2]!.request).toBe(false)
    expect(seen.map((x) => x.request.sequence)).toEqual([0, 1, 2])
    const draws = seededRandom(3)
    expect(seen.map((x) => x.request.draw)).toEqual([draws.next(), draws.next(), draws.next()])
    router.decide(req({ service: 1, model: 'n' }), load())
    expect(seen[3]!.request.sticky).toBe('c')
    expect(router.serviceIndex('bc')).toBe(1)
    expect(router.serviceIndex('zz')).toBe(-1)
    expect(router.backendIndex('c')).toBe(2)
  })

  it('excludes backends already tried and refuses once maxAttempts were tried', () => {
    const router = createRouter({
      backends: BACKENDS,
      services: [{ name: 's', policy: createPolicy('carbon-aware') }],
      random: seededRandom(1),
      maxAttempts: 2,
    })
    const second = router.decide(req({ exclude: ['c'] }), load())
    expect(second.kind === 'route' && second.routing.backend).toBe('b')
    const third = router.decide(req({ exclude: ['c', 'b'] }), load())
    expect(third).toMatchObject({ kind: 'reject', reason: 'attempts-exhausted', queueAt: -1 })
  })

  it('all full: waits, charged to the least-utilised serving backend, hint = shortest predicted latency', () => {
    const router = createRouter({
      backends: BACKENDS,
      services: [{ name: 's', policy: createPolicy('least-loaded') }],
      random: seededRandom(1),
    })
    const d = router.decide(req(), load({ inflight: [3, 2, 2] }))
    expect(d.kind).toBe('wait')
    if (d.kind !== 'wait') return
    expect(d.queueAt).toBe(1) // b and c both at 2/2: lowest index
    const full = d.routing.scores.filter((s) => s.reason === 'full').map((s) => s.predictedLatency)
    expect(d.retryHintMs).toBe(Math.min(...full))
    expect(d.retryHintMs).toBeGreaterThan(0)
  })

  it('unknown model on a first attempt; no-backend when all are down or after a retry', () => {
    const router = createRouter({
      backends: BACKENDS,
      services: [{ name: 's', policy: createPolicy('round-robin') }],
      random: seededRandom(1),
    })
    expect(router.decide(req({ model: 'zz' }), load())).toMatchObject({
      kind: 'reject',
      reason: 'unknown-model',
      queueAt: -1,
    })
    expect(router.decide(req({ model: 'zz', exclude: ['a'] }), load())).toMatchObject({
      kind: 'reject',
      reason: 'no-backend',
    })
    const down = router.decide(req(), load({ healthy: [false, false, false], inflight: [1, 0, 0] }))
    expect(down).toMatchObject({ kind: 'reject', reason: 'no-backend', queueAt: 1 })
  })

  it('no measured overhead (NaN) decides as an overhead of 0; a measured one counts', () => {
    const router = (() =>
      createRouter({
        backends: BACKENDS,
        services: [{ name: 's', policy: createPolicy('latency-first') }],
        random: seededRandom(1),
      }))()
    const base = load()
    const zero = { ...base, overheadMs: [0, 0, 0] }
    const a = router.decide(req(), base)
    const aScores = a.kind === 'route' ? a.routing.scores : []
    const b = router.decide(req(), zero)
    expect(b.kind === 'route' && b.routing.scores).toEqual(aScores)
    const slowA = { ...base, overheadMs: [0, 5_000, 0] }
    const c = router.decide(req(), slowA)
    const lat = c.kind === 'route' ? c.routing.scores[1]!.predictedLatency : 0
    expect(lat - (aScores[1]?.predictedLatency ?? 0)).toBeCloseTo(5_000, 6)
  })

  it('a lever may move a route to another eligible backend and is listed; an ineligible move throws', () => {
    const prefix: RoutingLever = {
      name: 'prefix',
      review: ({ decision }) =>
        decision.backend === 'b'
          ? undefined
          : { backend: 'b', action: { lever: 'prefix', detail: 'prefix cached on b' } },
    }
    const router = createRouter({
      backends: BACKENDS,
      services: [{ name: 's', policy: createPolicy('carbon-aware') }],
      random: seededRandom(1),
      levers: [prefix],
    })
    const d = router.decide(req(), load())
    expect(d).toMatchObject({
      kind: 'route',
      backend: 1,
      routing: { backend: 'b' },
      levers: [{ lever: 'prefix', detail: 'prefix cached on b' }],
    })
    const { policy, seen } = recording(() => ({
      kind: 'route',
      backend: 'a',
      policy: 'round-robin',
      reason: 't',
      scores: [
        {
          backend: 'a',
          eligible: true,
          predictedEnergy: 0 as never,
          predictedCarbon: 0 as never,
          predictedLatency: 0 as never,
          score: 0,
        },
      ],
    }))
    const strict = createRouter({
      backends: BACKENDS,
      services: [{ name: 's', policy }],
      random: seededRandom(1),
      levers: [prefix],
    })
    expect(() => strict.decide(req(), load())).toThrow(/not eligible/)
    expect(seen).toHaveLength(1)
    // When the policy itself picks b, the lever does nothing and no lever is listed.
    const again = router.decide(req(), load({ g: [400, 30, 60] }))
    expect(again).toMatchObject({ kind: 'route', backend: 1, levers: [] })
  })

  it('rejects a fleet it cannot route for: duplicate ids, a service naming an unknown backend', () => {
    expect(() =>
      createRouter({
        backends: [BACKENDS[0]!, BACKENDS[0]!],
        services: [],
        random: seededRandom(1),
      }),
    ).toThrow(/duplicate backend a/)
    expect(() =>
      createRouter({
        backends: BACKENDS,
        services: [{ name: 's', policy: createPolicy('round-robin'), backends: ['zz'] }],
        random: seededRandom(1),
      }),
    ).toThrow(/names backend zz/)
  })
})
