/**
 * @module advise/rank
 * Sizes and ranks candidate deployments for a workload's request mix (pure).
 *
 * For a candidate (model variant, precision, hardware, GPUs per replica) and a batch cap B:
 * - capacity of one replica = B / tpot(B) output tokens/s ÷ mean output tokens (requests/s);
 * - replicas R = ⌈peak hourly rate / capacity⌉ (at least 1) unless fixed (the current deployment);
 * - each UTC hour h, a replica carries r_h / R requests/s at the running batch b_h that sustains it
 *   (b / tpot(b) · 1000 / L_out = r_h / R, solved by bisection, ≤ B);
 * - energy of hour h = r_h·3600·(L_out·E_out(max(1, b_h)) + L_in·E_in) + R·3600·(1 − b_h)·P_idle
 *   when b_h < 1 (idle replicas between requests), all × PUE; intervals carry E's bounds;
 * - energy per 1k requests = Σ energy / Σ requests × 1000; carbon per zone with the zone's typical
 *   hourly intensity (UTC hour of day);
 * - p95 latency = prefill of the p95 prompt + p95 output tokens × tpot(b) at the busiest hour's
 *   batch (queueing not modelled).
 * Edge candidates (placement `edge`): a batch cap of 1, replicas = modules needed for the peak hour,
 * no PUE, idle power of the powered modules between requests; basis `measured-extrapolated` where
 * the decode/prefill rates were measured (power was not), `extrapolated` otherwise.
 * Figures are `modelled`; each option says whether its profile was measured (ML.ENERGY, with the
 * batch inside or outside the measured range) or extrapolated (parametric regression).
 */
import type { Precision } from '../energy/profile.ts'
import type { AdviseCandidate, AdvisePlacement } from './candidates.ts'
import type { WorkloadMix } from './workload-mix.ts'

export interface ZoneDay {
  readonly zone: string
  /** Typical intensity per UTC hour of day, gCO2e/kWh (24 values). */
  readonly intensityByHour: readonly number[]
  readonly source: string
}

export interface AdviseInterval {
  readonly value: number
  readonly low: number
  readonly high: number
}

export const ADVISE_BASES = ['measured', 'measured-extrapolated', 'extrapolated'] as const
export type AdviseBasis = (typeof ADVISE_BASES)[number]

export interface AdviseOption {
  readonly model: string
  readonly precision: Precision
  readonly hardware: string
  /** `cloud` (data centre, × PUE) or `edge` (one module per replica, batch 1, no PUE). */
  readonly placement: AdvisePlacement
  /** Devices powered: data-centre GPUs (cloud) or edge modules (edge). */
  readonly devices: number
  readonly gpus_per_replica: number
  readonly replicas: number
  readonly gpus: number
  /** Batch cap (max running sequences per replica). */
  readonly batch_cap: number
  /** Mean running batch over the day, request-weighted. */
  readonly mean_batch: number
  readonly energy_per_1k_requests_wh: AdviseInterval
  /** Per zone, gCO2e per 1,000 requests. */
  readonly carbon_per_1k_requests_g: Readonly<Record<string, AdviseInterval>>
  /** Zone with the least carbon, when zones were given. */
  readonly best_zone: string | null
  /** Capacity of the deployment, requests/s and output tokens/s. */
  readonly capacity_rps: number
  readonly capacity_output_tokens_per_s: number
  readonly peak_rps: number
  readonly latency_p95_ms: number
  /** null when no SLO was given. */
  readonly meets_slo: boolean | null
  /** False when fixed replicas cannot carry the peak hour (the current deployment). */
  readonly carries_peak: boolean
  readonly basis: AdviseBasis
  readonly method: 'modelled'
  /** Which profile, and how it was used. */
  readonly source: string
}

