/**
 * @module sim/replay
 * Runs each routing policy over the same trace, fleet, intensity and seed, and the oracle, and
 * gathers what the report shows. Policies are the gateway's own (`createPolicy` from core), run
 * unchanged through the engine's policy chooser; nothing here decides where a request goes.
 *
 * Request → service and client region: taken from the trace when it names them (generic JSONL),
 * otherwise drawn once per request with a seeded generator by the fleet's shares, so every policy
 * sees exactly the same requests from the same places.
 */
import {
  budgetTarget,
  createPolicy,
  metricValue,
  createPolicyChooser,
  latencyQuantiles,
  memoizeProfile,
  ROUTING_POLICIES,
  seededRandom,
  simulateReplay,
  facilityTotals,
  JOULES_PER_KWH,
  WattlineError,
  type BudgetMetricName,
  type ChooseBackend,
  type IntensityLookup,
  type RoutingLever,
  type RoutingPolicyName,
  type SimulationResult,
} from '@wattline/core'
import { servesModel, type Fleet } from './load-fleet.ts'
import type { IntensitySteps } from './intensity-steps.ts'
import { createPlanChooser, solveOracle, type OracleResult } from './oracle.ts'
import {
  runLeverStages,
  type LeverSavings,
  type LeverSettings,
  type LeverStage,
  type StageRequests,
} from './replay-levers.ts'
import type { LoadedTrace } from './trace-reader.ts'
import {
  checkTierFleet,
  planTiers,
  routingServices,
  tierOutcome,
  type TierOutcome,
  type TierPlan,
  type TierSettings,
} from './replay-tiers.ts'
import { networkOutcome, type NetworkOutcome, type NetworkRequests } from './replay-network.ts'
import { placementOutcomes, type PlacementOutcome } from './replay-placement.ts'

/**
 * Names `--policies` accepts: the gateway's policies, `do-nothing` (round-robin with no lever, the
 * baseline savings are stated against) and the oracle.
 */
export const REPLAY_POLICIES = [...ROUTING_POLICIES, 'do-nothing', 'oracle'] as const
export type ReplayPolicyName = (typeof REPLAY_POLICIES)[number]

export interface ReplayOptions {
  readonly policies: readonly ReplayPolicyName[]
  readonly seed: number
  /** Width of the report's time series bins, ms; default: about 48 bins over the trace. */
  readonly binMs?: number
  /** Oracle bucket width, ms (default 5 min). */
  readonly oracleBucketMs?: number
  readonly onProgress?: (policy: string, done: number, total: number) => void
  /** In-region energy levers applied to every policy but `do-nothing` and the oracle. */
  readonly levers?: LeverSettings
  /** Quality tiers (the fleet's services[].tiers) on every policy but `do-nothing` and the oracle. */
  readonly tiers?: TierSettings
}

/** One policy's figures. Energy is facility energy (IT × PUE); all figures are modelled. */
export interface PolicyOutcome {
  readonly name: string
  readonly requests: number
  readonly energyKwh: number
  readonly idleEnergyKwh: number
  readonly carbonKg: number
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number }
  readonly sloViolations: number
  /** Requests the policy rejected (everything full) that waited at the least-utilised backend. */
  readonly overflow: number
  /** Per zone: share of requests served and carbon. */
  readonly zones: readonly {
    readonly zone: string
    readonly requestShare: number
    readonly carbonKg: number
  }[]
  /** Carbon per bin per zone, g (for the charts). */
  readonly carbonSeries: readonly { readonly zone: string; readonly grams: readonly number[] }[]
  readonly requestSeries: readonly { readonly zone: string; readonly requests: readonly number[] }[]
  /** Latency at quantiles 0.01 … 1.00 (for the CDF chart). */
  readonly latencyCdf: readonly number[]
  /** Oracle only: the LP bound is the row's carbon; this is the carbon of replaying its plan. */
  readonly planCarbonKg?: number
  /** Per service with a budget: the budget metric under this policy against its target. */
  readonly budgets: readonly BudgetOutcome[]
  /** Energy by placement (cloud / edge): both sides of moving work to the edge. */
  readonly placements: readonly PlacementOutcome[]
  /** Network energy at the service boundary, apart from compute; absent when turned off. */
  readonly network?: NetworkOutcome
  /** With `--tiers`: the share of requests downgraded and the saving vs the requested models. */
  readonly tiers?: TierOutcome
  /** With `--levers`: each lever's measured saving, and the totals of each stage. */
  readonly levers?: {
    readonly savings: readonly LeverSavings[]
    readonly stages: readonly LeverStage[]
  }
}

