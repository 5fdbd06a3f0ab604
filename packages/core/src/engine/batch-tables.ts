/**
 * @module engine/batch-tables
 * A profile evaluated once per batch occupancy, so that the simulator's hot loop reads arrays instead
 * of calling profile functions. Occupancy beyond the profile's largest fitted batch is served by
 * stretching compute time by `occupancy / maxBatch` at the largest batch's power, the same rule the
 * routing predictions use (`routing/predict.ts`).
 *
 * The tables also hold the lower bounds the oracle needs (per-token dynamic energy and slot time at
 * the most favourable occupancy): see docs/replay.md, "The oracle".
 */
import type { Estimate } from '../units/estimate.ts'
import type { EnergyProfile } from '../energy/profile.ts'
import { WattlineError } from '../errors.ts'
import type { Joules, Milliseconds, Watts } from '../units/quantity.ts'

/** One replica's behaviour per occupancy `b` (index 0 = idle; 1..slots = running requests). */
export interface BatchTables {
  /** Batch slots of one replica (its max concurrency). */
  readonly slots: number
  /** Prefill progress of each running request at occupancy b, prompt tokens per ms. */
  readonly rateIn: Float64Array
  /** Decode progress of each running request at occupancy b, generated tokens per ms. */
  readonly rateOut: Float64Array
  /** Replica IT power at occupancy b, W (index 0 = idle power). */
  readonly power: Float64Array
  /** Attribution weight of a prompt token at occupancy b (the profile's J/token). */
  readonly weightIn: Float64Array
  /** Attribution weight of a generated token at occupancy b (the profile's J/token). */
  readonly weightOut: Float64Array
  /** Idle power of one replica, W. */
  readonly idlePower: number
  /** min over b of (power(b) − idle) / (b × rateIn(b)): least dynamic energy per prompt token, J. */
  readonly minDynamicJPerInputToken: number
  /** min over b of (power(b) − idle) / (b × rateOut(b)): least dynamic energy per generated token, J. */
  readonly minDynamicJPerOutputToken: number
  /** min over b of 1 / rateIn(b): least slot time a prompt token holds, ms. */
  readonly minSlotMsPerInputToken: number
  /** min over b of 1 / rateOut(b): least slot time a generated token holds, ms. */
  readonly minSlotMsPerOutputToken: number
  /** max over b of b × rateIn(b): most prompt tokens one replica prefills per ms. */
  readonly maxThroughputIn: number
  /** max over b of b × rateOut(b): most tokens one replica generates per ms. */
  readonly maxThroughputOut: number
}

/** Evaluates `profile` for occupancies 0..slots of one replica. */
export function tabulateProfile(profile: EnergyProfile, slots: number): BatchTables {
  if (!Number.isInteger(slots) || slots < 1) {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `max concurrency must be an integer ≥ 1, got ${slots}`,
    )
  }
  const maxBatch = Math.max(1, Math.floor(profile.maxBatch))
  const rateIn = new Float64Array(slots + 1)
  const rateOut = new Float64Array(slots + 1)
  const power = new Float64Array(slots + 1)
  const weightIn = new Float64Array(slots + 1)
  const weightOut = new Float64Array(slots + 1)
  const idle = profile.idlePower
  power[0] = idle
  let minDynIn = Number.POSITIVE_INFINITY
  let minDynOut = Number.POSITIVE_INFINITY
  let minSlotIn = Number.POSITIVE_INFINITY
  let minSlotOut = Number.POSITIVE_INFINITY
  let maxThroughputIn = 0
  let maxThroughputOut = 0
  for (let b = 1; b <= slots; b++) {
    const batch = Math.min(b, maxBatch)
    const stretch = b > maxBatch ? b / maxBatch : 1
    const tIn = profile.timePerInputToken(batch) * stretch
    const tOut = profile.timePerOutputToken(batch) * stretch
    if (!(tIn > 0) || !(tOut > 0) || !Number.isFinite(tIn) || !Number.isFinite(tOut)) {
      throw new WattlineError(
        'WL_INVALID_INPUT',
        `profile ${profile.model} on ${profile.hardware} gives a non-positive time per token at batch ${batch}`,
      )
    }
    const p = profile.power(batch)
    rateIn[b] = 1 / tIn
    rateOut[b] = 1 / tOut
    power[b] = p
    const wIn = profile.energyPerInputToken(batch).value
    const wOut = profile.energyPerOutputToken(batch).value
    // Both zero would leave no basis for shares: fall back to plain token counts.
    const fallback = !(wIn > 0) && !(wOut > 0)
    weightIn[b] = fallback ? 1 : Math.max(0, wIn)
    weightOut[b] = fallback ? 1 : Math.max(0, wOut)
    const dyn = (p - idle) / 1000 // J per ms of replica time above idle
    minDynIn = Math.min(minDynIn, (dyn * tIn) / b)
    minDynOut = Math.min(minDynOut, (dyn * tOut) / b)
    minSlotIn = Math.min(minSlotIn, tIn)
    minSlotOut = Math.min(minSlotOut, tOut)
    maxThroughputIn = Math.max(maxThroughputIn, b / tIn)
    maxThroughputOut = Math.max(maxThroughputOut, b / tOut)
  }
  return {
    slots,
    rateIn,
    rateOut,
    power,
    weightIn,
    weightOut,
    idlePower: idle,
    minDynamicJPerInputToken: minDynIn,
    minDynamicJPerOutputToken: minDynOut,
    minSlotMsPerInputToken: minSlotIn,
    minSlotMsPerOutputToken: minSlotOut,
    maxThroughputIn,
    maxThroughputOut,
  }
}

/**
 * Wraps a profile so that integer batches 1..maxBatch are answered from precomputed tables (the same
 * values, the same objects each time); anything else goes to the original. Policies call profiles
 * once per backend per request, so this keeps replays allocation-free on that path.
 */
export function memoizeProfile(profile: EnergyProfile): EnergyProfile {
  const maxBatch = Math.max(1, Math.floor(profile.maxBatch))
  const eOut: Estimate<Joules>[] = []
  const eIn: Estimate<Joules>[] = []
  const tOut: Milliseconds[] = []
  const tIn: Milliseconds[] = []
  const pw: Watts[] = []
  for (let b = 0; b <= maxBatch; b++) {
    const batch = Math.max(1, b)
    eOut.push(profile.energyPerOutputToken(batch))
    eIn.push(profile.energyPerInputToken(batch))
    tOut.push(profile.timePerOutputToken(batch))
    tIn.push(profile.timePerInputToken(batch))
    pw.push(profile.power(b))
  }
  const hit = (b: number): boolean => Number.isInteger(b) && b >= 1 && b <= maxBatch
  return {
    model: profile.model,
    hardware: profile.hardware,
    precision: profile.precision,
    basis: profile.basis,
    source: profile.source,
    gpus: profile.gpus,
    maxBatch: profile.maxBatch,
    idlePower: profile.idlePower,
    energyPerOutputToken: (b) =>
      hit(b) ? (eOut[b] as Estimate<Joules>) : profile.energyPerOutputToken(b),
    energyPerInputToken: (b) =>
      hit(b) ? (eIn[b] as Estimate<Joules>) : profile.energyPerInputToken(b),
    timePerOutputToken: (b) => (hit(b) ? (tOut[b] as Milliseconds) : profile.timePerOutputToken(b)),
    timePerInputToken: (b) => (hit(b) ? (tIn[b] as Milliseconds) : profile.timePerInputToken(b)),
    power: (b) =>
      Number.isInteger(b) && b >= 0 && b <= maxBatch ? (pw[b] as Watts) : profile.power(b),
  }
}
