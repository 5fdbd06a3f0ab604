/**
 * @module ports/upstream
 * One OpenAI-compatible model server as the gateway's request pipeline sees it: send a request, get
 * a status, headers and a body back; probe its health; close it. The adapter
 * (`wattline/src/adapters/upstream/openai-upstream.ts`, an undici pool per backend) fixes `Body` to
 * its stream type; core names no stream type of its own (it is pure and knows no Node streams).
 */

/** One call to an upstream. */
export interface UpstreamRequest {
  readonly method: 'GET' | 'POST'
  /** Path under the upstream's base URL (which includes the API prefix), e.g. `/chat/completions`. */
  readonly path: string
  /** The request body as sent (a string or bytes; `Buffer` is a `Uint8Array`). */
  readonly body?: string | Uint8Array
  readonly headers?: Readonly<Record<string, string>>
  readonly signal?: AbortSignal
}

/** An upstream's answer: status and headers as received, the body still to be read. */
export interface UpstreamResponse<Body> {
  readonly status: number
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly body: Body
}

/**
 * Why an upstream call failed: `connect` (refused, unreachable, connect timeout), `timeout` (no
 * headers or body in time), `reset` (socket closed early), `aborted` (the caller gave up), `other`.
 * The first three may be retried on another backend while nothing has reached the client.
 */
export type UpstreamFailureKind = 'connect' | 'timeout' | 'reset' | 'aborted' | 'other'

/**
 * A failed upstream call with its classification: what every `Upstream` rejects with, so the
 * gateway's retry step decides on `kind` whatever adapter made the call.
 */
export class UpstreamFailure extends Error {
  readonly kind: UpstreamFailureKind
  readonly backend: string
  constructor(backend: string, kind: UpstreamFailureKind, message: string, cause: unknown) {
    super(message, { cause })
    this.name = 'UpstreamFailure'
    this.kind = kind
    this.backend = backend
  }
  /** True when the request may be retried on another backend (nothing reached the client yet). */
  get retryable(): boolean {
    return this.kind === 'connect' || this.kind === 'timeout' || this.kind === 'reset'
  }
}

/** One backend endpoint. Implementations reject with an `UpstreamFailure` (never a raw error). */
export interface Upstream<Body> {
  /** The backend id from the config. */
  readonly id: string
  request(req: UpstreamRequest): Promise<UpstreamResponse<Body>>
  /** GETs `path` with a deadline (ms); true on any 2xx. Never rejects. */
  probe(path: string, timeoutMs: number): Promise<boolean>
  close(): Promise<void>
}
