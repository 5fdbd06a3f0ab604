import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import type { EnergyProfile } from '../energy/profile.ts'
import { joules, ms, watts } from '../units/quantity.ts'
import { simulateReplay, type EngineBackend, type IntensityLookup } from './simulate-replay.ts'
import { latencyQuantiles } from './latency-quantiles.ts'

/** A small synthetic profile: power and per-token time rise with batch, per-token energy falls. */
function profile(opts: { idle?: number; maxBatch?: number; tOut?: number } = {}): EnergyProfile {
  const idle = opts.idle ?? 60
  const tOut = opts.tOut ?? 20
  const tpo = (b: number): number => tOut + 0.5 * b
  const tpi = (b: number): number => 0.1 + 0.01 * b
  const power = (b: number): number => (b <= 0 ? idle : idle + 240 * (b / (b + 4)))
  const est = (v: number) => ({
    value: joules(v),
    low: joules(v * 0.8),
    high: joules(v * 1.2),
    method: 'modelled' as const,
    source: 'test',
  })
  return {
    model: 'test-model',
    hardware: 'TEST-GPU',
    precision: 'bf16',
    basis: 'fitted',
    source: 'test',
    gpus: 1,
    maxBatch: opts.maxBatch ?? 16,
    idlePower: watts(idle),
    energyPerOutputToken: (b) => est((power(b) * tpo(b)) / b / 1000),
    energyPerInputToken: (b) => est((power(b) * tpi(b)) / b / 1000),
    timePerOutputToken: (b) => ms(tpo(b)),
    timePerInputToken: (b) => ms(tpi(b)),
    power: (b) => watts(power(b)),
  }
}

const flat =
  (values: Record<string, number>): IntensityLookup =>
  (zone) => ({ intensity: values[zone] ?? 100, until: Number.POSITIVE_INFINITY })

function backend(id: string, zone: string, over: Partial<EngineBackend> = {}): EngineBackend {
  return { id, zone, replicas: 1, maxConcurrency: 4, pue: 1, profile: profile(), ...over }
}

function requests(rows: readonly (readonly [number, number, number])[], clients?: number[]) {
  return {
    count: rows.length,
    arrival: Float64Array.from(rows.map((r) => r[0])),
    inputTokens: Float64Array.from(rows.map((r) => r[1])),
    outputTokens: Float64Array.from(rows.map((r) => r[2])),
    client: Int32Array.from(clients ?? rows.map(() => 0)),
  }
}

