/**
 * Energy accounting of the gateway engine on a fake clock (no HTTP): work-weighted shares, power of
 * multi-model backends, and a measured meter that goes stale, falls back to the model and recovers.
 */
import { testProfile } from '@wattline/core/test-profile'
import {
  instant,
  seededRandom,
  watts,
  type Clock,
  type EnergyProfile,
  type IdleEnergyRecord,
  type Instant,
  type PowerMeter,
  type PowerSample,
  type RequestRecord,
} from '@wattline/core'
import { pino, type Logger } from 'pino'
import { describe, expect, it } from 'vitest'
import type { Upstream, UpstreamResponse } from '../adapters/upstream/openai-upstream.ts'
import { parseConfig } from '../config/parse-config.ts'
import { createGateway, type Gateway } from './gateway.ts'
import type { Dispatched } from '../gateway/exchange-types.ts'
import { fixedIntensity, memorySink, TEST_CATALOG } from './harness.test-support.ts'
import { createIntensityBoard } from './intensity-board.ts'
import { createMeterFeed } from './meter-feed.ts'
import { createGatewayMetrics, type GatewayMetrics } from './metrics.ts'

// tpot(b) = 10 + 15·(b−1)/63 ms, tpit(b) = tpot(b)/20 ms; power(b) = 100 + 500·b/64 W.
const small = testProfile({ model: 'llama-small' })
const big = testProfile({ model: 'llama-big', idlePowerW: 200, peakPowerW: 1400, maxBatch: 16 })

function fakeClock(): Clock & { t: number } {
  const c = {
    t: 0,
    now: () => c.t as Instant,
    setTimer: () => () => {},
  }
  return c
}

const okResponse = (): UpstreamResponse =>
  ({
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: { dump: async () => {}, text: async () => '{}' },
  }) as unknown as UpstreamResponse

const fakeUpstream = (id: string): Upstream => ({
  id,
  request: async () => okResponse(),
  probe: async () => true,
  close: async () => {},
})

interface Rig {
  gateway: Gateway
  clock: Clock & { t: number }
  metrics: GatewayMetrics
  ledger: ReturnType<typeof memorySink>
  logs: Record<string, unknown>[]
  logger: Logger
}

async function rig(models: string[], meter?: Record<string, unknown>): Promise<Rig> {
  const parsed = parseConfig(
    {
      services: [{ name: 'chat', default: true, routing: 'round-robin' }],
      backends: [
        {
          id: 'paris',
          url: 'http://127.0.0.1:1/v1',
          zone: 'FR',
          hardware: 'H100-SXM',
          models,
          pue: 1.2,
          ...(meter === undefined ? {} : { meter }),
        },
      ],
    },
    { catalog: TEST_CATALOG, env: {} },
  )
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues))
  const clock = fakeClock()
  const metrics = createGatewayMetrics()
  const ledger = memorySink()
  const logs: Record<string, unknown>[] = []
  const logger: Logger = pino(
    { level: 'info' },
    { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  )
  const intensity = createIntensityBoard({
    source: fixedIntensity({ FR: 30 }),
    clock,
    zones: ['FR'],
    signal: 'average',
  })
  await intensity.refresh()
  const gateway = createGateway({
    config: parsed.value,
    clock,
    upstreams: new Map([['paris', fakeUpstream('paris')]]),
    profileFor: (_b, model): EnergyProfile => (model === 'llama-big' ? big : small),
    intensity,
    ledger,
    metrics,
    random: seededRandom(1),
    logger,
  })
  return { gateway, clock, metrics, ledger, logs, logger }
}

async function send(r: Rig, model: string, inputTokens: number, id: string): Promise<Dispatched> {
  const d = await r.gateway.dispatch({
    service: r.gateway.config.services[0]!,
    model,
    inputTokens,
    outputTokens: 100,
    path: '/chat/completions',
    bodyFor: () => '{}',
    headers: {},
    signal: new AbortController().signal,
    requestId: id,
  })
  return d
}

