/**
 * @module http/gateway
 * The gateway's engine, independent of the HTTP framework. Each request runs through the request
 * pipeline (`gateway/pipeline.ts`), composed once here: accounting → tier → retry → admission →
 * lease → breaker → upstream — quality tier chosen before routing, the service's policy (with
 * prefix affinity and occupancy shaping) picking a backend, retrying connect errors, timeouts and
 * 5xx before the first byte on the next best backend, waiting in the service's bounded queue when
 * every backend is full, and accounting each finished request (metrics, ledger row) without
 * blocking it. This shell holds the fleet's live state the interceptors share: backend runtimes,
 * queues, the router fed the live load, breakers, the recent decisions.
 */
import {
  breakerAllows,
  createPolicy,
  createRouter,
  carbonOfItEnergy,
  type BreakerConfig,
  type Clock,
  type EnergyProfile,
  type IntensityPoint,
  type LedgerSink,
  type LoadSnapshot,
  type Random,
  type RouterDecision,
  type RouterRequest,
  type RoutingDecision,
} from '@wattline/core'
import type { Logger } from 'pino'
import type { Upstream } from './upstream-port.ts'
import type { BackendConfig, WattlineConfig } from '../config/parse-config.ts'
import { appendSafely, createAccounting } from '../gateway/accounting.ts'
import { createAdmission } from '../gateway/admission.ts'
import { createBreaker, type BreakerFeed } from '../gateway/breaker.ts'
import { createLease } from '../gateway/lease.ts'
import { createLeverSavings } from '../gateway/levers.ts'
import {
  composePipeline,
  Exchange,
  type Interceptor,
  type SavingsSource,
} from '../gateway/pipeline.ts'
import { createRetry } from '../gateway/retry.ts'
import { createTier } from '../gateway/tier.ts'
import { timeShiftSavings } from '../gateway/time-shift.ts'
import { createUpstreamTerminal } from '../gateway/upstream.ts'
import type { Accounting } from './accounting.ts'
import {
  breakerEvent,
  createBackendRuntime,
  setOthersInflight,
  type BackendRuntime,
} from './backend-runtime.ts'
import type { ClusterLoad } from './cluster-load.ts'
import type { IntensityBoard } from './intensity-board.ts'
import type { GatewayMetrics } from './metrics.ts'
import { createLiveLevers } from './live-levers.ts'
import { createServiceQueue, type ServiceQueue } from './service-queue.ts'

export { CACHE_BACKEND } from '../gateway/accounting.ts'
export { TIER_DOWNGRADES_METRIC } from '../gateway/tier.ts'
export { timeShiftOf } from '../gateway/time-shift.ts'

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
  /**
   * Whether this process writes the backends' idle energy now (metrics and ledger). Default: always.
   * With several processes accounting the same backends (`serve --workers N`, whose trackers know
   * each other's occupancy; replicas in cluster mode) exactly one does; the others drop theirs.
   */
  readonly recordsIdle?: () => boolean
  /**
   * Cluster mode: feed each backend's tracker the other replicas' requests in flight (the shared
   * counts) so it accounts the backend at its total occupancy. Default true; false where the
   * occupancy comes from elsewhere.
   */
  readonly clusterOccupancy?: boolean
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

