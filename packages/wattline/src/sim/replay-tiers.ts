/**
 * @module sim/replay-tiers
 * Quality tiers in a replay (`wattline replay --tiers`): each request of a service that declares
 * tiers is decided by the gateway's own code (`chooseTier` from core) on the conditions at its
 * arrival — the intensity of the cleanest backend of the service serving the requested model, the
 * service's budget pressure, and whether its client opted in (`--tier-opt-in-pct`, drawn with the
 * seed: traces carry no headers) — and routed as a request for the model served.
 *
 * The saving is measured, not assumed: the policy is replayed once with every request served by the
 * model it asked for and once with tiers; the saving is the drop in facility energy (served
 * requests, IT × PUE) and carbon (`replay-counterfactual`).
 *
 * Budget pressure follows the production watch (core's `RollingTotals`, `evaluateWatch`,
 * `budgetUnderPressure`) over the service's rolling window. The window is fed, in arrival order,
 * with each request's energy from the replay without tiers, scaled for a downgraded request by its
 * served/requested profile ratio for its tokens (batch 1): the replay's stand-in for what the
 * gateway's watch sees as requests finish.
 */
import {
  budgetUnderPressure,
  chooseTier,
  estimateRequest,
  evaluateWatch,
  facilityTotals,
  RollingTotals,
  seededRandom,
  TIER_REASONS,
  WattlineError,
  type IntensityLookup,
  type SimulationResult,
  type TierReason,
  JOULES_PER_KWH,
} from '@wattline/core'
import { servesModel, type Fleet, type FleetBackend } from './load-fleet.ts'
import type { StageRequests } from './replay-levers.ts'

export interface TierSettings {
  /** Percent of requests whose client sends `x-wattline-tier: eco` (seeded draw), 0–100. */
  readonly optInPct: number
}

/**
 * A service as the replay's router sees it: the fleet's services first (index = fleet index), then
 * one extra per (service, lighter tier) that downgraded requests are routed as.
 */
export interface RoutingService {
  /** Fleet index of the service this routes for. */
  readonly parent: number
  readonly model: string
}

/** The routing services of a fleet (its own, then one per lighter tier model). */
export function routingServices(fleet: Fleet): RoutingService[] {
  const out: RoutingService[] = fleet.services.map((s, k) => ({ parent: k, model: s.model }))
  fleet.services.forEach((s, k) => {
    for (const t of s.tiers ?? []) if (t.model !== s.model) out.push({ parent: k, model: t.model })
  })
  return out
}

/** What `--tiers` did under one policy. */
export interface TierOutcome {
  /** Requests of the trace. */
  readonly requests: number
  /** Requests of services with tiers (asking for a model with a lighter tier below it). */
  readonly eligible: number
  readonly downgraded: number
  /** downgraded / requests. */
  readonly downgradedShare: number
  readonly byReason: Readonly<Record<TierReason, number>>
  readonly byModel: readonly {
    readonly service: string
    readonly from: string
    readonly to: string
    readonly requests: number
  }[]
  /** The same policy with every request served by the model it asked for (facility energy, kWh). */
  readonly withoutTiers: {
    readonly energyKwh: number
    readonly carbonKg: number
    readonly sloViolations: number
  }
  /** Facility energy saved vs the requested models, kWh (IT × PUE, served requests). */
  readonly energySavedKwh: number
  readonly carbonSavedKg: number
  readonly basis: 'replay-counterfactual'
}

/** The per-request tier decisions of a replay. */
export interface TierPlan {
  /** Requests with the routing-service index of the model serving them. */
  readonly requests: StageRequests
  readonly eligible: number
  readonly downgraded: number
  readonly byReason: Record<TierReason, number>
  /** Requests per routing service (its index) that were downgraded. */
  readonly perRoute: Int32Array
}

/** Throws `WL_INVALID_INPUT` when `--tiers` is asked of a fleet whose services declare none. */
export function checkTierFleet(fleet: Fleet): void {
  if (fleet.services.some((s) => s.tiers !== undefined)) return
  throw new WattlineError(
    'WL_INVALID_INPUT',
    `--tiers: no service of fleet ${fleet.name} declares tiers (services[].tiers, docs/replay.md "Quality tiers")`,
    { details: { field: '--tiers' } },
  )
}