function finish(r: Rig, d: Dispatched, id: string): RequestRecord {
  r.gateway.finish(d, {
    status: 200,
    inputTokens: 10,
    outputTokens: 10,
    ttftMs: null,
    streamed: false,
    endpoint: '/v1/chat/completions',
    requestId: id,
    tenant: null,
    arrivedMs: d.startedMs,
    errorCode: null,
    completed: true,
  })
  const rec = r.ledger.records.find((x) => x.kind === 'request' && x.id === id)
  if (rec === undefined) throw new Error(`no ledger record for ${id}`)
  return rec as RequestRecord
}

async function metric(m: GatewayMetrics, name: string): Promise<string> {
  const text = await m.registry.metrics()
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .join('\n')
}

describe('gateway energy accounting', () => {
  it('charges a long-prompt request in prefill more than a decoding one over the same interval', async () => {
    const r = await rig(['llama-small'])
    const decoding = await send(r, 'llama-small', 0, 'dec')
    const prompt = await send(r, 'llama-small', 100_000, 'pre')
    r.clock.t = 1000
    const p = finish(r, prompt, 'pre')
    const d = finish(r, decoding, 'dec')
    const power = small.power(2)
    expect(p.energy_j + d.energy_j).toBeCloseTo(power, 9)
    // 20× the decode token rate, each prompt token weighing a tenth of an output token: 2×.
    expect(p.energy_j).toBeCloseTo((power * 2) / 3, 9)
    expect(d.energy_j).toBeCloseTo(power / 3, 9)
    expect(p.carbon_g).toBeCloseTo((p.energy_j * 1.2 * 30) / 3_600_000, 12)
    expect(p.method).toBe('modelled')
  })

  it('models a multi-model backend from the models in flight, idle from its hardware', async () => {
    const r = await rig(['llama-small', 'llama-big'])
    const rt = r.gateway.backends.get('paris')!
    expect(rt.tracker.powerW).toBe(200) // the larger replica's idle power
    const a = await send(r, 'llama-big', 0, 'big')
    expect(rt.tracker.powerW).toBeCloseTo(big.power(1), 9)
    r.clock.t = 1000
    expect(finish(r, a, 'big').energy_j).toBeCloseTo(big.power(1), 9)
    const b = await send(r, 'llama-small', 0, 'small')
    r.clock.t = 2000
    // The small model's dynamic power on top of the backend's 200 W idle.
    expect(finish(r, b, 'small').energy_j).toBeCloseTo(200 + small.power(1) - 100, 9)
  })

  it('falls back to modelled power when the meter goes stale, and recovers', async () => {
    const r = await rig(['llama-small'], {
      type: 'nvidia-smi',
      interval_ms: 1000,
      stale_after_ms: 3000,
    })
    const rt = r.gateway.backends.get('paris')!
    let failing = false
    const meter: PowerMeter = {
      name: 'nvidia-smi:fake',
      method: 'measured',
      read: async (): Promise<readonly PowerSample[]> => {
        if (failing) throw new Error('nvidia-smi: command timed out')
        return [
          {
            backend: 'paris',
            at: instant(r.clock.t),
            power: watts(400),
            method: 'measured',
            source: 'nvidia-smi:fake',
          },
        ]
      },
    }
    const feed = createMeterFeed({
      backend: rt,
      meter,
      clock: r.clock,
      staleAfterMs: 3000,
      readTimeoutMs: 1000,
      metrics: r.metrics,
      logger: r.logger,
      ledger: r.ledger,
    })
    await feed.poll() // t = 0: first reading
    expect(feed.state).toBe('up')
    expect(rt.tracker.method).toBe('measured')
    const measured = await send(r, 'llama-small', 0, 'm1')
    r.clock.t = 1000
    await feed.poll()
    expect(finish(r, measured, 'm1')).toMatchObject({
      energy_j: 400,
      method: 'measured',
      energy_source: 'nvidia-smi:fake',
    })
    const spanning = await send(r, 'llama-small', 0, 'm2')
    failing = true
    for (const t of [2000, 3000, 4000]) {
      r.clock.t = t
      await feed.poll()
      expect(feed.state).toBe('up') // holding the 1000 ms reading inside the 3000 ms window
    }
    expect(await metric(r.metrics, 'wattline_meter_up')).toContain(
      'wattline_meter_up{backend="paris",zone="FR"} 1',
    )
    r.clock.t = 5000
    await feed.poll()
    expect(feed.state).toBe('fallback')
    expect(rt.tracker.method).toBe('modelled')
    expect(rt.tracker.powerW).toBeCloseTo(small.power(1), 9)
    expect(await metric(r.metrics, 'wattline_meter_up')).toContain(
      'wattline_meter_up{backend="paris",zone="FR"} 0',
    )
    const power = await metric(r.metrics, 'wattline_backend_power_watts')
    expect(power).toContain(
      'wattline_backend_power_watts{backend="paris",zone="FR",method="modelled"}',
    )
    expect(power).not.toContain('method="measured"')
    expect(await metric(r.metrics, 'wattline_meter_fallback_total')).toContain(
      'wattline_meter_fallback_total{backend="paris",zone="FR"} 1',
    )
    expect(await metric(r.metrics, 'wattline_meter_read_failures_total')).toContain(
      'wattline_meter_read_failures_total{backend="paris",zone="FR"} 4',
    )
    const warning = r.logs.find((l) => String(l['msg']).startsWith('power meter stale'))
    expect(warning).toMatchObject({ level: 40, backend: 'paris', stale_after_ms: 3000 })
    r.clock.t = 6000
    const rec = finish(r, spanning, 'm2')
    // 1000..5000 on the held 400 W reading, 5000..6000 on the model.
    expect(rec.energy_j).toBeCloseTo(4 * 400 + small.power(1), 9)
    expect(rec.method).toBe('modelled')
    expect(rec.energy_source).toContain('nvidia-smi:fake stale or not reading, modelled fallback')
    expect(rec.energy_low_j).toBeCloseTo(4 * 400 * 0.95 + small.power(1) * 0.8, 6)
    // Idle: 0..0 nothing; the 6000..7000 idle second is modelled.
    failing = false
    r.clock.t = 7000
    await feed.poll()
    expect(feed.state).toBe('up')
    expect(
      r.logs.some((l) => l['msg'] === 'power meter readings resumed; power is measured again'),
    ).toBe(true)
    expect(await metric(r.metrics, 'wattline_meter_up')).toContain(
      'wattline_meter_up{backend="paris",zone="FR"} 1',
    )
    const back = await send(r, 'llama-small', 0, 'm3')
    r.clock.t = 8000
    expect(finish(r, back, 'm3')).toMatchObject({ energy_j: 400, method: 'measured' })
    r.clock.t = 9000
    r.gateway.flushIdle()
    const idle = r.ledger.records.filter((x): x is IdleEnergyRecord => x.kind === 'idle')
    expect(idle.map((i) => [i.from_ms, i.to_ms, i.method, i.energy_j])).toEqual([
      [0, 5000, 'measured', 0],
      [5000, 7000, 'modelled', small.idlePower],
      [7000, 9000, 'measured', 400],
    ])
    expect(await metric(r.metrics, 'wattline_idle_energy_joules_total')).toContain(
      'wattline_idle_energy_joules_total{backend="paris",zone="FR",method="modelled"} 100',
    )
  })

  it('counts a meter that never reads as a fallback once its window has passed', async () => {
    const r = await rig(['llama-small'], { type: 'nvidia-smi' })
    const rt = r.gateway.backends.get('paris')!
    const feed = createMeterFeed({
      backend: rt,
      meter: {
        name: 'nvidia-smi:absent',
        method: 'measured',
        read: async () => {
          throw new Error('spawn nvidia-smi ENOENT')
        },
      },
      clock: r.clock,
      staleAfterMs: 3000,
      readTimeoutMs: 1000,
      metrics: r.metrics,
      logger: r.logger,
      ledger: r.ledger,
    })
    await feed.poll()
    expect(feed.state).toBe('starting')
    r.clock.t = 3001
    await feed.poll()
    expect(feed.state).toBe('fallback')
    expect(rt.meterFallback).toBe(true)
    expect(r.logs.some((l) => String(l['msg']).startsWith('power meter has not read yet'))).toBe(
      true,
    )
    const d = await send(r, 'llama-small', 0, 'x')
    r.clock.t = 4001
    expect(finish(r, d, 'x')).toMatchObject({ method: 'modelled' })
  })
})
