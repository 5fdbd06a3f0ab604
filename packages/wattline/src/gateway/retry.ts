/**
 * @module gateway/retry
 * Retry and failover: an attempt that failed before anything reached the client (connect error,
 * timeout, reset, a 5xx answer) is tried again on another backend — the failed one joins the
 * exchange's `tried` list, which the router excludes — until admission finds no backend left or the
 * attempt limit (`gateway.max_attempts`, kept by the router) is reached. Other errors pass through.
 */
import type { Logger } from 'pino'
import { UpstreamFailure } from '@wattline/core'
import { AttemptFailed, type Exchange, type Interceptor, type Next } from './pipeline.ts'

export interface RetryDeps {
  /** A failed attempt about to be retried elsewhere (metrics). */
  onRetry(backend: string, reason: string): void
  readonly logger: Logger
}

export function createRetry(deps: RetryDeps): Interceptor {
  return {
    name: 'retry',
    async dispatch(ex: Exchange, next: Next): Promise<void> {
      for (;;) {
        try {
          await next(ex)
          return
        } catch (e) {
          if (!(e instanceof AttemptFailed)) throw e
          ex.tried.push(e.backend)
          ex.lastError = e.cause
          deps.onRetry(e.backend, e.reason)
          if (e.cause instanceof UpstreamFailure) {
            deps.logger.warn(
              { backend: e.backend, kind: e.cause.kind },
              'upstream attempt failed; retrying elsewhere',
            )
          }
        }
      }
    },
  }
}
