/**
 * Quality tiers decide the same in the gateway and in the replay: the same requests under the same
 * intensities go (1) through the real gateway (official-shaped HTTP, simulated model servers) and
 * (2) through `planTiers`; the model each request is served by must be the same.
 */
import { testProfile } from '@wattline/core/test-profile'
import type { SimulationResult } from '@wattline/core'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  startGateway,
  startStub,
  type Harness,
  type StubBackend,
} from '../http/harness.test-support.ts'
import { loadFleet, parseFleet, type Fleet } from './load-fleet.ts'
import { planTiers, routingServices } from './replay-tiers.ts'
import type { StageRequests } from './replay-levers.ts'

const BIG = 'llama-3.1-70b-instruct'
const SMALL = 'llama-3.1-8b-instruct'
/** Intensity of PL and DE (the 70B zones) per request; SE (8B) stays clean. */
const STEPS: readonly { PL: number; DE: number }[] = [
  { PL: 200, DE: 500 },
  { PL: 350, DE: 320 },
  { PL: 600, DE: 250 },
  { PL: 310, DE: 305 },
  { PL: 301, DE: 700 },
  { PL: 290, DE: 900 },
  { PL: 300, DE: 300 },
  { PL: 800, DE: 301 },
]

const FLEET = `name: tiers
services:
  - name: chat
    model: ${BIG}
    tiers:
      - model: ${BIG}
      - { model: ${SMALL}, when: { intensity_above_g_per_kwh: 300, opt_in: true } }
clients: [{ region: eu, share: 1, location: DE }]
latency: { default_ms: 5 }
backends:
  - { id: warsaw, zone: PL, hardware: H100-SXM, model: ${BIG} }
  - { id: frankfurt, zone: DE, hardware: H100-SXM, model: ${BIG} }
  - { id: stockholm, zone: SE, hardware: H100-SXM, model: ${SMALL} }
`

/** The model `planTiers` serves each request with, at STEPS[i] for request i. */
function replayed(fleet: Fleet, optInPct: number): string[] {
  const n = STEPS.length
  const requests: StageRequests = {
    count: n,
    arrival: Float64Array.from(STEPS, (_, i) => 1_700_000_000_000 + i * 1000),
    inputTokens: new Float64Array(n).fill(7),
    outputTokens: new Float64Array(n).fill(3),
    client: new Int32Array(n),
    service: new Int32Array(n),
    prefixBlocks: undefined,
  }
  const plan = planTiers({
    fleet,
    requests,
    intensity: (zone, at) => {
      const step = STEPS[Math.round((at - 1_700_000_000_000) / 1000)] as Record<string, number>
      return { intensity: step[zone] ?? 20, until: at + 1 }
    },
    // No budget here: the baseline's energies are not read.
    baseline: {
      energyJ: new Float64Array(n),
      carbonG: new Float64Array(n),
    } as unknown as SimulationResult,
    settings: { optInPct },
    seed: 1,
  })
  const routes = routingServices(fleet)
  return Array.from(plan.requests.service, (r) => routes[r]?.model as string)
}

describe('quality tiers: the gateway and the replay decide alike', () => {
  const stubs: StubBackend[] = []
  let gw: Harness
  const intensity: Record<string, number> = { PL: 0, DE: 0, SE: 20 }
  let fleet: Fleet

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) stubs.push(await startStub())
    const [pl, de, se] = stubs as [StubBackend, StubBackend, StubBackend]
    gw = await startGateway(
      {
        services: [
          {
            name: 'chat',
            tiers: [
              { model: BIG },
              { model: SMALL, when: { intensity_above_g_per_kwh: 300, opt_in: true } },
            ],
          },
        ],
        backends: [
          { id: 'warsaw', url: pl.url, zone: 'PL', hardware: 'H100-SXM', models: [BIG] },
          { id: 'frankfurt', url: de.url, zone: 'DE', hardware: 'H100-SXM', models: [BIG] },
          { id: 'stockholm', url: se.url, zone: 'SE', hardware: 'H100-SXM', models: [SMALL] },
        ],
      },
      intensity,
      {},
      undefined,
      { profileFor: () => testProfile() },
    )
    fleet = await parseFleet(FLEET, 'tiers.fleet.yaml')
  })
  afterAll(async () => {
    await gw.close()
    await Promise.all(stubs.map((s) => s.close()))
  })

  async function served(eco: boolean): Promise<string[]> {
    const out: string[] = []
    for (const step of STEPS) {
      Object.assign(intensity, step)
      await gw.intensity.refresh()
      const res = await fetch(`${gw.baseUrl}/chat/completions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(eco ? { 'x-wattline-tier': 'eco' } : {}),
        },
        body: JSON.stringify({ model: BIG, messages: [{ role: 'user', content: 'hi' }] }),
      })
      await res.text()
      expect(res.status).toBe(200)
      out.push(res.headers.get('x-wattline-model-served') as string)
    }
    return out
  }

  it('downgrades the same requests on intensity', async () => {
    const live = await served(false)
    const sim = replayed(fleet, 0)
    expect(live).toEqual(sim)
    // The cleanest 70B zone decides: above 300 at steps 1, 3, 4 and 7 only.
    expect(sim).toEqual([BIG, SMALL, BIG, SMALL, SMALL, BIG, BIG, SMALL])
  })

  it('downgrades every opted-in request in both', async () => {
    expect(await served(true)).toEqual(replayed(fleet, 100))
    expect(replayed(fleet, 100)).toEqual(STEPS.map(() => SMALL))
  })
})

describe('examples/tiers.fleet.yaml', () => {
  it('loads with its two tiers', async () => {
    const file = fileURLToPath(new URL('../../../../examples/tiers.fleet.yaml', import.meta.url))
    const fleet = await loadFleet(file)
    expect(fleet.services[0]?.tiers?.map((t) => t.model)).toEqual([BIG, SMALL])
    expect(routingServices(fleet).map((r) => r.model)).toEqual([BIG, SMALL])
  })
})
