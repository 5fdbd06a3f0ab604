/**
 * @module engine/policy-chooser
 * Runs a gateway routing policy (unchanged) inside the replay engine: for each arrival it fills a
 * `RoutingSnapshot` as the gateway would (in-flight counts, concurrency limits, the zone's intensity
 * now, the network RTT from the request's client region) and maps the decision to a backend index.
 *
 * Snapshot, backend-state and request objects are created once and updated in place per request, so
 * the adapter itself allocates nothing per decision (the policy may).
 *
 * A policy that rejects (every backend full) is answered as the gateway's bounded service queue
 * would: the request waits at the backend serving the model with the lowest utilisation. These are
 * counted as overflow.
 */
import type { IntensityPoint, Signal } from '../carbon/intensity.ts'
import type { EnergyProfile } from '../energy/profile.ts'
import { WattlineError } from '../errors.ts'
import type { Random } from '../ports/random.ts'
import type {
  BackendState,
  RoutingPolicy,
  RoutingRequest,
  RoutingSnapshot,
} from '../routing/policy.ts'
import { gramsPerKwh, instant, ms } from '../units/quantity.ts'
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
  readonly weight?: number
}

/** A service: the model its requests ask for and its latency objective. */
export interface ChooserService {
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
}

/** The chooser plus counters the report shows. */
export interface PolicyChooser {
  readonly choose: ChooseBackend
  /** Requests the policy rejected (all full) that waited at the least-utilised backend. */
  overflow(): number
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** Adapts `policy` to the engine's chooser interface. */
export function createPolicyChooser(input: PolicyChooserInput): PolicyChooser {
  const { backends, services, requests, random } = input
  const nb = backends.length
  const indexOf = new Map<string, number>()
  backends.forEach((b, j) => indexOf.set(b.id, j))
  const points: Mutable<IntensityPoint>[] = backends.map((b) => ({
    zone: b.zone,
    at: instant(0),
    intensity: gramsPerKwh(0),
    signal: input.signal ?? 'average',
    source: input.intensitySource ?? 'replay',
    forecast: false,
    stale: false,
  }))
  // One snapshot per client region: only the network RTT differs between them.
  const snapshots: { snapshot: Mutable<RoutingSnapshot>; states: Mutable<BackendState>[] }[] = []
  for (let c = 0; c < input.clients; c++) {
    const states: Mutable<BackendState>[] = backends.map((b, j) => ({
      id: b.id,
      zone: b.zone,
      models: b.models,
      healthy: true,
      inflight: 0,
      maxConcurrency: b.maxConcurrency,
      weight: b.weight ?? 1,
      pue: b.pue,
      profile: b.profile,
      intensity: points[j] as IntensityPoint,
      networkRtt: ms(input.networkRttMs[c * nb + j] as number),
    }))
    snapshots.push({ snapshot: { now: instant(0), backends: states }, states })
  }
  const none: readonly string[] = []
  // One request object per shape (with or without `sloP95`, with or without `sticky`), filled in
  // place: an absent field stays absent, as in a request the gateway builds, without `delete` (which
  // would turn the object into a slow dictionary-mode object on the first call).
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
  const sticky: (string | undefined)[] = services.map(() => undefined)
  let sequence = 0
  let overflow = 0

  function choose(id: number, view: EngineView): number {
    const c = requests.client[id] as number
    const s = requests.service[id] as number
    const service = services[s]
    const entry = snapshots[c]
    if (service === undefined || entry === undefined) {
      throw new WattlineError('WL_INTERNAL', `request ${id}: unknown service ${s} or client ${c}`)
    }
    const now = instant(view.now)
    entry.snapshot.now = now
    for (let j = 0; j < nb; j++) {
      ;(entry.states[j] as Mutable<BackendState>).inflight = view.inflight[j] as number
      const p = points[j] as Mutable<IntensityPoint>
      p.at = now
      p.intensity = gramsPerKwh(view.intensity[j] as number)
    }
    const previous = sticky[s]
    const slo = service.sloMs
    const request = shapes[(slo === undefined ? 0 : 2) + (previous === undefined ? 0 : 1)]!
    request.model = service.model
    request.inputTokens = requests.inputTokens[id] as number
    request.outputTokens = service.expectedOutputTokens ?? (requests.outputTokens[id] as number)
    if (slo !== undefined) request.sloP95 = ms(slo)
    request.sequence = sequence++
    request.draw = random.next()
    if (previous !== undefined) request.sticky = previous
    const decision = input.policy(entry.snapshot, request)
    if (decision.kind === 'route') {
      const j = indexOf.get(decision.backend)
      if (j === undefined) {
        throw new WattlineError('WL_INTERNAL', `policy chose unknown backend ${decision.backend}`)
      }
      sticky[s] = decision.backend
      return j
    }
    // Rejected: wait at the least-utilised backend that serves the model.
    let best = -1
    let bestLoad = Number.POSITIVE_INFINITY
    for (let j = 0; j < nb; j++) {
      const b = backends[j] as ChooserBackend
      if (!b.models.includes(service.model)) continue
      const load = (view.inflight[j] as number) / Math.max(1, b.maxConcurrency)
      if (load < bestLoad) {
        best = j
        bestLoad = load
      }
    }
    if (best < 0) {
      throw new WattlineError('WL_NO_BACKEND', `no backend serves model ${service.model}`)
    }
    overflow++
    return best
  }

  return { choose, overflow: () => overflow }
}
