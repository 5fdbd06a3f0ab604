/**
 * @module sim/replay-levers
 * The in-region energy levers in a replay (`wattline replay --levers cache,prefix,occupancy`), with
 * the same lever code the router runs in the gateway (core/levers, through the router's levers
 * hook): an exact-match response cache, prefix-affinity routing and occupancy shaping.
 *
 * Each lever's contribution is measured, not assumed: a policy is replayed once without levers and
 * once more per lever, adding them in order, and a lever's saving is the drop in (facility) energy
 * and carbon its stage brings (`replay-counterfactual`). Cache hits are answered by the gateway and
 * never reach a backend; prefix hits shorten the prompt the chosen backend prefills, by the 512-token
 * blocks it already holds; occupancy moves requests between backends of the chosen zone.
 *
 * Prompt identity comes from the trace's block hashes (Mooncake `hash_ids`). Azure traces have
 * none: there the cache and prefix levers cannot act, and the replay says so instead of guessing.
 */
import {
  createOccupancyLever,
  createPrefixAffinityLever,
  createPrefixCacheTable,
  exactCacheHits,
  JOULES_PER_KWH,
  facilityTotals,
  PREFIX_BLOCK_TOKENS,
  skippedPrefillTokens,
  targetOccupancy,
  WattlineError,
  type ChooseBackend,
  type EnergyProfile,
  type RoutingLever,
  type SimulationResult,
} from '@wattline/core'

export const REPLAY_LEVERS = ['cache', 'prefix', 'occupancy'] as const
export type ReplayLever = (typeof REPLAY_LEVERS)[number]

export interface LeverSettings {
  readonly levers: readonly ReplayLever[]
  /** Response cache time to live, ms. */
  readonly cacheTtlMs: number
  /** Requests of a key before its answer is stored (the gateway's `cache.min_uses`). */
  readonly cacheMinUses: number
  /** Prompt tokens one replica's prefix cache holds (its KV cache). */
  readonly prefixCacheTokens: number
  /** Prefix affinity may pick a zone this much dirtier than the policy's choice, %. */
  readonly maxCarbonPenaltyPct: number
}

/** Defaults, each documented in docs/replay.md with its basis. */
export const DEFAULT_LEVER_SETTINGS: Omit<LeverSettings, 'levers'> = {
  cacheTtlMs: 3_600_000,
  cacheMinUses: 1,
  prefixCacheTokens: 400_000,
  maxCarbonPenaltyPct: 20,
}

/** The requests a stage replays (columnar, arrival order). */
export interface StageRequests {
  readonly count: number
  readonly arrival: Float64Array
  readonly inputTokens: Float64Array
  readonly outputTokens: Float64Array
  readonly client: Int32Array
  readonly service: Int32Array
  readonly prefixBlocks: readonly (readonly number[] | undefined)[] | undefined
}

export interface LeverFleet {
  readonly backendIds: readonly string[]
  readonly zones: readonly string[]
  readonly replicas: readonly number[]
  /** Slots of one replica. */
  readonly slots: readonly number[]
  readonly pue: readonly number[]
  readonly profiles: readonly EnergyProfile[]
  /** Tightest latency objective of the services each backend serves, ms. */
  readonly sloMs: readonly (number | undefined)[]
}

export interface StageRun {
  readonly sim: SimulationResult
  readonly overflow: number
  readonly requests: StageRequests
}

export interface LeverStage {
  /** Levers active in this stage (cumulative). */
  readonly levers: readonly ReplayLever[]
  readonly energyJ: number
  readonly carbonG: number
  readonly sloViolations: number
  readonly cacheHits: number
  readonly prefillTokensSkipped: number
  readonly leverActions: number
}

export interface LeverSavings {
  readonly lever: ReplayLever
  /** Facility energy saved, kWh (IT × PUE). */
  readonly energySavedKwh: number
  readonly carbonSavedKg: number
  readonly basis: 'replay-counterfactual'
  /** What the lever did: cache hits, prefill tokens skipped, or requests moved. */
  readonly detail: string
}

/** Runs one stage's requests through the policy with `levers`, each choice wrapped by `wrap`. */
export type RunStage = (
  requests: StageRequests,
  levers: readonly RoutingLever[],
  wrap: (c: ChooseBackend) => ChooseBackend,
) => StageRun

/**
 * Runs `levers` in stages over `all` and returns the last stage's run (the policy with every lever)
 * plus each stage's totals and each lever's saving.
 */
export function runLeverStages(
  all: StageRequests,
  fleet: LeverFleet,
  settings: LeverSettings,
  run: RunStage,
  sloOfService: (service: number) => number | undefined,
): { final: StageRun; stages: LeverStage[]; savings: LeverSavings[] } {
  if (
    (settings.levers.includes('cache') || settings.levers.includes('prefix')) &&
    all.prefixBlocks === undefined
  ) {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      "the cache and prefix levers need the prompts' identity, which this trace lacks: use a trace with Mooncake-style hash_ids (Azure traces carry none), or --levers occupancy",
      { details: { field: '--levers' } },
    )
  }
  const stages: LeverStage[] = []
  let final: StageRun | undefined
  for (let k = 0; k <= settings.levers.length; k++) {
    const active = settings.levers.slice(0, k)
    const { run: r, stage } = runStage(all, fleet, settings, active, run, sloOfService)
    stages.push(stage)
    final = r
  }
  const savings: LeverSavings[] = settings.levers.map((lever, i) => {
    const before = stages[i] as LeverStage
    const after = stages[i + 1] as LeverStage
    const detail =
      lever === 'cache'
        ? `${after.cacheHits} cache hits`
        : lever === 'prefix'
          ? `${after.prefillTokensSkipped} prefill tokens skipped`
          : `${after.leverActions} requests consolidated`
    return {
      lever,
      energySavedKwh: (before.energyJ - after.energyJ) / JOULES_PER_KWH,
      carbonSavedKg: (before.carbonG - after.carbonG) / 1000,
      basis: 'replay-counterfactual',
      detail,
    }
  })
  return { final: final as StageRun, stages, savings }
}