import type {
  CacheHitInput,
  Dispatched,
  DispatchInput,
  FinishInput,
  SharedPart,
} from '../gateway/exchange-types.ts'

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
  /**
   * Writes each backend's idle energy since the last call to metrics and the ledger (takes and
   * drops it where `recordsIdle` is false).
   */
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
  // Metric label objects, built once per backend instead of per request.
  const whereOf = new Map(
    [...backends.values()].map((rt) => [rt, { backend: rt.config.id, zone: rt.config.zone }]),
  )
  // Cluster mode: the other replicas' requests in flight (global count − ours) on each tracker, so
  // it models the backend's power at its total occupancy and keeps its requests' share.
  const othersSeen = new Map<BackendRuntime, number>()
  const shareClusterOccupancy = (rt: BackendRuntime): void => {
    if (cluster === undefined || deps.clusterOccupancy === false) return
    const local = rt.tracker.inflight
    const others = cluster.up ? Math.max(0, cluster.inflight(rt.config.id, local) - local) : 0
    if (others === (othersSeen.get(rt) ?? 0)) return
    othersSeen.set(rt, others)
    setOthersInflight(rt, clock.now(), others)
  }
  const setInflight = (rt: BackendRuntime): void => {
    metrics.inflight.set(whereOf.get(rt)!, rt.tracker.inflight)
    liveLevers.occupancy(indexOfRuntime.get(rt)!, rt.tracker.inflight)
    shareClusterOccupancy(rt)
  }
  // Ring of the last RECENT_DECISIONS decisions: `recentAt` is the next slot to write. Its slots
  // are filled in place (no object per request, none promoted for the ring's sake); readers get
  // copies.
  const recent: Mutable<RecentDecision>[] = []
  let recentAt = 0
  // The router's request, filled in place per decision (the router copies what it keeps).
  const routerRequest: Mutable<RouterRequest> = {
    service: 0,
    model: '',
    inputTokens: 0,
    outputTokens: 0,
    exclude: [],
  }
  const admits = (rt: BackendRuntime, atMs: number): boolean =>
    breakerAllows(rt.breaker, atMs as never, breakerConfig)

  function wakeQueues(all: boolean): void {
    for (const q of queues.values()) {
      if (all) q.wakeAll()
      else q.wakeOne()
    }
  }

  function feedBreaker(rt: BackendRuntime, kind: BreakerFeed): void {
    // A success on a closed breaker with no failure counted, the backend known reachable (nearly
    // every request): the event would leave everything as it is. No event, no clock read.
    const b = rt.breaker
    if (kind === 'success' && b.kind === 'closed' && b.failures === 0 && rt.reachable === true)
      return
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

  /**
   * The router's decision for the exchange (its served model, `ex.tried` excluded) on the live
   * load now; `zone`: only that zone's backends are eligible (batch placement). Puts what the
   * levers did on the exchange and the decision in the recent ring.
   */
  function decide(ex: Exchange, zone: string | undefined): RouterDecision {
    const input = ex.input
    const t = clock.now()
    load.now = t
    for (let j = 0; j < runtimes.length; j++) {
      const rt = runtimes[j] as BackendRuntime
      const local = rt.tracker.inflight
      load.inflight[j] = cluster === undefined ? local : cluster.inflight(rt.config.id, local)
      // A zone constraint (batch placement) makes the other zones' backends ineligible.
      load.healthy[j] = admits(rt, t) && (zone === undefined || rt.config.zone === zone)
      load.intensity[j] = deps.intensity.current(rt.config.zone)
      load.overheadMs[j] = rt.overheadMs ?? Number.NaN
    }
    const service = router.serviceIndex(ex.service)
    if (service < 0) throw new Error(`no service ${ex.service} in the gateway's config`)
    liveLevers.begin(service, input, ex.model, input.prompt, input.inputTokens, input.outputTokens)
    const req = routerRequest
    req.service = service
    req.model = ex.model
    req.inputTokens = input.inputTokens
    req.outputTokens = input.outputTokens
    req.exclude = ex.tried
    const decision = router.decide(req, load)
    req.exclude = NO_EXCLUDED // not kept alive by the scratch request
    ex.levers = liveLevers.end(decision.kind === 'route' ? decision.backend : -1)
    if (decision.kind === 'reject' && decision.routing === undefined) return decision
    const routing = decision.routing as RoutingDecision
    const requestId = input.requestId ?? ''
    const entry = recent[recentAt]
    if (entry === undefined) {
      recent.push({
        at_ms: t,
        request_id: requestId,
        service: ex.service,
        model: ex.model,
        decision: routing,
      })
    } else {
      entry.at_ms = t
      entry.request_id = requestId
      entry.service = ex.service
      entry.model = ex.model
      entry.decision = routing
    }
    recentAt = (recentAt + 1) % RECENT_DECISIONS
    return decision
  }

  // The request pipeline (gateway/pipeline.ts), composed once: each concern in its interceptor.
  const tier = createTier({
    config,
    clock,
    runtimes,
    admits,
    intensity: deps.intensity,
    registry: metrics.registry,
    ...(deps.budgetPressure === undefined ? {} : { budgetPressure: deps.budgetPressure }),
  })
  const savings: SavingsSource[] = []
  if (tier !== undefined) savings.push(tier)
  const leverSavings = createLeverSavings(liveLevers, metrics.registry)
  if (leverSavings !== undefined) savings.push(leverSavings)
  savings.push(timeShiftSavings)
  const accounting = createAccounting({
    intensity: deps.intensity,
    metrics,
    ledger: deps.ledger,
    logger: deps.logger,
    clock,
    network: config.network,
    savings,
  })
  const interceptors: Interceptor[] = [accounting]
  if (tier !== undefined) interceptors.push(tier)
  interceptors.push(
    createRetry({
      onRetry: (backend, reason) => metrics.retries.inc({ backend, reason }),
      logger: deps.logger,
    }),
    createAdmission({
      decide,
      backendAt: (j) => runtimes[j] as BackendRuntime,
      queueOf: (service) => queues.get(service)!,
      onOverloaded: (service) => metrics.rejected.inc({ service, reason: 'overloaded' }),
      logger: deps.logger,
      slotsShared: cluster !== undefined,
    }),
    createLease({
      clock,
      ...(cluster === undefined ? {} : { cluster }),
      onInflight: setInflight,
      wake: () => wakeQueues(false),
      // The prompt blocks the backend's prefix cache holds are not prefilled again.
      ...(liveLevers.routing.length === 0
        ? {}
        : { prefillTokens: (ex) => liveLevers.prefillTokens(ex.levers, ex.input.inputTokens) }),
    }),
    createBreaker({ feed: feedBreaker }),
  )
  const pipeline = composePipeline(interceptors, createUpstreamTerminal())

  // Not an async function: one `then` instead of an async frame and its await (≈ 390 B each).
  function dispatch(input: DispatchInput): Promise<Dispatched> {
    const ex = new Exchange(input)
    return pipeline.dispatch(ex).then(() => ex)
  }

  function finish(d: Dispatched, input: FinishInput): Accounting {
    const ex = exchangeOf(d)
    pipeline.finish(ex, input)
    return ex.accounting as Accounting
  }

  function finishShared(d: Dispatched, parts: readonly SharedPart[]): Accounting[] {
    const ex = exchangeOf(d)
    ex.parts = parts
    // The call completed when any part did (the breaker's success); the accounting reads the parts.
    const completed = parts.some((p) => p.input.completed)
    const first = parts[0]?.input ?? NO_PARTS
    pipeline.finish(ex, first.completed === completed ? first : { ...first, completed })
    return ex.accountings ?? []
  }

  return {
    backends,
    config,
    inflight: () => [...backends.values()].reduce((n, rt) => n + rt.tracker.inflight, 0),
    dispatch,
    finish,
    finishShared,
    recordCacheHit: (input) => accounting.recordCacheHit(input),
    occupancyTarget(backendId) {
      const j = runtimes.findIndex((rt) => rt.config.id === backendId)
      return j < 0 ? undefined : liveLevers.target(j)
    },
    recentDecisions(limit) {
      const n = Math.min(recent.length, Math.max(0, limit))
      const out: RecentDecision[] = []
      // Newest first: the slot before `recentAt`, walking back around the ring.
      for (let i = 1; i <= n; i++) {
        const e = recent[(recentAt - i + RECENT_DECISIONS) % RECENT_DECISIONS] as RecentDecision
        out.push({ ...e })
      }
      return out
    },
    async syncLoad() {
      if (cluster === undefined) return
      const wasUp = cluster.up
      const ok = await cluster.sync()
      for (const rt of backends.values()) shareClusterOccupancy(rt)
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
        const slices = rt.tracker.takeIdle(t)
        if (deps.recordsIdle?.() === false) continue
        for (const slice of slices) {
          const facility = slice.energyJ * rt.config.pue
          const carbonG = carbonOfItEnergy(slice.energyJ, rt.config.pue, intensity.intensity)
          metrics.idleEnergy.inc({ ...where, method: slice.method }, slice.energyJ)
          appendSafely(deps, {
            kind: 'idle',
            backend: rt.config.id,
            zone: rt.config.zone,
            from_ms: slice.fromMs,
            to_ms: slice.toMs,
            energy_j: slice.energyJ,
            facility_energy_j: facility,
            carbon_g: carbonG,
            method: slice.method,
            source: idleSource(rt, slice.method),
          })
        }
      }
    },
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** The scratch router request's `exclude` between decisions. */
const NO_EXCLUDED: readonly string[] = Object.freeze([])

/** The exchange behind a `Dispatched` (only this module's `dispatch` makes them). */
function exchangeOf(d: Dispatched): Exchange {
  if (!(d instanceof Exchange)) throw new TypeError('not a request this gateway dispatched')
  return d
}

/** The end of a shared call that served no part (nothing completed). */
const NO_PARTS: FinishInput = Object.freeze({
  status: 499,
  inputTokens: 0,
  outputTokens: 0,
  ttftMs: null,
  streamed: false,
  endpoint: '',
  requestId: '',
  tenant: null,
  arrivedMs: 0,
  errorCode: null,
  completed: false,
})

function idleSource(rt: BackendRuntime, method: 'measured' | 'modelled'): string {
  if (method === 'measured') return rt.meterSource
  const model = 'modelled idle power of the backend hardware (largest replica of its profiles)'
  return rt.meterSource === '' ? model : `${rt.meterSource} stale or not reading, ${model}`
}
