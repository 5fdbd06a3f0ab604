/**
 * @module gateway/lease
 * The backend slot of an attempt: in cluster mode the fleet-wide slot (one Redis round trip; the
 * routing view may be stale, the slot is not — a backend found full sends the request back to
 * admission), and always the live energy mark on the backend's attribution tracker (the request
 * now counts as in flight there). Both are given back when the attempt fails and when the
 * response ends; each give-back wakes one queued request. On the way back it stamps the end time
 * and the request's attributed energy on the exchange (the accounting reads them).
 */
import type { Clock } from '@wattline/core'
import { profileOf, type BackendRuntime } from '../http/backend-runtime.ts'
import type { ClusterLoad } from '../http/cluster-load.ts'
import { SLOT_TAKEN, type Exchange, type Interceptor, type Next } from './pipeline.ts'

export interface LeaseDeps {
  readonly clock: Clock
  /** Shared in-flight counts (cluster mode); undefined = this replica counts alone. */
  readonly cluster?: ClusterLoad
  /** The backend's in-flight count changed (metrics). */
  onInflight(rt: BackendRuntime): void
  /** A slot freed: wake one queued request. */
  wake(): void
  /**
   * Prompt tokens the backend prefills for this attempt (prefix affinity: the blocks its prefix
   * cache holds are not prefilled again). Omitted = all of the request's input tokens.
   */
  prefillTokens?(ex: Exchange): number
}

export function createLease(deps: LeaseDeps): Interceptor {
  const { clock, cluster } = deps
  const giveBack = (ex: Exchange): void => {
    const rt = ex.backend
    ex.endedMs = clock.now()
    ex.energy = rt.tracker.end(ex.endedMs, ex.mark)
    cluster?.release(ex.lease)
    ex.lease = undefined
    deps.onInflight(rt)
    deps.wake()
  }
  return {
    name: 'lease',
    async dispatch(ex: Exchange, next: Next): Promise<void> {
      const rt = ex.backend
      const input = ex.input
      if (cluster !== undefined) {
        const slot = await cluster.acquire(
          rt.config.id,
          rt.config.max_concurrency,
          rt.tracker.inflight,
        )
        if (slot.kind === 'full') throw SLOT_TAKEN
        ex.lease = slot.kind === 'acquired' ? slot.lease : undefined
        if (input.signal.aborted) {
          cluster.release(ex.lease)
          ex.lease = undefined
          throw input.signal.reason
        }
      }
      ex.startedMs = clock.now()
      ex.mark = rt.tracker.start(ex.startedMs, {
        profile: profileOf(rt, ex.model),
        inputTokens: deps.prefillTokens === undefined ? input.inputTokens : deps.prefillTokens(ex),
        decodes: input.decodes ?? true,
      })
      deps.onInflight(rt)
      try {
        await next(ex)
      } catch (e) {
        giveBack(ex)
        ex.energy = undefined
        throw e
      }
    },
    finish(ex: Exchange): void {
      giveBack(ex)
    },
  }
}