function runStage(
  all: StageRequests,
  fleet: LeverFleet,
  settings: LeverSettings,
  active: readonly ReplayLever[],
  run: RunStage,
  sloOfService: (service: number) => number | undefined,
): { run: StageRun; stage: LeverStage } {
  // 1. The cache answers hits; the rest go to the backends.
  let requests = all
  let hits = 0
  if (active.includes('cache')) {
    const hit = exactCacheHits({
      ...all,
      prefixBlocks: all.prefixBlocks ?? [],
      ttlMs: settings.cacheTtlMs,
      minUses: settings.cacheMinUses,
    })
    const keep: number[] = []
    for (let i = 0; i < all.count; i++) if (hit[i] === 0) keep.push(i)
    hits = all.count - keep.length
    requests = subset(all, keep)
  }
  // 2. Routing levers, in the router.
  const levers: RoutingLever[] = []
  let current = -1
  const table = createPrefixCacheTable(
    fleet.replicas.map((r) => Math.floor((r * settings.prefixCacheTokens) / PREFIX_BLOCK_TOKENS)),
  )
  const blocks = requests.prefixBlocks
  if (active.includes('prefix')) {
    levers.push(
      createPrefixAffinityLever({
        table,
        backendIds: fleet.backendIds,
        blocksOf: () => (current < 0 ? undefined : blocks?.[current]),
        maxCarbonPenaltyPct: settings.maxCarbonPenaltyPct,
      }),
    )
  }
  let actions = 0
  if (active.includes('occupancy')) {
    let meanIn = 0
    let meanOut = 0
    for (let i = 0; i < requests.count; i++) {
      meanIn += requests.inputTokens[i] as number
      meanOut += requests.outputTokens[i] as number
    }
    meanIn /= Math.max(1, requests.count)
    meanOut /= Math.max(1, requests.count)
    levers.push(
      createOccupancyLever({
        backendIds: fleet.backendIds,
        // With prefix affinity on, a request whose prefix is cached where it is stays there.
        ...(active.includes('prefix')
          ? {
              pinned: (j: number) => {
                const b = current < 0 ? undefined : blocks?.[current]
                return b !== undefined && table.match(j, b) > 0
              },
            }
          : {}),
        targets: fleet.profiles.map(
          (p, j) =>
            (fleet.replicas[j] as number) *
            targetOccupancy(p, fleet.slots[j] as number, meanIn, meanOut, fleet.sloMs[j]),
        ),
      }),
    )
  }
  // 3. Prefix hits shorten the prompt the chosen backend prefills.
  const effective = Float64Array.from(requests.inputTokens)
  let skipped = 0
  const wrap =
    (choose: ChooseBackend): ChooseBackend =>
    (id, view) => {
      current = id
      const j = choose(id, view)
      current = -1
      const b = blocks?.[id]
      if (active.includes('prefix') && b !== undefined) {
        const s = skippedPrefillTokens(requests.inputTokens[id] as number, table.match(j, b))
        effective[id] = (requests.inputTokens[id] as number) - s
        skipped += s
        table.admit(j, b)
      }
      return j
    }
  const countingLevers = levers.map((l): RoutingLever => ({
    name: l.name,
    review(context) {
      const moved = l.review(context)
      if (moved !== undefined && l.name === 'occupancy') actions++
      return moved
    },
  }))
  const result = run({ ...requests, inputTokens: effective }, countingLevers, wrap)
  const { energyJ, carbonG } = facilityTotals(result.sim.backends, (j) => fleet.pue[j] as number)
  let violations = 0
  for (let i = 0; i < requests.count; i++) {
    const slo = sloOfService(requests.service[i] as number)
    if (slo !== undefined && (result.sim.latencyMs[i] as number) > slo) violations++
  }
  return {
    run: { ...result, requests: { ...requests, inputTokens: requests.inputTokens } },
    stage: {
      levers: active,
      energyJ,
      carbonG,
      sloViolations: violations,
      cacheHits: hits,
      prefillTokensSkipped: skipped,
      leverActions: actions,
    },
  }
}

function subset(r: StageRequests, keep: readonly number[]): StageRequests {
  const pick = <A extends Float64Array | Int32Array>(a: A, make: (n: number) => A): A => {
    const out = make(keep.length)
    keep.forEach((i, k) => {
      out[k] = a[i] as number
    })
    return out
  }
  return {
    count: keep.length,
    arrival: pick(r.arrival, (n) => new Float64Array(n)),
    inputTokens: pick(r.inputTokens, (n) => new Float64Array(n)),
    outputTokens: pick(r.outputTokens, (n) => new Float64Array(n)),
    client: pick(r.client, (n) => new Int32Array(n)),
    service: pick(r.service, (n) => new Int32Array(n)),
    prefixBlocks: r.prefixBlocks === undefined ? undefined : keep.map((i) => r.prefixBlocks?.[i]),
  }
}
