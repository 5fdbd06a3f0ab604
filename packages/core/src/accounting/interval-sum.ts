/**
 * @module accounting/interval-sum
 * A running sum of figures with intervals and methods: values, lows and highs each add up (worst
 * case: the bounds move together), and the method of the sum is `measured` only when every part
 * was, `mixed` when both kinds went in. The report and the dashboard API total every figure this way.
 */
import type { Method } from '../units/estimate.ts'

/** A method of a sum: one kind, or `mixed` when measured and modelled parts went in. */
export type SumMethod = Method | 'mixed'

export class IntervalSum {
  value = 0
  low = 0
  high = 0
  /** Whether a measured / a modelled part went in. */
  measured = false
  modelled = false
  /** How many parts went in. */
  parts = 0

  /** Adds one part with its interval. */
  add(value: number, low: number, high: number, method: Method): void {
    this.value += value
    this.low += low
    this.high += high
    this.parts += 1
    if (method === 'measured') this.measured = true
    else this.modelled = true
  }

  /** Adds a part taken as exact (its interval is the value itself). */
  addExact(value: number, method: Method): void {
    this.add(value, value, value, method)
  }

  /** Adds another sum's totals and methods. */
  addSum(other: IntervalSum): void {
    this.value += other.value
    this.low += other.low
    this.high += other.high
    this.parts += other.parts
    this.measured ||= other.measured
    this.modelled ||= other.modelled
  }

  /** `measured`, `modelled` or `mixed` (`modelled` when nothing went in). */
  sumMethod(): SumMethod {
    if (this.measured && this.modelled) return 'mixed'
    return this.measured ? 'measured' : 'modelled'
  }

  /** `measured` only when at least one part went in and every part was measured. */
  strictMethod(): Method {
    return this.parts > 0 && !this.modelled ? 'measured' : 'modelled'
  }
}
