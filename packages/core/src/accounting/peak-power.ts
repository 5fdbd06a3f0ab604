/**
 * @module accounting/peak-power
 * Peak IT power over one-minute intervals. With power samples: per minute, each backend's mean
 * sampled power (W), summed over backends; the highest minute wins (the earliest on a tie).
 * Without samples: the highest one-minute total of attributed IT energy ÷ 60 s (modelled).
 */
import { minuteOf, ROLLUP_BUCKET_MS as MS_PER_MINUTE } from '../ledger/rollup.ts'
import type { Method } from '../units/estimate.ts'

const S_PER_MINUTE = 60

/** The busiest minute: its power (W), its start (epoch ms) and the methods of what went in. */
export interface MinutePeak {
  readonly powerW: number
  readonly atMs: number
  readonly methods: ReadonlySet<Method>
}

function better(w: number, at: number, best: { w: number; at: number } | undefined): boolean {
  return best === undefined || w > best.w || (w === best.w && at < best.at)
}

/** Power samples by minute and backend. */
export class MinutePower {
  readonly #byMinute = new Map<number, Map<string, { sum: number; n: number }>>()
  readonly #methods = new Map<number, Set<Method>>()
  /** Samples added. */
  samples = 0

  add(atMs: number, backend: string, powerW: number, method: Method): void {
    const minute = minuteOf(atMs)
    let perBackend = this.#byMinute.get(minute)
    if (perBackend === undefined) this.#byMinute.set(minute, (perBackend = new Map()))
    const e = perBackend.get(backend) ?? { sum: 0, n: 0 }
    e.sum += powerW
    e.n += 1
    perBackend.set(backend, e)
    let m = this.#methods.get(minute)
    if (m === undefined) this.#methods.set(minute, (m = new Set()))
    m.add(method)
    this.samples += 1
  }

  /** The minute with the highest total of per-backend mean power; undefined without samples. */
  peak(): MinutePeak | undefined {
    let best: { w: number; at: number } | undefined
    for (const [minute, perBackend] of this.#byMinute) {
      let w = 0
      for (const { sum, n } of perBackend.values()) w += sum / n
      if (better(w, minute, best)) best = { w, at: minute }
    }
    if (best === undefined) return undefined
    return { powerW: best.w, atMs: best.at, methods: this.#methods.get(best.at) ?? new Set() }
  }

  /** Each backend's highest one-minute mean power, W. */
  backendPeaks(): Map<string, number> {
    const out = new Map<string, number>()
    for (const perBackend of this.#byMinute.values()) {
      for (const [backend, { sum, n }] of perBackend) {
        out.set(backend, Math.max(out.get(backend) ?? 0, sum / n))
      }
    }
    return out
  }
}

/** Attributed IT energy by minute, for the peak when no power was sampled. */
export class MinuteEnergy {
  readonly #byMinute = new Map<number, number>()

  /** Adds `energyJ` to the minute holding `atMs`. */
  add(atMs: number, energyJ: number): void {
    const minute = minuteOf(atMs)
    this.#byMinute.set(minute, (this.#byMinute.get(minute) ?? 0) + energyJ)
  }

  /** Spreads `energyJ` evenly over the minutes `[fromMs, toMs)` overlaps (toMs > fromMs). */
  spread(fromMs: number, toMs: number, energyJ: number): void {
    const total = toMs - fromMs
    for (let start = minuteOf(fromMs); start < toMs; start += MS_PER_MINUTE) {
      const o = Math.min(toMs, start + MS_PER_MINUTE) - Math.max(fromMs, start)
      if (o > 0) this.#byMinute.set(start, (this.#byMinute.get(start) ?? 0) + energyJ * (o / total))
    }
  }

  /** The minute with the most energy, as mean power (J ÷ 60 s); undefined when nothing was added. */
  peak(): { readonly powerW: number; readonly atMs: number } | undefined {
    let best: { w: number; at: number } | undefined
    for (const [minute, j] of this.#byMinute) {
      const w = j / S_PER_MINUTE
      if (better(w, minute, best)) best = { w, at: minute }
    }
    return best === undefined ? undefined : { powerW: best.w, atMs: best.at }
  }
}
