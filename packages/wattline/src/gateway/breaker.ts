/**
 * @module gateway/breaker
 * Feeds the backend's circuit breaker (`core/routing/circuit-breaker`; the router already leaves
 * out backends it does not admit): an attempt on a half-open backend is its trial; a failed attempt
 * that another backend may take over counts as a failure; a response that completes counts as a
 * success; a trial the client cut short (or that failed in a way that says nothing about the
 * backend) is cancelled, so the next request may try.
 */
import type { BackendRuntime } from '../http/backend-runtime.ts'
import { AttemptFailed, type Exchange, type Interceptor, type Next } from './pipeline.ts'

export type BreakerFeed =
  'success' | 'failure' | 'probe-ok' | 'probe-failed' | 'trial-started' | 'trial-cancelled'

export interface BreakerDeps {
  /** Applies one event to the backend's breaker (metrics, logs and queue wake-ups included). */
  feed(rt: BackendRuntime, kind: BreakerFeed): void
}

export function createBreaker(deps: BreakerDeps): Interceptor {
  return {
    name: 'breaker',
    async dispatch(ex: Exchange, next: Next): Promise<void> {
      const rt = ex.backend
      ex.halfOpen = rt.breaker.kind !== 'closed'
      if (ex.halfOpen) deps.feed(rt, 'trial-started')
      try {
        await next(ex)
      } catch (e) {
        if (e instanceof AttemptFailed) deps.feed(rt, 'failure')
        else if (ex.halfOpen) deps.feed(rt, 'trial-cancelled')
        throw e
      }
    },
    finish(ex, end): void {
      const rt = ex.backend
      if (end.completed) deps.feed(rt, 'success')
      else if (rt.breaker.kind === 'half-open') deps.feed(rt, 'trial-cancelled')
    },
  }
}