describe('simulateReplay', () => {
  it('serves a lone request in prefill + decode time at batch 1, plus the network RTT', () => {
    const r = simulateReplay({
      requests: requests([[1000, 100, 10]]),
      backends: [backend('a', 'DE')],
      networkRttMs: [25],
      choose: () => 0,
      intensity: flat({ DE: 360 }),
    })
    const service = 100 * 0.11 + 10 * 20.5
    expect(r.latencyMs[0]).toBeCloseTo(service + 25, 9)
    const busyJ = ((60 + 240 / 5) * service) / 1000
    expect(r.energyJ[0]).toBeCloseTo(busyJ, 9)
    // PUE 1 and 360 g/kWh: 0.1 g per kJ.
    expect(r.carbonG[0]).toBeCloseTo((busyJ * 360) / 3.6e6, 12)
    expect(r.backends[0]?.idleEnergyJ).toBe(0)
    expect(r.end - r.start).toBeCloseTo(service, 9)
  })

  it('integrates idle power between requests and charges it to no request', () => {
    const r = simulateReplay({
      requests: requests([
        [0, 0, 1],
        [10_000, 0, 1],
      ]),
      backends: [backend('a', 'DE')],
      networkRttMs: [0],
      choose: () => 0,
      intensity: flat({}),
    })
    const b = r.backends[0]!
    expect(b.idleEnergyJ).toBeCloseTo((60 * (10_000 - 20.5)) / 1000, 9)
    expect(r.energyJ[0]! + r.energyJ[1]! + b.idleEnergyJ).toBeCloseTo(b.energyJ, 9)
  })

  it('slows decode as the batch grows (continuous batching)', () => {
    const alone = simulateReplay({
      requests: requests([[0, 0, 100]]),
      backends: [backend('a', 'DE')],
      networkRttMs: [0],
      choose: () => 0,
      intensity: flat({}),
    })
    const together = simulateReplay({
      requests: requests([
        [0, 0, 100],
        [0, 0, 100],
        [0, 0, 100],
      ]),
      backends: [backend('a', 'DE')],
      networkRttMs: [0],
      choose: () => 0,
      intensity: flat({}),
    })
    expect(alone.latencyMs[0]).toBeCloseTo(100 * 20.5, 9)
    expect(together.latencyMs[0]).toBeCloseTo(100 * 21.5, 9)
    // Batching is more energy-efficient per request.
    expect(together.energyJ[0]!).toBeLessThan(alone.energyJ[0]!)
  })

  it('queues beyond max concurrency and admits in FIFO order', () => {
    const rows = Array.from({ length: 12 }, (_, i) => [i, 10, 5 + (i % 3)] as const)
    const r = simulateReplay({
      requests: requests(rows),
      backends: [backend('a', 'DE', { maxConcurrency: 2 })],
      networkRttMs: [0],
      choose: () => 0,
      intensity: flat({}),
    })
    expect(r.backends[0]?.peakRunningPerReplica).toBe(2)
    expect(r.backends[0]?.peakQueued).toBeGreaterThan(0)
    // Admission instants (arrival + queue wait) never go backwards in arrival order.
    const admitted = rows.map((row, i) => row[0] + r.queueMs[i]!)
    for (let i = 1; i < admitted.length; i++)
      expect(admitted[i]!).toBeGreaterThanOrEqual(admitted[i - 1]! - 1e-9)
    expect(r.queueMs[11]!).toBeGreaterThan(0)
  })

  it('spreads a backend over its replicas, fewest running first', () => {
    const r = simulateReplay({
      requests: requests([
        [0, 0, 50],
        [0, 0, 50],
      ]),
      backends: [backend('a', 'DE', { replicas: 2, maxConcurrency: 1 })],
      networkRttMs: [0],
      choose: () => 0,
      intensity: flat({}),
    })
    expect(r.queueMs[1]).toBe(0)
    expect(r.latencyMs[1]).toBeCloseTo(50 * 20.5, 9)
    expect(r.backends[0]?.peakRunningPerReplica).toBe(1)
  })

  it('charges carbon at the intensity in force at each moment, splitting at steps', () => {
    // 100 g/kWh until t=1000 ms, then 500 g/kWh; one request decoding from 0 to 2050 ms.
    const lookup: IntensityLookup = (_zone, at) =>
      at < 1000
        ? { intensity: 100, until: 1000 }
        : { intensity: 500, until: Number.POSITIVE_INFINITY }
    const r = simulateReplay({
      requests: requests([[0, 0, 100]]),
      backends: [backend('a', 'DE', { pue: 1.5 })],
      networkRttMs: [0],
      choose: () => 0,
      intensity: lookup,
    })
    const p = 60 + 240 / 5
    const expected =
      ((p * 1000) / 1000) * 1.5 * (100 / 3.6e6) + ((p * 1050) / 1000) * 1.5 * (500 / 3.6e6)
    expect(r.carbonG[0]).toBeCloseTo(expected, 12)
    expect(r.backends[0]?.carbonG).toBeCloseTo(expected, 12)
  })

  it('gives every request its chooser backend and reports the view the chooser saw', () => {
    const seen: number[] = []
    const r = simulateReplay({
      requests: requests([
        [0, 10, 10],
        [1, 10, 10],
        [2, 10, 10],
      ]),
      backends: [backend('a', 'DE'), backend('b', 'FR')],
      networkRttMs: [0, 0],
      choose: (i, view) => {
        seen.push(view.inflight[0]! + view.inflight[1]!)
        expect(view.intensity[1]).toBe(50)
        return i % 2
      },
      intensity: flat({ DE: 300, FR: 50 }),
    })
    expect(Array.from(r.backend)).toEqual([0, 1, 0])
    expect(seen).toEqual([0, 1, 2])
    expect(r.backends.map((b) => b.requests)).toEqual([2, 1])
  })

  it('rejects a chooser that returns no backend, and out-of-order arrivals', () => {
    const base = {
      backends: [backend('a', 'DE')],
      networkRttMs: [0],
      intensity: flat({}),
    }
    expect(() =>
      simulateReplay({ ...base, requests: requests([[0, 1, 1]]), choose: () => 3 }),
    ).toThrow(/index 3/)
    expect(() =>
      simulateReplay({
        ...base,
        requests: requests([
          [5, 1, 1],
          [1, 1, 1],
        ]),
        choose: () => 0,
      }),
    ).toThrow(/time order/)
  })

  it('conserves energy and carbon: requests + idle = integrated backend totals (property)', () => {
    const row = fc.tuple(
      fc.integer({ min: 0, max: 60_000 }),
      fc.integer({ min: 0, max: 3000 }),
      fc.integer({ min: 0, max: 400 }),
    )
    fc.assert(
      fc.property(
        fc.array(row, { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 2 }),
        (rows, nb, slots, replicas) => {
          rows.sort((a, b) => a[0] - b[0])
          const backends = Array.from({ length: nb }, (_, j) =>
            backend(`b${j}`, `Z${j % 2}`, {
              maxConcurrency: slots,
              replicas,
              pue: 1 + j * 0.1,
              profile: profile({ maxBatch: 1 + j * 3, idle: 40 + 10 * j }),
            }),
          )
          const lookup: IntensityLookup = (zone, at) => {
            const hour = Math.floor(at / 7000)
            return {
              intensity: (zone === 'Z0' ? 100 : 300) + 50 * (hour % 3),
              until: (hour + 1) * 7000,
            }
          }
          const r = simulateReplay({
            requests: requests(rows),
            backends,
            networkRttMs: new Float64Array(nb),
            choose: (i) => (i * 7) % nb,
            intensity: lookup,
            binMs: 5000,
          })
          let reqE = 0
          let reqC = 0
          for (let i = 0; i < rows.length; i++) {
            expect(r.energyJ[i]!).toBeGreaterThanOrEqual(-1e-9)
            reqE += r.energyJ[i]!
            reqC += r.carbonG[i]!
          }
          const totE = r.backends.reduce((s, b) => s + b.energyJ, 0)
          const idleE = r.backends.reduce((s, b) => s + b.idleEnergyJ, 0)
          const totC = r.backends.reduce((s, b) => s + b.carbonG, 0)
          const idleC = r.backends.reduce((s, b) => s + b.idleCarbonG, 0)
          expect(Math.abs(reqE + idleE - totE)).toBeLessThanOrEqual(1e-9 * Math.max(1, totE))
          expect(Math.abs(reqC + idleC - totC)).toBeLessThanOrEqual(1e-9 * Math.max(1, totC))
          // The time series adds up to the totals as well.
          const binned = r.backends.reduce(
            (s, b) => s + b.carbonByBin.reduce((a, v) => a + v, 0),
            0,
          )
          expect(Math.abs(binned - totC)).toBeLessThanOrEqual(1e-9 * Math.max(1, totC))
          for (const b of r.backends) expect(b.peakRunningPerReplica).toBeLessThanOrEqual(slots)
          // Every request completes no earlier than its work at the fastest rate allows.
          for (let i = 0; i < rows.length; i++) expect(r.latencyMs[i]!).toBeGreaterThanOrEqual(0)
        },
      ),
      { numRuns: 150 },
    )
  })

  it('is deterministic: the same input gives identical arrays', () => {
    const rows = Array.from(
      { length: 300 },
      (_, i) => [i * 13, 50 + ((i * 37) % 900), 1 + ((i * 11) % 200)] as const,
    )
    const run = () =>
      simulateReplay({
        requests: requests(rows),
        backends: [backend('a', 'DE'), backend('b', 'FR', { replicas: 2 })],
        networkRttMs: [0, 10],
        choose: (i, v) => (v.inflight[0]! <= v.inflight[1]! ? 0 : 1) + 0 * i,
        intensity: flat({ DE: 300, FR: 60 }),
      })
    const a = run()
    const b = run()
    expect(Array.from(a.latencyMs)).toEqual(Array.from(b.latencyMs))
    expect(Array.from(a.energyJ)).toEqual(Array.from(b.energyJ))
    expect(a.backends).toEqual(b.backends)
  })
})

describe('latencyQuantiles', () => {
  it('uses the nearest rank and returns observed values', () => {
    expect(latencyQuantiles([5, 1, 4, 2, 3], [0.5, 0.95, 0.99, 0.2])).toEqual([3, 5, 5, 1])
    expect(latencyQuantiles([], [0.5])[0]).toBeNaN()
  })
})