export interface AdviseInput {
  readonly mix: WorkloadMix
  readonly candidates: readonly AdviseCandidate[]
  readonly sloP95Ms?: number
  readonly zones: readonly ZoneDay[]
  /** Power usage effectiveness applied to every option (≥ 1). */
  readonly pue: number
}

const HOUR_S = 3600

/** Batch caps tried for a candidate: powers of two from 8 up to the profile's largest batch. */
export function batchCaps(c: AdviseCandidate): number[] {
  const top = c.entry !== undefined ? c.entry.maxBatch : c.profile.maxBatch
  const caps: number[] = []
  for (let b = 8; b <= top * 1.0001; b *= 2) caps.push(b)
  if (caps.length === 0) caps.push(Math.max(1, Math.floor(top)))
  return caps
}

/** Evaluates one candidate at one batch cap; `replicas` fixes the count (current deployment). */
export function evaluateOption(
  input: AdviseInput,
  c: AdviseCandidate,
  cap: number,
  replicas?: number,
): AdviseOption {
  const { mix } = input
  const edge = c.placement === 'edge'
  // Edge modules run outside a data centre: no PUE.
  const pue = edge ? 1 : input.pue
  const p = c.profile
  const outMean = mix.outputTokens.mean
  const inMean = mix.inputTokens.mean
  const tpot = (b: number): number => p.timePerOutputToken(b)
  const rpsAt = (b: number): number => ((b / tpot(b)) * 1000) / outMean
  const capRps = rpsAt(cap)
  const peak = Math.max(...mix.ratePerHour)
  const R = replicas ?? Math.max(1, Math.ceil(peak / capRps - 1e-9))
  const batchFor = (perReplicaRps: number): number => {
    if (perReplicaRps >= capRps) return cap
    let lo = 0
    let hi = cap
    for (let i = 0; i < 50; i++) {
      const mid = (lo + hi) / 2
      // Below one sequence the replica is busy a share `mid` of the time at batch 1.
      const rate = mid < 1 ? mid * rpsAt(1) : rpsAt(mid)
      if (rate < perReplicaRps) lo = mid
      else hi = mid
    }
    return hi
  }
  const ein = p.energyPerInputToken(1)
  let requests = 0
  let eV = 0
  let eL = 0
  let eH = 0
  let batchWeighted = 0
  let carriesPeak = true
  const zoneSums = input.zones.map(() => ({ v: 0, l: 0, h: 0 }))
  let worstBatch = 0
  mix.ratePerHour.forEach((rate, hour) => {
    const perReplica = rate / R
    if (perReplica > capRps * 1.0001) carriesPeak = false
    const b = batchFor(perReplica)
    worstBatch = Math.max(worstBatch, b)
    const served = Math.min(rate, capRps * R) * HOUR_S
    const eout = p.energyPerOutputToken(Math.max(1, b))
    const idleJ = b < 1 ? R * HOUR_S * (1 - b) * p.idlePower : 0
    const hv = (served * (outMean * eout.value + inMean * ein.value) + idleJ) * pue
    const hl = (served * (outMean * eout.low + inMean * ein.low) + idleJ) * pue
    const hh = (served * (outMean * eout.high + inMean * ein.high) + idleJ) * pue
    requests += served
    eV += hv
    eL += hl
    eH += hh
    batchWeighted += served * b
    input.zones.forEach((z, i) => {
      const g = (z.intensityByHour[hour] ?? 0) / 3_600_000
      const s = zoneSums[i]
      if (s === undefined) return
      s.v += hv * g
      s.l += hl * g
      s.h += hh * g
    })
  })
  const per1k = (x: number): number => (requests > 0 ? (x / requests) * 1000 : NaN)
  const carbon: Record<string, AdviseInterval> = {}
  input.zones.forEach((z, i) => {
    const s = zoneSums[i]
    if (s !== undefined) carbon[z.zone] = { value: per1k(s.v), low: per1k(s.l), high: per1k(s.h) }
  })
  const bestZone =
    input.zones.length === 0
      ? null
      : ([...input.zones].sort(
          (a, b) => (carbon[a.zone]?.value ?? Infinity) - (carbon[b.zone]?.value ?? Infinity),
        )[0]?.zone ?? null)
  const latency =
    mix.inputTokens.p95 * p.timePerInputToken(1) +
    mix.outputTokens.p95 * tpot(Math.max(1, worstBatch))
  const meanBatch = requests > 0 ? batchWeighted / requests : 0
  const { basis, source } = describe(c, Math.max(1, Math.min(meanBatch, worstBatch)), worstBatch)
  return {
    model: c.model,
    precision: c.precision,
    hardware: c.hardware,
    placement: edge ? 'edge' : 'cloud',
    devices: R * c.gpus,
    gpus_per_replica: c.gpus,
    replicas: R,
    gpus: edge ? 0 : R * c.gpus,
    batch_cap: cap,
    mean_batch: meanBatch,
    energy_per_1k_requests_wh: {
      value: per1k(eV) / 3600,
      low: per1k(eL) / 3600,
      high: per1k(eH) / 3600,
    },
    carbon_per_1k_requests_g: carbon,
    best_zone: bestZone,
    capacity_rps: capRps * R,
    capacity_output_tokens_per_s: capRps * R * outMean,
    peak_rps: peak,
    latency_p95_ms: latency,
    meets_slo: input.sloP95Ms === undefined ? null : latency <= input.sloP95Ms,
    carries_peak: carriesPeak,
    basis,
    method: 'modelled',
    source,
  }
}

