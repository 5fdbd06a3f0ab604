/**
 * @module http/cached-metrics
 * prom-client's `Counter`, `Gauge` and `Histogram` that remember the series of each label object
 * they are given, for the metrics the gateway updates on every request with label objects it builds
 * once (per backend, per service × model × backend, ...).
 *
 * prom-client turns the labels of every `inc` / `set` / `observe` into the series' key (a string
 * built from every label, plus a name check of each label); that is most of the ≈ 0.5–0.9 µs each
 * call costs. Here the first call with a label object takes prom-client's own path (it validates
 * and creates the series), then its key is kept in a `WeakMap` under that object; later calls with
 * the same object, whose label values are still those it was keyed with, update the series at once.
 * Anything else (new objects, changed values, `reset()`/`remove()` since, exemplars, bad values)
 * takes prom-client's path. What a scrape reads is identical (tested against plain prom-client).
 *
 * This reads prom-client's per-metric `hashMap` (pinned version 15.1.3; the equivalence test fails
 * if a new version lays it out differently).
 */
import { Counter, Gauge, Histogram } from 'prom-client'

/** A series of a metric's `hashMap` (counter and gauge: `value`; histogram: sum, count, buckets). */
interface SeriesEntry {
  value: number
  sum: number
  count: number
  readonly bucketValues: Record<string, number>
}

/** prom-client's internal state this module reads (`lib/metric.js`). */
interface MetricInternals {
  hashMap: Record<string, SeriesEntry>
  readonly sortedLabelNames: readonly string[]
}

/** A label object's key in one metric, and the label values it was keyed with. */
interface Keyed {
  readonly map: Record<string, SeriesEntry>
  readonly hash: string
  readonly values: readonly unknown[]
}

/** prom-client's series key: `name:value,` for each defined label, label names sorted. */
function seriesKey(names: readonly string[], labels: Record<string, unknown>): string {
  let hash = ''
  for (const name of names) {
    const value = labels[name]
    if (value !== undefined) hash += `${name}:${String(value)},`
  }
  return hash
}

/** Per metric: label object → its key, while the object's values and the metric's map hold. */
class SeriesKeys {
  private readonly keys = new WeakMap<object, Keyed>()
  private readonly metric: MetricInternals
  constructor(metric: MetricInternals) {
    this.metric = metric
  }

  /** The key of `labels` when it was keyed before, with the same values, in the current map. */
  known(labels: Record<string, unknown>): string | undefined {
    const k = this.keys.get(labels)
    if (k === undefined || k.map !== this.metric.hashMap) return undefined
    const names = this.metric.sortedLabelNames
    for (let i = 0; i < names.length; i++)
      if (labels[names[i] as string] !== k.values[i]) return undefined
    return k.hash
  }

  /** Keys `labels` (after prom-client's own path accepted it). */
  remember(labels: Record<string, unknown>): void {
    const names = this.metric.sortedLabelNames
    this.keys.set(labels, {
      map: this.metric.hashMap,
      hash: seriesKey(names, labels),
      values: names.map((n) => labels[n]),
    })
  }
}

const isLabels = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object'

/** A `Counter` whose `inc(labels, value)` skips prom-client's keying for a known label object. */
export class CachedCounter<T extends string = string> extends Counter<T> {
  constructor(config: ConstructorParameters<typeof Counter<T>>[0]) {
    super(config)
    if (config.enableExemplars === true) return
    const internals = this as unknown as MetricInternals
    const keys = new SeriesKeys(internals)
    const slow = this.inc.bind(this) as (labels?: unknown, value?: number) => unknown
    this.inc = ((labels?: unknown, value?: number): void => {
      if (isLabels(labels) && (value === undefined || (Number.isFinite(value) && value >= 0))) {
        const hash = keys.known(labels)
        const entry = hash === undefined ? undefined : internals.hashMap[hash]
        if (entry !== undefined) {
          entry.value += value ?? 1
          return
        }
        slow(labels, value)
        keys.remember(labels)
        return
      }
      slow(labels, value)
    }) as Counter<T>['inc']
  }
}

/** A `Gauge` whose `set(labels, value)` skips prom-client's keying for a known label object. */
export class CachedGauge<T extends string = string> extends Gauge<T> {
  constructor(config: ConstructorParameters<typeof Gauge<T>>[0]) {
    super(config)
    const internals = this as unknown as MetricInternals
    const keys = new SeriesKeys(internals)
    const slow = this.set.bind(this) as (labels: unknown, value?: number) => void
    this.set = ((labels: unknown, value?: number): void => {
      if (isLabels(labels) && typeof value === 'number') {
        const hash = keys.known(labels)
        if (hash !== undefined) {
          // What prom-client's `setValue` does once the key is known: a new series object.
          internals.hashMap[hash] = { value, labels } as unknown as SeriesEntry
          return
        }
        slow(labels, value)
        keys.remember(labels)
        return
      }
      slow(labels, value)
    }) as Gauge<T>['set']
  }
}

/** A `Histogram` whose `observe(labels, value)` skips prom-client's keying for a known label object. */
export class CachedHistogram<T extends string = string> extends Histogram<T> {
  constructor(config: ConstructorParameters<typeof Histogram<T>>[0]) {
    super(config)
    if (config.enableExemplars === true) return
    const internals = this as unknown as MetricInternals & { readonly upperBounds: number[] }
    const keys = new SeriesKeys(internals)
    // The bucket property names (prom-client keys `bucketValues` by the bound: a number turned into
    // a string on every access, the cost of a double-to-string conversion), converted once.
    const bounds = internals.upperBounds
    const boundKeys = bounds.map((bound) => String(bound))
    const slow = this.observe.bind(this) as (labels: unknown, value?: number) => void
    this.observe = ((labels: unknown, value?: number): void => {
      if (isLabels(labels) && typeof value === 'number' && Number.isFinite(value)) {
        const hash = keys.known(labels)
        const entry = hash === undefined ? undefined : internals.hashMap[hash]
        if (entry !== undefined) {
          // prom-client's `observe` once the series is found: the first bucket bound ≥ value
          // (-1, no bucket, above the last), then sum, count and that bucket.
          let b = '-1'
          for (let i = 0; i < bounds.length; i++) {
            if (value <= (bounds[i] as number)) {
              b = boundKeys[i] as string
              break
            }
          }
          entry.sum += value
          entry.count += 1
          const buckets = entry.bucketValues
          if (Object.prototype.hasOwnProperty.call(buckets, b))
            buckets[b] = (buckets[b] as number) + 1
          return
        }
        slow(labels, value)
        keys.remember(labels)
        return
      }
      slow(labels, value)
    }) as Histogram<T>['observe']
  }
}
