/**
 * @module accounting/time-buckets
 * A period cut into epoch-aligned buckets (the first and last clipped to the period) that collect
 * requests, IT, idle and facility energy and carbon, in total and per zone: the report's "over
 * time" series. Request figures land in their arrival bucket; idle energy is spread evenly over the
 * buckets its interval overlaps.
 */
import type { Method } from '../units/estimate.ts'
import { MS_PER_HOUR } from '../units/quantity.ts'

const MS_PER_MINUTE = 60_000
const MS_PER_DAY = 24 * MS_PER_HOUR
/** Bucket widths the series may use; the smallest giving ≤ {@link MAX_BUCKETS} wins. */
const BUCKET_WIDTHS_MS = [
  5 * MS_PER_MINUTE,
  15 * MS_PER_MINUTE,
  MS_PER_HOUR,
  6 * MS_PER_HOUR,
  MS_PER_DAY,
  7 * MS_PER_DAY,
] as const
/** Most buckets a period is cut into. */
export const MAX_BUCKETS = 240

/** One bucket's totals; energies in J, carbon in g. */
export interface TimeBucketTotals {
  readonly from: number
  readonly to: number
  requests: number
  itJ: number
  idleJ: number
  facilityJ: number
  carbonG: number
  measuredJ: number
  modelledJ: number
  readonly zones: Map<string, { requests: number; facilityJ: number; carbonG: number }>
}

export class TimeBuckets {
  readonly widthMs: number
  readonly list: readonly TimeBucketTotals[]
  readonly #first: number

  /**
   * Epoch-aligned buckets covering `[fromMs, toMs)`, the first and last clipped to the period, of
   * `widthMs` when given (the dashboard picks its own, finer widths), else the report's choice.
   */
  constructor(fromMs: number, toMs: number, widthMs?: number) {
    this.widthMs =
      widthMs ??
      BUCKET_WIDTHS_MS.find((w) => Math.ceil(toMs / w) - Math.floor(fromMs / w) <= MAX_BUCKETS) ??
      Math.ceil((toMs - fromMs) / MAX_BUCKETS)
    const list: TimeBucketTotals[] = []
    this.#first = Math.floor(fromMs / this.widthMs) * this.widthMs
    for (let start = this.#first; start < toMs; start += this.widthMs) {
      list.push({
        from: Math.max(start, fromMs),
        to: Math.min(start + this.widthMs, toMs),
        requests: 0,
        itJ: 0,
        idleJ: 0,
        facilityJ: 0,
        carbonG: 0,
        measuredJ: 0,
        modelledJ: 0,
        zones: new Map(),
      })
    }
    this.list = list
  }

  /** The bucket holding `atMs`, or undefined outside the period. */
  at(atMs: number): TimeBucketTotals | undefined {
    const b = this.list[Math.floor(atMs / this.widthMs) - Math.floor(this.#first / this.widthMs)]
    // The first and last buckets are clipped: an instant in their cut-off part is outside.
    return b !== undefined && atMs >= b.from && atMs < b.to ? b : undefined
  }

  /** Adds one request's figures to its arrival bucket. */
  addRequest(atMs: number, f: BucketFigures): void {
    const bucket = this.at(atMs)
    if (bucket !== undefined) add(bucket, f, 1, 1, 0)
  }

  /**
   * Spreads idle figures evenly over the buckets `[fromMs, toMs)` overlaps; a zero-length interval
   * (toMs ≤ fromMs) is a point and lands whole in the bucket holding `fromMs`.
   */
  addIdle(fromMs: number, toMs: number, f: BucketFigures): void {
    if (toMs <= fromMs) {
      const bucket = this.at(fromMs)
      if (bucket !== undefined) add(bucket, f, 1, 0, 1)
      return
    }
    for (const bucket of this.list) {
      const o = Math.min(toMs, bucket.to) - Math.max(fromMs, bucket.from)
      if (o > 0) add(bucket, f, o / (toMs - fromMs), 0, 1)
    }
  }
}

/** What one request or idle slice adds: energies in J, carbon in g, of one zone and method. */
export interface BucketFigures {
  readonly zone: string
  readonly itJ: number
  readonly facilityJ: number
  readonly carbonG: number
  readonly method: Method
}

/**
 * Adds the fraction `k` of `f` to a bucket and to its zone, with `requests` requests; `idle` 1 when
 * the figures are idle energy.
 */
function add(
  bucket: TimeBucketTotals,
  f: BucketFigures,
  k: number,
  requests: number,
  idle: 0 | 1,
): void {
  const itJ = f.itJ * k
  const facilityJ = f.facilityJ * k
  const carbonG = f.carbonG * k
  bucket.requests += requests
  bucket.itJ += itJ
  if (idle === 1) bucket.idleJ += itJ
  bucket.facilityJ += facilityJ
  bucket.carbonG += carbonG
  if (f.method === 'measured') bucket.measuredJ += itJ
  else bucket.modelledJ += itJ
  const z = bucket.zones.get(f.zone) ?? { requests: 0, facilityJ: 0, carbonG: 0 }
  z.requests += requests
  z.facilityJ += facilityJ
  z.carbonG += carbonG
  bucket.zones.set(f.zone, z)
}
