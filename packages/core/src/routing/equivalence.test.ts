/**
 * Differential test: the allocation-light policies decide exactly as the frozen reference copy
 * (`routing/reference/*.test-support.ts`, the code before the rewrite) on random snapshots and
 * requests — same kind, backend, reason, and the same score records (same keys in the same order, an
 * absent `reason` stays absent, every number bit-identical incl. NaN and -0).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { memoizeProfile } from '../engine/batch-tables.ts'
import { createPolicyChooser } from '../engine/policy-chooser.ts'
import { simulateReplay, type EngineBackend } from '../engine/simulate-replay.ts'
import { seededRandom } from '../ports/random.ts'
import type { EnergyProfile } from '../energy/profile.ts'
import { gramsPerKwh, instant, ms } from '../units/quantity.ts'
import { createPolicy } from './policies.ts'
import {
  ROUTING_POLICIES,
  type BackendState,
  type RoutingDecision,
  type RoutingPolicy,
  type RoutingRequest,
  type RoutingSnapshot,
} from './policy.ts'
import { assess, predict } from './predict.ts'
import {
  createReferencePolicy,
  referenceAssess,
  referencePredict,
} from './reference/index.test-support.ts'
import { testProfile } from './test-profile.ts'

const PROFILES: readonly EnergyProfile[] = [
  testProfile(),
  testProfile({ msPerTokenAt1: 40, msPerTokenAtMax: 80, maxBatch: 8 }),
  testProfile({ joulesPerTokenAt1: 5, joulesPerTokenAtMax: 1, maxBatch: 1 }),
  testProfile({ maxBatch: 12.5 }),
  memoizeProfile(testProfile({ maxBatch: 32, msPerTokenAt1: 15 })),
  // Degenerate fits a buggy profile could produce: NaN and zero outputs.
  { ...testProfile({ maxBatch: 4 }), timePerOutputToken: () => ms(Number.NaN) },
  { ...testProfile({ maxBatch: 0 }), timePerInputToken: () => ms(0) },
]
const MODELS = ['m1', 'm2', 'm3'] as const
const IDS = ['a', 'b', 'c', 'd', 'e'] as const

/** Numbers as the reference and the rewrite can meet them, edge values included. */
const num = (min: number, max: number): fc.Arbitrary<number> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.double({ min, max, noNaN: true }) },
    { weight: 4, arbitrary: fc.integer({ min: Math.ceil(min), max: Math.floor(max) }) },
    { weight: 1, arbitrary: fc.constantFrom(0, -0, min, max) },
  )

const backendArb: fc.Arbitrary<BackendState> = fc
  .record({
    id: fc.constantFrom(...IDS),
    zone: fc.constantFrom('DE', 'FR', 'NO'),
    models: fc.oneof(
      { weight: 4, arbitrary: fc.constant(['m1']) },
      { weight: 2, arbitrary: fc.subarray([...MODELS]) },
    ),
    healthy: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, fc.constant(false)),
    inflight: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 40 }) },
      { weight: 2, arbitrary: fc.integer({ min: 0, max: 80 }) },
      fc.constantFrom(-1, -0),
    ),
    maxConcurrency: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 8, max: 70 }) },
      fc.integer({ min: 0, max: 8 }),
      fc.constant(Number.POSITIVE_INFINITY),
    ),
    weight: fc.oneof(
      num(-2, 10),
      fc.constantFrom(0.1, 0.2, 0.3, 0.7, 3),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
    ),
    pue: num(1, 2),
    profile: fc.constantFrom(...PROFILES),
    // A few shared values make exact ties and near-ties (hysteresis band) common.
    intensity: fc.oneof(
      { weight: 4, arbitrary: num(0, 900) },
      { weight: 4, arbitrary: fc.constantFrom(100, 101, 103, 104.9, 200) },
      fc.constant(Number.NaN),
    ),
    networkRtt: fc.oneof(num(0, 300), fc.constant(0)),
    observedOverhead: fc.option(num(0, 200), { nil: undefined }),
  })
  .map(({ intensity, networkRtt, observedOverhead, ...b }) => ({
    ...b,
    intensity: {
      zone: b.zone,
      at: instant(0),
      intensity: gramsPerKwh(intensity),
      signal: 'average' as const,
      source: 'test',
      forecast: false,
      stale: false,
    },
    networkRtt: ms(networkRtt),
    ...(observedOverhead === undefined ? {} : { observedOverhead: ms(observedOverhead) }),
  }))

/** Snapshots; some backends have twins (same state, another id) so exact ties are common. */
const snapshotArb: fc.Arbitrary<RoutingSnapshot> = fc
  .tuple(
    fc.array(backendArb, { minLength: 0, maxLength: 6 }),
    fc.array(fc.tuple(fc.nat(5), fc.constantFrom(...IDS)), { maxLength: 3 }),
  )
  .map(([backends, twins]) => ({
    now: instant(1_700_000_000_000),
    backends:
      backends.length === 0
        ? backends
        : [
            ...backends,
            ...twins.map(([k, id]) => ({
              ...(backends[k % backends.length] as BackendState),
              id,
            })),
          ],
  }))

