import { testProfile } from '@wattline/core/test-profile'
import { type LeverEnergySaving } from '@wattline/core'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../config/parse-config.ts'
import type { Accounting } from '../http/accounting.ts'
import { createBackendRuntime } from '../http/backend-runtime.ts'
import { TEST_CATALOG } from '../http/harness.test-support.ts'
import {
  clockAt,
  exchange,
  finishInput,
  response,
  scriptedUpstream,
  testIntensity,
} from './exchange.test-support.ts'
import { createTier, TIER_DOWNGRADES_METRIC } from './tier.ts'

const END = finishInput()
const BIG = 'llama-3.1-70b-instruct'
const SMALL = 'llama-3.1-8b-instruct'
function tieredConfig(tiers = true) {
  const parsed = parseConfig(
    {
      services: [
        {
          name: 'chat',
          default: true,
          ...(tiers
            ? {
                tiers: [
                  { model: BIG },
                  { model: SMALL, when: { intensity_above_g_per_kwh: 300, opt_in: true } },
                ],
              }
            : {}),
        },
      ],
      backends: [
        {
          id: 'big',
          url: 'http://127.0.0.1:9000/v1',
          zone: 'PL',
          hardware: 'H100-SXM',
          models: [BIG],
        },
        {
          id: 'small',
          url: 'http://127.0.0.1:9001/v1',
          zone: 'SE',
          hardware: 'H100-SXM',
          models: [SMALL],
        },
      ],
    },
    { catalog: TEST_CATALOG, env: {} },
  )
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues))
  return parsed.value
}

/** The 70B spends 10× the 8B's energy per token (synthetic). */
const bigProfile = testProfile({ joulesPerTokenAt1: 20, joulesPerTokenAtMax: 2 })

async function rig(plIntensity: number, closed: readonly string[] = []) {
  const config = tieredConfig()
  const runtimes = config.backends.map((b) =>
    createBackendRuntime(
      b,
      scriptedUpstream(b.id, async () => response(200)),
      new Map([[b.models[0]!, b.id === 'big' ? bigProfile : testProfile()]]),
      0,
    ),
  )
  const intensity = await testIntensity({ PL: plIntensity, SE: 30 })
  const registry = new Registry()
  const tier = createTier({
    config,
    clock: clockAt(),
    runtimes,
    admits: (rt) => !closed.includes(rt.config.id),
    intensity,
    registry,
  })!
  const downgrades = async () =>
    (await registry.getSingleMetric(TIER_DOWNGRADES_METRIC)!.get()).values
  return { config, runtimes, tier, downgrades }
}

/** What the accounting would hand the saving source (energy charged on the 8B). */
const charged = (energyJ: number): Accounting =>
  ({
    energyJ,
    energyLowJ: energyJ * 0.9,
    energyHighJ: energyJ * 1.1,
    pue: 1.2,
    intensity: { intensity: 30 },
  }) as unknown as Accounting

describe('tier interceptor', () => {
  it('is left out when no service declares tiers', () => {
    const config = tieredConfig(false)
    expect(
      createTier({
        config,
        clock: clockAt(),
        runtimes: [],
        admits: () => true,
        intensity: undefined as never,
        registry: new Registry(),
      }),
    ).toBeUndefined()
  })

  it('serves the lighter tier to a client that opted in; counts the downgrade once answered', async () => {
    const { config, tier, downgrades } = await rig(100)
    const ex = exchange(config, { model: BIG, tier: 'eco' })
    let routed: string | undefined
    await tier.dispatch!(ex, async (e) => {
      routed = e.model
    })
    expect(routed).toBe(SMALL)
    expect(ex.tier).toEqual({ model: SMALL, requested: BIG, reason: 'opt-in' })
    expect(await downgrades()).toMatchObject([
      { value: 1, labels: { service: 'chat', from: BIG, to: SMALL, reason: 'opt-in' } },
    ])
    // a request that failed downstream is not counted
    const failed = exchange(config, { model: BIG, tier: 'eco' })
    await expect(
      tier.dispatch!(failed, async () => {
        throw new Error('no backend')
      }),
    ).rejects.toThrow('no backend')
    expect((await downgrades())[0]!.value).toBe(1)
  })

  it('downgrades on intensity above the threshold, not below; never to a tier whose backends are all closed', async () => {
    const dirty = await rig(500)
    const a = exchange(dirty.config, { model: BIG })
    await dirty.tier.dispatch!(a, async () => {})
    expect(a.tier.reason).toBe('intensity')
    expect(a.model).toBe(SMALL)
    const clean = await rig(200)
    const b = exchange(clean.config, { model: BIG })
    await clean.tier.dispatch!(b, async () => {})
    expect(b.tier.reason).toBeUndefined()
    expect(b.model).toBe(BIG)
    const closed = await rig(500, ['small'])
    const c = exchange(closed.config, { model: BIG, tier: 'eco' })
    await closed.tier.dispatch!(c, async () => {})
    expect(c.model).toBe(BIG)
    expect(c.tier.reason).toBeUndefined()
  })

  it("gives the accounting the tier saving of an answered downgraded request (the requested model's estimate − charged)", async () => {
    const { config, runtimes, tier } = await rig(100)
    const ex = exchange(config, { model: BIG, tier: 'eco' })
    await tier.dispatch!(ex, async () => {})
    ex.backend = runtimes[1]!
    const out: LeverEnergySaving[] = []
    tier.savings(ex, charged(1), END, 1, out)
    expect(out).toHaveLength(1)
    expect(out[0]!.lever).toBe('tier')
    expect(out[0]!.energy_saved_j).toBeGreaterThan(0)
    // nothing for a failed request, nor for one served as requested
    tier.savings(ex, charged(1), { ...END, status: 500 }, 1, out)
    tier.savings(ex, charged(1), { ...END, completed: false }, 1, out)
    const plain = exchange(config, { model: BIG })
    plain.backend = runtimes[0]!
    tier.savings(plain, charged(1), END, 1, out)
    expect(out).toHaveLength(1)
  })
})
