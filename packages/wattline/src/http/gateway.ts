/**
 * @module http/gateway
 * The gateway's engine, independent of the HTTP framework: picks a backend with the service's policy
 * (retrying connect errors, timeouts and 5xx before the first byte on the next best backend), waits
 * in the service's bounded queue when every backend is full, and accounts each finished request
 * (metrics, ledger record) without blocking it.
 */
import {
  breakerAllows,
  chooseTier,
  createPolicy,
  createRouter,
  encodeLeverSavings,
  estimateRequest,
  shareFractions,
  networkEnergyJ,
  timeShiftSaving,
  trendCoefficient,
  utcYear,
  WattlineError,
  type BreakerConfig,
  type Clock,
  type EnergyProfile,
  type IntensityPoint,
  type LedgerSink,
  type LeverEnergySaving,
  type LiveMark,
  type LiveRequestEnergy,
  type LoadLease,
  type LoadSnapshot,
  type Random,
  type RequestRecord,
  type RouterDecision,
  type RoutingDecision,
  type Tier,
  type TierChoice,
  type TierPreference,
  tierSaving,
  JOULES_PER_KWH,
} from '@wattline/core'
import type { Logger } from 'pino'
import {
  UpstreamFailure,
  type Upstream,
  type UpstreamResponse,
} from '../adapters/upstream/openai-upstream.ts'
import { counterIn } from '../adapters/metrics/registry-metrics.ts'
import type { BackendConfig, WattlineConfig } from '../config/parse-config.ts'
import type { ServiceConfig } from '../config/schema.ts'
import { coreTiers } from '../config/tiers.ts'
import { account, type Accounting } from './accounting.ts'
import {
  breakerEvent,
  createBackendRuntime,
  observeLatency,
  profileOf,
  type BackendRuntime,
} from './backend-runtime.ts'
import type { ClusterLoad } from './cluster-load.ts'
import type { IntensityBoard } from './intensity-board.ts'
import { savingsCounters, type GatewayMetrics } from './metrics.ts'
import { createLiveLevers, type LeverNote } from './live-levers.ts'
import { clipInput } from './openai-errors.ts'
import { createServiceQueue, type ServiceQueue } from './service-queue.ts'

export interface GatewayDeps {
  readonly config: WattlineConfig
  readonly clock: Clock
  /** Backend id → upstream client. */
  readonly upstreams: ReadonlyMap<string, Upstream>
  /** The energy profile of a backend for one of its (client-named) models. */
  readonly profileFor: (backend: BackendConfig, model: string) => EnergyProfile
  readonly intensity: IntensityBoard
  readonly ledger: LedgerSink
  readonly metrics: GatewayMetrics
  readonly random: Random
  readonly logger: Logger
  /**
   * Shared in-flight counts across replicas (the `cluster:` section): routing sees global counts
   * and each backend's `max_concurrency` holds for the fleet. Omitted = this replica counts alone.
   */
  readonly cluster?: ClusterLoad
  /**
   * Whether a service's budget is under pressure (the budget watch projects it over its limit):
   * a condition of quality tiers. Omitted = never.
   */
  readonly budgetPressure?: (service: string) => boolean
}

/** Counts quality-tier downgrades (docs/metrics.md). */
export const TIER_DOWNGRADES_METRIC = 'wattline_tier_downgrades_total'

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

/** A routing decision kept for the dashboard. */
export interface RecentDecision {
  readonly at_ms: number
  readonly request_id: string
  readonly service: string
  readonly model: string
  readonly decision: RoutingDecision
}

/** Decisions kept in memory for the dashboard (newest last). */
export const RECENT_DECISIONS = 200

/** The `backend` of ledger rows the response cache answered (no backend did any work). */
export const CACHE_BACKEND = 'cache'

/** An upstream response that reached us, holding the backend slot until `finish`. */
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
  readonly lease?: LoadLease
  /** What the prefix-affinity and occupancy levers did to this request (see live-levers.ts). */
  readonly levers?: LeverNote
  /** The zone constraint it was routed under (`DispatchInput.zones`: the zone it ran in). */
  readonly pinnedZone?: string
  /** `DispatchInput.timeShiftFromGPerKwh`, for the ledger's time-shift saving. */
  readonly timeShiftFromGPerKwh?: number
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