function describe(
  c: AdviseCandidate,
  lowBatch: number,
  highBatch: number,
): { basis: AdviseBasis; source: string } {
  if (c.edge !== undefined) {
    return {
      basis: 'measured-extrapolated',
      source: `edge: decode/prefill rates measured at batch 1, power not measured (module maximum, interval half to full) — ${c.profile.source}`,
    }
  }
  if (c.entry === undefined) {
    return { basis: 'extrapolated', source: `extrapolation — ${c.profile.source}` }
  }
  const e = c.entry
  const inside = lowBatch >= e.minBatch * 0.999 && highBatch <= e.maxBatch * 1.001
  const range = `measured batch ${fmt(e.minBatch)}–${fmt(e.maxBatch)}`
  return inside
    ? { basis: 'measured', source: `measured profile — ${c.profile.source}; ${range}` }
    : {
        basis: 'measured-extrapolated',
        source: `measured profile, extrapolated in batch (running ${fmt(lowBatch)}–${fmt(highBatch)}, ${range}) — ${c.profile.source}`,
      }
}

function fmt(x: number): string {
  return Number(x.toPrecision(3)).toString()
}

/** Orders options: SLO met and peak carried first, then energy per 1k requests, then GPUs. */
export function compareOptions(a: AdviseOption, b: AdviseOption): number {
  const ok = (o: AdviseOption): number => (o.meets_slo === false || !o.carries_peak ? 1 : 0)
  return (
    ok(a) - ok(b) ||
    a.energy_per_1k_requests_wh.value - b.energy_per_1k_requests_wh.value ||
    a.devices - b.devices
  )
}

/**
 * Every candidate at every batch cap, ranked. Per candidate only its best cap is kept (the
 * frontier chart gets all of them through `allOptions`).
 */
export function rankOptions(input: AdviseInput): {
  readonly ranked: readonly AdviseOption[]
  readonly allOptions: readonly AdviseOption[]
} {
  const all: AdviseOption[] = []
  const best: AdviseOption[] = []
  for (const c of input.candidates) {
    const opts = batchCaps(c).map((cap) => evaluateOption(input, c, cap))
    all.push(...opts)
    const top = [...opts].sort(compareOptions)[0]
    if (top !== undefined) best.push(top)
  }
  return { ranked: best.sort(compareOptions), allOptions: all }
}
