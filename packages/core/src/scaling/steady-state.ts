/**
 * @module scaling/steady-state
 * What n replicas of a pool do under an arrival rate, in steady state: the running batch per replica
 * from Little's law (b = per-replica rate × service time at b, where the service time grows with b
 * because time per output token does), the power that batch draws, and the latency of a request.
 * Pure functions of the profile; the replay's fleet simulation and the live scaler both use them.
 *
 * Prefill is compute-bound (energy/prefill.ts): a replica processes prompts at 1 / timePerInputToken
 * tokens per ms whatever the batch, so prompts take a share of its time (`prefillShare`) during which
 * decode steps wait: decode runs (1 − share) of the time, and that share is charged as prefill energy
 * per prompt token rather than as batch power (counting both would bill the same seconds twice).
 */
import type { RequestMix, ScalingPool } from './pool.ts'

/** Service time of a request at running batch `b`, ms (prefill + decode). */
export function serviceTimeMs(
  pool: ScalingPool,
  b: number,
  inputTokens: number,
  outputTokens: number,
  prefill = 0,
): number {
  const p = pool.profile
  return (
    inputTokens * p.timePerInputToken(b) +
    (outputTokens * p.timePerOutputToken(Math.max(1, b))) / Math.max(1e-9, 1 - prefill)
  )
}

/**
 * Share of one replica's time spent prefilling prompts at `ratePerReplicaS` requests/s of mean prompt
 * `meanInputTokens` (compute-bound prompts run one after another); ≥ 1 means prefill alone saturates it.
 */
export function prefillShare(
  pool: ScalingPool,
  ratePerReplicaS: number,
  meanInputTokens: number,
): number {
  return (ratePerReplicaS * meanInputTokens * pool.profile.timePerInputToken(1)) / 1000
}

/** Most requests/s one replica completes with every slot busy (decode slowed by its own prefills). */
export function replicaCapacityPerS(pool: ScalingPool, mix: RequestMix): number {
  const slots = pool.slotsPerReplica
  const a = (mix.meanInputTokens * pool.profile.timePerInputToken(1)) / 1000
  const d = (mix.meanOutputTokens * pool.profile.timePerOutputToken(slots)) / 1000
  if (a <= 0 && d <= 0) return Number.POSITIVE_INFINITY
  if (a <= 0) return slots / d
  // x · (a + d / (1 − x·a)) = slots, for x in [0, 1/a): increasing in x.
  let lo = 0
  let hi = 1 / a
  for (let i = 0; i < 60; i++) {
    const x = (lo + hi) / 2
    if (x * a >= 1 || x * (a + d / (1 - x * a)) > slots) hi = x
    else lo = x
  }
  return lo
}

export interface SteadyState {
  /** Mean running batch per replica (requests in flight). */
  readonly batch: number
  /** True when the replicas cannot keep up (batch pinned at `slotsPerReplica`, queue grows). */
  readonly overloaded: boolean
  /** Requests per second the replicas complete. */
  readonly throughputPerS: number
  /** Share of each replica's time spent prefilling (0–1). */
  readonly prefillShare: number
}

/** Steady state of `replicas` replicas under `ratePerS` requests per second of mix `mix`. */
export function steadyState(
  pool: ScalingPool,
  replicas: number,
  ratePerS: number,
  mix: RequestMix,
): SteadyState {
  if (replicas <= 0)
    return { batch: 0, overloaded: ratePerS > 0, throughputPerS: 0, prefillShare: 0 }
  if (ratePerS <= 0) return { batch: 0, overloaded: false, throughputPerS: 0, prefillShare: 0 }
  const r = ratePerS / replicas
  const slots = pool.slotsPerReplica
  const share = prefillShare(pool, r, mix.meanInputTokens)
  const t = (b: number): number =>
    serviceTimeMs(pool, b, mix.meanInputTokens, mix.meanOutputTokens, share) / 1000
  const excess = (b: number): number => r * t(b) - b
  if (share >= 1 || excess(slots) > 0) {
    const x = replicaCapacityPerS(pool, mix)
    return {
      batch: slots,
      overloaded: true,
      throughputPerS: replicas * x,
      prefillShare: Math.min(1, prefillShare(pool, x, mix.meanInputTokens)),
    }
  }
  let lo = 0
  let hi = slots
  for (let i = 0; i < 48; i++) {
    const mid = (lo + hi) / 2
    if (excess(mid) > 0) lo = mid
    else hi = mid
  }
  return { batch: hi, overloaded: false, throughputPerS: ratePerS, prefillShare: share }
}

/** IT power of one replica running a mean batch `b` (W); below one request, idle and batch-1 power mix by busy time. */
export function replicaPowerW(pool: ScalingPool, b: number): number {
  const p = pool.profile
  const idle = p.idlePower
  if (b <= 0) return idle
  if (b < 1) return idle + b * (p.power(1) - idle)
  return p.power(b)
}

/**
 * Share of a replica's time with nothing in flight at mean batch `b`: e^−b, the empty probability of
 * an M/G/∞ queue (a batching server far from its slot limit), used to split idle from active energy.
 */
export function idleFraction(b: number): number {
  return Math.exp(-Math.max(0, b))
}

/** p95 latency (ms) of the mix at the steady state of `replicas` replicas; Infinity when overloaded. */
export function p95LatencyMs(
  pool: ScalingPool,
  replicas: number,
  ratePerS: number,
  mix: RequestMix,
): number {
  const s = steadyState(pool, replicas, ratePerS, mix)
  if (s.overloaded) return Number.POSITIVE_INFINITY
  return serviceTimeMs(pool, s.batch, mix.p95InputTokens, mix.p95OutputTokens, s.prefillShare)
}

/**
 * Batch-dependent IT energy of `replicas` replicas over `windowMs` at `ratePerS` (J): decode power at
 * the steady-state batch for the share of time not spent prefilling. The prompts' own energy
 * (tokens × energyPerInputToken) is the same whatever the replica count and is not included.
 */
export function servingEnergyJ(
  pool: ScalingPool,
  replicas: number,
  ratePerS: number,
  mix: RequestMix,
  windowMs: number,
): number {
  if (replicas <= 0) return 0
  const s = steadyState(pool, replicas, ratePerS, mix)
  return replicas * replicaPowerW(pool, s.batch) * (1 - s.prefillShare) * (windowMs / 1000)
}

/**
 * Fewest replicas (within the pool's range) whose p95 latency at `ratePerS` meets `sloP95Ms`. When
 * none does, because the p95 request alone (a long prompt and answer) takes longer than the SLO
 * however many replicas share the load: the fewest within 1 % of the latency the most replicas give
 * (more would not help it), so one such window does not size the fleet to its maximum; `maxReplicas`
 * when the load overloads even that. 0 only for no load and `minReplicas` 0.
 */
export function requiredReplicas(
  pool: ScalingPool,
  ratePerS: number,
  mix: RequestMix,
  sloP95Ms: number,
): number {
  if (ratePerS <= 0) return pool.minReplicas
  const from = Math.max(1, pool.minReplicas)
  for (let n = from; n <= pool.maxReplicas; n++) {
    if (p95LatencyMs(pool, n, ratePerS, mix) <= sloP95Ms) return n
  }
  const best = p95LatencyMs(pool, pool.maxReplicas, ratePerS, mix)
  if (!Number.isFinite(best)) return pool.maxReplicas
  for (let n = from; n < pool.maxReplicas; n++) {
    if (p95LatencyMs(pool, n, ratePerS, mix) <= best * 1.01) return n
  }
  return pool.maxReplicas
}
