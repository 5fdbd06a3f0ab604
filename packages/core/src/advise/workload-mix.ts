/**
 * @module advise/workload-mix
 * The request mix `wattline advise` sizes deployments for: input and output length distribution
 * and the arrival rate over a typical day (UTC hour of day). Built from a trace's columns or from a
 * hand-written summary; pure (the CLI reads the files).
 */
import { WattlineError } from '../errors.ts'

/** Length distribution of one side of the requests, tokens. */
export interface TokenStats {
  readonly mean: number
  readonly p50: number
  readonly p95: number
}

export interface WorkloadMix {
  /** Requests the mix was summarised from (0 for a hand-written summary). */
  readonly requests: number
  readonly inputTokens: TokenStats
  readonly outputTokens: TokenStats
  /** Mean arrival rate per UTC hour of day, requests/s (24 values). */
  readonly ratePerHour: readonly number[]
  /** Hours of the day the data covered; the others hold the mean of the covered hours. */
  readonly coveredHours: number
  /** Where the mix came from, e.g. `trace azure_code.csv (19,366 requests)`. */
  readonly source: string
}

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS

/** Summarises a trace's columns (arrival epoch ms or offsets, input and output tokens). */
export function mixFromTrace(
  arrivalMs: ArrayLike<number>,
  inputTokens: ArrayLike<number>,
  outputTokens: ArrayLike<number>,
  source: string,
): WorkloadMix {
  const n = arrivalMs.length
  if (n === 0) {
    throw new WattlineError('WL_INVALID_INPUT', `workload ${source} holds no requests`, {
      details: { field: 'workload' },
    })
  }
  let first = Infinity
  let last = -Infinity
  const counts = new Array<number>(24).fill(0)
  for (let i = 0; i < n; i++) {
    const t = arrivalMs[i] ?? 0
    first = Math.min(first, t)
    last = Math.max(last, t)
    const hour = Math.floor((((t % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS)
    counts[hour] = (counts[hour] ?? 0) + 1
  }
  // Seconds of observation that fell in each hour of the day.
  const observedS = new Array<number>(24).fill(0)
  const end = Math.max(last, first + 1000)
  for (let t = Math.floor(first / HOUR_MS) * HOUR_MS; t < end; t += HOUR_MS) {
    const from = Math.max(t, first)
    const to = Math.min(t + HOUR_MS, end)
    const hour = Math.floor((((t % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS)
    observedS[hour] = (observedS[hour] ?? 0) + Math.max(0, to - from) / 1000
  }
  const covered = observedS.map((s) => s >= 60)
  const rates = counts.map((c, h) => (covered[h] === true ? c / (observedS[h] ?? 1) : NaN))
  const coveredRates = rates.filter((r) => Number.isFinite(r))
  const fill =
    coveredRates.length > 0
      ? coveredRates.reduce((a, b) => a + b, 0) / coveredRates.length
      : n / Math.max(1, (end - first) / 1000)
  return {
    requests: n,
    inputTokens: stats(inputTokens),
    outputTokens: stats(outputTokens),
    ratePerHour: rates.map((r) => (Number.isFinite(r) ? r : fill)),
    coveredHours: coveredRates.length,
    source,
  }
}

/** A hand-written summary (`--workload summary.yaml`), already parsed from YAML/JSON. */
export interface WorkloadSummaryInput {
  readonly input_tokens: { readonly mean: number; readonly p50?: number; readonly p95?: number }
  readonly output_tokens: { readonly mean: number; readonly p50?: number; readonly p95?: number }
  /** Either a flat rate… */
  readonly requests_per_s?: number
  /** …or 24 hourly rates (requests/s, UTC hour 0–23). */
  readonly requests_per_s_by_hour?: readonly number[]
}

/** Validates a parsed summary; `file` names it in messages. */
export function mixFromSummary(raw: unknown, file: string): WorkloadMix {
  const r = record(raw, file, '(root)')
  const side = (key: string): TokenStats => {
    const o = record(r[key], file, key)
    const mean = positive(o['mean'], file, `${key}.mean`)
    const p50 = o['p50'] === undefined ? mean : positive(o['p50'], file, `${key}.p50`)
    const p95 = o['p95'] === undefined ? mean : positive(o['p95'], file, `${key}.p95`)
    return { mean, p50, p95: Math.max(p95, p50) }
  }
  const flat = r['requests_per_s']
  const byHour = r['requests_per_s_by_hour']
  let rates: number[]
  if (byHour !== undefined) {
    if (!Array.isArray(byHour) || byHour.length !== 24) {
      throw bad(file, 'requests_per_s_by_hour', 'a list of 24 rates (requests/s, UTC hours 0–23)')
    }
    rates = byHour.map((v: unknown, i) => nonNegative(v, file, `requests_per_s_by_hour[${i}]`))
  } else if (flat !== undefined) {
    rates = new Array<number>(24).fill(positive(flat, file, 'requests_per_s'))
  } else {
    throw bad(file, 'requests_per_s', 'a rate (or requests_per_s_by_hour: 24 rates)')
  }
  if (!rates.some((x) => x > 0)) throw bad(file, 'requests_per_s_by_hour', 'some rate > 0')
  return {
    requests: 0,
    inputTokens: side('input_tokens'),
    outputTokens: side('output_tokens'),
    ratePerHour: rates,
    coveredHours: 24,
    source: `summary ${file}`,
  }
}

function stats(xs: ArrayLike<number>): TokenStats {
  const s = Array.from(xs).sort((a, b) => a - b)
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0
  const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)
  return { mean: Math.max(1, mean), p50: Math.max(1, at(0.5)), p95: Math.max(1, at(0.95)) }
}

function record(v: unknown, file: string, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(file, field, 'a mapping')
  return v as Record<string, unknown>
}

function positive(v: unknown, file: string, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    throw bad(file, field, `a positive number, got ${JSON.stringify(v)}`)
  return v
}

function nonNegative(v: unknown, file: string, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw bad(file, field, `a number ≥ 0, got ${JSON.stringify(v)}`)
  return v
}

function bad(file: string, field: string, expected: string): WattlineError {
  return new WattlineError('WL_INVALID_INPUT', `${file}: field "${field}" must be ${expected}`, {
    details: { file, field },
  })
}
