/**
 * @module engine/policy-chooser
 * The replay's shell around the router (`engine/router.ts`, the same decision engine the gateway
 * calls): for each arrival it fills a `LoadSnapshot` from the simulation (in-flight counts, the
 * zone's intensity now, the network RTT from the request's client region, every backend healthy,
 * no measured overhead) at virtual time, asks the router, and maps the decision to a backend index.
 *
 * Snapshot, intensity-point and request objects are created once and updated in place per request,
 * so the adapter allocates nothing per decision (the policy may).
 *
 * A request the router refuses (every backend full, or none eligible) waits at the backend the
 * router names for the service queue (the least utilised one that serves the model). These are
 * counted as overflow.
 */
import type { IntensityPoint, Signal } from '../carbon/intensity.ts'
import type { EnergyProfile } from '../energy/profile.ts'
import { WattlineError } from '../errors.ts'
import type { Random } from '../ports/random.ts'
import type { RoutingPolicy } from '../routing/policy.ts'
import { gramsPerKwh, instant } from '../units/quantity.ts'
import {
  createRouter,
  type LoadSnapshot,
  type RouterDecision,
  type RouterRequest,
  type RoutingLever,
} from './router.ts'
import type { ChooseBackend, EngineView } from './simulate-replay.ts'

/** A backend as policies see it in a replay. */
export interface ChooserBackend {
  readonly id: string
  readonly zone: string
  readonly models: readonly string[]
  readonly pue: number
  /** Total concurrency limit (replicas × slots per replica). */
  readonly maxConcurrency: number
  readonly profile: EnergyProfile
  /** Profile per model name for routing predictions; default `profile` for every name. */
  readonly profiles?: ReadonlyMap<string, EnergyProfile>
  readonly weight?: number
}

/** A service: the model its requests ask for and its latency objective. */
export interface ChooserService {
  /** Service name (decisions and errors); default `service-<index>`. */
  readonly name?: string
  /** This service's policy (e.g. carbon-aware with its own tolerance); default the input's. */
  readonly policy?: RoutingPolicy
  /** Ids of the backends the service may use; undefined = all. */
  readonly backends?: readonly string[]
  readonly model: string
  /** End-to-end latency objective, ms (the p95 target); undefined = none. */
  readonly sloMs?: number
  /** Output tokens the policy is told to expect; undefined = the request's true output length. */
  readonly expectedOutputTokens?: number
}

export interface PolicyChooserInput {
  readonly policy: RoutingPolicy
  readonly backends: readonly ChooserBackend[]
  readonly services: readonly ChooserService[]
  /** Number of client regions. */
  readonly clients: number
  /** Client regions × backends, row-major, ms. */
  readonly networkRttMs: ArrayLike<number>
  readonly requests: {
    readonly inputTokens: ArrayLike<number>
    readonly outputTokens: ArrayLike<number>
    readonly client: ArrayLike<number>
    readonly service: ArrayLike<number>
  }
  /** Draws for weighted policies (seeded in replays). */
  readonly random: Random
  readonly signal?: Signal
  /** Label for the intensity points policies see. */
  readonly intensitySource?: string
  /** Routing levers (issue 11), run by the router after the policy. */
  readonly levers?: readonly RoutingLever[]
}

/** The chooser plus counters the report shows. */
export interface PolicyChooser {
  readonly choose: ChooseBackend
  /** Requests the policy rejected (all full) that waited at the least-utilised backend. */
  overflow(): number
  /** The router's latest decision (valid until the next `choose`); undefined before the first. */
  last(): RouterDecision | undefined
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** Adapts `policy` to the engine's chooser interface; every decision is the router's. */
export function createPolicyChooser(input: PolicyChooserInput): PolicyChooser {
  const { backends, services, requests } = input
  const nb = backends.length
  const router = createRouter({
    backends: backends.map((b) => ({
      id: b.id,
      zone: b.zone,
      models: b.models,
      maxConcurrency: b.maxConcurrency,
      weight: b.weight ?? 1,
      pue: b.pue,
      profiles: b.profiles ?? new Map(b.models.map((m) => [m, b.profile] as const)),
    })),
    services: services.map((s, i) => ({
      name: s.name ?? `service-${i}`,
      policy: s.policy ?? input.policy,
      ...(s.sloMs === undefined ? {} : { sloP95Ms: s.sloMs }),
      ...(s.backends === undefined ? {} : { backends: s.backends }),
    })),
    random: input.random,
    ...(input.levers === undefined ? {} : { levers: input.levers }),
  })
  const points: Mutable<IntensityPoint>[] = backends.map((b) => ({
    zone: b.zone,
    at: instant(0),
    intensity: gramsPerKwh(0),
    signal: input.signal ?? 'average',
    source: input.intensitySource ?? 'replay',
    forecast: false,
    stale: false,
  }))
  const healthy: readonly boolean[] = backends.map(() => true)
  const overheadMs = new Float64Array(nb).fill(Number.NaN)
  const rtt = Float64Array.from({ length: input.clients * nb }, (_, k) => {
    const v = input.networkRttMs[k]
    return v === undefined ? Number.NaN : v
  })
  // One load snapshot per client region: only the network round trip differs between them.
  const loads: Mutable<LoadSnapshot>[] = []
  for (let c = 0; c < input.clients; c++) {
    loads.push({
      now: 0,
      inflight: new Int32Array(nb),
      healthy,
      intensity: points,
      networkRttMs: rtt.subarray(c * nb, (c + 1) * nb),
      overheadMs,
    })
  }
  const request: Mutable<RouterRequest> = {
    service: 0,
    model: '',
    inputTokens: 0,
    outputTokens: 0,
    exclude: [],
  }
  let overflow = 0
  let lastDecision: RouterDecision | undefined

  function choose(id: number, view: EngineView): number {
    const c = requests.client[id] as number
    const s = requests.service[id] as number
    const service = services[s]
    const load = loads[c]
    if (service === undefined || load === undefined) {
      throw new WattlineError('WL_INTERNAL', `request ${id}: unknown service ${s} or client ${c}`)
    }
    const now = instant(view.now)
    load.now = now
    load.inflight = view.inflight
    for (let j = 0; j < nb; j++) {
      const p = points[j] as Mutable<IntensityPoint>
      p.at = now
      p.intensity = gramsPerKwh(view.intensity[j] as number)
    }
    request.service = s
    request.model = service.model
    request.inputTokens = requests.inputTokens[id] as number
    request.outputTokens = service.expectedOutputTokens ?? (requests.outputTokens[id] as number)
    const decision = router.decide(request, load)
    lastDecision = decision
    if (decision.kind === 'route') return decision.backend
    // Refused (every backend full, or none eligible): the request waits at the least-utilised
    // backend that serves the model, as in the gateway's service queue.
    if (decision.queueAt < 0) {
      throw new WattlineError('WL_NO_BACKEND', `no backend serves model ${service.model}`)
    }
    overflow++
    return decision.queueAt
  }

  return { choose, overflow: () => overflow, last: () => lastDecision }
}
