import { describe, expect, it } from 'vitest'
import type { EnergyProfile } from '../energy/profile.ts'
import { seededRandom } from '../ports/random.ts'
import type { RoutingPolicy, RoutingRequest, RoutingSnapshot } from '../routing/policy.ts'
import { joules, ms, watts } from '../units/quantity.ts'
import { createPolicyChooser } from './policy-chooser.ts'
import type { EngineView } from './simulate-replay.ts'

const est = (v: number) => ({
  value: joules(v),
  low: joules(v),
  high: joules(v),
  method: 'modelled' as const,
  source: 't',
})
const profile: EnergyProfile = {
  model: 'm',
  hardware: 'h',
  precision: 'bf16',
  basis: 'fitted',
  source: 't',
  gpus: 1,
  maxBatch: 8,
  idlePower: watts(50),
  energyPerOutputToken: () => est(1),
  energyPerInputToken: () => est(0.1),
  timePerOutputToken: () => ms(20),
  timePerInputToken: () => ms(0.1),
  power: () => watts(300),
}

function view(inflight: number[], intensity: number[]): EngineView {
  return {
    now: 1_700_000_000_000,
    inflight: Int32Array.from(inflight),
    queued: new Int32Array(inflight.length),
    intensity: Float64Array.from(intensity),
    capacity: Int32Array.from(inflight.map(() => 4)),
  }
}

const backends = [
  { id: 'a', zone: 'DE', models: ['m'], pue: 1.2, maxConcurrency: 4, profile },
  { id: 'b', zone: 'FR', models: ['m'], pue: 1.1, maxConcurrency: 4, profile },
]
const requests = {
  inputTokens: [100, 200],
  outputTokens: [10, 20],
  client: [1, 0],
  service: [0, 0],
}

describe('createPolicyChooser', () => {
  it('builds the snapshot a gateway would: occupancy, intensity now, RTT from the client region', () => {
    const seen: { snap: RoutingSnapshot; req: RoutingRequest }[] = []
    const policy: RoutingPolicy = (snap, req) => {
      const backendsCopy = snap.backends.map((b) => ({ ...b, intensity: { ...b.intensity } }))
      seen.push({ snap: { now: snap.now, backends: backendsCopy }, req: { ...req } })
      return { kind: 'route', backend: 'b', policy: 'round-robin', reason: 't', scores: [] }
    }
    const chooser = createPolicyChooser({
      policy,
      backends,
      services: [{ model: 'm', sloMs: 4000 }],
      clients: 2,
      networkRttMs: [1, 2, 30, 40],
      requests,
      random: seededRandom(1),
    })
    expect(chooser.choose(0, view([3, 1], [300, 50]))).toBe(1)
    const { snap, req } = seen[0]!
    expect(snap.now).toBe(1_700_000_000_000)
    expect(snap.backends.map((b) => [b.inflight, b.intensity.intensity, b.networkRtt])).toEqual([
      [3, 300, 30],
      [1, 50, 40],
    ])
    expect(req).toMatchObject({
      model: 'm',
      inputTokens: 100,
      outputTokens: 10,
      sloP95: 4000,
      sequence: 0,
    })
    expect(req.sticky).toBeUndefined()
    chooser.choose(1, view([0, 0], [300, 50]))
    expect(seen[1]!.req).toMatchObject({ sequence: 1, sticky: 'b', outputTokens: 20 })
    expect(seen[1]!.snap.backends[0]!.networkRtt).toBe(1)
  })

  it('leaves sloP95 and sticky absent (not undefined) when a service has none, per request', () => {
    const seen: { keys: string[]; slo: unknown; sticky: unknown }[] = []
    const chooser = createPolicyChooser({
      policy: (_s, r) => {
        seen.push({ keys: Object.keys(r).sort(), slo: r.sloP95, sticky: r.sticky })
        return { kind: 'route', backend: 'a', policy: 'round-robin', reason: '', scores: [] }
      },
      backends,
      services: [{ model: 'm', sloMs: 4000 }, { model: 'm' }],
      clients: 2,
      networkRttMs: [0, 0, 0, 0],
      requests: { ...requests, service: [1, 0, 1, 0] },
      random: seededRandom(1),
    })
    for (const id of [0, 1, 0, 1]) chooser.choose(id, view([0, 0], [1, 1]))
    const base = ['draw', 'exclude', 'inputTokens', 'model', 'outputTokens', 'sequence']
    expect(seen).toEqual([
      { keys: base, slo: undefined, sticky: undefined },
      { keys: [...base, 'sloP95'].sort(), slo: 4000, sticky: undefined },
      { keys: [...base, 'sticky'].sort(), slo: undefined, sticky: 'a' },
      { keys: [...base, 'sloP95', 'sticky'].sort(), slo: 4000, sticky: 'a' },
    ])
  })

  it('tells the policy the service expected output when one is set', () => {
    let out = -1
    const chooser = createPolicyChooser({
      policy: (_s, r) => {
        out = r.outputTokens
        return { kind: 'route', backend: 'a', policy: 'round-robin', reason: '', scores: [] }
      },
      backends,
      services: [{ model: 'm', expectedOutputTokens: 256 }],
      clients: 2,
      networkRttMs: [0, 0, 0, 0],
      requests,
      random: seededRandom(1),
    })
    chooser.choose(0, view([0, 0], [1, 1]))
    expect(out).toBe(256)
  })

  it('sends a rejected request to the least-utilised backend and counts it as overflow', () => {
    const chooser = createPolicyChooser({
      policy: () => ({ kind: 'reject', policy: 'carbon-aware', reason: 'all-full', scores: [] }),
      backends,
      services: [{ model: 'm' }],
      clients: 2,
      networkRttMs: [0, 0, 0, 0],
      requests,
      random: seededRandom(1),
    })
    expect(chooser.choose(0, view([6, 5], [1, 1]))).toBe(1)
    expect(chooser.overflow()).toBe(1)
  })

  it('fails loudly on a decision naming an unknown backend', () => {
    const chooser = createPolicyChooser({
      policy: () => ({ kind: 'route', backend: 'zz', policy: 'weighted', reason: '', scores: [] }),
      backends,
      services: [{ model: 'm' }],
      clients: 2,
      networkRttMs: [0, 0, 0, 0],
      requests,
      random: seededRandom(1),
    })
    expect(() => chooser.choose(0, view([0, 0], [1, 1]))).toThrow(/unknown backend zz/)
  })
})
