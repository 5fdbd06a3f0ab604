/**
 * @module gateway/admission
 * Admission and queueing: asks the router (`core/engine/router`, through the gateway's shell that
 * feeds it the live load) where this attempt goes. A route goes on down the pipeline; a `wait`
 * (every backend full) waits in the service's bounded queue and asks again when a slot frees or
 * the hint runs out (429 `WL_OVERLOADED` when the queue is full or the wait times out); a refusal
 * ends the request: `WL_UNKNOWN_MODEL` (404), or `WL_UPSTREAM_UNAVAILABLE` (503 when nothing was
 * tried, 502 after failed attempts); the model name is clipped in messages (client input). When the lease finds the chosen backend taken meanwhile
 * (cluster mode), it asks again.
 */
import { WattlineError, type RouterDecision } from '@wattline/core'
import type { BackendRuntime } from '../http/backend-runtime.ts'
import type { DispatchInput } from '../http/gateway.ts'
import { clipInput } from '../http/openai-errors.ts'
import type { ServiceQueue } from '../http/service-queue.ts'
import { SlotTaken, type Exchange, type Interceptor, type Next } from './pipeline.ts'

export interface AdmissionDeps {
  /** The router's decision on the live load now (`tried`: backends to exclude). */
  decide(input: DispatchInput, tried: readonly string[]): RouterDecision
  /** The runtime of the router's backend `index`. */
  backendAt(index: number): BackendRuntime
  /** The bounded waiting queue of a service. */
  queueOf(service: string): ServiceQueue
  /** A request refused because its service queue was full or its wait timed out. */
  onOverloaded(service: string): void
}

/** Shortest and default wait before a queued request asks the router again, ms. */
const MIN_WAIT_MS = 100
const DEFAULT_WAIT_MS = 1000

export function createAdmission(deps: AdmissionDeps): Interceptor {
  return {
    name: 'admission',
    async dispatch(ex: Exchange, next: Next): Promise<void> {
      const input = ex.input
      for (;;) {
        input.signal.throwIfAborted()
        const decision = deps.decide(input, ex.tried)
        if (decision.kind === 'wait') {
          const hint = decision.retryHintMs
          try {
            await deps
              .queueOf(input.service.name)
              .wait(
                input.signal,
                Number.isFinite(hint) ? Math.max(MIN_WAIT_MS, hint) : DEFAULT_WAIT_MS,
              )
          } catch (e) {
            if ((e as { code?: unknown }).code === 'WL_OVERLOADED')
              deps.onOverloaded(input.service.name)
            throw e
          }
          continue
        }
        if (decision.kind === 'reject') {
          if (decision.reason === 'unknown-model')
            throw unknownModel(input.model, input.service.name)
          throw upstreamUnavailable(input.model, ex.tried, ex.lastError)
        }
        ex.backend = deps.backendAt(decision.backend)
        ex.decision = decision.routing
        try {
          await next(ex)
          return
        } catch (e) {
          if (e instanceof SlotTaken) continue
          throw e
        }
      }
    },
  }
}

function unknownModel(model: string, service: string): WattlineError {
  return new WattlineError(
    'WL_UNKNOWN_MODEL',
    `The model '${clipInput(model)}' does not exist or is not served by service '${service}'`,
    { details: { param: 'model', model } },
  )
}

function upstreamUnavailable(
  model: string,
  tried: readonly string[],
  cause: unknown,
): WattlineError {
  const why = tried.length === 0 ? 'no healthy backend serves it' : `tried ${tried.join(', ')}`
  return new WattlineError(
    'WL_UPSTREAM_UNAVAILABLE',
    `no backend could serve model '${clipInput(model)}' (${why})`,
    {
      cause,
      details: { status: tried.length === 0 ? 503 : 502 },
    },
  )
}