/**
 * One service's budget under one policy. The value is modelled, from the requests the service
 * sent: IT energy attributed to them (idle excluded) or their carbon, as `wattline gate` computes
 * the metric from the ledger.
 */
export interface BudgetOutcome {
  readonly service: string
  readonly metric: BudgetMetricName
  readonly unit: string
  /** The metric's value; null when undefined (no requests / no output tokens). */
  readonly value: number | null
  readonly target: number
  /** Target × (1 + variance): the highest accepted value. */
  readonly limit: number
  /** True when the value is at or below the limit. */
  readonly within: boolean | null
}

export interface ReplayReport {
  readonly fleet: string
  readonly trace: {
    readonly file: string
    readonly format: string
    readonly requests: number
    readonly skipped: number
  }
  readonly seed: number
  readonly start: string
  readonly end: string
  readonly intensitySource: string
  readonly binMs: number
  readonly binStart: number
  readonly policies: readonly PolicyOutcome[]
  readonly oracle?: {
    readonly status: OracleResult['status']
    readonly reason?: string
    readonly variables: number
    readonly constraints: number
    readonly bucketMs: number
  }
}

/** Assigns services and client regions, then replays every requested policy. */
export async function runReplay(
  trace: LoadedTrace,
  fleet: Fleet,
  intensity: IntensitySteps,
  intensitySource: string,
  options: ReplayOptions,
): Promise<ReplayReport> {
  if (trace.count === 0)
    throw new WattlineError('WL_INVALID_INPUT', `${trace.file} has no requests`)
  if (options.tiers !== undefined) checkTierFleet(fleet)
  const service = assign(
    trace.service,
    trace.serviceNames,
    fleet.services.map((s) => s.name),
    fleet.services.map((s) => s.share),
    options.seed,
    'service',
    trace.file,
  )
  const client = assign(
    trace.client,
    trace.clientNames,
    fleet.clients.map((c) => c.region),
    fleet.clients.map((c) => c.share),
    options.seed + 1,
    'client',
    trace.file,
  )
  const requests: StageRequests = {
    count: trace.count,
    arrival: trace.arrival,
    inputTokens: trace.inputTokens,
    outputTokens: trace.outputTokens,
    client,
    service,
    prefixBlocks: trace.prefixBlocks,
  }
  const first = trace.arrival[0] as number
  const last = trace.arrival[trace.count - 1] as number
  const binMs = options.binMs ?? niceBin((last - first) / 48)
  const profiles = fleet.backends.map((b) => memoizeProfile(b.profile))
  const engineBackends = fleet.backends.map((b, j) => ({
    id: b.id,
    zone: b.zone,
    replicas: b.replicas,
    maxConcurrency: b.maxConcurrency,
    pue: b.pue,
    profile: profiles[j] as (typeof profiles)[number],
  }))
  // Services name models by id or alias; a backend serves a service when either matches.
  const modelsOf = fleet.backends.map((b) => {
    const names = new Set([...b.models, b.profile.model])
    for (const s of fleet.services) if (servesModel(b, s.model)) names.add(s.model)
    // Lighter quality tiers are routed by their own model name (replay-tiers.ts).
    for (const r of routingServices(fleet)) if (servesModel(b, r.model)) names.add(r.model)
    return [...names]
  })
  // Routing predictions per name: the profile of the model a name stands for (memoized).
  const routingProfiles = fleet.backends.map((b, j) => {
    const memo = new Map<object, ReturnType<typeof memoizeProfile>>([[b.profile, profiles[j]!]])
    const forName = (name: string) => {
      const key = b.models.find((m) => m.toLowerCase() === name.toLowerCase())
      const p = (key === undefined ? undefined : b.profiles.get(key)) ?? b.profile
      let m = memo.get(p)
      if (m === undefined) memo.set(p, (m = memoizeProfile(p)))
      return m
    }
    return new Map(modelsOf[j]!.map((name) => [name, forName(name)] as const))
  })
  const services = fleet.services.map((s) => ({
    name: s.name,
    model: s.model,
    ...(s.sloMs === undefined ? {} : { sloMs: s.sloMs }),
    ...(s.expectedOutputTokens === undefined
      ? {}
      : { expectedOutputTokens: s.expectedOutputTokens }),
    ...(s.backends === undefined ? {} : { backends: s.backends }),
  }))
  const simulate = (
    name: string,
    choose: ChooseBackend,
    stage: StageRequests = requests,
  ): SimulationResult =>
    simulateReplay({
      requests: stage,
      backends: engineBackends,
      networkRttMs: fleet.networkRttMs,
      choose,
      intensity: intensity.lookup,
      binMs,
      ...(options.onProgress === undefined
        ? {}
        : { onProgress: (done: number, total: number) => options.onProgress?.(name, done, total) }),
    })

  const outcomes: PolicyOutcome[] = []
  let oracle: ReplayReport['oracle']
  let end = last
  for (const name of options.policies) {
    if (name === 'oracle') {
      const bucketMs = options.oracleBucketMs ?? 5 * 60_000
      const result = await solveOracle({
        backends: fleet.backends.map((b, j) => ({ ...engineBackends[j]!, models: modelsOf[j]! })),
        services,
        clients: fleet.clients.length,
        networkRttMs: fleet.networkRttMs,
        requests,
        intensity: intensity.lookup,
        bucketMs,
      })
      oracle = {
        status: result.status,
        ...(result.reason === undefined ? {} : { reason: result.reason }),
        variables: result.variables,
        constraints: result.constraints,
        bucketMs,
      }
      if (result.status !== 'optimal') continue
      const sim = simulate(name, createPlanChooser(result, fleet.backends.length))
      end = Math.max(end, sim.end)
      const base = summarise(name, sim, fleet, requests.service, trace.outputTokens, 0, {
        stage: requests,
        intensity: intensity.lookup,
      })
      outcomes.push({
        ...base,
        energyKwh: result.energyJ / JOULES_PER_KWH,
        idleEnergyKwh: result.idleEnergyJ / JOULES_PER_KWH,
        carbonKg: result.carbonG / 1000,
        planCarbonKg: base.carbonKg,
      })
      continue
    }
    // Each service runs the policy with its own settings (carbon tolerance), as in the gateway.
    const policyName = (name === 'do-nothing' ? 'round-robin' : name) as RoutingPolicyName
    const policyFor = (tolerancePct: number) =>
      createPolicy(policyName, { carbonAware: { tolerance: tolerancePct / 100 } })
    const runStage = (
      stage: StageRequests,
      levers: readonly RoutingLever[],
      wrap: (c: ChooseBackend) => ChooseBackend,
    ) => {
      const chooser = createPolicyChooser({
        policy: policyFor(fleet.services[0]?.carbonTolerancePct ?? 5),
        backends: fleet.backends.map((b, j) => ({
          id: b.id,
          zone: b.zone,
          models: modelsOf[j]!,
          pue: b.pue,
          weight: b.weight,
          maxConcurrency: b.replicas * b.maxConcurrency,
          profile: profiles[j]!,
          profiles: routingProfiles[j]!,
        })),
        // The fleet's services, then one per lighter quality tier (its parent's settings).
        services: routingServices(fleet).map((r) => ({
          ...services[r.parent]!,
          model: r.model,
          policy: policyFor(fleet.services[r.parent]!.carbonTolerancePct),
        })),
        clients: fleet.clients.length,
        networkRttMs: fleet.networkRttMs,
        requests: stage,
        random: seededRandom(options.seed),
        intensitySource,
        ...(levers.length === 0 ? {} : { levers }),
      })
      const sim = simulate(name, wrap(chooser.choose), stage)
      return { sim, overflow: chooser.overflow(), requests: stage }
    }
    const levers = name === 'do-nothing' ? undefined : options.levers
    const tiers = name === 'do-nothing' ? undefined : options.tiers
    if (levers === undefined || levers.levers.length === 0) {
      let r = runStage(requests, [], (c) => c)
      let tiered: TierOutcome | undefined
      if (tiers !== undefined) {
        // Replayed again with each request served by the tier `chooseTier` picks (replay-tiers.ts).
        const plan = planTiers({
          fleet,
          requests,
          intensity: intensity.lookup,
          baseline: r.sim,
          settings: tiers,
          seed: options.seed,
        })
        const withTiers = runStage(plan.requests, [], (c) => c)
        tiered = tierOutcome({
          fleet,
          plan,
          without: r.sim,
          withTiers: facilityTotals(withTiers.sim.backends, (j) => fleet.backends[j]?.pue ?? 1),
          service: requests.service,
        })
        r = withTiers
      }
      end = Math.max(end, r.sim.end)
      const outcome = summarise(
        name,
        r.sim,
        fleet,
        requests.service,
        trace.outputTokens,
        r.overflow,
        { stage: requests, intensity: intensity.lookup },
      )
      outcomes.push(tiered === undefined ? outcome : { ...outcome, tiers: tiered })
      continue
    }
    // With tiers too: the tier plan first (against the policy without tiers or levers), then the
    // levers' stages over the tiered requests; the tier saving is the levers' first stage (tiers,
    // no lever) against the run without tiers.
    const parentOf = routingServices(fleet).map((r) => r.parent)
    let tierPlan: TierPlan | undefined
    let withoutTiers: SimulationResult | undefined
    if (tiers !== undefined) {
      withoutTiers = runStage(requests, [], (c) => c).sim
      tierPlan = planTiers({
        fleet,
        requests,
        intensity: intensity.lookup,
        baseline: withoutTiers,
        settings: tiers,
        seed: options.seed,
      })
    }
    const staged = runLeverStages(
      tierPlan?.requests ?? requests,
      {
        backendIds: fleet.backends.map((b) => b.id),
        zones: fleet.backends.map((b) => b.zone),
        replicas: fleet.backends.map((b) => b.replicas),
        slots: fleet.backends.map((b) => b.maxConcurrency),
        pue: fleet.backends.map((b) => b.pue),
        profiles,
        sloMs: fleet.backends.map((b, j) => {
          let slo: number | undefined
          // A lighter tier's backends keep its service's objective.
          for (const r of routingServices(fleet)) {
            const s = fleet.services[r.parent]!
            if (!modelsOf[j]!.includes(r.model) || s.sloMs === undefined) continue
            slo = Math.min(slo ?? Number.POSITIVE_INFINITY, s.sloMs)
          }
          return slo
        }),
      },
      levers,
      runStage,
      (k) => fleet.services[parentOf[k] ?? k]?.sloMs,
    )
    const f = staged.final
    end = Math.max(end, f.sim.end)
    // Requests routed as a lighter tier count for their own service.
    const fleetService =
      tierPlan === undefined
        ? f.requests.service
        : Int32Array.from(f.requests.service, (k) => parentOf[k] ?? k)
    const first = staged.stages[0]
    outcomes.push({
      ...summarise(name, f.sim, fleet, fleetService, f.requests.outputTokens, f.overflow, {
        stage: f.requests,
        intensity: intensity.lookup,
      }),
      requests: trace.count,
      levers: { savings: staged.savings, stages: staged.stages },
      ...(tierPlan === undefined || withoutTiers === undefined || first === undefined
        ? {}
        : {
            tiers: tierOutcome({
              fleet,
              plan: tierPlan,
              without: withoutTiers,
              withTiers: first,
              service: requests.service,
            }),
          }),
    })
  }
  return {
    fleet: fleet.name,
    trace: {
      file: trace.file,
      format: trace.format,
      requests: trace.count,
      skipped: trace.skipped,
    },
    seed: options.seed,
    start: new Date(first).toISOString(),
    end: new Date(end).toISOString(),
    intensitySource,
    binMs,
    binStart: first,
    policies: outcomes,
    ...(oracle === undefined ? {} : { oracle }),
  }
}

