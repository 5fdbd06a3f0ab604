/**
 * @module engine/router
 * The one decision engine of Wattline: given a request, a load snapshot of the fleet (in-flight
 * counts, breaker admission, grid intensity, network round trip, measured overhead) and the time,
 * it returns where the request goes — a backend, a wait in the service's queue, or a refusal with
 * its reason — plus the levers that acted. The gateway (`http/gateway.ts`) and the replay
 * (`engine/policy-chooser.ts`) both call it; they differ only in where the snapshot and the time
 * come from (live trackers and the wall clock vs the simulation's counters and virtual time).
 *
 * Inside: the service's allowed backends, the per-service policy (`routing/*`, pure functions of a
 * snapshot), stickiness (the previous choice per service and model, for carbon-aware hysteresis),
 * exclusion of backends already tried, the attempt limit, the round-robin sequence and the weighted
 * draw, and the service queue's choice when every backend is full.
 *
 * The router reuses its snapshot, backend-state and request objects (filled in place per
 * decision): besides the policy's own score records it allocates nothing per decision, which keeps
 * replays of millions of requests fast. Policies only read what they are given (snapshot and
 * request are shared with nothing else).
 */
import type { IntensityPoint } from '../carbon/intensity.ts'
import type { EnergyProfile } from '../energy/profile.ts'
import { WattlineError } from '../errors.ts'
import type { Random } from '../ports/random.ts'
import type {
  BackendState,
  RoutingDecision,
  RoutingPolicy,
  RoutingRequest,
  RoutingSnapshot,
} from '../routing/policy.ts'
import { instant, ms } from '../units/quantity.ts'

/** A backend as the router knows it (fixed for the router's life). */
export interface RouterBackend {
  readonly id: string
  readonly zone: string
  /** Model names (as clients send them) this backend serves. */
  readonly models: readonly string[]
  /** Concurrent requests the backend takes (all replicas together). */
  readonly maxConcurrency: number
  /** Relative share for the `weighted` policy. */
  readonly weight: number
  /** Power usage effectiveness of the site. */
  readonly pue: number
  /** Energy profile per model name; a name it lacks gets the first profile. */
  readonly profiles: ReadonlyMap<string, EnergyProfile>
}

/** A service as the router knows it. */
export interface RouterService {
  readonly name: string
  /** The service's policy (`createPolicy(routing, { carbonAware: { tolerance } })`). */
  readonly policy: RoutingPolicy
  /** End-to-end latency objective (p95), ms; undefined = none. */
  readonly sloP95Ms?: number
  /** Ids of the backends this service may use; undefined = all, in backend order. */
  readonly backends?: readonly string[]
}

/**
 * Names of the levers that save energy (issue 11: one engine, levers plug in here). `cache`,
 * `prefix`, `occupancy` and `tier` act on routing decisions; `microbatch` (embeddings coalesced
 * into one upstream call) and `time-shift` (Batch API lines run in a greener window) act around
 * them. Every saving in the ledger, metrics and reports is labelled with one of these.
 */
export const LEVER_NAMES = [
  'cache',
  'prefix',
  'occupancy',
  'tier',
  'microbatch',
  'time-shift',
] as const
export type LeverName = (typeof LEVER_NAMES)[number]

/** What one lever did to a decision. */
export interface LeverAction {
  readonly lever: LeverName
  /** Human-readable effect, e.g. `kept b2 (prefix cached there)`. */
  readonly detail: string
}

/** What a lever sees after the policy decided. */
export interface LeverContext {
  readonly service: number
  readonly request: RoutingRequest
  readonly snapshot: RoutingSnapshot
  /** The policy's decision (a route). */
  readonly decision: RoutingDecision & { kind: 'route' }
}

/**
 * A routing lever: looks at the policy's route and may move it to another backend of the snapshot
 * that is eligible for the request (the router checks), returning what it did; undefined = no
 * action. Levers run in list order; each sees the previous one's result.
 */
export interface RoutingLever {
  readonly name: LeverName
  review(
    context: LeverContext,
  ): { readonly backend: string; readonly action: LeverAction } | undefined
}

