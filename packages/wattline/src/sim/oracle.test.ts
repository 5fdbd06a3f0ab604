import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { joules, ms, watts, type EnergyProfile } from '@wattline/core'
import {
  buildOracleLp,
  createPlanChooser,
  solveOracle,
  type OracleBackend,
  type OracleInput,
} from './oracle.ts'

function profile(idle: number, peak: number, tOut: number): EnergyProfile {
  const power = (b: number): number => (b <= 0 ? idle : idle + (peak - idle) * (b / (b + 3)))
  const tpo = (b: number): number => tOut * (1 + 0.05 * b)
  const tpi = (b: number): number => 0.05 * (1 + 0.01 * b)
  const est = (v: number) => ({
    value: joules(v),
    low: joules(v),
    high: joules(v),
    method: 'modelled' as const,
    source: 't',
  })
  return {
    model: 'm',
    hardware: 'h',
    precision: 'bf16',
    basis: 'fitted',
    source: 't',
    gpus: 1,
    maxBatch: 8,
    idlePower: watts(idle),
    energyPerOutputToken: (b) => est((power(b) * tpo(b)) / b / 1000),
    energyPerInputToken: (b) => est((power(b) * tpi(b)) / b / 1000),
    timePerOutputToken: (b) => ms(tpo(b)),
    timePerInputToken: (b) => ms(tpi(b)),
    power: (b) => watts(power(b)),
  }
}

const BACKENDS: OracleBackend[] = [
  {
    id: 'dirty',
    zone: 'D',
    models: ['m'],
    replicas: 1,
    maxConcurrency: 2,
    pue: 1.2,
    profile: profile(60, 400, 10),
  },
  {
    id: 'clean',
    zone: 'C',
    models: ['m'],
    replicas: 1,
    maxConcurrency: 2,
    pue: 1.1,
    profile: profile(50, 300, 25),
  },
]
const INTENSITY = { D: 400, C: 40 } as Record<string, number>
const flat = (zone: string) => ({
  intensity: INTENSITY[zone] ?? 0,
  until: Number.POSITIVE_INFINITY,
})

/**
 * Time per token at occupancy k under the simulator's rule: beyond the profile's largest batch the
 * batch stays at maxBatch and compute stretches by k / maxBatch.
 */
function tokenTime(b: OracleBackend, phase: 'in' | 'out', k: number): { t: number; p: number } {
  const batch = Math.min(k, b.profile.maxBatch)
  const stretch = k > b.profile.maxBatch ? k / b.profile.maxBatch : 1
  const t =
    (phase === 'in' ? b.profile.timePerInputToken(batch) : b.profile.timePerOutputToken(batch)) *
    stretch
  return { t, p: b.profile.power(batch) }
}
/** Least dynamic J per token over occupancies 1..slots, by direct scan. */
function leastPerToken(b: OracleBackend, phase: 'in' | 'out'): number {
  let least = Number.POSITIVE_INFINITY
  for (let k = 1; k <= b.maxConcurrency; k++) {
    const { t, p } = tokenTime(b, phase, k)
    least = Math.min(least, ((p - b.profile.idlePower) * t) / k / 1000)
  }
  return least
}
/** Replica ms per token at the best throughput over occupancies (1 / max_k k / t(k)). */
function leastSlot(b: OracleBackend, phase: 'in' | 'out'): number {
  let most = 0
  for (let k = 1; k <= b.maxConcurrency; k++) most = Math.max(most, k / tokenTime(b, phase, k).t)
  return 1 / most
}

type Row = readonly [arrivalMs: number, input: number, output: number, client: number]

function instance(rows: readonly Row[], slo?: number, capacityScale = 1): OracleInput {
  return {
    backends: BACKENDS.map((b) =>
      // Scale capacity: below 1 fewer batch slots (binding), above 1 more replicas (loose).
      capacityScale < 1
        ? { ...b, maxConcurrency: Math.max(1, Math.round(b.maxConcurrency * capacityScale)) }
        : { ...b, replicas: Math.round(b.replicas * capacityScale) },
    ),
    services: [{ model: 'm', ...(slo === undefined ? {} : { sloMs: slo }) }],
    clients: 2,
    // Client 1 is far from the clean backend.
    networkRttMs: [5, 30, 5, 300],
    requests: {
      count: rows.length,
      arrival: rows.map((r) => r[0]),
      inputTokens: rows.map((r) => r[1]),
      outputTokens: rows.map((r) => r[2]),
      client: rows.map((r) => r[3]),
      service: rows.map(() => 0),
    },
    intensity: flat,
    bucketMs: 1000,
    defaultTailMs: 1000,
  }
}

