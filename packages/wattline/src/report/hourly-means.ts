/**
 * @module report/hourly-means
 * Running means per (series key, UTC hour), gathered while the report streams rows: all the anomaly
 * detector uses, so memory grows with series × hours, not rows.
 */
import { MS_PER_HOUR, type AnomalyKind, type SubjectSeries } from '@wattline/core'

export class HourlyMeans {
  readonly #sums = new Map<string, Map<number, { sum: number; n: number }>>()

  add(key: string, atMs: number, value: number): void {
    if (!Number.isFinite(value)) return
    const hour = Math.floor(atMs / MS_PER_HOUR) * MS_PER_HOUR
    let byHour = this.#sums.get(key)
    if (byHour === undefined) this.#sums.set(key, (byHour = new Map()))
    const e = byHour.get(hour) ?? { sum: 0, n: 0 }
    e.sum += value
    e.n += 1
    byHour.set(hour, e)
  }

  keys(): number {
    return this.#sums.size
  }

  /** One series per key: hourly means in time order, with the number of values in each. */
  series(kind: AnomalyKind): SubjectSeries[] {
    return [...this.#sums].map(([subject, byHour]) => ({
      kind,
      subject,
      series: [...byHour]
        .sort((a, b) => a[0] - b[0])
        .map(([at_ms, { sum, n }]) => ({ at_ms, value: sum / n, count: n })),
    }))
  }
}
