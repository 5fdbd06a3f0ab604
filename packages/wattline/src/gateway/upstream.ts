/**
 * @module gateway/upstream
 * The pipeline's terminal: sends the attempt to the chosen backend. A retryable transport failure
 * (connect, timeout, reset) or a 5xx answer (its body drained) becomes `AttemptFailed`, for the
 * breaker and retry above; a client abort passes through as the abort reason; any other failure is
 * `WL_UPSTREAM_UNAVAILABLE` (502). The body is built for the backend and the model served
 * (`ex.model`: a lighter quality tier's when the tier downgraded it). On success the response
 * (headers in, body not yet read) is on the exchange.
 */
import { UpstreamFailure, WattlineError } from '@wattline/core'
import { AttemptFailed, type Exchange, type Next } from './pipeline.ts'

export function createUpstreamTerminal(): Next {
  return async function sendUpstream(ex: Exchange): Promise<void> {
    const rt = ex.backend
    const input = ex.input
    const id = rt.config.id
    let response
    try {
      response = await rt.upstream.request({
        method: 'POST',
        path: input.path,
        body: input.bodyFor(rt.config, ex.model),
        headers: input.headers,
        signal: input.signal,
      })
    } catch (error) {
      if (error instanceof UpstreamFailure && error.retryable) {
        throw new AttemptFailed(id, error.kind, error)
      }
      if (input.signal.aborted) throw input.signal.reason
      throw new WattlineError(
        'WL_UPSTREAM_UNAVAILABLE',
        `backend ${id} failed: ${(error as Error).message}`,
        {
          cause: error,
          details: { status: 502 },
        },
      )
    }
    if (response.status >= 500) {
      await response.body.dump().catch(() => undefined)
      throw new AttemptFailed(
        id,
        `http_${response.status}`,
        new Error(`backend ${id} answered ${response.status}`),
      )
    }
    ex.response = response
    ex.attempts = ex.tried.length + 1
  }
}
