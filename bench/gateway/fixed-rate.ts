/**
 * An open-loop, fixed-rate load generator (wrk2-style schedule): requests are sent on a fixed
 * schedule of `rate` per second whether or not earlier ones have answered (a stalled server does not
 * slow the client down). Latency is measured per request from its send to the end of its body.
 * Sends are released by a 1 ms timer in small bursts rather than by a busy loop, which would steal
 * the CPU this generator shares with the upstream stub.
 *
 * Run: `node --import tsx bench/gateway/fixed-rate.ts '<json options>'`; prints one JSON line:
 * `{ sent, ok, errors, durationS, rate, p50Ms, p90Ms, p99Ms, maxMs }`.
 */
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'

export interface FixedRateOptions {
  readonly url: string
  readonly body: string
  /** Requests per second. */
  readonly rate: number
  readonly durationS: number
  readonly connections?: number
  /** Seconds sent at the same rate before measuring (connections opened, JIT warm); default 1. */
  readonly warmupS?: number
}

export interface FixedRateResult {
  readonly sent: number
  readonly ok: number
  readonly errors: number
  readonly durationS: number
  /** Completed requests per second. */
  readonly rate: number
  readonly p50Ms: number
  readonly p90Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  /** Responses by HTTP status (and `error` for failures without one). */
  readonly statuses: Readonly<Record<string, number>>
}

/** The q-quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[i] ?? Number.NaN
}

/** Runs the load and resolves with latency quantiles (ms). */
export async function runFixedRate(o: FixedRateOptions): Promise<FixedRateResult> {
  const target = new URL(o.url)
  const pool = new Pool(target.origin, {
    connections: o.connections ?? 64,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  })
  const warmup = Math.round(o.rate * (o.warmupS ?? 1))
  const total = warmup + Math.round(o.rate * o.durationS)
  const latencies: number[] = []
  let errors = 0
  const statuses: Record<string, number> = {}
  const count = (k: string): void => {
    statuses[k] = (statuses[k] ?? 0) + 1
  }
  const start = performance.now()
  const inflight = new Set<Promise<void>>()
  let measureFrom = start
  const send = (record: boolean): void => {
    const sentAt = performance.now()
    const p = pool
      .request({
        path: target.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: o.body,
      })
      .then(async (res) => {
        for await (const _ of res.body) void _
        if (!record) return
        count(String(res.statusCode))
        if (res.statusCode === 200) latencies.push(performance.now() - sentAt)
        else errors += 1
      })
      .catch(() => {
        if (record) {
          errors += 1
          count('error')
        }
      })
      .finally(() => inflight.delete(p))
    inflight.add(p)
  }
  let sent = 0
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * o.rate) / 1000) + 1)
    while (sent < due) {
      if (sent === warmup) measureFrom = performance.now()
      send(sent >= warmup)
      sent += 1
    }
    await new Promise((r) => setTimeout(r, 1))
  }
  await Promise.all(inflight)
  const durationS = (performance.now() - measureFrom) / 1000
  await pool.close()
  latencies.sort((a, b) => a - b)
  return {
    sent: total - warmup,
    ok: latencies.length,
    errors,
    durationS,
    rate: latencies.length / durationS,
    p50Ms: quantile(latencies, 0.5),
    p90Ms: quantile(latencies, 0.9),
    p99Ms: quantile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    statuses,
  }
}

if (process.argv[1]?.endsWith('fixed-rate.ts') && process.argv[2]) {
  const result = await runFixedRate(JSON.parse(process.argv[2]) as FixedRateOptions)
  console.log(JSON.stringify(result))
}