function summarise(
  name: string,
  sim: SimulationResult,
  fleet: Fleet,
  service: Int32Array,
  outputTokens: ArrayLike<number>,
  overflow: number,
  boundary: { readonly stage: NetworkRequests; readonly intensity: IntensityLookup },
): PolicyOutcome {
  const n = sim.latencyMs.length
  const facility = facilityTotals(sim.backends, (j) => fleet.backends[j]!.pue)
  let violations = 0
  for (let i = 0; i < n; i++) {
    const slo = fleet.services[service[i] as number]?.sloMs
    if (slo !== undefined && (sim.latencyMs[i] as number) > slo) violations++
  }
  const [p50, p95, p99] = latencyQuantiles(sim.latencyMs, [0.5, 0.95, 0.99]) as [
    number,
    number,
    number,
  ]
  const cdfQs = Array.from({ length: 100 }, (_, i) => (i + 1) / 100)
  const zones = [...new Set(fleet.backends.map((b) => b.zone))]
  const byZone = zones.map((zone) => {
    let requests = 0
    let carbon = 0
    const bins = sim.backends[0]!.carbonByBin.length
    const grams = new Array<number>(bins).fill(0)
    const reqs = new Array<number>(bins).fill(0)
    sim.backends.forEach((b) => {
      if (b.zone !== zone) return
      requests += b.requests
      carbon += b.carbonG
      for (let k = 0; k < bins; k++) {
        grams[k] = (grams[k] as number) + (b.carbonByBin[k] ?? 0)
        reqs[k] = (reqs[k] as number) + (b.requestsByBin[k] ?? 0)
      }
    })
    return { zone, requests, carbon, grams, reqs }
  })
  return {
    name,
    requests: n,
    energyKwh: facility.energyJ / JOULES_PER_KWH,
    idleEnergyKwh: facility.idleEnergyJ / JOULES_PER_KWH,
    carbonKg: facility.carbonG / 1000,
    latencyMs: { p50, p95, p99 },
    sloViolations: violations,
    overflow,
    zones: byZone.map((z) => ({
      zone: z.zone,
      requestShare: z.requests / Math.max(1, n),
      carbonKg: z.carbon / 1000,
    })),
    carbonSeries: byZone.map((z) => ({ zone: z.zone, grams: z.grams })),
    requestSeries: byZone.map((z) => ({ zone: z.zone, requests: z.reqs })),
    latencyCdf: latencyQuantiles(sim.latencyMs, cdfQs),
    budgets: budgetsOf(sim, fleet, service, outputTokens),
    placements: placementOutcomes(sim, fleet),
    ...optionalNetwork(networkOutcome(sim, fleet, boundary.stage, boundary.intensity)),
  }
}

