/**
 * Occupancy sharing between `serve --workers N` workers, in one process: gateway engines on a fake
 * clock standing for the workers, told each other's occupancy as the primary would, account a
 * shared multi-model backend as one engine does; only the idle-recording one writes idle energy.
 */
import { testProfile } from '@wattline/core/test-profile'
import {
  seededRandom,
  type Clock,
  type EnergyProfile,
  type IdleEnergyRecord,
  type Instant,
  type RequestRecord,
} from '@wattline/core'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import type { Upstream, UpstreamResponse } from '../adapters/upstream/openai-upstream.ts'
import { createGateway, type Gateway } from '../http/gateway.ts'
import type { Dispatched } from '../gateway/exchange-types.ts'
import { fixedIntensity, memorySink } from '../http/harness.test-support.ts'
import { createIntensityBoard } from '../http/intensity-board.ts'
import type { ClusterLoad } from '../http/cluster-load.ts'
import { createGatewayMetrics } from '../http/metrics.ts'
import {
  applyOthersOccupancy,
  fleetOccupancy,
  sumOccupancy,
  type FleetOccupancy,
} from './worker-occupancy.ts'
import { parisConfig } from './paris-config.test-support.ts'

const small = testProfile({ model: 'llama-small' })
const big = testProfile({ model: 'llama-big', idlePowerW: 200, peakPowerW: 1400, maxBatch: 16 })

interface Engine {
  readonly gateway: Gateway
  readonly clock: Clock & { t: number }
  readonly ledger: ReturnType<typeof memorySink>
}

async function engine(recordsIdle = true, cluster?: ClusterLoad): Promise<Engine> {
  const config = parisConfig(['llama-small', 'llama-big'])
  const clock = { t: 0, now: () => clock.t as Instant, setTimer: () => () => {} }
  const intensity = createIntensityBoard({
    source: fixedIntensity({ FR: 30 }),
    clock,
    zones: ['FR'],
    signal: 'average',
  })
  await intensity.refresh()
  const upstream: Upstream = {
    id: 'paris',
    request: async () =>
      ({
        status: 200,
        headers: {},
        body: { dump: async () => {}, text: async () => '{}' },
      }) as unknown as UpstreamResponse,
    probe: async () => true,
    close: async () => {},
  }
  const ledger = memorySink()
  const gateway = createGateway({
    config,
    clock,
    upstreams: new Map([['paris', upstream]]),
    profileFor: (_b, model): EnergyProfile => (model === 'llama-big' ? big : small),
    intensity,
    ledger,
    metrics: createGatewayMetrics(),
    random: seededRandom(1),
    logger: pino({ level: 'silent' }),
    recordsIdle: () => recordsIdle,
    ...(cluster === undefined ? {} : { cluster }),
  })
  return { gateway, clock, ledger }
}

const send = (e: Engine, model: string, inputTokens: number): Promise<Dispatched> =>
  e.gateway.dispatch({
    service: e.gateway.config.services[0]!,
    model,
    inputTokens,
    outputTokens: 100,
    path: '/chat/completions',
    bodyFor: () => '{}',
    headers: {},
    signal: new AbortController().signal,
  })

function finish(e: Engine, d: Dispatched): void {
  e.gateway.finish(d, {
    status: 200,
    inputTokens: 10,
    outputTokens: 10,
    ttftMs: null,
    streamed: false,
    endpoint: '/v1/chat/completions',
    requestId: `r${Math.random()}`,
    tenant: null,
    arrivedMs: d.startedMs,
    errorCode: null,
    completed: true,
  })
}

const joules = (e: Engine, kind: 'request' | 'idle'): number =>
  e.ledger.records
    .filter((r): r is RequestRecord | IdleEnergyRecord => r.kind === kind)
    .reduce((s, r) => s + r.energy_j, 0)

