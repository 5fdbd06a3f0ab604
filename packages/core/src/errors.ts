/**
 * @module errors
 * Typed operational errors with stable codes (catalogued in docs/errors.md; codes are never reused).
 * Callers branch on `code`, which survives duplicate package copies where `instanceof` may not.
 */

export const ERROR_CODES = [
  'WL_INTERNAL',
  'WL_INVALID_INPUT',
  'WL_UNKNOWN_MODEL',
  'WL_UNKNOWN_HARDWARE',
  'WL_UNKNOWN_ZONE',
  'WL_UNKNOWN_REGION',
  'WL_DATA_FORMAT',
  'WL_CARBON_SOURCE_UNAVAILABLE',
  'WL_NO_INTENSITY_DATA',
  'WL_CONFIG_INVALID',
  'WL_UPSTREAM_UNAVAILABLE',
  'WL_UPSTREAM_TIMEOUT',
  'WL_NO_BACKEND',
  'WL_OVERLOADED',
  'WL_UNAUTHORIZED',
  'WL_LEDGER_WRITE',
  'WL_LEDGER_TAMPERED',
  'WL_BUDGET_EXCEEDED',
  'WL_TRACE_FORMAT',
  'WL_BROWSER_UNAVAILABLE',
  'WL_FORBIDDEN',
  'WL_NOT_FOUND',
  'WL_CLUSTER_UNAVAILABLE',
  'WL_REQUEST_TOO_LARGE',
  'WL_REQUEST_TIMEOUT',
  'WL_DRAINING',
  'WL_NO_MEASURED_PROFILE',
  'WL_UPSTREAM_STREAM_BROKEN',
  'WL_DASHBOARD_NOT_BUILT',
] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

/** Base of every operational error. `details` is data a caller may show (close matches, file/line). */
export class WattlineError extends Error {
  readonly code: ErrorCode
  readonly details: Readonly<Record<string, unknown>>
  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'WattlineError'
    this.code = code
    this.details = Object.freeze({ ...(options.details ?? {}) })
  }
}

/** True when `e` is a Wattline error with the given code (works across package copies). */
export function hasCode(e: unknown, code: ErrorCode): e is WattlineError {
  return (
    typeof e === 'object' && e !== null && 'code' in e && (e as { code: unknown }).code === code
  )
}

/** Parsing outcome: every issue is collected, nothing is thrown. */
export type Result<T, E> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: readonly E[] }

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value })
export const fail = <E>(issues: readonly E[]): Result<never, E> => ({ ok: false, issues })
