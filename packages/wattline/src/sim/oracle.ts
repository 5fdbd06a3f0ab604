/**
 * @module sim/oracle
 * The oracle: the least carbon any routing of a trace could reach, knowing every arrival and every
 * hour's intensity in advance, under the fleet's capacity and latency constraints. Solved exactly as
 * a linear programme with HiGHS (the `highs` WebAssembly build). The formulation, and what "exact"
 * and "lower bound" mean here, are in docs/replay.md, "The oracle"; in short:
 *
 * - groups g = (time bucket k, client region c, service s), with token totals IN_g, OUT_g;
 * - variables x_gj ∈ [0, 1]: the fraction of group g routed to backend j (only pairs that serve the
 *   service's model and whose network latency alone is below the SLO);
 * - Σ_j x_gj = 1 for every group;
 * - capacity, cumulative per backend j and bucket k: the replica time the work arriving up to the
 *   end of bucket k needs at the replica's best throughput fits in its replicas' time until then
 *   plus the latency tail, Σ_{g: k(g) ≤ k} x_gj (IN_g/θin_j + OUT_g/θout_j) ≤ R_j·(t_{k+1} + tail − t_0);
 * - minimise Σ x_gj (IN_g·δin_j + OUT_g·δout_j)·PUE_j·Ǐ_jg / 3.6e6, plus the idle carbon every routing
 *   pays (idle power of every replica over the arrival window, PUE, intensity in force);
 *
 * where δ are the least dynamic energy per token over all occupancies, θ the most tokens per ms one
 * replica processes at any occupancy (b × rate(b)), and Ǐ the least intensity of backend j's zone over the window the group's tokens can be
 * processed in. Each term is a lower bound of what the simulator charges, so the optimum bounds the
 * simulated carbon of every routing that meets the SLO on every request.
 */
// The package types are CommonJS-flavoured; at run time its ESM build's default export is the loader.
import * as highsModule from 'highs'
import {
  JOULES_PER_KWH,
  tabulateProfile,
  WattlineError,
  type BatchTables,
  type ChooseBackend,
  type EnergyProfile,
  type IntensityLookup,
} from '@wattline/core'

/** A backend as the oracle needs it. */
export interface OracleBackend {
  readonly id: string
  readonly zone: string
  readonly models: readonly string[]
  readonly replicas: number
  readonly maxConcurrency: number
  readonly pue: number
  readonly profile: EnergyProfile
}

export interface OracleInput {
  readonly backends: readonly OracleBackend[]
  readonly services: readonly {
    readonly model: string
    readonly sloMs?: number
    /** Ids of the backends the service may use; undefined = all. */
    readonly backends?: readonly string[]
  }[]
  readonly clients: number
  /** Clients × backends, row-major, ms. */
  readonly networkRttMs: ArrayLike<number>
  readonly requests: {
    readonly count: number
    readonly arrival: ArrayLike<number>
    readonly inputTokens: ArrayLike<number>
    readonly outputTokens: ArrayLike<number>
    readonly client: ArrayLike<number>
    readonly service: ArrayLike<number>
  }
  readonly intensity: IntensityLookup
  /** Bucket width, ms (default 5 min). Finer buckets tighten the capacity constraints. */
  readonly bucketMs?: number
  /** Latency tail for services without an SLO, ms (default 1 h). */
  readonly defaultTailMs?: number
}

/** The oracle's answer. Energies are facility energy (IT × PUE), J; carbon g. */
export interface OracleResult {
  readonly status: 'optimal' | 'infeasible'
  /** Why it is infeasible (a group with no feasible backend, or capacity), when it is. */
  readonly reason?: string
  readonly carbonG: number
  readonly energyJ: number
  readonly idleCarbonG: number
  readonly idleEnergyJ: number
  /** Group of each request. */
  readonly groupOf: Int32Array
  /** Groups × backends, row-major: the optimal fractions x_gj. */
  readonly fractions: Float64Array
  readonly groups: number
  readonly variables: number
  readonly constraints: number
  /** The LP text handed to HiGHS (CPLEX LP format), for inspection. */
  readonly lp: string
}

const DEFAULT_BUCKET_MS = 5 * 60_000
const DEFAULT_TAIL_MS = 3_600_000

interface Group {
  readonly k: number
  readonly s: number
  readonly c: number
  inTok: number
  outTok: number
  count: number
}

