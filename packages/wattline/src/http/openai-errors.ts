/**
 * @module http/openai-errors
 * The one translation of any failure into OpenAI's error shape
 * (`{"error":{"message","type","param","code"}}`) with its HTTP status. Bad input is always a 4xx.
 */
import { hasCode, WattlineError } from '@wattline/core'

export interface OpenAiErrorReply {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: {
    readonly error: {
      readonly message: string
      readonly type: string
      readonly param: string | null
      readonly code: string | null
    }
  }
}

const BY_CODE: Readonly<Record<string, { status: number; type: string; code: string }>> = {
  WL_INVALID_INPUT: { status: 400, type: 'invalid_request_error', code: 'invalid_request' },
  WL_UNKNOWN_MODEL: { status: 404, type: 'invalid_request_error', code: 'model_not_found' },
  WL_UNAUTHORIZED: { status: 401, type: 'authentication_error', code: 'invalid_api_key' },
  WL_FORBIDDEN: { status: 403, type: 'permission_error', code: 'forbidden' },
  WL_OVERLOADED: { status: 429, type: 'rate_limit_error', code: 'overloaded' },
  WL_NO_BACKEND: { status: 404, type: 'invalid_request_error', code: 'model_not_found' },
  WL_UPSTREAM_UNAVAILABLE: { status: 502, type: 'server_error', code: 'upstream_unavailable' },
  WL_UPSTREAM_TIMEOUT: { status: 504, type: 'server_error', code: 'upstream_timeout' },
}

/** Maps any thrown value (Wattline, fastify or unknown) to an OpenAI-shaped reply. */
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
    const known = BY_CODE[e.code] ?? { status: 500, type: 'server_error', code: 'internal_error' }
    const headers: Record<string, string> = {}
    const retryMs = e.details?.['retryAfterMs']
    if (typeof retryMs === 'number') {
      headers['retry-after-ms'] = String(Math.ceil(retryMs))
      headers['retry-after'] = String(Math.max(1, Math.ceil(retryMs / 1000)))
    }
    const param = e.details?.['param']
    const status =
      typeof e.details?.['status'] === 'number' ? (e.details['status'] as number) : known.status
    return reply(
      status,
      known.type,
      e.message,
      typeof param === 'string' ? param : null,
      known.code,
      headers,
    )
  }
  const fst = error as { code?: unknown; statusCode?: unknown; message?: unknown } | null
  const code = typeof fst?.code === 'string' ? fst.code : ''
  const message = typeof fst?.message === 'string' ? fst.message : 'internal error'
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return reply(
      413,
      'invalid_request_error',
      'request body is larger than the gateway accepts',
      null,
      'request_too_large',
    )
  }
  if (code.startsWith('FST_ERR_CTP') || error instanceof SyntaxError) {
    return reply(
      400,
      'invalid_request_error',
      `could not parse the JSON body: ${message}`,
      null,
      'invalid_json',
    )
  }
  const status = typeof fst?.statusCode === 'number' ? fst.statusCode : 500
  if (status >= 400 && status < 500) {
    return reply(
      status,
      'invalid_request_error',
      message,
      null,
      code === '' ? 'invalid_request' : code.toLowerCase(),
    )
  }
  return reply(500, 'server_error', 'internal error in the gateway', null, 'internal_error')
}

/** A `WL_INVALID_INPUT` error naming the offending body field. */
export function invalidInput(message: string, param: string | null = null): WattlineError {
  return new WattlineError('WL_INVALID_INPUT', message, {
    details: param === null ? {} : { param },
  })
}

/** True for our typed errors of `code`. */
export { hasCode }

function reply(
  status: number,
  type: string,
  message: string,
  param: string | null,
  code: string | null,
  headers: Record<string, string> = {},
): OpenAiErrorReply {
  return { status, headers, body: { error: { message, type, param, code } } }
}