describe('worker occupancy sharing', () => {
  it('sums reports per backend, model and phase', () => {
    const a: FleetOccupancy = { paris: { 'llama-small': { prefilling: 1, decoding: 2, done: 0 } } }
    const b: FleetOccupancy = {
      paris: { 'llama-small': { prefilling: 0, decoding: 3, done: 1 } },
      berlin: { 'llama-big': { prefilling: 2, decoding: 0, done: 0 } },
    }
    expect(sumOccupancy([a, undefined, b])).toEqual({
      paris: { 'llama-small': { prefilling: 1, decoding: 5, done: 1 } },
      berlin: { 'llama-big': { prefilling: 2, decoding: 0, done: 0 } },
    })
    expect(sumOccupancy([])).toEqual({})
  })

  it('two engines told each other’s occupancy account a shared multi-model backend as one engine does; idle is written once', async () => {
    const one = await engine()
    const w0 = await engine(true)
    const w1 = await engine(false)
    /** The primary's round: each worker learns the other's report at `t`. */
    const share = (t: number): void => {
      for (const e of [one, w0, w1]) e.clock.t = t
      const r0 = fleetOccupancy(w0.gateway.backends, t)
      const r1 = fleetOccupancy(w1.gateway.backends, t)
      applyOthersOccupancy(w0.gateway.backends, sumOccupancy([r1]), t)
      applyOthersOccupancy(w1.gateway.backends, sumOccupancy([r0]), t)
    }
    share(1000)
    // one engine: big ×2, small ×2 (one a long prompt); the workers split them
    const oneReqs = [
      await send(one, 'llama-big', 0),
      await send(one, 'llama-small', 50_000),
      await send(one, 'llama-big', 0),
      await send(one, 'llama-small', 0),
    ]
    const w0Reqs = [await send(w0, 'llama-big', 0), await send(w0, 'llama-small', 50_000)]
    const w1Reqs = [await send(w1, 'llama-big', 0), await send(w1, 'llama-small', 0)]
    share(1000)
    expect(w1.gateway.backends.get('paris')!.tracker.powerW).toBeCloseTo(
      one.gateway.backends.get('paris')!.tracker.powerW,
      9,
    )
    share(3000)
    for (const d of oneReqs.slice(0, 2)) finish(one, d)
    for (const d of w0Reqs) finish(w0, d)
    share(3000)
    share(5000)
    for (const d of oneReqs.slice(2)) finish(one, d)
    for (const d of w1Reqs) finish(w1, d)
    share(5000)
    share(8000)
    for (const e of [one, w0, w1]) e.gateway.flushIdle()
    const active = joules(w0, 'request') + joules(w1, 'request')
    expect(active).toBeGreaterThan(0)
    expect(active).toBeCloseTo(joules(one, 'request'), 6)
    // idle 0–1000 and 5000–8000, at the larger replica's idle power, written by w0 only
    expect(joules(one, 'idle')).toBeCloseTo((200 * 4000) / 1000, 6)
    expect(joules(w0, 'idle')).toBeCloseTo(joules(one, 'idle'), 6)
    expect(w1.ledger.records.filter((r) => r.kind === 'idle')).toEqual([])
  })

  it('without the exchange, the two engines over-state the same load (what sharing fixes)', async () => {
    const one = await engine()
    const w0 = await engine()
    const w1 = await engine()
    const oneReqs = [await send(one, 'llama-big', 0), await send(one, 'llama-big', 0)]
    const w0Req = await send(w0, 'llama-big', 0)
    const w1Req = await send(w1, 'llama-big', 0)
    for (const e of [one, w0, w1]) e.clock.t = 1000
    for (const d of oneReqs) finish(one, d)
    finish(w0, w0Req)
    finish(w1, w1Req)
    const alone = joules(w0, 'request') + joules(w1, 'request')
    expect(alone).toBeCloseTo(2 * big.power(1), 6)
    expect(alone).toBeGreaterThan(joules(one, 'request') * 1.15)
  })
})

describe('replica occupancy (cluster mode)', () => {
  it('a replica seeing other replicas’ requests in the shared counts models the backend at the total occupancy and keeps its work share', async () => {
    let others = 3
    const cluster: ClusterLoad = {
      up: true,
      inflight: (_backend, local) => local + others,
      acquire: async () => ({ kind: 'local' }),
      release: () => {},
      sync: async () => true,
      close: async () => {},
    }
    const e = await engine(true, cluster)
    const rt = e.gateway.backends.get('paris')!
    const d = await send(e, 'llama-small', 0)
    // the three others count as decoding requests of the backend's first model
    expect(rt.tracker.totalInflight).toBe(4)
    expect(rt.tracker.powerW).toBeCloseTo(200 + small.power(4) - small.idlePower, 9)
    e.clock.t = 1000
    finish(e, d)
    expect(joules(e, 'request')).toBeCloseTo((200 + small.power(4) - small.idlePower) / 4, 6)
    // the others finished: the next sync brings the backend back to this replica's own count
    others = 0
    await e.gateway.syncLoad()
    expect(rt.tracker.totalInflight).toBe(0)
  })
})