/** Builds the LP (exported for tests and for `--explain`-style inspection). */
export function buildOracleLp(input: OracleInput): {
  lp: string
  groups: Group[]
  groupOf: Int32Array
  cost: Float64Array
  energy: Float64Array
  allowed: Uint8Array
  idleCarbonG: number
  idleEnergyJ: number
  variables: number
  constraints: number
  emptyGroup?: number
} {
  const { backends, services, requests } = input
  const nb = backends.length
  const n = requests.count
  const bucketMs = input.bucketMs ?? DEFAULT_BUCKET_MS
  const tables: BatchTables[] = backends.map((b) => tabulateProfile(b.profile, b.maxConcurrency))
  const t0 = n > 0 ? (requests.arrival[0] as number) : 0
  const tLast = n > 0 ? (requests.arrival[n - 1] as number) : 0
  const tails = services.map((s) => s.sloMs ?? input.defaultTailMs ?? DEFAULT_TAIL_MS)
  const maxTail = Math.max(0, ...tails)

  // 1. Groups (bucket, service, client), in time order.
  const groups: Group[] = []
  const groupOf = new Int32Array(n)
  const key = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    const k = Math.floor(((requests.arrival[i] as number) - t0) / bucketMs)
    const s = requests.service[i] as number
    const c = requests.client[i] as number
    const id = `${k}/${s}/${c}`
    let g = key.get(id)
    if (g === undefined) {
      g = groups.push({ k, s, c, inTok: 0, outTok: 0, count: 0 }) - 1
      key.set(id, g)
    }
    const grp = groups[g] as Group
    grp.inTok += requests.inputTokens[i] as number
    grp.outTok += requests.outputTokens[i] as number
    grp.count++
    groupOf[i] = g
  }

  // 2. Costs: least dynamic energy × PUE × least intensity over the window tokens can run in.
  const minIntensity = new Map<string, number>()
  const leastIntensity = (zone: string, from: number, to: number): number => {
    const id = `${zone}/${from}/${to}`
    const cached = minIntensity.get(id)
    if (cached !== undefined) return cached
    let least = Number.POSITIVE_INFINITY
    let t = from
    for (let steps = 0; t < to && steps < 100_000; steps++) {
      const step = input.intensity(zone, t)
      least = Math.min(least, step.intensity)
      if (!(step.until > t)) break
      t = step.until
    }
    minIntensity.set(id, least)
    return least
  }
  const ng = groups.length
  const cost = new Float64Array(ng * nb)
  const energy = new Float64Array(ng * nb)
  const slot = new Float64Array(ng * nb)
  const allowed = new Uint8Array(ng * nb)
  let emptyGroup: number | undefined
  groups.forEach((g, gi) => {
    const service = services[g.s]
    if (service === undefined)
      throw new WattlineError('WL_INTERNAL', `oracle: unknown service ${g.s}`)
    const from = t0 + g.k * bucketMs
    const to = from + bucketMs + (tails[g.s] as number)
    let any = false
    backends.forEach((b, j) => {
      const rtt = input.networkRttMs[g.c * nb + j] as number
      if (!b.models.includes(service.model)) return
      if (service.backends !== undefined && !service.backends.includes(b.id)) return
      if (service.sloMs !== undefined && rtt >= service.sloMs) return
      const tb = tables[j] as BatchTables
      const e =
        (g.inTok * tb.minDynamicJPerInputToken + g.outTok * tb.minDynamicJPerOutputToken) * b.pue
      energy[gi * nb + j] = e
      cost[gi * nb + j] = (e * leastIntensity(b.zone, from, to)) / JOULES_PER_KWH
      slot[gi * nb + j] = g.inTok / tb.maxThroughputIn + g.outTok / tb.maxThroughputOut
      allowed[gi * nb + j] = 1
      any = true
    })
    if (!any && emptyGroup === undefined) emptyGroup = gi
  })

  // 3. Idle carbon over the arrival window: the same for every routing.
  let idleCarbonG = 0
  let idleEnergyJ = 0
  backends.forEach((b, j) => {
    const p0 = (tables[j] as BatchTables).idlePower * b.replicas * b.pue
    idleEnergyJ += (p0 * (tLast - t0)) / 1000
    let t = t0
    for (let steps = 0; t < tLast && steps < 1_000_000; steps++) {
      const step = input.intensity(b.zone, t)
      const until = Math.min(tLast, step.until > t ? step.until : tLast)
      idleCarbonG += ((p0 * (until - t)) / 1000) * (step.intensity / JOULES_PER_KWH)
      t = until
    }
  })

  // 4. The LP text (CPLEX LP format), a few terms per line.
  const v = (g: number, j: number): string => `x${g}_${j}`
  const num = (x: number): string => (Number.isFinite(x) ? String(x) : '0')
  const out: string[] = ['Minimize', ' obj:']
  let terms: string[] = []
  const flush = (): void => {
    if (terms.length > 0) out.push(`  ${terms.join(' ')}`)
    terms = []
  }
  let variables = 0
  for (let gi = 0; gi < ng; gi++) {
    for (let j = 0; j < nb; j++) {
      if (allowed[gi * nb + j] !== 1) continue
      variables++
      terms.push(`+ ${num(cost[gi * nb + j] as number)} ${v(gi, j)}`)
      if (terms.length >= 8) flush()
    }
  }
  flush()
  if (variables === 0) out.push('  0 x_dummy')
  out.push('Subject To')
  let constraints = 0
  for (let gi = 0; gi < ng; gi++) {
    const vars: string[] = []
    for (let j = 0; j < nb; j++) if (allowed[gi * nb + j] === 1) vars.push(`+ ${v(gi, j)}`)
    if (vars.length === 0) continue
    out.push(` a${gi}: ${vars.join(' ')} = 1`)
    constraints++
  }
  const lastGroupOfBucket = new Map<number, number>()
  groups.forEach((g, gi) => lastGroupOfBucket.set(g.k, gi))
  for (let j = 0; j < nb; j++) {
    const b = backends[j] as OracleBackend
    let any = false
    const lineTerms: string[] = []
    for (let gi = 0; gi < ng; gi++) {
      if (allowed[gi * nb + j] === 1) {
        lineTerms.push(`+ ${num(slot[gi * nb + j] as number)} ${v(gi, j)}`)
        any = true
      }
      const g = groups[gi] as Group
      if (lastGroupOfBucket.get(g.k) === gi && any) {
        const rhs = b.replicas * ((g.k + 1) * bucketMs + maxTail)
        const chunks: string[] = []
        for (let t = 0; t < lineTerms.length; t += 8)
          chunks.push(lineTerms.slice(t, t + 8).join(' '))
        out.push(` c${j}_${g.k}: ${chunks.join('\n  ')} <= ${num(rhs)}`)
        constraints++
      }
    }
  }
  out.push('Bounds')
  for (let gi = 0; gi < ng; gi++) {
    for (let j = 0; j < nb; j++) if (allowed[gi * nb + j] === 1) out.push(` 0 <= ${v(gi, j)} <= 1`)
  }
  if (variables === 0) out.push(' x_dummy = 0')
  out.push('End')
  return {
    lp: out.join('\n'),
    groups,
    groupOf,
    cost,
    energy,
    allowed,
    idleCarbonG,
    idleEnergyJ,
    variables,
    constraints,
    ...(emptyGroup === undefined ? {} : { emptyGroup }),
  }
}

