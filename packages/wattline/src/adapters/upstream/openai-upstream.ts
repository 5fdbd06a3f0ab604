/**
 * @module adapters/upstream/openai-upstream
 * One OpenAI-compatible backend over an undici `Pool`, with the backend's own connect, headers and
 * body timeouts (undici's 300 s defaults cut long completions). Failures are classified so the
 * gateway knows which may be retried on another backend: connect errors, timeouts before the first
 * byte and resets before a response are retryable; a client abort is not.
 */
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici'
import {
  UpstreamFailure,
  type Upstream as CoreUpstream,
  type UpstreamFailureKind,
  type UpstreamRequest,
  type UpstreamResponse as CoreUpstreamResponse,
} from '@wattline/core'

export interface UpstreamOptions {
  readonly id: string
  /** Base URL including the API prefix, e.g. `http://127.0.0.1:8000/v1`. */
  readonly baseUrl: string
  readonly connections: number
  readonly connectTimeoutMs: number
  /** 0 disables. */
  readonly headersTimeoutMs: number
  /** 0 disables. */
  readonly bodyTimeoutMs: number
  /** Sent with every request (the upstream's own key goes in `authorization`). */
  readonly headers: Readonly<Record<string, string>>
  readonly apiKey?: string
}

/** The port's request (declared in core, `ports/upstream.ts`). */
export type { UpstreamRequest } from '@wattline/core'

/** An undici response body (a Node Readable with `text()`, `json()`, `dump()`). */
export type UpstreamBody = Dispatcher.ResponseData['body']

/** The port's response with undici's body. */
export type UpstreamResponse = CoreUpstreamResponse<UpstreamBody>

/** Why an upstream call failed, and the failure every call rejects with (declared in core). */
export type { UpstreamFailureKind } from '@wattline/core'
export { UpstreamFailure } from '@wattline/core'

/** The core `Upstream` port over undici: what the gateway's pipeline calls. */
export type Upstream = CoreUpstream<UpstreamBody>

/** Builds an upstream over its own connection pool. */
export function createOpenAiUpstream(options: UpstreamOptions): Upstream {
  const url = new URL(options.baseUrl)
  const prefix = url.pathname.replace(/\/+$/, '')
  const pool = new Pool(url.origin, {
    connections: options.connections,
    connectTimeout: options.connectTimeoutMs,
    headersTimeout: options.headersTimeoutMs,
    bodyTimeout: options.bodyTimeoutMs,
    keepAliveTimeout: 10_000,
  })
  const baseHeaders: Record<string, string> = { ...options.headers }
  if (options.apiKey !== undefined) baseHeaders['authorization'] = `Bearer ${options.apiKey}`
  // The common case adds no header of its own: the caller's headers go as they are (no copy).
  const addsHeaders = Object.keys(baseHeaders).length > 0
  // Full paths per request path (a few endpoints and the health path): no string built per request.
  const fullPaths = new Map<string, string>()
  const fullPath = (path: string): string => {
    let full = fullPaths.get(path)
    if (full === undefined) {
      full = `${prefix}${path}`
      if (fullPaths.size < 64) fullPaths.set(path, full)
    }
    return full
  }
  // Built once: a request is one undici promise and one `then`, not an async function around it.
  const answered = (res: Dispatcher.ResponseData): UpstreamResponse => ({
    status: res.statusCode,
    headers: res.headers,
    body: res.body,
  })
  const failed = (cause: unknown): never => {
    throw classify(options.id, cause)
  }

  function request(req: UpstreamRequest): Promise<UpstreamResponse> {
    return pool
      .request({
        method: req.method,
        path: fullPath(req.path),
        headers: addsHeaders ? { ...req.headers, ...baseHeaders } : (req.headers ?? null),
        body: req.body ?? null,
        signal: req.signal ?? null,
      })
      .then(answered, failed)
  }

  return {
    id: options.id,
    request,
    async probe(path, timeoutMs) {
      const signal = AbortSignal.timeout(timeoutMs)
      try {
        const res = await request({ method: 'GET', path, signal })
        await res.body.dump()
        return res.status >= 200 && res.status < 300
      } catch {
        return false
      }
    },
    close: () => pool.close(),
  }
}

/** Maps undici and socket errors to an `UpstreamFailure`. */
export function classify(backend: string, cause: unknown): UpstreamFailure {
  const code = (cause as { code?: unknown } | null)?.code
  const message = cause instanceof Error ? cause.message : String(cause)
  const kind: UpstreamFailureKind =
    cause instanceof undiciErrors.RequestAbortedError ||
    (cause as Error | null)?.name === 'AbortError'
      ? 'aborted'
      : cause instanceof undiciErrors.ConnectTimeoutError ||
          code === 'ECONNREFUSED' ||
          code === 'EHOSTUNREACH' ||
          code === 'ENOTFOUND' ||
          code === 'EAI_AGAIN'
        ? 'connect'
        : cause instanceof undiciErrors.HeadersTimeoutError ||
            cause instanceof undiciErrors.BodyTimeoutError
          ? 'timeout'
          : cause instanceof undiciErrors.SocketError || code === 'ECONNRESET' || code === 'EPIPE'
            ? 'reset'
            : 'other'
  return new UpstreamFailure(backend, kind, `backend ${backend}: ${message}`, cause)
}