/** Decides every request's tier in arrival order (see the module comment). */
export function planTiers(input: {
  readonly fleet: Fleet
  readonly requests: StageRequests
  readonly intensity: IntensityLookup
  /** The policy's replay without tiers (per-request energy and carbon feed the budget window). */
  readonly baseline: SimulationResult
  readonly settings: TierSettings
  readonly seed: number
}): TierPlan {
  const { fleet, requests, intensity, baseline, settings } = input
  const routes = routingServices(fleet)
  const routeOf = new Map(routes.map((r, i) => [`${r.parent}\u0000${r.model}`, i] as const))
  const service = Int32Array.from(requests.service)
  const perRoute = new Int32Array(routes.length)
  const byReason = Object.fromEntries(TIER_REASONS.map((r) => [r, 0])) as Record<TierReason, number>
  const random = seededRandom(input.seed + 12)
  // Per service: backends by model name, budget window.
  const backendsFor = fleet.services.map((s) => {
    const own = fleet.backends.filter((b) => s.backends === undefined || s.backends.includes(b.id))
    const by = new Map<string, FleetBackend[]>()
    for (const m of [s.model, ...(s.tiers ?? []).map((t) => t.model)])
      by.set(
        m,
        own.filter((b) => servesModel(b, m)),
      )
    return by
  })
  const windows = fleet.services.map((s) =>
    s.budget === undefined || s.budgetWatch === undefined
      ? undefined
      : new RollingTotals(s.budgetWatch.windowMs),
  )
  let eligible = 0
  let downgraded = 0
  for (let i = 0; i < requests.count; i++) {
    const k = requests.service[i] as number
    const s = fleet.services[k]
    const eco = settings.optInPct > 0 && random.next() * 100 < settings.optInPct
    if (s?.tiers === undefined) continue
    const at = requests.arrival[i] as number
    const requested = backendsFor[k]?.get(s.model) ?? []
    let cleanest = Number.POSITIVE_INFINITY
    for (const b of requested) cleanest = Math.min(cleanest, intensity(b.zone, at).intensity)
    const window = windows[k]
    const pressure =
      window !== undefined && s.budget !== undefined && s.budgetWatch !== undefined
        ? budgetUnderPressure(evaluateWatch(s.budget, window.totals(at), s.budgetWatch.minRequests))
        : false
    const choice = chooseTier(s.model, s.tiers, {
      intensityGPerKwh: cleanest,
      budgetPressure: pressure,
      ...(eco ? { preference: 'eco' as const } : {}),
    })
    const from = s.tiers.findIndex((t) => t.model === s.model)
    if (from >= 0 && from < s.tiers.length - 1) eligible++
    let scale = 1
    if (choice.reason !== undefined) {
      const route = routeOf.get(`${k}\u0000${choice.model}`) as number
      service[i] = route
      perRoute[route] = (perRoute[route] as number) + 1
      byReason[choice.reason]++
      downgraded++
      scale = profileRatio(
        backendsFor[k]?.get(choice.model)?.[0],
        requested[0],
        requests.inputTokens[i] as number,
        requests.outputTokens[i] as number,
      )
    }
    window?.add(at, {
      requests: 1,
      output_tokens: requests.outputTokens[i] as number,
      energy_j: (baseline.energyJ[i] as number) * scale,
      carbon_g: (baseline.carbonG[i] as number) * scale,
    })
  }
  return { requests: { ...requests, service }, eligible, downgraded, byReason, perRoute }
}

/** Served / requested model energy for the request's tokens at batch 1 (1 when unknown). */
function profileRatio(
  served: FleetBackend | undefined,
  requested: FleetBackend | undefined,
  inputTokens: number,
  outputTokens: number,
): number {
  if (served === undefined || requested === undefined) return 1
  const shape = {
    inputTokens: Math.max(0, Math.round(inputTokens)),
    outputTokens: Math.max(0, Math.round(outputTokens)),
    batch: 1,
  }
  const r = estimateRequest(requested.profile, shape).value
  return r > 0 ? estimateRequest(served.profile, shape).value / r : 1
}

/** The outcome of a plan: counts, and the saving of the tiered replay against the one without. */
export function tierOutcome(input: {
  readonly fleet: Fleet
  readonly plan: TierPlan
  readonly without: SimulationResult
  /** The tiered run's facility energy and carbon (core's `facilityTotals`; with `--levers`: its stage without levers). */
  readonly withTiers: { readonly energyJ: number; readonly carbonG: number }
  /** Fleet service index per request (SLO lookups). */
  readonly service: ArrayLike<number>
}): TierOutcome {
  const { fleet, plan, without } = input
  let violations = 0
  for (let i = 0; i < without.latencyMs.length; i++) {
    const slo = fleet.services[input.service[i] as number]?.sloMs
    if (slo !== undefined && (without.latencyMs[i] as number) > slo) violations++
  }
  const a = facilityTotals(without.backends, (j) => fleet.backends[j]?.pue ?? 1)
  const b = input.withTiers
  const routes = routingServices(fleet)
  const byModel: TierOutcome['byModel'][number][] = []
  plan.perRoute.forEach((n, r) => {
    const route = routes[r] as RoutingService
    const s = fleet.services[route.parent]
    if (n > 0 && s !== undefined)
      byModel.push({ service: s.name, from: s.model, to: route.model, requests: n })
  })
  const n = plan.requests.count
  return {
    requests: n,
    eligible: plan.eligible,
    downgraded: plan.downgraded,
    downgradedShare: n === 0 ? 0 : plan.downgraded / n,
    byReason: plan.byReason,
    byModel,
    withoutTiers: {
      energyKwh: a.energyJ / JOULES_PER_KWH,
      carbonKg: a.carbonG / 1000,
      sloViolations: violations,
    },
    energySavedKwh: (a.energyJ - b.energyJ) / JOULES_PER_KWH,
    carbonSavedKg: (a.carbonG - b.carbonG) / 1000,
    basis: 'replay-counterfactual',
  }
}