export interface Gateway {
  readonly backends: ReadonlyMap<string, BackendRuntime>
  readonly config: WattlineConfig
  /** Requests in flight across all backends. */
  inflight(): number
  dispatch(input: DispatchInput): Promise<Dispatched>
  /** Ends the request's slot and accounts it; returns the accounting (for headers / usage chunk). */
  finish(d: Dispatched, input: FinishInput): Accounting
  /**
   * Ends one dispatch that served several callers (embeddings micro-batching) and accounts each
   * caller: its own ledger row and metrics, charged its `weight`'s fraction of the call's energy
   * (the rows add up to what the one call was attributed). Returns the parts' accountings in order.
   */
  finishShared(d: Dispatched, parts: readonly SharedPart[]): Accounting[]
  /** Records a request the response cache answered: a ledger row with 0 J and the cache saving. */
  recordCacheHit(input: CacheHitInput): void
  /** Health-probes every backend once (feeds the breakers). */
  probe(): Promise<void>
  /** Writes each backend's idle energy since the last call to metrics and the ledger. */
  flushIdle(): void
  /** The most recent routing decisions, newest first. */
  recentDecisions(limit: number): readonly RecentDecision[]
  /** Occupancy shaping's target running requests of a backend; undefined where none shapes it. */
  occupancyTarget(backendId: string): number | undefined
  /**
   * Cluster mode: re-reads the global in-flight counts and wakes queued requests where slots
   * freed on other replicas (run every `cluster.sync_interval_ms`). No-op without `cluster:`.
   */
  syncLoad(): Promise<void>
}

