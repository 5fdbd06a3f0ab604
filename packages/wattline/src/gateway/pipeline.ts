/**
 * @module gateway/pipeline
 * The gateway's request pipeline as composable interceptors, after undici's dispatcher /
 * interceptor model: each concern is a small module that wraps the next one. The live gateway
 * (`http/gateway.ts`) composes its list once, at creation (outermost first):
 *
 *   accounting → tier → retry → admission → lease → breaker → upstream (the terminal)
 *
 * - `accounting`: when the response ends, energy, carbon, metrics and the ledger row (lever
 *   savings, network energy and the time-shift saving included); a shared call's parts each get
 *   their own row; also the ledger rows of response-cache hits;
 * - `tier`: the quality tier, chosen once per request before routing (the served model is what
 *   the rest of the chain routes and sends); counts a downgrade once the response arrived; left out
 *   when no service declares tiers;
 * - `retry`: another backend after a retryable failure (connect error, timeout, reset, 5xx before
 *   the first byte);
 * - `admission`: asks the router where the attempt goes (zone by zone for a batch line placed in
 *   zones); waits in the service queue when every backend is full; refuses (unknown model, no
 *   backend, attempts exhausted);
 * - `lease`: takes the backend slot (cluster-wide in cluster mode) and the live energy mark; gives
 *   them back when the attempt fails or the response ends;
 * - `breaker`: feeds the backend's circuit breaker (trial started, failure, success, cancelled);
 * - the terminal sends the attempt upstream.
 *
 * An interceptor has up to two hooks. `dispatch(ex, next)` runs on the way in: it may work before
 * and after `await next(ex)`, call `next` several times (retry), or not at all and answer itself
 * (a response cache on a hit). `finish(ex, end)` runs once when the response has ended (relayed,
 * failed or cut off), innermost first, and only for interceptors whose `dispatch` ran for this
 * exchange — so one that answered from cache never runs the `finish` of those below it.
 *
 * Everything one request carries travels in its `Exchange` (one object per request, filled in
 * place; it is the `Dispatched` the gateway hands back); the chain itself is built once, so
 * composing adds no closure per request.
 *
 * Adding an interceptor: write `{ name, dispatch?, finish? }` in its own module, with its own tests,
 * and put it in the gateway's list; no other interceptor changes. A lever whose saving needs the
 * request's accounting gives the accounting a `SavingsSource` (as the tier interceptor does).
 * docs/gateway.md, "Request pipeline", has the contract.
 */
import type {
  LeverEnergySaving,
  LiveMark,
  LiveRequestEnergy,
  LoadLease,
  RoutingDecision,
  TierChoice,
} from '@wattline/core'
import type { UpstreamResponse } from '../http/upstream-port.ts'
import type { BackendRuntime } from '../http/backend-runtime.ts'
import type { Accounting } from '../http/accounting.ts'
import type { Dispatched, DispatchInput, FinishInput, SharedPart } from './exchange-types.ts'
import type { LeverNote } from '../http/live-levers.ts'

/** One client request on its way through the pipeline (and back). */
export class Exchange implements Dispatched {
  readonly input: DispatchInput
  readonly service: string
  /** The model routed and served: the client's, or a lighter quality tier's (the tier sets it). */
  model: string
  /** The quality-tier decision (`requested`: the client's model; `reason` set when downgraded). */
  tier: TierChoice
  /** Backends already attempted and failed (retry adds; the router excludes them). */
  readonly tried: string[] = []
  /** Why the last attempt failed (for the final error's cause). */
  lastError: unknown = undefined
  /** Index in `input.zones` of the zone admission routes in now (batch lines). */
  zoneAt = 0
  // The current attempt (admission sets backend, decision, levers and zone; lease the slot and
  // mark; the terminal the response).
  backend!: BackendRuntime
  decision!: RoutingDecision & { kind: 'route' }
  /** What the prefix-affinity and occupancy levers did to this attempt's decision. */
  levers: LeverNote | undefined = undefined
  /** The zone constraint of this attempt (`input.zones`: the zone it runs in). */
  pinnedZone: string | undefined = undefined
  lease: LoadLease | undefined = undefined
  mark!: LiveMark
  startedMs = 0
  /** When the response ended (the lease stamps it on the way back). */
  endedMs = 0
  /** The breaker was not closed when the attempt started (a half-open trial). */
  halfOpen = false
  response!: UpstreamResponse
  /** Attempts made, the successful one included. */
  attempts = 0
  /** Deepest interceptor (index) whose `dispatch` ran; -1 = none. */
  reached = -1
  /** Filled on the way back: the lease's energy, the accounting's figures. */
  energy: LiveRequestEnergy | undefined = undefined
  accounting: Accounting | undefined = undefined
  /**
   * Set before `finish` when the one call served several callers (embeddings micro-batching):
   * the accounting then writes one row per part, into `accountings` (in order).
   */
  parts: readonly SharedPart[] | undefined = undefined
  accountings: Accounting[] | undefined = undefined

