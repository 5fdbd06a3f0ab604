/**
 * @module gateway/admission
 * Admission and queueing: asks the router (`core/engine/router`, through the gateway's shell that
 * feeds it the live load) where this attempt goes. A route goes on down the pipeline; a `wait`
 * (every backend full) waits in the service's bounded queue and asks again when a slot frees or
 * the hint runs out (429 `WL_OVERLOADED` when the queue is full or the wait times out); a refusal
 * ends the request: `WL_UNKNOWN_MODEL` (404), or `WL_UPSTREAM_UNAVAILABLE` (503 when nothing was
 * tried, 502 after failed attempts); the model name is clipped in messages (client input). When
 * the lease finds the chosen backend taken meanwhile (cluster mode), it asks again.
 *
 * A Batch API line placed in zones (`DispatchInput.zones`) is routed in one zone at a time, the
 * first zone first; when no backend is left there (all down, open breakers, or failed on this
 * request) it moves on to the next zone (logged) rather than failing. The zone index lives on the
 * exchange, so it holds across retries.
 */
import { WattlineError, type RouterDecision } from '@wattline/core'
import type { Logger } from 'pino'
import type { BackendRuntime } from '../http/backend-runtime.ts'
import { clipInput } from '../http/openai-errors.ts'
import type { ServiceQueue } from '../http/service-queue.ts'
import { SlotTaken, type Exchange, type Interceptor, type Next } from './pipeline.ts'

export interface AdmissionDeps {
  /**
   * The router's decision for the exchange on the live load now (`ex.model` on the service,
   * excluding `ex.tried`; only backends in `zone` when given); sets `ex.levers`.
   */
  decide(ex: Exchange, zone: string | undefined): RouterDecision
  /** The runtime of the router's backend `index`. */
  backendAt(index: number): BackendRuntime
  /** The bounded waiting queue of a service. */
  queueOf(service: string): ServiceQueue
  /** A request refused because its service queue was full or its wait timed out. */
  onOverloaded(service: string): void
  readonly logger: Logger
  /**
   * The backends' slots are shared with other replicas (cluster mode): the lease may find the
   * chosen backend taken (`SlotTaken`), and admission then decides again. Default false.
   */
  readonly slotsShared?: boolean
}

/** Shortest and default wait before a queued request asks the router again, ms. */
const MIN_WAIT_MS = 100
const DEFAULT_WAIT_MS = 1000

type RouteOrWait = Exclude<RouterDecision, { kind: 'reject' }>

export function createAdmission(deps: AdmissionDeps): Interceptor {
  /**
   * The router's decision in the exchange's current zone: a route or a wait. A zone with no
   * backend left moves the exchange on to the next zone (logged) and asks again; a refusal throws.
   */
  function decide(ex: Exchange): RouteOrWait {
    const input = ex.input
    const zones = input.zones
    for (;;) {
      input.signal.throwIfAborted()
      const zone = zones?.[ex.zoneAt]
      const decision = deps.decide(ex, zone)
      if (decision.kind !== 'reject') return decision
      if (zones !== undefined && ex.zoneAt + 1 < zones.length && decision.reason === 'no-backend') {
        ex.zoneAt++
        deps.logger.warn(
          { reqId: input.requestId, zone, next_zone: zones[ex.zoneAt], tried: ex.tried },
          'no healthy backend in the placed zone; routing to the next zone',
        )
        continue
      }
      if (decision.reason === 'unknown-model') throw unknownModel(ex.model, ex.service)
      throw upstreamUnavailable(ex.model, ex.tried, ex.lastError)
    }
  }

  /** Puts the routed attempt on the exchange. */
  function route(ex: Exchange, decision: Extract<RouterDecision, { kind: 'route' }>): void {
    ex.backend = deps.backendAt(decision.backend)
    ex.decision = decision.routing
    ex.pinnedZone = ex.input.zones?.[ex.zoneAt]
  }

  /** Waits in the queue and asks again until routed (and, slots shared, until the slot held). */
  async function admit(ex: Exchange, next: Next, first: RouteOrWait): Promise<void> {
    const input = ex.input
    let decision: RouteOrWait | undefined = first
    for (;;) {
      decision ??= decide(ex)
      if (decision.kind === 'wait') {
        const hint = decision.retryHintMs
        decision = undefined
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
      route(ex, decision)
      decision = undefined
      try {
        await next(ex)
        return
      } catch (e) {
        if (e instanceof SlotTaken) continue
        throw e
      }
    }
  }

  return {
    name: 'admission',
    // Not an async function: a request routed at once, its slot its own (no cluster), goes on with
    // the rest of the chain's own promise — no async frame and no microtask hop of admission's.
    dispatch(ex: Exchange, next: Next): Promise<void> {
      let decision: RouteOrWait
      try {
        decision = decide(ex)
      } catch (e) {
        return Promise.reject(e as Error)
      }
      if (decision.kind === 'wait' || deps.slotsShared === true) return admit(ex, next, decision)
      route(ex, decision)
      try {
        return next(ex)
      } catch (e) {
        return Promise.reject(e as Error)
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