/** Enumerates every integral routing that the LP's constraints admit; returns the least carbon. */
function bruteForce(input: OracleInput): number {
  const { backends, requests } = input
  const n = requests.count
  const nb = backends.length
  const slo = input.services[0]?.sloMs
  const t0 = requests.arrival[0] as number
  const tail = slo ?? (input.defaultTailMs as number)
  let best = Number.POSITIVE_INFINITY
  const choice = new Array<number>(n).fill(0)
  const total = nb ** n
  for (let code = 0; code < total; code++) {
    let x = code
    for (let i = 0; i < n; i++) {
      choice[i] = x % nb
      x = Math.floor(x / nb)
    }
    let ok = true
    let carbon = 0
    for (let i = 0; i < n && ok; i++) {
      const j = choice[i] as number
      const b = backends[j] as OracleBackend
      const rtt = input.networkRttMs[(requests.client[i] as number) * nb + j] as number
      if (slo !== undefined && rtt >= slo) ok = false
      const e =
        ((requests.inputTokens[i] as number) * leastPerToken(b, 'in') +
          (requests.outputTokens[i] as number) * leastPerToken(b, 'out')) *
        b.pue
      carbon += (e * (INTENSITY[b.zone] as number)) / 3.6e6
    }
    // Cumulative slot-time capacity at the end of every bucket that has arrivals.
    for (let j = 0; j < nb && ok; j++) {
      const b = backends[j] as OracleBackend
      for (let i = 0; i < n && ok; i++) {
        const k = Math.floor(((requests.arrival[i] as number) - t0) / (input.bucketMs as number))
        let used = 0
        for (let r = 0; r < n; r++) {
          const kr = Math.floor(((requests.arrival[r] as number) - t0) / (input.bucketMs as number))
          if (kr <= k && choice[r] === j) {
            used +=
              (requests.inputTokens[r] as number) * leastSlot(b, 'in') +
              (requests.outputTokens[r] as number) * leastSlot(b, 'out')
          }
        }
        if (used > b.replicas * ((k + 1) * (input.bucketMs as number) + tail) + 1e-6) ok = false
      }
    }
    if (ok) best = Math.min(best, carbon)
  }
  const built = buildOracleLp(input)
  return best + built.idleCarbonG
}

describe('oracle LP', () => {
  it('routes everything to the clean zone when capacity and latency allow, matching brute force', async () => {
    const input = instance([
      [0, 100, 50, 0],
      [1500, 300, 20, 0],
      [2500, 50, 80, 0],
    ])
    const r = await solveOracle(input)
    expect(r.status).toBe('optimal')
    expect(r.carbonG).toBeCloseTo(bruteForce(input), 12)
    for (let g = 0; g < r.groups; g++) expect(r.fractions[g * 2 + 1]).toBeCloseTo(1, 9)
  })

  it('keeps far clients off a backend whose network latency alone breaks the SLO', async () => {
    const input = instance(
      [
        [0, 100, 50, 1],
        [10, 100, 50, 0],
      ],
      200,
    )
    const r = await solveOracle(input)
    expect(r.status).toBe('optimal')
    const g1 = r.groupOf[0] as number
    expect(r.fractions[g1 * 2 + 1]).toBe(0)
    expect(r.fractions[g1 * 2 + 0]).toBeCloseTo(1, 9)
    expect(r.carbonG).toBeCloseTo(bruteForce(input), 12)
  })

  it('spills to the dirty zone when the clean one is full (LP ≤ every integral routing)', async () => {
    // Long outputs on a 1-slot clean backend: capacity binds.
    const input = instance(
      [
        [0, 10, 100, 0],
        [1, 10, 100, 0],
        [2, 10, 100, 0],
        [3, 10, 100, 0],
      ],
      4000,
      0.5,
    )
    const r = await solveOracle(input)
    expect(r.status).toBe('optimal')
    const bf = bruteForce(input)
    expect(r.carbonG).toBeLessThanOrEqual(bf + 1e-12)
    expect(r.fractions[1]).toBeGreaterThan(0) // some of the group goes to the dirty backend
  })

  it('equals brute force whenever capacity does not bind, and never exceeds it (property)', async () => {
    const row = fc.tuple(
      fc.integer({ min: 0, max: 4000 }),
      fc.integer({ min: 0, max: 2000 }),
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 0, max: 1 }),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        async (rows, tight) => {
          const sorted = [...rows].sort((a, b) => a[0] - b[0])
          const input = instance(sorted, 250, tight ? 0.5 : 50)
          const r = await solveOracle(input)
          const bf = bruteForce(input)
          if (r.status === 'infeasible') {
            expect(bf).toBe(Number.POSITIVE_INFINITY)
            return
          }
          expect(r.carbonG).toBeLessThanOrEqual(bf * (1 + 1e-9) + 1e-12)
          if (!tight) expect(r.carbonG).toBeCloseTo(bf, 9)
        },
      ),
      { numRuns: 40 },
    )
  })

  it('reports infeasibility with the reason', async () => {
    const input = instance([[0, 10, 10, 1]], 4)
    const r = await solveOracle(input)
    expect(r.status).toBe('infeasible')
    expect(r.reason).toMatch(/no backend within the SLO/)
  })

  it('counts idle carbon over the arrival window at the intensity in force', () => {
    const input = instance([
      [0, 1, 1, 0],
      [3_600_000, 1, 1, 0],
    ])
    const built = buildOracleLp(input)
    // Replicas × idle W × PUE × 1 h × g/kWh.
    const expected = (60 * 1.2 * 400 + 50 * 1.1 * 40) / 1000
    expect(built.idleCarbonG).toBeCloseTo(expected, 9)
  })

  it('follows the plan: a group split 50/50 alternates between backends', () => {
    const chooser = createPlanChooser(
      {
        status: 'optimal',
        carbonG: 0,
        energyJ: 0,
        idleCarbonG: 0,
        idleEnergyJ: 0,
        groupOf: Int32Array.from([0, 0, 0, 0]),
        fractions: Float64Array.from([0.5, 0.5]),
        groups: 1,
        variables: 2,
        constraints: 1,
        lp: '',
      },
      2,
    )
    const dummy = {
      now: 0,
      inflight: new Int32Array(2),
      queued: new Int32Array(2),
      intensity: new Float64Array(2),
      capacity: new Int32Array(2),
    }
    expect([0, 1, 2, 3].map((i) => chooser(i, dummy))).toEqual([0, 1, 0, 1])
  })
})