/** The text table's tier lines for the policies that ran with tiers ('' when none did). */
export function renderTierLines(
  policies: readonly { readonly name: string; readonly tiers?: TierOutcome }[],
): string {
  const rows = policies.filter((p) => p.tiers !== undefined)
  if (rows.length === 0) return ''
  const lines = [
    '',
    'Quality tiers (basis: replay-counterfactual — the same policy replayed with every request served by the model it asked for):',
  ]
  for (const p of rows) {
    const t = p.tiers as TierOutcome
    const reasons = TIER_REASONS.map((r) => `${r} ${t.byReason[r]}`).join(', ')
    const pct = (x: number): string => `${(x * 100).toFixed(1)} %`
    const savedPct =
      t.withoutTiers.energyKwh > 0 ? ` (${pct(t.energySavedKwh / t.withoutTiers.energyKwh)})` : ''
    lines.push(
      `  ${p.name}: ${t.downgraded} of ${t.requests} requests downgraded (${pct(t.downgradedShare)}; ${reasons}); saved ${t.energySavedKwh.toFixed(4)} kWh${savedPct} and ${t.carbonSavedKg.toFixed(4)} kgCO2e vs the requested models`,
    )
    for (const m of t.byModel)
      lines.push(`    ${m.service}: ${m.from} → ${m.to}: ${m.requests} requests`)
  }
  return `${lines.join('\n')}\n`
}

/** The report JSON's `tiers` of a policy (snake_case, units in names). */
export function tierJson(t: TierOutcome): unknown {
  const round = (x: number): number | null => (Number.isFinite(x) ? Number(x.toPrecision(9)) : null)
  return {
    requests: t.requests,
    eligible: t.eligible,
    downgraded: t.downgraded,
    downgraded_share: round(t.downgradedShare),
    by_reason: t.byReason,
    by_model: t.byModel,
    without_tiers: {
      energy_kwh: round(t.withoutTiers.energyKwh),
      carbon_kg: round(t.withoutTiers.carbonKg),
      slo_violations: t.withoutTiers.sloViolations,
    },
    energy_saved_kwh: round(t.energySavedKwh),
    carbon_saved_kg: round(t.carbonSavedKg),
    basis: t.basis,
  }
}

/** The HTML report's quality-tiers table ('' when no policy ran with tiers). */
export function renderTierHtml(
  policies: readonly { readonly name: string; readonly tiers?: TierOutcome }[],
): string {
  const rows = policies.filter((p) => p.tiers !== undefined)
  if (rows.length === 0) return ''
  const esc = (s: string): string =>
    s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
  const body = rows
    .map((p) => {
      const t = p.tiers as TierOutcome
      const pct = t.withoutTiers.energyKwh > 0 ? t.energySavedKwh / t.withoutTiers.energyKwh : 0
      const models = t.byModel.map((m) => esc(`${m.from} → ${m.to}: ${m.requests}`)).join('<br>')
      return `<tr><td>${esc(p.name)}</td><td>${t.downgraded} / ${t.requests}</td><td>${(t.downgradedShare * 100).toFixed(1)} %</td>${TIER_REASONS.map((r) => `<td>${t.byReason[r]}</td>`).join('')}<td>${t.energySavedKwh.toPrecision(4)} (${(pct * 100).toFixed(1)} %)</td><td>${t.carbonSavedKg.toPrecision(4)}</td><td>${models}</td></tr>`
    })
    .join('\n')
  return `<h2>Quality tiers</h2>
<p>Basis: replay-counterfactual — the same policy replayed with every request served by the model it asked for. Saved energy is facility energy (IT × PUE).</p>
<table><thead><tr><th>policy</th><th>downgraded</th><th>share</th>${TIER_REASONS.map((r) => `<th>${r}</th>`).join('')}<th>energy saved kWh</th><th>carbon saved kg</th><th>requested → served</th></tr></thead>
<tbody>
${body}
</tbody></table>
`
}