function optionalNetwork(n: NetworkOutcome | undefined): { network?: NetworkOutcome } {
  return n === undefined ? {} : { network: n }
}

/** Each budgeted service's metric over the requests it sent in this replay. */
function budgetsOf(
  sim: SimulationResult,
  fleet: Fleet,
  service: Int32Array,
  outputTokens: ArrayLike<number>,
): BudgetOutcome[] {
  const out: BudgetOutcome[] = []
  fleet.services.forEach((s, k) => {
    if (s.budget === undefined) return
    let requests = 0
    let tokens = 0
    let energyJ = 0
    let carbonG = 0
    for (let i = 0; i < service.length; i++) {
      if (service[i] !== k) continue
      requests++
      tokens += outputTokens[i] as number
      energyJ += sim.energyJ[i] as number
      carbonG += sim.carbonG[i] as number
    }
    const t = budgetTarget(s.budget)
    const value = metricValue(s.budget.metric, {
      requests,
      output_tokens: tokens,
      energy_j: energyJ,
      carbon_g: carbonG,
    })
    out.push({
      service: s.name,
      metric: t.metric,
      unit: t.unit,
      value,
      target: t.target,
      limit: t.limit,
      within: value === null ? null : value <= t.limit,
    })
  })
  return out
}

/** Per request: the fleet index named by the trace, or a seeded draw by share. */
function assign(
  fromTrace: Int32Array,
  traceNames: readonly string[],
  fleetNames: readonly string[],
  shares: readonly number[],
  seed: number,
  what: 'service' | 'client',
  file: string,
): Int32Array {
  const map = traceNames.map((name) => {
    const i = fleetNames.indexOf(name)
    if (i < 0) {
      throw new WattlineError(
        'WL_INVALID_INPUT',
        `${file} names ${what} "${name}", which the fleet lacks (fleet ${what}s: ${fleetNames.join(', ')})`,
        { details: { file, field: what } },
      )
    }
    return i
  })
  const random = seededRandom(seed)
  const cumulative: number[] = []
  let acc = 0
  for (const s of shares) cumulative.push((acc += s))
  const out = new Int32Array(fromTrace.length)
  for (let i = 0; i < fromTrace.length; i++) {
    const named = fromTrace[i] as number
    const u = random.next() * acc
    if (named >= 0) {
      out[i] = map[named] as number
      continue
    }
    let k = 0
    while (k < cumulative.length - 1 && u >= (cumulative[k] as number)) k++
    out[i] = k
  }
  return out
}

/** A round bin width near `target` ms: 1, 2, 5, 10, 15, 30 min or whole hours. */
function niceBin(target: number): number {
  const steps = [
    60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000,
    86_400_000,
  ]
  return steps.find((s) => s >= target) ?? 86_400_000
}