/** Builds the engine over its dependencies. */
export function createGateway(deps: GatewayDeps): Gateway {
  const { config, clock, metrics, cluster } = deps
  const g = config.gateway
  const breakerConfig: BreakerConfig = {
    failureThreshold: g.breaker.failure_threshold,
    cooldownMs: g.breaker.cooldown_ms,
    maxCooldownMs: g.breaker.max_cooldown_ms,
    halfOpenMaxTrials: 1,
  }
  const now = (): number => clock.now()
  const backends = new Map<string, BackendRuntime>()
  for (const b of config.backends) {
    const upstream = deps.upstreams.get(b.id)
    if (upstream === undefined) throw new Error(`no upstream for backend ${b.id}`)
    const profiles = new Map(b.models.map((m) => [m, deps.profileFor(b, m)] as const))
    backends.set(b.id, createBackendRuntime(b, upstream, profiles, now()))
    metrics.backendUp.set({ backend: b.id, zone: b.zone }, 1)
    metrics.inflight.set({ backend: b.id, zone: b.zone }, 0)
  }
  const queues = new Map<string, ServiceQueue>()
  // The decision engine (core/engine/router), shared with `wattline replay`: this shell only feeds
  // it the live load (trackers, breakers, intensity board, cluster counts) and the wall clock.
  const runtimes = [...backends.values()]
  // Prefix affinity and occupancy shaping (services[].levers): core's levers in the router.
  const liveLevers = createLiveLevers(config, runtimes, metrics.registry)
  const leverSaved = liveLevers.routing.length === 0 ? undefined : savingsCounters(metrics.registry)
  const indexOfRuntime = new Map(runtimes.map((rt, j) => [rt, j] as const))
  const router = createRouter({
    backends: runtimes.map((rt) => ({
      id: rt.config.id,
      zone: rt.config.zone,
      models: rt.config.models,
      maxConcurrency: rt.config.max_concurrency,
      weight: rt.config.weight,
      pue: rt.config.pue,
      profiles: rt.profiles,
    })),
    services: config.services.map((s) => ({
      name: s.name,
      policy: createPolicy(s.routing, { carbonAware: { tolerance: s.carbon_tolerance_pct / 100 } }),
      ...(s.slo.p95_latency_ms === undefined ? {} : { sloP95Ms: s.slo.p95_latency_ms }),
      ...(s.backends === undefined ? {} : { backends: s.backends }),
    })),
    random: deps.random,
    maxAttempts: g.max_attempts,
    levers: liveLevers.routing,
  })
  const load = {
    now: 0,
    inflight: new Float64Array(runtimes.length),
    healthy: runtimes.map(() => true),
    intensity: runtimes.map((rt) => deps.intensity.current(rt.config.zone)),
    networkRttMs: Float64Array.from(runtimes, (rt) => rt.config.rtt_ms),
    overheadMs: new Float64Array(runtimes.length),
  } satisfies LoadSnapshot & { healthy: boolean[]; intensity: IntensityPoint[] }
  for (const s of config.services) {
    queues.set(
      s.name,
      createServiceQueue({
        service: s.name,
        maxSize: s.queue.max_size,
        timeoutMs: s.queue.timeout_ms,
        clock,
        onDepth: (d) => metrics.queueDepth.set({ service: s.name }, d),
      }),
    )
  }
  // Metric label objects, built once per backend and per (service, model, backend) instead of per
  // request: the sets are bounded by the config (models are checked before a request is routed).
  const whereOf = new Map(
    [...backends.values()].map((rt) => [rt, { backend: rt.config.id, zone: rt.config.zone }]),
  )
  const setInflight = (rt: BackendRuntime): void => {
    metrics.inflight.set(whereOf.get(rt)!, rt.tracker.inflight)
    liveLevers.occupancy(indexOfRuntime.get(rt)!, rt.tracker.inflight)
  }
  const requestLabels = new Map<string, RequestLabels>()
  const labelsFor = (service: string, model: string, rt: BackendRuntime): RequestLabels => {
    const key = `${service}\u0000${model}\u0000${rt.config.id}`
    let l = requestLabels.get(key)
    if (l === undefined) {
      l = {
        base: { service, model, backend: rt.config.id, zone: rt.config.zone },
        byStatus: new Map(),
        byMethod: new Map(),
      }
      requestLabels.set(key, l)
    }
    return l
  }
  // Ring of the last RECENT_DECISIONS decisions: `recentAt` is the next slot to write.
  const recent: RecentDecision[] = []
  let recentAt = 0
  /** What the levers did in the latest `decide` (read right after it). */
  let lastNote: LeverNote | undefined
  // Quality tiers (docs/gateway.md "Quality tiers"): core's shape per service that declares them.
  const tiersOf = new Map<string, readonly Tier[]>()
  for (const s of config.services)
    if (s.tiers !== undefined) tiersOf.set(s.name, coreTiers(s.tiers))
  const saved = tiersOf.size === 0 ? undefined : savingsCounters(metrics.registry)
  const downgrades =
    tiersOf.size === 0
      ? undefined
      : counterIn(
          metrics.registry,
          TIER_DOWNGRADES_METRIC,
          'Requests served by a lighter quality tier than the model asked for, by service, requested model (from), served model (to) and reason (opt-in|intensity|budget-pressure).',
          ['service', 'from', 'to', 'reason'],
        )

  /** Backends `service` may use that serve `model` (healthy ones only, when any is). */
  function servingBackends(service: ServiceConfig, model: string): BackendRuntime[] {
    const t = clock.now()
    const serving = runtimes.filter(
      (rt) =>
        rt.config.models.includes(model) &&
        (service.backends === undefined || service.backends.includes(rt.config.id)),
    )
    const healthy = serving.filter((rt) => breakerAllows(rt.breaker, t as never, breakerConfig))
    return healthy.length > 0 ? healthy : serving
  }

  /** The cleanest backend of `servingBackends` (intensity now), or undefined when none serves it. */
  function cleanestServing(service: ServiceConfig, model: string): BackendRuntime | undefined {
    let best: BackendRuntime | undefined
    let bestG = Number.POSITIVE_INFINITY
    for (const rt of servingBackends(service, model)) {
      const g = deps.intensity.current(rt.config.zone).intensity
      if (g < bestG) {
        best = rt
        bestG = g
      }
    }
    return best
  }

  // "Served as requested" per model name, shared (no allocation per request on the hot path).
  const requestedChoices = new Map<string, TierChoice>()
  const asRequested = (model: string): TierChoice => {
    let c = requestedChoices.get(model)
    if (c === undefined) {
      c = Object.freeze({ model, requested: model })
      // Bounded: a client may send any name (an unknown one is refused after this).
      if (requestedChoices.size < 4096) requestedChoices.set(model, c)
    }
    return c
  }

  /** The quality-tier decision of a request (the requested model for services without tiers). */
  function tierFor(input: DispatchInput): TierChoice {
    const tiers = tiersOf.get(input.service.name)
    if (tiers === undefined) return asRequested(input.model)
    const ref = cleanestServing(input.service, input.model)
    if (ref === undefined) return asRequested(input.model)
    // A lighter tier none of whose backends admits requests now (breaker open) is not offered:
    // the requested model still serves rather than the request failing.
    const t = clock.now()
    const open = tiers.filter(
      (tier) =>
        tier.model === input.model ||
        servingBackends(input.service, tier.model).some((rt) =>
          breakerAllows(rt.breaker, t as never, breakerConfig),
        ),
    )
    return chooseTier(input.model, open, {
      intensityGPerKwh: deps.intensity.current(ref.config.zone).intensity,
      budgetPressure: deps.budgetPressure?.(input.service.name) ?? false,
      ...(input.tier === undefined ? {} : { preference: input.tier }),
    })
  }

  /**
   * The `tier` saving of a downgraded request: the requested model's profile (on the backend that
   * served, when it serves that model too; else on the cleanest one that does) for the same tokens
   * at the observed occupancy, minus the energy charged.
   */
  function tierSavingOf(
    d: Dispatched,
    a: Accounting,
    input: FinishInput,
    occupancy: number,
  ): LeverEnergySaving | undefined {
    const requested = d.tier.requested
    const service = config.services.find((s) => s.name === d.service)
    const ref = d.backend.config.models.includes(requested)
      ? d.backend
      : service === undefined
        ? undefined
        : cleanestServing(service, requested)
    if (ref === undefined) return undefined
    const profile = profileOf(ref, requested)
    const cf = estimateRequest(profile, {
      inputTokens: Math.max(0, Math.round(input.inputTokens)),
      outputTokens: Math.max(0, Math.round(input.outputTokens)),
      batch: Math.min(profile.maxBatch, Math.max(1, occupancy)),
    })
    return tierSaving({
      counterfactual: { value: cf.value, low: cf.low, high: cf.high },
      actual: { value: a.energyJ, low: a.energyLowJ, high: a.energyHighJ },
      pue: a.pue,
      intensityGPerKwh: a.intensity.intensity,
    })
  }

  function wakeQueues(all: boolean): void {
    for (const q of queues.values()) {
      if (all) q.wakeAll()
      else q.wakeOne()
    }
  }

  function feedBreaker(
    rt: BackendRuntime,
    kind: 'success' | 'failure' | 'probe-ok' | 'probe-failed' | 'trial-started' | 'trial-cancelled',
  ): void {
    const changed = breakerEvent(rt, { kind, at: clock.now() }, breakerConfig)
    if (changed) {
      const up = rt.breaker.kind !== 'open'
      metrics.backendUp.set({ backend: rt.config.id, zone: rt.config.zone }, up ? 1 : 0)
      deps.logger.warn(
        { backend: rt.config.id, breaker: rt.breaker.kind },
        up ? 'backend admitted again' : 'backend circuit opened',
      )
      if (up) wakeQueues(true)
    }
  }

  /** The router's decision for `input` on the live load now (`exclude`: backends tried). */
  function decide(input: DispatchInput, exclude: readonly string[], zone?: string): RouterDecision {
    const t = clock.now()
    load.now = t
    for (let j = 0; j < runtimes.length; j++) {
      const rt = runtimes[j] as BackendRuntime
      const local = rt.tracker.inflight
      load.inflight[j] = cluster === undefined ? local : cluster.inflight(rt.config.id, local)
      // A zone constraint (batch placement) makes the other zones' backends ineligible.
      load.healthy[j] =
        breakerAllows(rt.breaker, t as never, breakerConfig) &&
        (zone === undefined || rt.config.zone === zone)
      load.intensity[j] = deps.intensity.current(rt.config.zone)
      load.overheadMs[j] = rt.overheadMs ?? Number.NaN
    }
    const service = router.serviceIndex(input.service.name)
    if (service < 0) throw new Error(`no service ${input.service.name} in the gateway's config`)
    liveLevers.begin(
      service,
      input,
      input.model,
      input.prompt,
      input.inputTokens,
      input.outputTokens,
    )
    const decision = router.decide(
      {
        service,
        model: input.model,
        inputTokens: input.inputTokens,
        outputTokens: input.outputTokens,
        exclude,
      },
      load,
    )
    lastNote = liveLevers.end(decision.kind === 'route' ? decision.backend : -1)
    if (decision.kind === 'reject' && decision.routing === undefined) return decision
    const entry: RecentDecision = {
      at_ms: t,
      request_id: input.requestId ?? '',
      service: input.service.name,
      model: input.model,
      decision: decision.routing as RoutingDecision,
    }
    if (recent.length < RECENT_DECISIONS) recent.push(entry)
    else recent[recentAt] = entry
    recentAt = (recentAt + 1) % RECENT_DECISIONS
    return decision
  }

  async function dispatch(input: DispatchInput): Promise<Dispatched> {
    const tried: string[] = []
    let lastError: unknown
    const queue = queues.get(input.service.name)!
    const zones = input.zones
    let zoneAt = 0
    // Quality tiers: decided once per request, before routing (the served model is routed).
    const tier = tierFor(input)
    const routed = tier.model === input.model ? input : { ...input, model: tier.model }
    for (;;) {
      input.signal.throwIfAborted()
      const zone = zones?.[zoneAt]
      const decision = decide(routed, tried, zone)
      const note = lastNote
      if (decision.kind === 'wait') {
        const hint = decision.retryHintMs
        try {
          await queue.wait(input.signal, Number.isFinite(hint) ? Math.max(100, hint) : 1000)
        } catch (e) {
          if ((e as { code?: unknown }).code === 'WL_OVERLOADED')
            metrics.rejected.inc({ service: input.service.name, reason: 'overloaded' })
          throw e
        }
        continue
      }
      if (decision.kind === 'reject') {
        if (zones !== undefined && zoneAt + 1 < zones.length && decision.reason === 'no-backend') {
          zoneAt++
          deps.logger.warn(
            { reqId: input.requestId, zone, next_zone: zones[zoneAt], tried },
            'no healthy backend in the placed zone; routing to the next zone',
          )
          continue
        }
        if (decision.reason === 'unknown-model')
          throw unknownModel(routed.model, input.service.name)
        throw upstreamUnavailable(routed.model, tried, lastError)
      }
      const rt = runtimes[decision.backend] as BackendRuntime
      let lease: LoadLease | undefined
      if (cluster !== undefined) {
        // The one Redis round trip of a request: the routing view may be stale, the slot is not.
        const slot = await cluster.acquire(
          rt.config.id,
          rt.config.max_concurrency,
          rt.tracker.inflight,
        )
        if (slot.kind === 'full') continue // the view now says full: next backend, or the queue
        if (slot.kind === 'acquired') lease = slot.lease
        if (input.signal.aborted) {
          cluster.release(lease)
          throw input.signal.reason
        }
      }
      tried.push(rt.config.id)
      const halfOpen = rt.breaker.kind !== 'closed'
      if (halfOpen) feedBreaker(rt, 'trial-started')
      const startedMs = clock.now()
      const mark = rt.tracker.start(startedMs, {
        profile: profileOf(rt, routed.model),
        // The prompt blocks this backend's prefix cache holds are not prefilled again.
        inputTokens: liveLevers.prefillTokens(note, input.inputTokens),
        decodes: input.decodes ?? true,
      })
      setInflight(rt)
      const release = (): void => {
        rt.tracker.end(clock.now(), mark)
        cluster?.release(lease)
        setInflight(rt)
        wakeQueues(false)
      }
      try {
        const response = await rt.upstream.request({
          method: 'POST',
          path: input.path,
          body: input.bodyFor(rt.config, routed.model),
          headers: input.headers,
          signal: input.signal,
        })
        if (response.status >= 500) {
          await response.body.dump().catch(() => undefined)
          lastError = new Error(`backend ${rt.config.id} answered ${response.status}`)
          release()
          feedBreaker(rt, 'failure')
          metrics.retries.inc({ backend: rt.config.id, reason: `http_${response.status}` })
          continue
        }
        if (tier.reason !== undefined)
          downgrades?.inc({
            service: input.service.name,
            from: tier.requested,
            to: tier.model,
            reason: tier.reason,
          })
        return {
          backend: rt,
          response,
          decision: decision.routing,
          attempts: tried.length,
          mark,
          startedMs,
          service: input.service.name,
          model: routed.model,
          tier,
          ...(note === undefined ? {} : { levers: note }),
          ...(lease === undefined ? {} : { lease }),
          ...(zone === undefined ? {} : { pinnedZone: zone }),
          ...(input.timeShiftFromGPerKwh === undefined
            ? {}
            : { timeShiftFromGPerKwh: input.timeShiftFromGPerKwh }),
        }
      } catch (error) {
        release()
        if (error instanceof UpstreamFailure && error.retryable) {
          lastError = error
          feedBreaker(rt, 'failure')
          metrics.retries.inc({ backend: rt.config.id, reason: error.kind })
          deps.logger.warn(
            { backend: rt.config.id, kind: error.kind },
            'upstream attempt failed; retrying elsewhere',
          )
          continue
        }
        if (halfOpen) feedBreaker(rt, 'trial-cancelled')
        if (input.signal.aborted) throw input.signal.reason
        throw new WattlineError(
          'WL_UPSTREAM_UNAVAILABLE',
          `backend ${rt.config.id} failed: ${(error as Error).message}`,
          {
            cause: error,
            details: { status: 502 },
          },
        )
      }
    }
  }

  function finish(d: Dispatched, input: FinishInput): Accounting {
    return accountPart(d, input, endSlot(d, input.completed), true)
  }

  function finishShared(d: Dispatched, parts: readonly SharedPart[]): Accounting[] {
    const ended = endSlot(
      d,
      parts.some((p) => p.input.completed),
    )
    // The latency model learns from the one call (all its tokens), not from each part.
    const ok = parts.filter((p) => p.input.completed && p.input.status < 400)
    if (ok.length > 0) {
      const tokens = ok.reduce((n, p) => n + p.input.inputTokens, 0)
      const { energy, endMs } = ended
      observeLatency(d.backend, d.model, endMs - d.startedMs, tokens, 0, energy.meanOccupancy)
    }
    const fractions = shareFractions(parts.map((p) => p.weight))
    return parts.map((p, i) =>
      accountPart(d, p.input, scaled(ended, fractions[i] ?? 0), false, p.levers),
    )
  }

  /** Ends `d`'s slot on its backend (tracker, shared lease, queues, breaker): its energy. */
  function endSlot(d: Dispatched, completed: boolean): EndedSlot {
    const rt = d.backend
    const endMs = clock.now()
    const energy = rt.tracker.end(endMs, d.mark)
    cluster?.release(d.lease)
    setInflight(rt)
    wakeQueues(false)
    if (completed) feedBreaker(rt, 'success')
    else if (rt.breaker.kind === 'half-open') feedBreaker(rt, 'trial-cancelled')
    return { energy, endMs }
  }

  /**
   * Accounts one request (or one part of a shared call) on an ended slot: metrics and its ledger
   * row. `observe`: feed the latency model (false for parts: `finishShared` does it once).
   */
  function accountPart(
    d: Dispatched,
    input: FinishInput,
    ended: EndedSlot,
    observe: boolean,
    partLevers?: SharedPart['levers'],
  ): Accounting {
    const rt = d.backend
    const { energy, endMs } = ended
    const model = d.model
    const profile = profileOf(rt, model)
    const intensity = deps.intensity.current(rt.config.zone)
    const a = account({
      energy,
      meterSource: rt.meterSource,
      profile,
      pue: rt.config.pue,
      intensity,
    })
    const latencyMs = endMs - input.arrivedMs
    if (observe && input.completed && input.status < 400) {
      observeLatency(
        rt,
        model,
        endMs - d.startedMs,
        input.inputTokens,
        input.outputTokens,
        energy.meanOccupancy,
      )
    }
    const l = labelsFor(d.service, model, rt)
    const labels = l.base
    let withStatus = l.byStatus.get(input.status)
    if (withStatus === undefined) {
      withStatus = { ...labels, status: String(input.status) }
      l.byStatus.set(input.status, withStatus)
    }
    let withMethod = l.byMethod.get(a.method)
    if (withMethod === undefined) {
      withMethod = { ...labels, method: a.method }
      l.byMethod.set(a.method, withMethod)
    }
    metrics.requests.inc(withStatus)
    metrics.duration.observe(labels, latencyMs / 1000)
    metrics.energy.inc(withMethod, a.energyJ)
    metrics.carbon.inc(labels, a.carbonG)
    // What the levers that acted on this request saved (the ledger's `levers`).
    const leverSavings: LeverEnergySaving[] = []
    const tier = tierPart(d, a, input, energy.meanOccupancy)
    if (tier.saving !== undefined) leverSavings.push(tier.saving)
    if (partLevers !== undefined) leverSavings.push(...partLevers(a))
    if (d.levers !== undefined && input.completed && input.status < 400) {
      liveLevers.served(d.levers)
      for (const saving of liveLevers.savings(d.levers, {
        model,
        inputTokens: input.inputTokens,
        outputTokens: input.outputTokens,
        pue: rt.config.pue,
        intensityGPerKwh: intensity.intensity,
      })) {
        leverSavings.push(saving)
        leverSaved?.energy.inc({ lever: saving.lever, service: d.service }, saving.energy_saved_j)
        leverSaved?.carbon.inc({ lever: saving.lever, service: d.service }, saving.carbon_saved_g)
      }
    }
    // A deferred request (Batch API line): its time-shift saving joins the other levers'.
    const shifted = timeShiftOf(d, a)
    if (shifted !== undefined) leverSavings.push(shifted)
    const record: RequestRecord = {
      kind: 'request',
      id: input.requestId,
      at_ms: input.arrivedMs,
      service: labels.service,
      tenant: input.tenant,
      model,
      backend: rt.config.id,
      zone: rt.config.zone,
      endpoint: input.endpoint,
      status: input.status,
      streamed: input.streamed,
      input_tokens: input.inputTokens,
      output_tokens: input.outputTokens,
      latency_ms: latencyMs,
      ttft_ms: input.ttftMs,
      energy_j: a.energyJ,
      energy_low_j: a.energyLowJ,
      energy_high_j: a.energyHighJ,
      facility_energy_j: a.facilityEnergyJ,
      pue: a.pue,
      carbon_g: a.carbonG,
      carbon_low_g: a.carbonLowG,
      carbon_high_g: a.carbonHighG,
      intensity_g_per_kwh: a.intensity.intensity,
      intensity_source: a.intensity.source,
      intensity_signal: a.intensity.signal,
      intensity_stale: a.intensity.stale,
      method: a.method,
      energy_source: a.energySource,
      routing_policy: d.decision.policy,
      routing_reason: JSON.stringify({
        reason: d.decision.reason,
        // batch placement: the other zones' backends were ineligible (scored `unhealthy`)
        ...(d.pinnedZone === undefined ? {} : { placed_in_zone: d.pinnedZone }),
        scores: d.decision.scores.map((s) => ({
          backend: s.backend,
          eligible: s.eligible,
          ...(s.reason === undefined ? {} : { why: s.reason }),
          score: Number.isFinite(s.score) ? Number(s.score.toPrecision(6)) : null,
          carbon_g: Number(s.predictedCarbon.toPrecision(6)),
          latency_ms: Math.round(s.predictedLatency),
        })),
      }),
      attempts: d.attempts,
      error_code: input.errorCode,
      ...networkFields(input.networkBytes, input.arrivedMs, a.intensity.intensity),
      ...(tier.requested === undefined ? {} : { model_requested: tier.requested }),
      ...(leverSavings.length === 0 ? {} : { levers: encodeLeverSavings(leverSavings) as string }),
    }
    appendSafely(deps, record)
    return a
  }

  /**
   * A downgraded request's ledger part: the model asked for, and the `tier` saving (answered
   * requests only), counted in the savings metrics.
   */
  function tierPart(
    d: Dispatched,
    a: Accounting,
    input: FinishInput,
    occupancy: number,
  ): { readonly requested?: string; readonly saving?: LeverEnergySaving } {
    if (d.tier.reason === undefined) return {}
    const saving =
      input.completed && input.status < 400 ? tierSavingOf(d, a, input, occupancy) : undefined
    if (saving === undefined) return { requested: d.tier.requested }
    saved?.energy.inc({ lever: 'tier', service: d.service }, saving.energy_saved_j)
    saved?.carbon.inc({ lever: 'tier', service: d.service }, saving.carbon_saved_g)
    return { requested: d.tier.requested, saving }
  }

  /** The ledger's network fields of a request (none when disabled or not counted). */
  function networkFields(
    bytes: number | undefined,
    atMs: number,
    gPerKwh: number,
  ): Pick<RequestRecord, 'network_bytes' | 'network_energy_j' | 'network_carbon_g'> {
    if (bytes === undefined || !config.network.enabled) return {}
    const kwhPerGb = config.network.kwh_per_gb ?? trendCoefficient(utcYear(atMs)).kwhPerGb
    const energyJ = networkEnergyJ(bytes, kwhPerGb)
    return {
      network_bytes: bytes,
      network_energy_j: energyJ,
      network_carbon_g: (energyJ * gPerKwh) / JOULES_PER_KWH,
    }
  }

  function recordCacheHit(input: CacheHitInput): void {
    const intensity = deps.intensity.current(input.zone)
    appendSafely(deps, {
      kind: 'request',
      id: input.requestId,
      at_ms: input.arrivedMs,
      service: input.service,
      tenant: input.tenant,
      model: input.model,
      backend: CACHE_BACKEND,
      zone: input.zone,
      endpoint: input.endpoint,
      status: 200,
      streamed: input.streamed,
      input_tokens: 0,
      output_tokens: 0,
      latency_ms: clock.now() - input.arrivedMs,
      ttft_ms: null,
      energy_j: 0,
      energy_low_j: 0,
      energy_high_j: 0,
      facility_energy_j: 0,
      pue: 1,
      carbon_g: 0,
      carbon_low_g: 0,
      carbon_high_g: 0,
      intensity_g_per_kwh: intensity.intensity,
      intensity_source: intensity.source,
      intensity_signal: intensity.signal,
      intensity_stale: intensity.stale,
      method: 'measured',
      energy_source: 'response cache: no upstream work (0 J)',
      routing_policy: 'cache',
      routing_reason: JSON.stringify({ reason: 'answered from the response cache' }),
      attempts: 0,
      error_code: null,
      levers: encodeLeverSavings([input.saving]) as string,
      ...networkFields(input.networkBytes, input.arrivedMs, intensity.intensity),
    })
  }

  return {
    backends,
    config,
    inflight: () => [...backends.values()].reduce((n, rt) => n + rt.tracker.inflight, 0),
    dispatch,
    finish,
    finishShared,
    recordCacheHit,
    occupancyTarget(backendId) {
      const j = runtimes.findIndex((rt) => rt.config.id === backendId)
      return j < 0 ? undefined : liveLevers.target(j)
    },
    recentDecisions(limit) {
      const n = Math.min(recent.length, Math.max(0, limit))
      const out: RecentDecision[] = []
      // Newest first: the slot before `recentAt`, walking back around the ring.
      for (let i = 1; i <= n; i++) {
        out.push(recent[(recentAt - i + RECENT_DECISIONS) % RECENT_DECISIONS] as RecentDecision)
      }
      return out
    },
    async syncLoad() {
      if (cluster === undefined) return
      const wasUp = cluster.up
      const ok = await cluster.sync()
      // Up ↔ down changes every backend's count (global vs local): let every waiter look again.
      if (ok !== wasUp) return wakeQueues(true)
      if (!ok) return
      let room = 0
      for (const rt of backends.values()) {
        const n = cluster.inflight(rt.config.id, rt.tracker.inflight)
        room += Math.max(0, rt.config.max_concurrency - n)
      }
      let waiting = 0
      for (const q of queues.values()) waiting += q.depth
      for (let i = Math.min(room, waiting); i > 0; i--) wakeQueues(false)
    },
    async probe() {
      await Promise.all(
        [...backends.values()].map(async (rt) => {
          const ok = await rt.upstream.probe(g.health.path, g.health.timeout_ms)
          feedBreaker(rt, ok ? 'probe-ok' : 'probe-failed')
        }),
      )
    },
    flushIdle() {
      const t = clock.now()
      for (const rt of backends.values()) {
        const where = { backend: rt.config.id, zone: rt.config.zone }
        const method = rt.tracker.method
        metrics.backendPower.set({ ...where, method }, rt.tracker.powerW)
        metrics.backendPower.remove({
          ...where,
          method: method === 'measured' ? 'modelled' : 'measured',
        })
        const intensity = deps.intensity.current(rt.config.zone)
        for (const slice of rt.tracker.takeIdle(t)) {
          const facility = slice.energyJ * rt.config.pue
          metrics.idleEnergy.inc({ ...where, method: slice.method }, slice.energyJ)
          appendSafely(deps, {
            kind: 'idle',
            backend: rt.config.id,
            zone: rt.config.zone,
            from_ms: slice.fromMs,
            to_ms: slice.toMs,
            energy_j: slice.energyJ,
            facility_energy_j: facility,
            carbon_g: (facility * intensity.intensity) / 3_600_000,
            method: slice.method,
            source: idleSource(rt, slice.method),
          })
        }
      }
    },
  }
}

