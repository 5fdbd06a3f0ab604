/**
 * @module http/api/query
 * Parsing of the dashboard API's query strings: a time window (`from`, `to`) and a `limit`. Pure;
 * errors name the parameter so the API can answer 400 with `param` set.
 */
import type { TimeWindow } from '@wattline/core'

/** The default window when `from` is omitted: the last hour. */
export const DEFAULT_WINDOW_MS = 3_600_000
/** The widest window one call may ask for: 93 days. */
export const MAX_WINDOW_MS = 93 * 86_400_000

export type QueryResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly param: string; readonly message: string }

/**
 * Reads `from` and `to` (ISO 8601 with a time zone, or epoch milliseconds). `to` defaults to `nowMs`
 * (the server's clock); `from` to `to` minus `span` (`15m`, `6h`, `7d`) or, without a span, one hour.
 * The window must be non-empty and at most 93 days.
 */
export function parseWindow(
  query: Readonly<Record<string, unknown>>,
  nowMs: number,
): QueryResult<TimeWindow> {
  const to = parseInstant(query['to'], 'to', nowMs)
  if (!to.ok) return to
  const span = parseSpan(query['span'])
  if (!span.ok) return span
  if (span.value !== undefined && query['from'] !== undefined) {
    return { ok: false, param: 'span', message: 'give either `from` or `span`, not both' }
  }
  const from = parseInstant(query['from'], 'from', to.value - (span.value ?? DEFAULT_WINDOW_MS))
  if (!from.ok) return from
  if (from.value >= to.value) {
    return { ok: false, param: 'from', message: '`from` must be earlier than `to`' }
  }
  if (to.value - from.value > MAX_WINDOW_MS) {
    return { ok: false, param: 'from', message: 'the window may span at most 93 days' }
  }
  return { ok: true, value: { from_ms: from.value, to_ms: to.value } }
}

/** Reads an integer `limit` in [1, max]; `fallback` when absent. */
export function parseLimit(
  query: Readonly<Record<string, unknown>>,
  fallback: number,
  max: number,
): QueryResult<number> {
  const raw = query['limit']
  if (raw === undefined || raw === '') return { ok: true, value: fallback }
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isSafeInteger(n) || n < 1 || n > max) {
    return { ok: false, param: 'limit', message: `\`limit\` must be an integer from 1 to ${max}` }
  }
  return { ok: true, value: n }
}

function parseInstant(raw: unknown, param: string, fallback: number): QueryResult<number> {
  if (raw === undefined || raw === '') return { ok: true, value: fallback }
  if (typeof raw !== 'string') {
    return { ok: false, param, message: `\`${param}\` must be given once` }
  }
  if (/^\d{1,15}$/.test(raw)) return { ok: true, value: Number(raw) }
  const isoWithZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/
  const ms = isoWithZone.test(raw) ? Date.parse(raw) : Number.NaN
  if (Number.isNaN(ms)) {
    return {
      ok: false,
      param,
      message: `\`${param}\` must be an ISO 8601 time with a zone (2025-03-01T12:00:00Z) or epoch ms, got "${raw}"`,
    }
  }
  return { ok: true, value: ms }
}

const SPAN_UNITS_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const

function parseSpan(raw: unknown): QueryResult<number | undefined> {
  if (raw === undefined || raw === '') return { ok: true, value: undefined }
  const m = typeof raw === 'string' ? /^(\d{1,4})([mhd])$/.exec(raw) : null
  const n = Number(m?.[1])
  const unit = m?.[2] as keyof typeof SPAN_UNITS_MS | undefined
  if (unit === undefined || !(n > 0)) {
    return {
      ok: false,
      param: 'span',
      message: `\`span\` must be a duration like 15m, 6h or 7d, got "${String(raw)}"`,
    }
  }
  return { ok: true, value: n * SPAN_UNITS_MS[unit] }
}
