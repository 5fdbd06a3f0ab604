/**
 * @module budget/rolling-totals
 * Usage totals over a sliding time window, in one-second buckets: O(1) per request and bounded
 * memory (window_s buckets). Time arrives as data; nothing here reads a clock.
 */
import type { UsageTotals } from './metric-value.ts'

const BUCKET_MS = 1000

interface Bucket {
  second: number
  requests: number
  output_tokens: number
  energy_j: number
  carbon_g: number
}

/** Totals of the last `windowMs` milliseconds, per one-second bucket. */
export class RollingTotals {
  readonly #windowBuckets: number
  readonly #buckets: Bucket[]

  /** @param windowMs window length, ms (≥ 1000) */
  constructor(windowMs: number) {
    this.#windowBuckets = Math.max(1, Math.ceil(windowMs / BUCKET_MS))
    this.#buckets = Array.from({ length: this.#windowBuckets }, () => ({
      second: -1,
      requests: 0,
      output_tokens: 0,
      energy_j: 0,
      carbon_g: 0,
    }))
  }

  /** Adds one request's usage at `atMs` (epoch ms). */
  add(atMs: number, usage: UsageTotals): void {
    const second = Math.floor(atMs / BUCKET_MS)
    const b = this.#buckets[second % this.#windowBuckets] as Bucket
    if (b.second !== second) {
      b.second = second
      b.requests = 0
      b.output_tokens = 0
      b.energy_j = 0
      b.carbon_g = 0
    }
    b.requests += usage.requests
    b.output_tokens += usage.output_tokens
    b.energy_j += usage.energy_j
    b.carbon_g += usage.carbon_g
  }

  /** Totals of the window ending at `nowMs` (epoch ms). */
  totals(nowMs: number): UsageTotals {
    const now = Math.floor(nowMs / BUCKET_MS)
    const oldest = now - this.#windowBuckets + 1
    let requests = 0
    let outputTokens = 0
    let energy = 0
    let carbon = 0
    for (const b of this.#buckets) {
      if (b.second < oldest || b.second > now) continue
      requests += b.requests
      outputTokens += b.output_tokens
      energy += b.energy_j
      carbon += b.carbon_g
    }
    return { requests, output_tokens: outputTokens, energy_j: energy, carbon_g: carbon }
  }
}