export interface RouterInput {
  readonly backends: readonly RouterBackend[]
  readonly services: readonly RouterService[]
  /** Draws for the weighted policy (one per decision). */
  readonly random: Random
  /** Attempts per request (first try + retries); a request that tried this many is refused. */
  readonly maxAttempts?: number
  readonly levers?: readonly RoutingLever[]
}

/**
 * The fleet's state at decision time, one entry per router backend (in `RouterInput.backends`
 * order). Owned by the caller, read during `decide` only.
 */
export interface LoadSnapshot {
  /** Now, epoch ms. */
  now: number
  /** Requests routed to the backend and not finished (running + queued there). */
  readonly inflight: ArrayLike<number>
  /** The breaker admits requests (closed, or half-open with a trial free). */
  readonly healthy: ArrayLike<boolean>
  /** Grid intensity in force in the backend's zone. */
  readonly intensity: ArrayLike<IntensityPoint>
  /** Network round trip from where this request comes from, ms. */
  readonly networkRttMs: ArrayLike<number>
  /** Smoothed measured overhead (latency the profile does not explain), ms; NaN = none yet. */
  readonly overheadMs: ArrayLike<number>
}

/** One request to place. */
export interface RouterRequest {
  /** Index into `RouterInput.services`. */
  readonly service: number
  readonly model: string
  /** Prompt tokens (estimated before the upstream counts them). */
  readonly inputTokens: number
  /** Output tokens expected (max_tokens, or the service's typical value). */
  readonly outputTokens: number
  /** Ids of backends already tried for this request. */
  readonly exclude: readonly string[]
}

/** No lever acted (shared, frozen). */
export const NO_LEVERS: readonly LeverAction[] = Object.freeze([])

export type RouterDecision =
  | {
      readonly kind: 'route'
      /** Index of the chosen backend. */
      readonly backend: number
      readonly routing: RoutingDecision & { kind: 'route' }
      readonly levers: readonly LeverAction[]
    }
  | {
      /**
       * Every eligible backend is full: wait in the service's queue. `queueAt` is the backend the
       * wait is charged to (the least utilised one that serves the model: where a replay queues the
       * request), `retryHintMs` the shortest predicted latency of a full backend (how long the
       * gateway waits before it looks again, when no slot frees earlier).
       */
      readonly kind: 'wait'
      readonly queueAt: number
      readonly retryHintMs: number
      readonly routing: RoutingDecision & { kind: 'reject' }
      readonly levers: readonly LeverAction[]
    }
  | {
      readonly kind: 'reject'
      /**
       * `unknown-model`: no backend of the service serves the model (first attempt);
       * `no-backend`: none is healthy / untried / within the SLO (or none serves it after a retry);
       * `attempts-exhausted`: the request tried `maxAttempts` backends.
       */
      readonly reason: 'unknown-model' | 'no-backend' | 'attempts-exhausted'
      /** The least utilised backend serving the model, where a replay still places it; -1 = none. */
      readonly queueAt: number
      /** Absent for `attempts-exhausted` (the policy is not asked). */
      readonly routing?: RoutingDecision & { kind: 'reject' }
      readonly levers: readonly LeverAction[]
    }

