import { createPolicy, createRouter, seededRandom, type RouterDecision } from '@wattline/core'
import { describe, expect, it } from 'vitest'
import { pino } from 'pino'
import { createServiceQueue } from '../http/service-queue.ts'
import { createAdmission, type AdmissionDeps } from './admission.ts'
import { clockAt, exchange, runtimes, testConfig } from './exchange.test-support.ts'
import { SLOT_TAKEN, type Exchange } from './pipeline.ts'

const config = testConfig({ queue: { max_size: 1, timeout_ms: 5_000 } })
const rts = runtimes(config)

function deps(decisions: RouterDecision[], over: Partial<AdmissionDeps> = {}) {
  const seen: { tried: string[]; zone?: string }[] = []
  const clock = clockAt()
  const queue = createServiceQueue({ service: 'chat', maxSize: 1, timeoutMs: 5_000, clock })
  const overloaded: string[] = []
  const d: AdmissionDeps = {
    decide: (ex: Exchange, zone) => {
      seen.push({ tried: [...ex.tried], ...(zone === undefined ? {} : { zone }) })
      const next = decisions.shift()
      if (next === undefined) throw new Error('no more decisions')
      return next
    },
    backendAt: (i) => rts[i]!,
    queueOf: () => queue,
    onOverloaded: (s) => void overloaded.push(s),
    logger: pino({ level: 'silent' }),
    ...over,
  }
  return { d, seen, queue, clock, overloaded }
}

// Real router decisions for the three backends (FR greenest).
const router = createRouter({
  backends: rts.map((rt) => ({
    id: rt.config.id,
    zone: rt.config.zone,
    models: rt.config.models,
    maxConcurrency: 4,
    weight: 1,
    pue: 1.2,
    profiles: rt.profiles,
  })),
  services: [{ name: 'chat', policy: createPolicy('least-loaded') }],
  random: seededRandom(1),
})
const point = (zone: string) => ({
  zone,
  at: 0 as never,
  intensity: 100 as never,
  signal: 'average' as const,
  source: 't',
  forecast: false,
  stale: false,
})
const decide = (inflight: number[], model = 'llama-3.1-8b-instruct', exclude: string[] = []) =>
  router.decide(
    { service: 0, model, inputTokens: 10, outputTokens: 10, exclude },
    {
      now: 0,
      inflight,
      healthy: [true, true, true],
      intensity: ['FR', 'DE', 'PL'].map(point),
      networkRttMs: [0, 0, 0],
      overheadMs: [0, 0, 0],
    },
  )
// The router reuses its route answer: keep a copy per decision.
const route = (inflight: number[]): RouterDecision => ({ ...decide(inflight) }) as RouterDecision

