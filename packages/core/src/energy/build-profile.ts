/**
 * @module energy/build-profile
 * Turns an energy curve and a latency curve (either fitted or parametric) into an
 * {@link EnergyProfile}. Intervals are multiplicative, symmetric in ln space: a half-width `w`
 * gives `[v·e^−w, v·e^w]`. Outside the measured batch range the half-width grows by
 * 0.15 per e-fold of extrapolation (a stated rule, not a fit).
 */
import type { HardwareSpec } from '../catalog/hardware.ts'
import { estimate, type Estimate } from '../units/estimate.ts'
import { joules, ms, watts, type Joules, type Milliseconds, type Watts } from '../units/quantity.ts'
import { prefillEnergyPerToken, prefillTimePerToken } from './prefill.ts'
import type { EnergyProfile, Precision, ProfileBasis } from './profile.ts'

/** Extra ln half-width per e-fold of batch extrapolation. */
export const EXTRAPOLATION_WIDENING = 0.15

export interface ProfileParts {
  readonly model: string
  readonly hardware: HardwareSpec
  readonly precision: Precision
  readonly basis: ProfileBasis
  readonly source: string
  readonly gpus: number
  readonly activeParamsB: number
  /** Range of batch sizes the curves were derived from. */
  readonly minBatch: number
  readonly maxBatch: number
  /** Energy per output token at batch b (b ≥ 1), J. */
  readonly energyAt: (b: number) => number
  /** Time per output token at batch b, ms. */
  readonly tpotAt: (b: number) => number
  /** ln half-width of the energy interval inside the batch range. */
  readonly intervalLog: number
}

/** Builds a frozen {@link EnergyProfile} from curves. */
export function buildProfile(parts: ProfileParts): EnergyProfile {
  const { hardware: hw, gpus } = parts
  const idle = watts(hw.idleW * gpus)
  const peak = hw.tdpW * gpus
  const clampBatch = (b: number): number =>
    Math.min(parts.maxBatch, Math.max(1, Number.isFinite(b) ? b : 1))
  const width = (b: number): number => {
    const inside = Math.min(parts.maxBatch, Math.max(parts.minBatch, b))
    return parts.intervalLog + EXTRAPOLATION_WIDENING * Math.abs(Math.log(b / inside))
  }
  const prefill = prefillEnergyPerToken(hw, parts.activeParamsB)
  const prefillTime = prefillTimePerToken(hw, parts.activeParamsB, gpus)

  // A profile is a pure function of the batch, asked at whole batches on every request (routing,
  // accounting): its answers there are computed once. Estimates are frozen, so one can be shared.
  const outputEnergy = new BatchMemo<Estimate<Joules>>(parts.maxBatch)
  const outputTime = new BatchMemo<Milliseconds>(parts.maxBatch)
  const powerAt = new BatchMemo<Watts>(parts.maxBatch)
  const profile: EnergyProfile = {
    model: parts.model,
    hardware: hw.id,
    precision: parts.precision,
    basis: parts.basis,
    source: parts.source,
    gpus,
    maxBatch: parts.maxBatch,
    idlePower: idle,
    energyPerOutputToken(batch: number): Estimate<Joules> {
      const b = clampBatch(batch)
      return (
        outputEnergy.get(b) ??
        outputEnergy.set(b, () => {
          const v = parts.energyAt(b)
          const w = width(b)
          return estimate(
            joules(v),
            'modelled',
            parts.source,
            joules(v * Math.exp(-w)),
            joules(v * Math.exp(w)),
          )
        })
      )
    },
    energyPerInputToken(): Estimate<Joules> {
      return prefill
    },
    timePerOutputToken(batch: number): Milliseconds {
      const b = clampBatch(batch)
      return outputTime.get(b) ?? outputTime.set(b, () => ms(parts.tpotAt(b)))
    },
    timePerInputToken(): Milliseconds {
      return prefillTime
    },
    power(batch: number): Watts {
      if (!(batch > 0)) return idle
      const b = clampBatch(batch)
      return (
        powerAt.get(b) ??
        powerAt.set(b, () => {
          const tokensPerSecond = b / (parts.tpotAt(b) / 1000)
          const p = parts.energyAt(b) * tokensPerSecond
          return watts(Math.min(peak, Math.max(idle, p)))
        })
      )
    },
  }
  return Object.freeze(profile)
}

/**
 * Values at whole batches 1..`maxBatch`, computed on first use (other batches are not kept: the
 * caller computes them each time).
 */
class BatchMemo<T> {
  readonly #values: (T | undefined)[]

  constructor(maxBatch: number) {
    const kept = maxBatch >= 1 ? Math.floor(Math.min(maxBatch, BATCH_MEMO_MAX)) : 1
    this.#values = new Array<T | undefined>(kept + 1)
  }

  /** The value kept for batch `b`, if any. */
  get(b: number): T | undefined {
    return this.#values[b]
  }

  /** Computes the value at `b`, keeping it when `b` is a whole batch in range. */
  set(b: number, compute: () => T): T {
    const v = compute()
    if (Number.isInteger(b) && b < this.#values.length) this.#values[b] = v
    return v
  }
}

/** Largest batch a profile keeps answers for. */
const BATCH_MEMO_MAX = 4096