const requestArb: fc.Arbitrary<RoutingRequest> = fc
  .record({
    model: fc.oneof({ weight: 6, arbitrary: fc.constant('m1') }, fc.constantFrom(...MODELS, 'm4')),
    inputTokens: fc.oneof(num(-5, 8000), fc.constant(Number.NaN)),
    outputTokens: num(-5, 4000),
    sloP95: fc.option(
      fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 2_000, max: 200_000 }) }, num(0, 30_000)),
      { nil: undefined },
    ),
    exclude: fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, fc.subarray([...IDS, 'zz'])),
    sequence: fc.oneof(
      fc.integer({ min: -1000, max: 1_000_000 }),
      fc.constantFrom(2 ** 53, 2.5, Number.NaN),
    ),
    draw: fc.oneof(
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      num(-1, 2),
      // At the top of [0, 1), where rounding can leave the cumulative shares short of the draw.
      fc.constantFrom(1 - Number.EPSILON, 1 - Number.EPSILON / 2, 0.9999999),
    ),
    sticky: fc.option(fc.constantFrom(...IDS, 'zz'), { nil: undefined }),
  })
  .map(({ sloP95, sticky, ...r }) => ({
    ...r,
    ...(sloP95 === undefined ? {} : { sloP95: ms(sloP95) }),
    ...(sticky === undefined ? {} : { sticky }),
  }))

/**
 * A canonical text of a value in which two values are equal exactly when they are the same data:
 * numbers by `Object.is` (NaN equal to NaN, -0 distinct from 0), `undefined`-valued keys kept and
 * distinct from absent ones, key order significant.
 */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'number') return Object.is(v, -0) ? 'num:-0' : `num:${String(v)}`
    if (v === undefined) return 'undefined'
    return v
  })
}

/** Runs a policy, returning its decision or the error it threw (so both sides can be compared). */
function attempt(run: () => RoutingDecision): string {
  try {
    return canonical(run())
  } catch (e) {
    return `threw ${(e as Error).name}: ${(e as Error).message}`
  }
}

const RUNS = 1500