describe('admission', () => {
  it('puts the routed backend and decision on the exchange and goes on', async () => {
    const { d } = deps([route([1, 0, 2])])
    const ex = exchange(config)
    let saw: Exchange | undefined
    await createAdmission(d).dispatch!(ex, async (e) => {
      saw = e
    })
    expect(saw?.backend.config.id).toBe('b')
    expect(ex.decision.kind).toBe('route')
  })

  it('waits in the service queue when all are full, then asks again', async () => {
    const full = decide([4, 4, 4])
    expect(full.kind).toBe('wait')
    const { d, queue, seen } = deps([full, route([4, 3, 4])])
    const ex = exchange(config)
    const done = createAdmission(d).dispatch!(ex, async () => {})
    await new Promise((r) => setTimeout(r, 5))
    expect(seen).toHaveLength(1)
    queue.wakeOne() // a slot freed
    await done
    expect(seen).toHaveLength(2)
    expect(ex.backend.config.id).toBe('b')
  })

  it('counts an overloaded refusal (queue full) and passes the 429 on', async () => {
    const full = decide([4, 4, 4])
    const { d, queue, overloaded } = deps([full, full])
    const blocker = queue.wait(new AbortController().signal, 5_000) // fills the queue (max 1)
    await expect(
      createAdmission(d).dispatch!(exchange(config), async () => {}),
    ).rejects.toMatchObject({
      code: 'WL_OVERLOADED',
    })
    expect(overloaded).toEqual(['chat'])
    queue.wakeAll()
    await blocker
  })

  it('refuses an unknown model (404) and no backend left (503 untried, 502 after attempts)', async () => {
    const unknown = decide([0, 0, 0], 'nope')
    await expect(
      createAdmission(deps([unknown]).d).dispatch!(exchange(config), async () => {}),
    ).rejects.toMatchObject({ code: 'WL_UNKNOWN_MODEL' })
    const none = decide([0, 0, 0], 'llama-3.1-8b-instruct', ['a', 'b', 'c'])
    expect(none.kind).toBe('reject')
    const ex = exchange(config)
    await expect(
      createAdmission(deps([none]).d).dispatch!(ex, async () => {}),
    ).rejects.toMatchObject({
      code: 'WL_UPSTREAM_UNAVAILABLE',
      details: { status: 503 },
    })
    const tried = exchange(config)
    tried.tried.push('a', 'b', 'c')
    tried.lastError = new Error('reset')
    const e = await createAdmission(deps([none]).d).dispatch!(tried, async () => {}).catch(
      (x: unknown) => x,
    )
    expect(e).toMatchObject({ code: 'WL_UPSTREAM_UNAVAILABLE', details: { status: 502 } })
    expect((e as Error).message).toMatch(/tried a, b, c/)
    expect((e as Error).cause).toBe(tried.lastError)
  })

  it("goes on with the rest of the chain's own promise when routed at once (no frame of its own)", async () => {
    const { d } = deps([route([0, 0, 0])])
    const ex = exchange(config)
    const below = Promise.resolve()
    expect(createAdmission(d).dispatch!(ex, () => below)).toBe(below)
    expect(ex.backend).toBe(rts[0])
    // a next that throws at once still rejects admission's promise
    const { d: d2 } = deps([route([0, 0, 0])])
    await expect(
      createAdmission(d2).dispatch!(exchange(config), () => {
        throw new Error('below failed')
      }),
    ).rejects.toThrow('below failed')
  })

  it('asks again when the lease finds a shared slot taken; stops on an aborted request', async () => {
    const { d, seen } = deps([route([0, 0, 0]), route([0, 1, 0])], { slotsShared: true })
    let calls = 0
    await createAdmission(d).dispatch!(exchange(config), async () => {
      if (++calls === 1) throw SLOT_TAKEN
    })
    expect(calls).toBe(2)
    expect(seen).toHaveLength(2)
    const ac = new AbortController()
    ac.abort(new Error('client gone'))
    await expect(
      createAdmission(deps([]).d).dispatch!(
        exchange(config, { signal: ac.signal }),
        async () => {},
      ),
    ).rejects.toThrow('client gone')
  })
})

describe('admission refusals echo client input clipped', () => {
  it('clips a long model name in the 404 message', async () => {
    const long = `m${'x'.repeat(5_000)}`
    const unknown = decide([0, 0, 0], long)
    const e = (await createAdmission(deps([unknown]).d).dispatch!(
      exchange(config, { model: long }),
      async () => {},
    ).catch((x: unknown) => x)) as Error
    expect(e).toMatchObject({ code: 'WL_UNKNOWN_MODEL' })
    expect(e.message.length).toBeLessThan(400)
  })
})

describe('admission of a batch line placed in zones', () => {
  const noBackend: RouterDecision = { kind: 'reject', reason: 'no-backend' } as RouterDecision

  it('routes in the first zone; with no backend left there, logs and moves to the next zone', async () => {
    const warned: unknown[] = []
    const logger = pino(
      { level: 'warn' },
      { write: (line: string) => void warned.push(JSON.parse(line)) },
    )
    const { d, seen } = deps([noBackend, route([0, 0, 0])], { logger })
    const ex = exchange(config, { zones: ['PL', 'FR'], requestId: 'line-1' })
    await createAdmission(d).dispatch!(ex, async () => {})
    expect(seen.map((s) => s.zone)).toEqual(['PL', 'FR'])
    expect(ex.zoneAt).toBe(1)
    expect(ex.pinnedZone).toBe('FR')
    expect(warned).toHaveLength(1)
    expect(warned[0]).toMatchObject({ reqId: 'line-1', zone: 'PL', next_zone: 'FR' })
  })

  it('keeps the zone across retries and refuses once the last zone has no backend', async () => {
    const { d, seen } = deps([noBackend, noBackend])
    const ex = exchange(config, { zones: ['PL', 'FR'] })
    ex.tried.push('c')
    await expect(createAdmission(d).dispatch!(ex, async () => {})).rejects.toMatchObject({
      code: 'WL_UPSTREAM_UNAVAILABLE',
      details: { status: 502 },
    })
    expect(seen.map((s) => s.zone)).toEqual(['PL', 'FR'])
    // a retry (admission entered again) stays in the zone reached
    const again = deps([route([0, 0, 0])])
    await createAdmission(again.d).dispatch!(ex, async () => {})
    expect(again.seen.map((s) => s.zone)).toEqual(['FR'])
  })

  it('a request without zones routes over every backend (no zone constraint)', async () => {
    const { d, seen } = deps([route([0, 0, 0])])
    const ex = exchange(config)
    await createAdmission(d).dispatch!(ex, async () => {})
    expect(seen[0]!.zone).toBeUndefined()
    expect(ex.pinnedZone).toBeUndefined()
  })
})