/** A dispatch's slot once ended: the energy attributed to it and when it ended. */
interface EndedSlot {
  readonly energy: LiveRequestEnergy
  readonly endMs: number
}

/** `ended` with its energy (and work) scaled by `fraction`: one part's share of a shared call. */
function scaled(ended: EndedSlot, fraction: number): EndedSlot {
  const e = ended.energy
  return {
    endMs: ended.endMs,
    energy: {
      ...e,
      energyJ: e.energyJ * fraction,
      measuredJ: e.measuredJ * fraction,
      modelledJ: e.modelledJ * fraction,
      workTokens: e.workTokens * fraction,
    },
  }
}

/** The label objects of one (service, model, backend): shared, never mutated. */
interface RequestLabels {
  readonly base: {
    readonly service: string
    readonly model: string
    readonly backend: string
    readonly zone: string
  }
  readonly byStatus: Map<
    number,
    Record<'service' | 'model' | 'backend' | 'zone' | 'status', string>
  >
  readonly byMethod: Map<
    string,
    Record<'service' | 'model' | 'backend' | 'zone' | 'method', string>
  >
}

/** The time-shift saving of a dispatched request, from its accounting (undefined: not deferred). */
export function timeShiftOf(
  d: Pick<Dispatched, 'timeShiftFromGPerKwh'>,
  a: Accounting,
): LeverEnergySaving | undefined {
  if (d.timeShiftFromGPerKwh === undefined) return undefined
  return timeShiftSaving({
    facility_energy_j: a.facilityEnergyJ,
    ran_intensity_g_per_kwh: a.intensity.intensity,
    counterfactual_intensity_g_per_kwh: d.timeShiftFromGPerKwh,
  })
}

function idleSource(rt: BackendRuntime, method: 'measured' | 'modelled'): string {
  if (method === 'measured') return rt.meterSource
  const model = 'modelled idle power of the backend hardware (largest replica of its profiles)'
  return rt.meterSource === '' ? model : `${rt.meterSource} stale or not reading, ${model}`
}

function appendSafely(deps: GatewayDeps, record: Parameters<LedgerSink['append']>[0]): void {
  try {
    deps.ledger.append(record)
  } catch (error) {
    deps.logger.error({ err: error, kind: record.kind }, 'ledger sink refused a record')
  }
}

function unknownModel(model: string, service: string): WattlineError {
  return new WattlineError(
    'WL_UNKNOWN_MODEL',
    `The model '${clipInput(model)}' does not exist or is not served by service '${service}'`,
    {
      details: { param: 'model', model },
    },
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
