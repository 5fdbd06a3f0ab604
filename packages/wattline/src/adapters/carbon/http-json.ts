/**
 * @module adapters/carbon/http-json
 * The one HTTP call the API sources make: GET (or POST) JSON with a timeout, through an injectable
 * `fetch` or undici `Dispatcher`, translating every transport, status and body failure into
 * `WL_CARBON_SOURCE_UNAVAILABLE` (404 can be mapped to `WL_UNKNOWN_ZONE` by the caller).
 */
import { fetch as undiciFetch, type Dispatcher } from 'undici'
import { WattlineError } from '@wattline/core'

/** Transport for API sources: a fetch function, or an undici dispatcher (Agent, Pool, MockAgent). */
export interface HttpDeps {
  readonly fetch?: typeof globalThis.fetch
  readonly dispatcher?: Dispatcher
  /** Per-request timeout, ms (default 5000). */
  readonly timeoutMs?: number
}

export interface HttpJsonRequest {
  readonly source: string
  readonly url: URL
  readonly headers?: Readonly<Record<string, string>>
  readonly signal?: AbortSignal | undefined
  /** Status codes the caller handles itself (returned, not thrown). */
  readonly passStatus?: readonly number[]
}

/** `path` resolved against `base`, with `params` set as query parameters in their order. */
export function apiUrl(base: string, path: string, params: Readonly<Record<string, string>>): URL {
  const url = new URL(path, base)
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
  return url
}

/** Fetches and parses JSON. Resolves `{status, body}`; rejects only with `WL_CARBON_SOURCE_UNAVAILABLE`. */
export async function getJson(
  deps: HttpDeps,
  request: HttpJsonRequest,
): Promise<{ status: number; body: unknown }> {
  const { source, url } = request
  const where = `${url.origin}${url.pathname}`
  const timeout = AbortSignal.timeout(deps.timeoutMs ?? 5000)
  const signal = request.signal === undefined ? timeout : AbortSignal.any([timeout, request.signal])
  let response: Response
  try {
    const init = { headers: { accept: 'application/json', ...request.headers }, signal }
    response =
      deps.dispatcher !== undefined
        ? ((await undiciFetch(url, {
            ...init,
            dispatcher: deps.dispatcher,
          })) as unknown as Response)
        : await (deps.fetch ?? globalThis.fetch)(url, init)
  } catch (cause) {
    const timedOut = timeout.aborted
    throw unavailable(
      source,
      `${timedOut ? `timed out after ${deps.timeoutMs ?? 5000} ms` : 'request failed'} (${where}): ${message(cause)}`,
      cause,
      { url: where },
    )
  }
  if (!response.ok && !(request.passStatus ?? []).includes(response.status)) {
    const text = await response.text().catch(() => '')
    throw unavailable(
      source,
      `HTTP ${response.status} from ${where}${text ? `: ${text.slice(0, 200)}` : ''}`,
      undefined,
      {
        url: where,
        status: response.status,
      },
    )
  }
  try {
    return { status: response.status, body: await response.json() }
  } catch (cause) {
    throw unavailable(source, `invalid JSON from ${where}: ${message(cause)}`, cause, {
      url: where,
    })
  }
}

/** A `WL_CARBON_SOURCE_UNAVAILABLE` error for `source`. */
export function unavailable(
  source: string,
  problem: string,
  cause?: unknown,
  details: Record<string, unknown> = {},
): WattlineError {
  return new WattlineError('WL_CARBON_SOURCE_UNAVAILABLE', `${source}: ${problem}`, {
    cause,
    details: { source, ...details },
  })
}

/** Reads a required number / string from an untrusted response, or throws unavailable. */
export function field<T extends 'number' | 'string'>(
  source: string,
  obj: unknown,
  key: string,
  type: T,
): T extends 'number' ? number : string {
  const value =
    typeof obj === 'object' && obj !== null ? (obj as Record<string, unknown>)[key] : undefined
  if (typeof value !== type || (type === 'number' && !Number.isFinite(value))) {
    throw unavailable(
      source,
      `unexpected response: "${key}" is ${JSON.stringify(value)}, expected a ${type}`,
    )
  }
  return value as T extends 'number' ? number : string
}

/** An array from an untrusted response, or throws unavailable. */
export function array(source: string, obj: unknown, key?: string): readonly unknown[] {
  const value =
    key === undefined
      ? obj
      : typeof obj === 'object' && obj !== null
        ? (obj as Record<string, unknown>)[key]
        : undefined
  if (!Array.isArray(value)) {
    throw unavailable(source, `unexpected response: ${key ?? 'body'} is not an array`)
  }
  return value
}

/** Parses an ISO timestamp from a response, or throws unavailable. */
export function time(source: string, text: string): number {
  const t = Date.parse(text)
  if (!Number.isFinite(t))
    throw unavailable(source, `unexpected response: invalid timestamp "${text}"`)
  return t
}

function message(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause
    return cause instanceof Error ? `${e.message} (${cause.message})` : e.message
  }
  return String(e)
}