describe('allocation-light routing policies decide exactly as the reference implementation', () => {
  for (const name of ROUTING_POLICIES) {
    it(`${name}: same decision, reason and scores on random snapshots and requests`, () => {
      const live = createPolicy(name)
      const reference = createReferencePolicy(name)
      fc.assert(
        fc.property(snapshotArb, requestArb, (snapshot, request) => {
          expect(attempt(() => live(snapshot, request))).toBe(
            attempt(() => reference(snapshot, request)),
          )
        }),
        { numRuns: RUNS, seed: 20261128 },
      )
    })
  }

  it('carbon-aware: same decisions for several hysteresis tolerances', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0, 0.05, 0.2, 1, 3),
        snapshotArb,
        requestArb,
        (tolerance, snapshot, request) => {
          const live = createPolicy('carbon-aware', { carbonAware: { tolerance } })
          const reference = createReferencePolicy('carbon-aware', { carbonAware: { tolerance } })
          expect(attempt(() => live(snapshot, request))).toBe(
            attempt(() => reference(snapshot, request)),
          )
        },
      ),
      { numRuns: RUNS, seed: 7 },
    )
  })

  it('carbon-aware: same hysteresis decisions when the previous choice is in the running', () => {
    const open = snapshotArb.map((snap) => ({
      ...snap,
      backends: snap.backends.map((b) => ({ ...b, healthy: true, models: ['m1'] })),
    }))
    fc.assert(
      fc.property(
        fc.constantFrom(0, 0.05, 0.2, 1),
        open,
        requestArb,
        fc.nat(6),
        (tolerance, snapshot, r, k) => {
          const sticky = snapshot.backends[k % Math.max(1, snapshot.backends.length)]?.id
          const { sloP95: _slo, sticky: _s, ...rest } = r
          const request: RoutingRequest = {
            ...rest,
            model: 'm1',
            exclude: [],
            ...(sticky === undefined ? {} : { sticky }),
          }
          const live = createPolicy('carbon-aware', { carbonAware: { tolerance } })
          const reference = createReferencePolicy('carbon-aware', { carbonAware: { tolerance } })
          expect(attempt(() => live(snapshot, request))).toBe(
            attempt(() => reference(snapshot, request)),
          )
        },
      ),
      { numRuns: RUNS, seed: 5 },
    )
  })

  it('a policy reused across decisions (shared scratch space) still decides each one alone', () => {
    const names = ROUTING_POLICIES
    const live = names.map((n) => createPolicy(n))
    const reference = names.map((n) => createReferencePolicy(n))
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(names.length - 1), snapshotArb, requestArb), {
          minLength: 1,
          maxLength: 12,
        }),
        (steps) => {
          // Decide every step, then compare: a decision must not change after a later one.
          const got = steps.map(([k, s, r]) => (live[k] as (typeof live)[number])(s, r))
          const want = steps.map(([k, s, r]) => (reference[k] as (typeof reference)[number])(s, r))
          expect(canonical(got)).toBe(canonical(want))
        },
      ),
      { numRuns: 300, seed: 11 },
    )
  })

  it('predict and assess give the reference predictions, bit for bit', () => {
    fc.assert(
      fc.property(snapshotArb, requestArb, (snapshot, request) => {
        for (const b of snapshot.backends) {
          expect(canonical(predict(b, request))).toBe(canonical(referencePredict(b, request)))
        }
        const strip = (list: ReturnType<typeof assess>) =>
          canonical(list.map(({ backend, ...rest }) => ({ id: backend.id, ...rest })))
        const assessed = assess(snapshot, request)
        expect(assessed.map((a) => a.backend)).toEqual(snapshot.backends)
        expect(strip(assessed)).toBe(strip(referenceAssess(snapshot, request)))
      }),
      { numRuns: 500, seed: 3 },
    )
  })

  it('a replay through the engine routes every request as with the reference policies', () => {
    // 3,000 requests at ~40 req/s on 4 small backends: queues fill, spill-over and stickiness occur.
    const r = seededRandom(42)
    const n = 3000
    const arrival = new Float64Array(n)
    const inputTokens = new Float64Array(n)
    const outputTokens = new Float64Array(n)
    const client = new Int32Array(n)
    const service = new Int32Array(n)
    let t = 1_700_000_000_000
    for (let i = 0; i < n; i++) {
      t += (-Math.log(1 - r.next()) / 40) * 1000
      arrival[i] = t
      inputTokens[i] = 50 + Math.floor(r.next() * 2000)
      outputTokens[i] = 10 + Math.floor(r.next() * 400)
      client[i] = Math.floor(r.next() * 2)
      service[i] = Math.floor(r.next() * 2)
    }
    const requests = { count: n, arrival, inputTokens, outputTokens, client, service }
    const zones = ['DE', 'GB', 'ES', 'NO']
    const backends: EngineBackend[] = zones.map((zone, j) => ({
      id: `b${j}`,
      zone,
      replicas: 1 + (j % 2),
      maxConcurrency: 8,
      pue: 1.1 + j / 20,
      profile: PROFILES[j % 2] as EnergyProfile,
    }))
    const rtt = [5, 13, 27, 33, 33, 39, 52, 5]
    const intensity = (zone: string, at: number) => {
      const h = Math.floor(at / 3_600_000)
      return {
        intensity: (100 + 60 * zones.indexOf(zone)) * (1 + 0.3 * Math.sin(h + at / 6e5)),
        until: at + 600_000,
      }
    }
    const run = (policy: RoutingPolicy) =>
      simulateReplay({
        requests,
        backends,
        networkRttMs: rtt,
        intensity,
        choose: createPolicyChooser({
          policy,
          backends: backends.map((b) => ({
            ...b,
            models: ['m1'],
            maxConcurrency: b.replicas * b.maxConcurrency,
            weight: 1 + (b.id === 'b1' ? 2 : 0),
          })),
          services: [{ model: 'm1', sloMs: 9000 }, { model: 'm1' }],
          clients: 2,
          networkRttMs: rtt,
          requests,
          random: seededRandom(3),
        }).choose,
      })
    for (const name of ROUTING_POLICIES) {
      const live = run(createPolicy(name))
      const reference = run(createReferencePolicy(name))
      expect(new Set(live.backend).size, name).toBeGreaterThan(1)
      expect(Array.from(live.backend), name).toEqual(Array.from(reference.backend))
      expect(canonical(Array.from(live.latencyMs)), name).toBe(
        canonical(Array.from(reference.latencyMs)),
      )
      expect(canonical(Array.from(live.carbonG)), name).toBe(
        canonical(Array.from(reference.carbonG)),
      )
    }
  })

  it('the canonical form tells apart what a loose equality would not', () => {
    expect(canonical({ a: 0 })).not.toBe(canonical({ a: -0 }))
    expect(canonical({ a: undefined })).not.toBe(canonical({}))
    expect(canonical({ a: 1, b: 2 })).not.toBe(canonical({ b: 2, a: 1 }))
    expect(canonical({ a: Number.NaN })).toBe(canonical({ a: Number.NaN }))
    expect(canonical({ a: 0.1 + 0.2 })).not.toBe(canonical({ a: 0.3 }))
  })
})