  constructor(input: DispatchInput) {
    this.input = input
    this.service = input.service.name
    this.model = input.model
    this.tier = asRequested(input.model)
  }

  /** `DispatchInput.timeShiftFromGPerKwh`, for the ledger's time-shift saving. */
  get timeShiftFromGPerKwh(): number | undefined {
    return this.input.timeShiftFromGPerKwh
  }
}

// "Served as requested" per model name, shared (no allocation per request on the hot path).
const requestedChoices = new Map<string, TierChoice>()

/** The tier choice of a request served the model it asked for (one frozen object per name). */
export function asRequested(model: string): TierChoice {
  let c = requestedChoices.get(model)
  if (c === undefined) {
    c = Object.freeze({ model, requested: model })
    // Bounded: a client may send any name (an unknown one is refused after this).
    if (requestedChoices.size < 4096) requestedChoices.set(model, c)
  }
  return c
}

/**
 * A lever whose saving is known only once the request is accounted (the energy charged, the
 * intensity it ran at): the accounting asks each source for its savings of a request (or of one
 * part of a shared call) and writes them in the row's `levers`.
 */
export interface SavingsSource {
  /** Pushes this lever's savings of the request onto `out` (nothing when it did not act). */
  savings(
    ex: Exchange,
    a: Accounting,
    end: FinishInput,
    occupancy: number,
    out: LeverEnergySaving[],
  ): void
}

/** Calls the rest of the chain for an exchange. */
export type Next = (ex: Exchange) => Promise<void>

export interface Interceptor {
  /** Short name (logs, docs, tests). */
  readonly name: string
  /** On the way in; call `next(ex)` to go on (zero, one or several times). */
  dispatch?(ex: Exchange, next: Next): Promise<void>
  /** When the response has ended; innermost first; only if this interceptor's dispatch ran. */
  finish?(ex: Exchange, end: FinishInput): void
}

export interface Pipeline {
  readonly interceptors: readonly Interceptor[]
  /** Runs the exchange through every interceptor down to the terminal. */
  dispatch(ex: Exchange): Promise<void>
  /** Runs the `finish` hooks of the interceptors the exchange reached, innermost first. */
  finish(ex: Exchange, end: FinishInput): void
}

/** Composes `interceptors` (outermost first) around `terminal`. */
export function composePipeline(interceptors: readonly Interceptor[], terminal: Next): Pipeline {
  const names = new Set<string>()
  for (const i of interceptors) {
    if (names.has(i.name)) throw new Error(`interceptor ${i.name} appears twice`)
    names.add(i.name)
  }
  // steps[k] runs interceptor k (or the terminal at k = n); built once.
  const n = interceptors.length
  const steps: Next[] = new Array<Next>(n + 1)
  steps[n] = terminal
  for (let k = n - 1; k >= 0; k--) {
    const ic = interceptors[k] as Interceptor
    const next = steps[k + 1] as Next
    const depth = k
    steps[k] =
      ic.dispatch === undefined
        ? (ex) => {
            if (ex.reached < depth) ex.reached = depth
            return next(ex)
          }
        : (ex) => {
            if (ex.reached < depth) ex.reached = depth
            return (ic.dispatch as NonNullable<Interceptor['dispatch']>)(ex, next)
          }
  }
  const first = steps[0] as Next
  return {
    interceptors,
    dispatch: first,
    finish(ex, end) {
      for (let k = Math.min(ex.reached, n - 1); k >= 0; k--) {
        const ic = interceptors[k] as Interceptor
        ic.finish?.(ex, end)
      }
    },
  }
}

/**
 * A failed attempt another backend may take over (nothing reached the client): thrown by the
 * terminal, seen by the breaker (a failure) and the lease (slot back), caught by retry.
 */
export class AttemptFailed extends Error {
  readonly backend: string
  /** Metric label: `http_502`, `connect`, `timeout`, `reset`. */
  readonly reason: string
  constructor(backend: string, reason: string, cause: unknown) {
    super(`attempt on ${backend} failed (${reason})`, { cause })
    this.name = 'AttemptFailed'
    this.backend = backend
    this.reason = reason
  }
}

/** The chosen backend turned out full when the lease asked (cluster view stale): decide again. */
export class SlotTaken extends Error {
  constructor() {
    super('the chosen backend is full: decide again')
    this.name = 'SlotTaken'
  }
}

/** The one `SlotTaken` the lease throws (a control signal, not a failure: no allocation). */
export const SLOT_TAKEN = new SlotTaken()