/** The part of the HiGHS API used here (its published types describe the CommonJS build). */
interface HighsSolver {
  solve(
    lp: string,
    options?: Readonly<Record<string, string | number | boolean>>,
  ): { Status: string; Columns: Record<string, { Primal?: number } | undefined> }
}
const loadHighs = (highsModule as unknown as { default: () => Promise<HighsSolver> }).default
let solver: Promise<HighsSolver> | undefined

/** Solves the oracle LP. */
export async function solveOracle(input: OracleInput): Promise<OracleResult> {
  const built = buildOracleLp(input)
  const nb = input.backends.length
  const ng = built.groups.length
  const fractions = new Float64Array(ng * nb)
  const base = {
    idleCarbonG: built.idleCarbonG,
    idleEnergyJ: built.idleEnergyJ,
    groupOf: built.groupOf,
    fractions,
    groups: ng,
    variables: built.variables,
    constraints: built.constraints,
    lp: built.lp,
  }
  if (built.emptyGroup !== undefined) {
    const g = built.groups[built.emptyGroup] as Group
    return {
      ...base,
      status: 'infeasible',
      reason: `requests of service ${g.s} from client region ${g.c} have no backend within the SLO`,
      carbonG: Number.NaN,
      energyJ: Number.NaN,
    }
  }
  solver ??= loadHighs()
  const highs = await solver
  const solution = highs.solve(built.lp, {
    presolve: 'on',
    primal_feasibility_tolerance: 1e-9,
    dual_feasibility_tolerance: 1e-9,
  })
  if (solution.Status !== 'Optimal') {
    return {
      ...base,
      status: 'infeasible',
      reason: `HiGHS: ${solution.Status} (the fleet's capacity cannot carry the trace within the SLO)`,
      carbonG: Number.NaN,
      energyJ: Number.NaN,
    }
  }
  let carbon = 0
  let energy = 0
  for (let gi = 0; gi < ng; gi++) {
    for (let j = 0; j < nb; j++) {
      if (built.allowed[gi * nb + j] !== 1) continue
      const col = solution.Columns[`x${gi}_${j}`]
      const x = Math.min(1, Math.max(0, col?.Primal ?? 0))
      fractions[gi * nb + j] = x
      carbon += x * (built.cost[gi * nb + j] as number)
      energy += x * (built.energy[gi * nb + j] as number)
    }
  }
  return {
    ...base,
    status: 'optimal',
    carbonG: built.idleCarbonG + carbon,
    energyJ: built.idleEnergyJ + energy,
  }
}

/**
 * Follows the oracle's plan in the simulator: each request of group g goes to the backend whose
 * share of g so far lags its optimal fraction the most (ties: lowest index). Replaying the plan gives
 * the latency and SLO figures of the oracle row; its carbon is reported beside the bound.
 */
export function createPlanChooser(result: OracleResult, backends: number): ChooseBackend {
  const assigned = new Float64Array(result.groups * backends)
  const seen = new Float64Array(result.groups)
  return (id) => {
    const g = result.groupOf[id] as number
    const count = (seen[g] as number) + 1
    seen[g] = count
    let best = 0
    let bestDeficit = Number.NEGATIVE_INFINITY
    for (let j = 0; j < backends; j++) {
      const x = result.fractions[g * backends + j] as number
      if (x <= 0) continue
      const deficit = x * count - (assigned[g * backends + j] as number)
      if (deficit > bestDeficit + 1e-12) {
        best = j
        bestDeficit = deficit
      }
    }
    assigned[g * backends + best] = (assigned[g * backends + best] as number) + 1
    return best
  }
}
