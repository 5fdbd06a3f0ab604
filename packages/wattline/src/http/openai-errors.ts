/**
 * @module http/openai-errors
 * The one translation of any failure into OpenAI's error shape
 * (`{"error":{"message","type","param","code"}}`) with its HTTP status. `code` is always a `WL_`
 * code from the catalogue (docs/errors.md); bad input is always a 4xx. Client input quoted in a
 * message is clipped to {@link MAX_ECHO_CHARS} characters (`clipInput`), and no message is longer
 * than {@link MAX_MESSAGE_CHARS}.
 */
import { hasCode, WattlineError, type ErrorCode } from '@wattline/core'

export interface OpenAiErrorBody {
  readonly error: {
    readonly message: string
    readonly type: string
    readonly param: string | null
    readonly code: ErrorCode
  }
}

export interface OpenAiErrorReply {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: OpenAiErrorBody
}

/** Most characters of client input (a model name, a path, a header) an error message quotes. */
export const MAX_ECHO_CHARS = 200
/** Longest error message the gateway sends. */
export const MAX_MESSAGE_CHARS = 1_000

const BY_CODE: Readonly<Partial<Record<ErrorCode, { status: number; type: string }>>> = {
  WL_INVALID_INPUT: { status: 400, type: 'invalid_request_error' },
  WL_UNKNOWN_MODEL: { status: 404, type: 'invalid_request_error' },
  WL_NOT_FOUND: { status: 404, type: 'invalid_request_error' },
  WL_UNAUTHORIZED: { status: 401, type: 'authentication_error' },
  WL_FORBIDDEN: { status: 403, type: 'permission_error' },
  WL_OVERLOADED: { status: 429, type: 'rate_limit_error' },
  WL_BUDGET_EXCEEDED: { status: 429, type: 'insufficient_quota' },
  WL_NO_BACKEND: { status: 404, type: 'invalid_request_error' },
  WL_REQUEST_TOO_LARGE: { status: 413, type: 'invalid_request_error' },
  WL_REQUEST_TIMEOUT: { status: 408, type: 'invalid_request_error' },
  WL_DRAINING: { status: 503, type: 'server_error' },
  WL_DASHBOARD_NOT_BUILT: { status: 503, type: 'server_error' },
  WL_UPSTREAM_UNAVAILABLE: { status: 502, type: 'server_error' },
  WL_UPSTREAM_TIMEOUT: { status: 504, type: 'server_error' },
}

/** `s` unchanged when short, else its first {@link MAX_ECHO_CHARS} characters and a marker. */
export function clipInput(s: string, max: number = MAX_ECHO_CHARS): string {
  return s.length <= max ? s : `${s.slice(0, max)}…[${s.length - max} more characters]`
}

/** Maps any thrown value (Wattline, fastify, node or unknown) to an OpenAI-shaped reply. */
export function toOpenAiError(error: unknown): OpenAiErrorReply {
  if (
    error instanceof WattlineError ||
    (typeof error === 'object' &&
      error !== null &&
      'code' in error &&
      typeof (error as { code: unknown }).code === 'string' &&
      String((error as { code: string }).code).startsWith('WL_'))
  ) {
    const e = error as WattlineError
    const known = BY_CODE[e.code]
    if (known === undefined) return internal()
    const headers: Record<string, string> = {}
    const details = e.details ?? {}
    const retryMs = details['retryAfterMs']
    if (typeof retryMs === 'number') {
      headers['retry-after-ms'] = String(Math.ceil(retryMs))
      headers['retry-after'] = String(Math.max(1, Math.ceil(retryMs / 1000)))
    }
    const param = details['param']
    const status = typeof details['status'] === 'number' ? details['status'] : known.status
    return reply(
      status,
      known.type,
      e.message,
      typeof param === 'string' ? param : null,
      e.code,
      headers,
    )
  }
  const fst = error as { code?: unknown; statusCode?: unknown; message?: unknown } | null
  const code = typeof fst?.code === 'string' ? fst.code : ''
  const message = typeof fst?.message === 'string' ? fst.message : 'internal error'
  const status = typeof fst?.statusCode === 'number' ? fst.statusCode : 500
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
    return reply(
      413,
      'invalid_request_error',
      'request body is larger than the gateway accepts (gateway.body_limit_bytes)',
      null,
      'WL_REQUEST_TOO_LARGE',
    )
  }
  if (code === 'FST_ERR_BAD_URL') {
    return reply(
      400,
      'invalid_request_error',
      `malformed URL (bad percent-encoding): ${clipInput(message)}`,
      null,
      'WL_INVALID_INPUT',
    )
  }
  if (code === 'FST_ERR_MAX_PARAM_LENGTH' || status === 414) {
    return reply(414, 'invalid_request_error', 'URL is too long', null, 'WL_REQUEST_TOO_LARGE')
  }
  if (code.startsWith('FST_ERR_CTP') || error instanceof SyntaxError) {
    return reply(
      400,
      'invalid_request_error',
      `could not parse the JSON body: ${clipInput(message)}`,
      null,
      'WL_INVALID_INPUT',
    )
  }
  if (status === 404) {
    return reply(404, 'invalid_request_error', clipInput(message), null, 'WL_NOT_FOUND')
  }
  if (status === 403) {
    return reply(403, 'permission_error', clipInput(message), null, 'WL_FORBIDDEN')
  }
  if (status === 401) {
    return reply(401, 'authentication_error', clipInput(message), null, 'WL_UNAUTHORIZED')
  }
  if (status === 408) {
    return reply(408, 'invalid_request_error', clipInput(message), null, 'WL_REQUEST_TIMEOUT')
  }
  if (status >= 400 && status < 500) {
    return reply(status, 'invalid_request_error', clipInput(message), null, 'WL_INVALID_INPUT')
  }
  return internal()
}

/** A `WL_INVALID_INPUT` error naming the offending body field. */
export function invalidInput(message: string, param: string | null = null): WattlineError {
  return new WattlineError('WL_INVALID_INPUT', message, {
    details: param === null ? {} : { param },
  })
}

/** True for our typed errors of `code`. */
export { hasCode }

/**
 * A complete raw HTTP/1.1 response carrying an OpenAI-shaped error, for the socket-level errors
 * node answers before any request object exists (431, 408, unparseable request lines).
 */
export function rawErrorResponse(status: number, statusText: string, e: OpenAiErrorBody): string {
  const body = JSON.stringify(e)
  return (
    `HTTP/1.1 ${status} ${statusText}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  )
}

function internal(): OpenAiErrorReply {
  return reply(500, 'server_error', 'internal error in the gateway', null, 'WL_INTERNAL')
}

function reply(
  status: number,
  type: string,
  message: string,
  param: string | null,
  code: ErrorCode,
  headers: Record<string, string> = {},
): OpenAiErrorReply {
  const m = message.length <= MAX_MESSAGE_CHARS ? message : clipInput(message, MAX_MESSAGE_CHARS)
  return { status, headers, body: { error: { message: m, type, param, code } } }
}
