/**
 * @module gateway/exchange-types
 * The shapes a request has on its way through the gateway: what the route hands `dispatch`
 * (`DispatchInput`), what comes back holding the backend slot (`Dispatched`, the pipeline's
 * `Exchange`), what the route reports when the answer ended (`FinishInput`, `SharedPart`) and a
 * response-cache hit (`CacheHitInput`). Here rather than in `http/gateway.ts`, so the interceptors
 * and the gateway that composes them do not import each other (`http/gateway.ts` re-exports them).
 */
import type {
  LeverEnergySaving,
  LiveMark,
  LoadLease,
  RoutingDecision,
  TierChoice,
  TierPreference,
} from '@wattline/core'
import type { BackendConfig } from '../config/parse-config.ts'
import type { ServiceConfig } from '../config/schema.ts'
import type { Accounting } from '../http/accounting.ts'
import type { BackendRuntime } from '../http/backend-runtime.ts'
import type { LeverNote } from '../http/live-levers.ts'
import type { UpstreamResponse } from '../http/upstream-port.ts'

/** What `dispatch` needs to send one request. */
export interface DispatchInput {
  readonly service: ServiceConfig
  readonly model: string
  /** Prompt tokens (an estimate before the upstream's usage): routing and the prefill work. */
  readonly inputTokens: number
  readonly outputTokens: number
  /** False for endpoints that generate no tokens (embeddings); default true. */
  readonly decodes?: boolean
  /** Upstream path under the backend base URL. */
  readonly path: string
  /**
   * Builds the body for a backend (model-name mapping happens here); `model` is the model served
   * (a lighter quality tier's, or `model` itself).
   */
  readonly bodyFor: (backend: BackendConfig, model?: string) => string | Buffer
  readonly headers: Readonly<Record<string, string>>
  readonly signal: AbortSignal
  /** Recorded with the decision (dashboard, logs). */
  readonly requestId?: string
  /**
   * The request's prompt (chat `messages` or completion `prompt`, as sent): its prefix identity
   * for prefix-affinity routing. Omitted = none (embeddings).
   */
  readonly prompt?: unknown
  /**
   * Routing constraint (Batch API lines): zones in preference order. Only the backends of one zone
   * are eligible at a time, the first zone first; a zone with no backend left to try (all down,
   * open breakers, or failed on this request) is skipped, logged, for the next one, so the line
   * runs elsewhere rather than failing. Omitted = every backend of the service.
   */
  readonly zones?: readonly string[]
  /**
   * Deferred work (Batch API lines): the intensity running at submission would have met,
   * gCO2e/kWh. The ledger row records the `time-shift` saving against it (`timeShiftSaving`).
   */
  readonly timeShiftFromGPerKwh?: number
  /** The client's `x-wattline-tier` header (quality tiers). */
  readonly tier?: TierPreference
}

/**
 * An upstream response that reached us, holding the backend slot until `finish` (the request's
 * pipeline `Exchange`: hand it back to the gateway that dispatched it).
 */
export interface Dispatched {
  readonly backend: BackendRuntime
  readonly response: UpstreamResponse
  readonly decision: RoutingDecision & { kind: 'route' }
  readonly attempts: number
  readonly mark: LiveMark
  readonly startedMs: number
  readonly service: string
  /** Client model name of the model served (a lighter quality tier's when downgraded). */
  readonly model: string
  /** The tier decision: `requested` is the client's model, `reason` set when downgraded. */
  readonly tier: TierChoice
  /** The shared slot held on the backend (cluster mode, Redis up), given back by `finish`. */
  readonly lease?: LoadLease | undefined
  /** What the prefix-affinity and occupancy levers did to this request (see live-levers.ts). */
  readonly levers?: LeverNote | undefined
  /** The zone constraint it was routed under (`DispatchInput.zones`: the zone it ran in). */
  readonly pinnedZone?: string | undefined
  /** `DispatchInput.timeShiftFromGPerKwh`, for the ledger's time-shift saving. */
  readonly timeShiftFromGPerKwh?: number | undefined
}

export interface FinishInput {
  readonly status: number
  readonly inputTokens: number
  readonly outputTokens: number
  readonly ttftMs: number | null
  readonly streamed: boolean
  readonly endpoint: string
  readonly requestId: string
  readonly tenant: string | null
  readonly arrivedMs: number
  readonly errorCode: string | null
  /** True when the upstream completed the response (a client abort is not a backend failure). */
  readonly completed: boolean
  /** Bytes that crossed the service boundary (request body + response body sent); undefined = not counted. */
  readonly networkBytes?: number
}

/** One caller's part of a dispatch that served several (`Gateway.finishShared`). */
export interface SharedPart {
  readonly input: FinishInput
  /** The part's work in the call (its input tokens): its energy share is weight / Σ weights. */
  readonly weight: number
  /** Savings of levers that acted on the part, given its accounting (added to its ledger row). */
  readonly levers?: (a: Accounting) => readonly LeverEnergySaving[]
}

/** A request answered by the response cache: no backend, no work; what the original cost. */
export interface CacheHitInput {
  readonly requestId: string
  readonly arrivedMs: number
  readonly service: string
  readonly tenant: string | null
  readonly model: string
  readonly endpoint: string
  readonly streamed: boolean
  /** The zone the original ran in (where the saving is charged). */
  readonly zone: string
  readonly saving: LeverEnergySaving
  readonly networkBytes: number
}
