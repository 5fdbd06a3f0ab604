/**
 * @module benchmark/bench-meters
 * Measured energy for `wattline bench`: power sampled while the workload runs and integrated over
 * time (trapezoids per series). Two sources:
 * - `nvidia-smi`: `nvidia-smi --query-gpu=index,power.draw --format=csv,noheader,nounits -lms 100`
 *   (board power, W, one line per GPU per sample);
 * - `prometheus:URL`: an exporter's text endpoint scraped every 250 ms, summing
 *   `DCGM_FI_DEV_POWER_USAGE` (DCGM exporter) or else `kepler_node_gpu_watts` (Kepler), W.
 * The interval is ±5 W per series over the run (nvidia-smi documents power.draw as accurate to
 * ±5 W), widened to ±10 % for Kepler, whose GPU figures pass through its own model.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { request } from 'undici'
import { WattlineError } from '@wattline/core'

/** A power sample of one series: time (ms, monotonic) and power (W). */
export interface PowerReading {
  readonly series: string
  readonly t_ms: number
  readonly power_w: number
}

/** Energy measured over one run, J, with interval. */
export interface MeteredEnergy {
  readonly value: number
  readonly low: number
  readonly high: number
  readonly samples: number
}

export interface BenchMeter {
  readonly source: string
  /** Starts sampling; resolves once the first sample is in (or fails). */
  start(): Promise<void>
  /** Stops sampling and integrates. */
  stop(): Promise<MeteredEnergy>
}

/** Integrates readings per series with the trapezoid rule; J. */
export function integratePower(readings: readonly PowerReading[]): {
  energy_j: number
  series: number
  duration_ms: number
} {
  const bySeries = new Map<string, PowerReading[]>()
  for (const r of readings) {
    let list = bySeries.get(r.series)
    if (list === undefined) bySeries.set(r.series, (list = []))
    list.push(r)
  }
  let energy = 0
  let duration = 0
  for (const list of bySeries.values()) {
    list.sort((a, b) => a.t_ms - b.t_ms)
    for (let i = 1; i < list.length; i += 1) {
      const a = list[i - 1] as PowerReading
      const b = list[i] as PowerReading
      energy += ((a.power_w + b.power_w) / 2) * ((b.t_ms - a.t_ms) / 1000)
    }
    const first = list[0]
    const last = list[list.length - 1]
    if (first !== undefined && last !== undefined)
      duration = Math.max(duration, last.t_ms - first.t_ms)
  }
  return { energy_j: energy, series: bySeries.size, duration_ms: duration }
}

function withInterval(
  readings: readonly PowerReading[],
  absWPerSeries: number,
  relative: number,
): MeteredEnergy {
  const { energy_j, series, duration_ms } = integratePower(readings)
  const half = Math.max(absWPerSeries * series * (duration_ms / 1000), energy_j * relative)
  return {
    value: energy_j,
    low: Math.max(0, energy_j - half),
    high: energy_j + half,
    samples: readings.length,
  }
}

/** Samples `nvidia-smi` every 100 ms. `command` and `env` are injectable for tests. */
export function createNvidiaSmiMeter(
  options: {
    readonly command?: string
    readonly env?: NodeJS.ProcessEnv
    readonly now?: () => number
  } = {},
): BenchMeter {
  const now = options.now ?? (() => performance.now())
  const readings: PowerReading[] = []
  let child: ReturnType<typeof spawn> | null = null
  return {
    source: 'nvidia-smi power.draw (board power, ±5 W per GPU)',
    start() {
      return new Promise((resolveStart, reject) => {
        const proc = spawn(
          options.command ?? 'nvidia-smi',
          ['--query-gpu=index,power.draw', '--format=csv,noheader,nounits', '-lms', '100'],
          { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] },
        )
        child = proc
        let started = false
        proc.on('error', (error) => {
          reject(
            new WattlineError(
              'WL_INVALID_INPUT',
              `--meter nvidia-smi: cannot run nvidia-smi: ${error.message}`,
              {
                cause: error,
              },
            ),
          )
        })
        createInterface({ input: proc.stdout }).on('line', (line) => {
          const [index, power] = line.split(',').map((s) => s.trim())
          const w = Number(power)
          if (index === undefined || !Number.isFinite(w)) return // "[N/A]" on boards without a sensor
          readings.push({ series: `gpu${index}`, t_ms: now(), power_w: w })
          if (!started) {
            started = true
            resolveStart()
          }
        })
        proc.on('exit', (code) => {
          if (!started) {
            reject(
              new WattlineError(
                'WL_INVALID_INPUT',
                `--meter nvidia-smi: nvidia-smi exited with ${String(code)} before a reading`,
              ),
            )
          }
        })
      })
    },
    async stop() {
      const proc = child
      if (proc !== null && proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r))
        proc.kill('SIGTERM')
        await exited
      }
      return withInterval(readings, 5, 0)
    },
  }
}

/** Scrapes a Prometheus text endpoint (DCGM exporter or Kepler) every `intervalMs`. */
export function createPrometheusMeter(
  url: string,
  options: { readonly intervalMs?: number; readonly now?: () => number } = {},
): BenchMeter {
  const now = options.now ?? (() => performance.now())
  const readings: PowerReading[] = []
  let timer: NodeJS.Timeout | null = null
  let kepler = false
  const scrape = async (): Promise<void> => {
    const res = await request(url, { headersTimeout: 5000, bodyTimeout: 5000 })
    const text = await res.body.text()
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`)
    const t = now()
    const parsed = parsePowerMetrics(text)
    kepler = parsed.metric === 'kepler_node_gpu_watts'
    for (const s of parsed.samples) readings.push({ ...s, t_ms: t })
  }
  return {
    get source() {
      return `prometheus ${url} ${kepler ? 'kepler_node_gpu_watts (±10 %)' : 'DCGM_FI_DEV_POWER_USAGE (±5 W per GPU)'}`
    },
    async start() {
      try {
        await scrape()
      } catch (error) {
        throw new WattlineError(
          'WL_INVALID_INPUT',
          `--meter prometheus:${url}: ${(error as Error).message}`,
          { cause: error },
        )
      }
      if (readings.length === 0) {
        throw new WattlineError(
          'WL_INVALID_INPUT',
          `--meter prometheus:${url}: no DCGM_FI_DEV_POWER_USAGE or kepler_node_gpu_watts samples`,
        )
      }
      timer = setInterval(() => {
        scrape().catch(() => undefined) // a missed scrape widens the trapezoid, it does not stop the run
      }, options.intervalMs ?? 250)
    },
    async stop() {
      if (timer !== null) clearInterval(timer)
      await scrape().catch(() => undefined)
      return withInterval(readings, kepler ? 0 : 5, kepler ? 0.1 : 0)
    },
  }
}

/** Power samples (W) of the first known metric in Prometheus text, one series per label set. */
export function parsePowerMetrics(text: string): {
  metric: string | null
  samples: { series: string; power_w: number }[]
} {
  for (const metric of ['DCGM_FI_DEV_POWER_USAGE', 'kepler_node_gpu_watts']) {
    const samples: { series: string; power_w: number }[] = []
    for (const line of text.split('\n')) {
      if (!line.startsWith(metric) || (line[metric.length] !== '{' && line[metric.length] !== ' '))
        continue
      const m = /^(\S+?)(\{.*\})?\s+(\S+)/.exec(line)
      const value = Number(m?.[3])
      if (m !== null && Number.isFinite(value))
        samples.push({ series: m[2] ?? metric, power_w: value })
    }
    if (samples.length > 0) return { metric, samples }
  }
  return { metric: null, samples: [] }
}