export interface Router {
  readonly backends: readonly RouterBackend[]
  readonly services: readonly RouterService[]
  /** Index of a service by name; -1 = unknown. */
  serviceIndex(name: string): number
  /** Index of a backend by id; -1 = unknown. */
  backendIndex(id: string): number
  /**
   * Places one request. Advances the sequence, draws once and updates stickiness on a route. A
   * `route` answer is one object reused by the next call: read it (or keep its `routing`, which is
   * the policy's own fresh decision) before deciding again.
   */
  decide(request: RouterRequest, load: LoadSnapshot): RouterDecision
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** Per service: its backends (indices), reused state objects and snapshot, stickiness. */
interface ServiceSlot {
  readonly service: RouterService
  readonly allowed: Int32Array
  readonly states: Mutable<BackendState>[]
  readonly snapshot: Mutable<RoutingSnapshot>
  /** Model → backend id the previous route chose (every model but the latest one). */
  readonly sticky: Map<string, string>
  /** The model of the latest route and its backend (the common single-model case, no map). */
  stickyModel: string
  stickyId: string | undefined
  /** The model the states' profiles are set for ('' = none yet). */
  profilesFor: string
}

/** Builds the router over a fixed fleet and service list. */
export function createRouter(input: RouterInput): Router {
  const { backends, services, random } = input
  const maxAttempts = input.maxAttempts ?? Number.POSITIVE_INFINITY
  const levers = input.levers ?? []
  const indexOf = new Map<string, number>()
  backends.forEach((b, j) => {
    if (indexOf.has(b.id)) throw new WattlineError('WL_INVALID_INPUT', `duplicate backend ${b.id}`)
    if (b.profiles.size === 0) {
      throw new WattlineError('WL_INVALID_INPUT', `backend ${b.id} has no energy profile`)
    }
    indexOf.set(b.id, j)
  })
  const serviceOf = new Map<string, number>()
  services.forEach((s, i) => serviceOf.set(s.name, i))
  const firstProfile = backends.map((b) => b.profiles.values().next().value as EnergyProfile)
  const placeholder: IntensityPoint = {
    zone: '',
    at: instant(0),
    intensity: 0 as IntensityPoint['intensity'],
    signal: 'average',
    source: '',
    forecast: false,
    stale: false,
  }

  const slots: ServiceSlot[] = services.map((service) => {
    const ids = service.backends ?? backends.map((b) => b.id)
    const allowed = Int32Array.from(backends.flatMap((b, j) => (ids.includes(b.id) ? [j] : [])))
    for (const id of ids) {
      if (!indexOf.has(id)) {
        throw new WattlineError(
          'WL_INVALID_INPUT',
          `service ${service.name} names backend ${id}, which the fleet lacks`,
        )
      }
    }
    const states: Mutable<BackendState>[] = Array.from(allowed, (j) => {
      const b = backends[j] as RouterBackend
      return {
        id: b.id,
        zone: b.zone,
        models: b.models,
        healthy: true,
        inflight: 0,
        maxConcurrency: b.maxConcurrency,
        weight: b.weight,
        pue: b.pue,
        profile: firstProfile[j] as EnergyProfile,
        intensity: placeholder,
        networkRtt: ms(0),
        // Always present: policies read `observedOverhead ?? 0`, so 0 is "none measured yet".
        observedOverhead: ms(0),
      }
    })
    return {
      service,
      allowed,
      states,
      snapshot: { now: instant(0), backends: states },
      sticky: new Map(),
      stickyModel: '',
      stickyId: undefined,
      profilesFor: '',
    }
  })

  const none: readonly string[] = []
  // One request object per shape (with or without `sloP95` / `sticky`), filled in place: an absent
  // field stays absent, as policies expect, without `delete` (which would make it a slow
  // dictionary-mode object).
  const shape = (slo: boolean, keep: boolean): Mutable<RoutingRequest> => ({
    model: '',
    inputTokens: 0,
    outputTokens: 0,
    ...(slo ? { sloP95: ms(0) } : {}),
    exclude: none,
    sequence: 0,
    draw: 0,
    ...(keep ? { sticky: '' } : {}),
  })
  const shapes = [shape(false, false), shape(false, true), shape(true, false), shape(true, true)]
  let sequence = 0
  const routed: Mutable<RouterDecision & { kind: 'route' }> = {
    kind: 'route',
    backend: -1,
    routing: undefined as unknown as RoutingDecision & { kind: 'route' },
    levers: NO_LEVERS,
  }

  /** The least utilised backend of the slot serving `model` (lowest index on ties); -1 = none. */
  function leastUtilised(slot: ServiceSlot, model: string, load: LoadSnapshot): number {
    let best = -1
    let bestLoad = Number.POSITIVE_INFINITY
    for (let k = 0; k < slot.allowed.length; k++) {
      const j = slot.allowed[k] as number
      const b = backends[j] as RouterBackend
      if (!b.models.includes(model)) continue
      const u = (load.inflight[j] as number) / Math.max(1, b.maxConcurrency)
      if (u < bestLoad) {
        best = j
        bestLoad = u
      }
    }
    return best
  }

  function decide(req: RouterRequest, load: LoadSnapshot): RouterDecision {
    const slot = slots[req.service]
    if (slot === undefined) {
      throw new WattlineError('WL_INTERNAL', `router: unknown service index ${req.service}`)
    }
    if (req.exclude.length >= maxAttempts) {
      return {
        kind: 'reject',
        reason: 'attempts-exhausted',
        queueAt: -1,
        levers: NO_LEVERS,
      }
    }
    const model = req.model
    const now = instant(load.now)
    slot.snapshot.now = now
    const { allowed, states } = slot
    for (let k = 0; k < allowed.length; k++) {
      const j = allowed[k] as number
      const st = states[k] as Mutable<BackendState>
      st.inflight = load.inflight[j] as number
      st.healthy = load.healthy[j] as boolean
      st.intensity = load.intensity[j] as IntensityPoint
      st.networkRtt = ms(load.networkRttMs[j] as number)
      const o = load.overheadMs[j] as number
      st.observedOverhead = ms(o === o ? o : 0) // NaN (none measured) reads as 0, as in predict
    }
    if (slot.profilesFor !== model) {
      for (let k = 0; k < allowed.length; k++) {
        const j = allowed[k] as number
        ;(states[k] as Mutable<BackendState>).profile =
          (backends[j] as RouterBackend).profiles.get(model) ?? (firstProfile[j] as EnergyProfile)
      }
      slot.profilesFor = model
    }
    const previous = model === slot.stickyModel ? slot.stickyId : slot.sticky.get(model)
    const slo = slot.service.sloP95Ms
    const request = shapes[(slo === undefined ? 0 : 2) + (previous === undefined ? 0 : 1)]!
    request.model = model
    request.inputTokens = req.inputTokens
    request.outputTokens = req.outputTokens
    if (slo !== undefined) request.sloP95 = ms(slo)
    request.exclude = req.exclude
    request.sequence = sequence++
    request.draw = random.next()
    if (previous !== undefined) request.sticky = previous
    const decision = slot.service.policy(slot.snapshot, request)
    if (decision.kind === 'route') {
      let chosen = decision.backend
      let acted: LeverAction[] | undefined
      for (const lever of levers) {
        const moved = lever.review({
          service: req.service,
          request,
          snapshot: slot.snapshot,
          decision: chosen === decision.backend ? decision : { ...decision, backend: chosen },
        })
        if (moved === undefined) continue
        if (!eligible(decision, moved.backend)) {
          throw new WattlineError(
            'WL_INTERNAL',
            `lever ${lever.name} moved a request to ${moved.backend}, which is not eligible`,
          )
        }
        chosen = moved.backend
        ;(acted ??= []).push(moved.action)
      }
      const j = indexOf.get(chosen)
      if (j === undefined) {
        throw new WattlineError('WL_INTERNAL', `policy chose unknown backend ${chosen}`)
      }
      if (model !== slot.stickyModel) {
        if (slot.stickyId !== undefined) slot.sticky.set(slot.stickyModel, slot.stickyId)
        slot.stickyModel = model
      }
      slot.stickyId = chosen
      routed.backend = j
      routed.routing = chosen === decision.backend ? decision : { ...decision, backend: chosen }
      routed.levers = acted ?? NO_LEVERS
      return routed
    }
    const queueAt = leastUtilised(slot, model, load)
    if (decision.reason === 'all-full') {
      let hint = Number.POSITIVE_INFINITY
      for (const s of decision.scores) {
        if (s.reason === 'full' && s.predictedLatency < hint) hint = s.predictedLatency
      }
      return { kind: 'wait', queueAt, retryHintMs: hint, routing: decision, levers: NO_LEVERS }
    }
    return {
      kind: 'reject',
      reason:
        decision.reason === 'unknown-model' && req.exclude.length === 0
          ? 'unknown-model'
          : 'no-backend',
      queueAt,
      routing: decision,
      levers: NO_LEVERS,
    }
  }

  return {
    backends,
    services,
    serviceIndex: (name) => serviceOf.get(name) ?? -1,
    backendIndex: (id) => indexOf.get(id) ?? -1,
    decide,
  }
}

/** True when `id` is eligible in the policy's score records. */
function eligible(decision: RoutingDecision, id: string): boolean {
  for (const s of decision.scores) if (s.backend === id) return s.eligible
  return false
}
