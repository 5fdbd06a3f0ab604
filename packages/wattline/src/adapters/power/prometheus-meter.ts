/**
 * @module adapters/power/prometheus-meter
 * Measured power of a backend scraped from a Prometheus exposition endpoint: NVIDIA's DCGM exporter
 * (`DCGM_FI_DEV_POWER_USAGE`, W per GPU) or Kepler (`kepler_node_gpu_watts`, W per GPU). The series
 * matching the configured labels are summed: a backend's power is all of its GPUs together.
 */
import { instant, watts, WattlineError, type PowerMeter, type PowerSample } from '@wattline/core'
import { parsePrometheusText } from './prometheus-text.ts'

export type PowerMetric = 'DCGM_FI_DEV_POWER_USAGE' | 'kepler_node_gpu_watts'

export interface PrometheusMeterOptions {
  readonly backend: string
  readonly url: string
  readonly metric: PowerMetric
  /** Exact label matches (e.g. `{ Hostname: 'gpu-node-3' }` or `{ gpu: '0' }`). */
  readonly labels: Readonly<Record<string, string>>
  /** Fetches the exposition text (undici/fetch in production, a fixture in tests). */
  readonly fetchText: (url: string, signal?: AbortSignal) => Promise<string>
  readonly now: () => number
}

/** Sums the matching series of `metric` in exposition `text` (W); throws when none match. */
export function sumPower(
  text: string,
  metric: PowerMetric,
  labels: Readonly<Record<string, string>>,
): { watts: number; series: number } {
  let total = 0
  let series = 0
  for (const s of parsePrometheusText(text)) {
    if (s.name !== metric || !Number.isFinite(s.value)) continue
    if (!Object.entries(labels).every(([k, v]) => s.labels[k] === v)) continue
    total += s.value
    series++
  }
  if (series === 0) {
    throw new WattlineError(
      'WL_DATA_FORMAT',
      `no ${metric} series matching ${JSON.stringify(labels)} in the scrape`,
    )
  }
  return { watts: total, series }
}

/** Creates the meter. */
export function createPrometheusMeter(options: PrometheusMeterOptions): PowerMeter {
  const source = `${options.metric === 'DCGM_FI_DEV_POWER_USAGE' ? 'dcgm' : 'kepler'}:${options.url}`
  return {
    name: source,
    method: 'measured',
    async read(signal): Promise<readonly PowerSample[]> {
      const text = await options.fetchText(options.url, signal)
      const { watts: w } = sumPower(text, options.metric, options.labels)
      return [
        {
          backend: options.backend,
          at: instant(options.now()),
          power: watts(w),
          method: 'measured',
          source,
        },
      ]
    },
  }
}
