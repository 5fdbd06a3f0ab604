/**
 * @module sim/replay-report
 * The replay's machine and terminal output. JSON keeps the documented shape
 * `{"policies":[{"name","requests","energy_kwh","idle_energy_kwh","carbon_kg","latency_ms":{"p50","p95","p99"},"slo_violations"}]}`
 * and adds fields (savings, the oracle fraction, per-zone shares). Numbers are rounded to 9
 * significant digits and nothing depends on the wall clock, so the same inputs and seed give
 * byte-identical JSON.
 */
import Table from 'cli-table3'
import { JOULES_PER_KWH } from '@wattline/core'
import type { PolicyOutcome, ReplayReport } from './replay.ts'
import { renderTierLines, tierJson } from './replay-tiers.ts'

/** 4 significant digits, without exponent noise for the table (0.0001615 rather than 0.000). */
const sig = (x: number): string =>
  x === 0 ? '0' : Math.abs(x) >= 1000 ? x.toFixed(0) : x.toPrecision(4)

const round = (x: number): number | null => (Number.isFinite(x) ? Number(x.toPrecision(9)) : null)

/** Savings of `p` against the first policy, as a fraction of the first policy's carbon. */
export function savingsVsBaseline(report: ReplayReport, p: PolicyOutcome): number | null {
  const base = report.policies[0]
  if (base === undefined || base.carbonKg <= 0) return null
  return (base.carbonKg - p.carbonKg) / base.carbonKg
}

/** Savings of `p` as a fraction of the oracle's savings (both against the first policy). */
export function oracleFraction(report: ReplayReport, p: PolicyOutcome): number | null {
  const base = report.policies[0]
  const oracle = report.policies.find((x) => x.name === 'oracle')
  if (base === undefined || oracle === undefined || p === base || p === oracle) return null
  const possible = base.carbonKg - oracle.carbonKg
  if (!(possible > 0)) return null
  return (base.carbonKg - p.carbonKg) / possible
}

/** The report as JSON-ready data. */
export function toReplayJson(report: ReplayReport): unknown {
  const baseline = report.policies[0]?.name ?? null
  return {
    policies: report.policies.map((p) => ({
      name: p.name,
      requests: p.requests,
      energy_kwh: round(p.energyKwh),
      idle_energy_kwh: round(p.idleEnergyKwh),
      carbon_kg: round(p.carbonKg),
      latency_ms: {
        p50: round(p.latencyMs.p50),
        p95: round(p.latencyMs.p95),
        p99: round(p.latencyMs.p99),
      },
      slo_violations: p.sloViolations,
      carbon_per_1k_requests_g: round((p.carbonKg * 1000 * 1000) / Math.max(1, p.requests)),
      idle_share: round(p.energyKwh > 0 ? p.idleEnergyKwh / p.energyKwh : 0),
      savings_vs_baseline: nullable(savingsVsBaseline(report, p)),
      oracle_fraction: nullable(oracleFraction(report, p)),
      overflow: p.overflow,
      zones: Object.fromEntries(
        p.zones.map((z) => [
          z.zone,
          { request_share: round(z.requestShare), carbon_kg: round(z.carbonKg) },
        ]),
      ),
      ...(p.planCarbonKg === undefined
        ? {}
        : { bound: true, plan_carbon_kg: round(p.planCarbonKg) }),
      ...(p.budgets.length === 0
        ? {}
        : {
            budgets: p.budgets.map((b) => ({
              service: b.service,
              metric: b.metric,
              unit: b.unit,
              value: nullable(b.value),
              target: round(b.target),
              limit: round(b.limit),
              within: b.within,
            })),
          }),
      ...(p.tiers === undefined ? {} : { tiers: tierJson(p.tiers) }),
      ...(p.levers === undefined
        ? {}
        : {
            levers: {
              savings: p.levers.savings.map((l) => ({
                lever: l.lever,
                energy_saved_kwh: round(l.energySavedKwh),
                carbon_saved_kg: round(l.carbonSavedKg),
                basis: l.basis,
                detail: l.detail,
              })),
              stages: p.levers.stages.map((st) => ({
                levers: st.levers,
                energy_kwh: round(st.energyJ / JOULES_PER_KWH),
                carbon_kg: round(st.carbonG / 1000),
                slo_violations: st.sloViolations,
                cache_hits: st.cacheHits,
                prefill_tokens_skipped: st.prefillTokensSkipped,
                requests_moved: st.leverActions,
              })),
            },
          }),
      placements: p.placements.map((x) => ({
        placement: x.placement,
        backends: x.backends,
        devices: x.devices,
        requests: x.requests,
        energy_kwh: round(x.energyKwh),
        idle_energy_kwh: round(x.idleEnergyKwh),
        carbon_kg: round(x.carbonKg),
        energy_per_device_kwh: round(x.energyPerDeviceKwh),
        energy_per_1k_requests_wh: nullable(x.energyPer1kRequestsWh),
      })),
      ...(p.network === undefined
        ? {}
        : {
            network: {
              bytes: Math.round(p.network.bytes),
              energy_kwh: round(p.network.energyKwh),
              carbon_kg: round(p.network.carbonKg),
              kwh_per_gb: round(p.network.kwhPerGb),
              source: p.network.source,
              bytes_source: p.network.bytesSource,
              streamed_share: p.network.streamedShare,
              same_premises_requests: p.network.samePremisesRequests,
              gb_km: nullable(p.network.gbKm),
              by_placement: p.network.byPlacement.map((x) => ({
                placement: x.placement,
                bytes: Math.round(x.bytes),
                energy_kwh: round(x.energyKwh),
              })),
              method: p.network.method,
            },
          }),
      method: 'modelled',
    })),
    baseline,
    fleet: report.fleet,
    trace: report.trace,
    seed: report.seed,
    start: report.start,
    end: report.end,
    intensity_source: report.intensitySource,
    ...(report.oracle === undefined
      ? {}
      : {
          oracle: {
            status: report.oracle.status,
            ...(report.oracle.reason === undefined ? {} : { reason: report.oracle.reason }),
            lp_variables: report.oracle.variables,
            lp_constraints: report.oracle.constraints,
            bucket_ms: report.oracle.bucketMs,
          },
        }),
  }
}

/**
 * Energy by placement, one row per policy × placement — only when the fleet has edge backends (a
 * cloud-only fleet's row would repeat the main table).
 */
export function renderPlacementTable(report: ReplayReport): string {
  if (!report.policies.some((p) => p.placements.some((x) => x.placement === 'edge'))) return ''
  const table = new Table({
    head: [
      'policy',
      'placement',
      'devices',
      'requests',
      'energy kWh',
      'kWh / device',
      'Wh / 1k req',
      'idle',
      'carbon kg',
      'network kWh',
    ],
    style: { head: [], border: [] },
    colAligns: [
      'left',
      'left',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
    ],
  })
  for (const p of report.policies) {
    for (const x of p.placements) {
      const net = p.network?.byPlacement.find((y) => y.placement === x.placement)
      table.push([
        p.name,
        x.placement,
        String(x.devices),
        String(x.requests),
        sig(x.energyKwh),
        sig(x.energyPerDeviceKwh),
        x.energyPer1kRequestsWh === null ? '–' : sig(x.energyPer1kRequestsWh),
        `${((x.energyKwh > 0 ? x.idleEnergyKwh / x.energyKwh : 0) * 100).toFixed(1)} %`,
        sig(x.carbonKg),
        net === undefined ? '–' : sig(net.energyKwh),
      ])
    }
  }
  return `energy by placement (cloud: facility energy, IT × PUE, devices = GPUs; edge: module energy, no PUE, devices = modules, one request at a time):\n${table.toString()}`
}

function nullable(x: number | null): number | null {
  return x === null ? null : round(x)
}

/** The side-by-side table for the terminal. */
export function renderReplayTable(report: ReplayReport): string {
  const table = new Table({
    head: [
      'policy',
      'requests',
      'energy kWh',
      'idle',
      'carbon kg',
      'g / 1k req',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'SLO miss',
      'savings',
      'of oracle',
    ],
    style: { head: [], border: [] },
    colAligns: [
      'left',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
    ],
  })
  const first = report.policies[0]?.name
  for (const p of report.policies) {
    const savings = savingsVsBaseline(report, p)
    const frac = oracleFraction(report, p)
    table.push([
      p.planCarbonKg === undefined ? p.name : `${p.name} (bound)`,
      String(p.requests),
      sig(p.energyKwh),
      `${((p.energyKwh > 0 ? p.idleEnergyKwh / p.energyKwh : 0) * 100).toFixed(1)} %`,
      sig(p.carbonKg),
      ((p.carbonKg * 1e6) / Math.max(1, p.requests)).toFixed(1),
      p.latencyMs.p50.toFixed(0),
      p.latencyMs.p95.toFixed(0),
      p.latencyMs.p99.toFixed(0),
      String(p.sloViolations),
      p.name === first || savings === null ? '–' : `${(savings * 100).toFixed(1)} %`,
      frac === null ? '–' : `${(frac * 100).toFixed(0)} %`,
    ])
  }
  const lines = [
    `replay of ${report.trace.requests} requests (${report.trace.file}) on fleet ${report.fleet}, ${report.start} → ${report.end}, intensity: ${report.intensitySource}, seed ${report.seed}`,
    table.toString(),
    `energy is facility energy (IT × PUE), carbon = energy × grid intensity in force; all figures modelled from the fitted profiles. savings vs ${first ?? '–'}.`,
  ]
  if (report.oracle !== undefined) {
    lines.push(
      report.oracle.status === 'optimal'
        ? `oracle: exact LP lower bound (HiGHS, ${report.oracle.variables} variables, ${report.oracle.constraints} constraints); its latency and SLO columns replay the LP plan, which runs the greenest backends at their throughput limit: a bound on carbon, not a routing to deploy.`
        : `oracle: ${report.oracle.status} — ${report.oracle.reason ?? ''}`,
    )
  }
  for (const [k, b] of (report.policies[0]?.budgets ?? []).entries()) {
    const each = report.policies.map((p) => {
      const x = p.budgets[k]
      if (x === undefined || x.value === null) return `${p.name} –`
      return `${p.name} ${x.value.toPrecision(4)} ${x.within === true ? 'within' : 'OVER'}`
    })
    lines.push(
      `budget ${b.service}: ${b.metric} (${b.unit}) target ${b.target.toPrecision(4)}, limit ${b.limit.toPrecision(4)} — ${each.join(', ')} (modelled: IT energy attributed to the service's requests, idle excluded; carbon as accounted).`,
    )
  }
  for (const p of report.policies) {
    if (p.levers === undefined) continue
    const stages = p.levers.stages
    const none = stages[0]
    lines.push(
      `${p.name}: savings by lever (basis: replay-counterfactual, each lever's stage replayed against the one before it) — ${p.levers.savings
        .map(
          (l) =>
            `${l.lever} ${sig(l.energySavedKwh)} kWh (${none !== undefined && none.energyJ > 0 ? ((l.energySavedKwh * 3.6e8) / none.energyJ).toFixed(1) : '–'} %, ${l.detail})`,
        )
        .join('; ')}; SLO misses by stage ${stages.map((st) => st.sloViolations).join(' → ')}.`,
    )
  }
  const tierLines = renderTierLines(report.policies)
  if (tierLines !== '') lines.push(tierLines.trimEnd())
  const placementTable = renderPlacementTable(report)
  if (placementTable !== '') lines.push(placementTable)
  const net = report.policies.find((p) => p.network !== undefined)?.network
  if (net !== undefined) {
    lines.push(
      `network energy (apart from compute, not in the energy column): ${report.policies
        .map((p) =>
          p.network === undefined
            ? `${p.name} –`
            : `${p.name} ${sig(p.network.energyKwh)} kWh, ${sig(p.network.carbonKg)} kg (${sig(p.network.bytes / 1e9)} GB)`,
        )
        .join(
          '; ',
        )} — ${sig(net.kwhPerGb)} kWh/GB (${net.source}); bytes ${net.bytesSource}${net.samePremisesRequests > 0 ? `; ${net.samePremisesRequests} same-premises requests (0 km) not charged` : ''}.`,
    )
  }
  if (report.trace.skipped > 0)
    lines.push(`${report.trace.skipped} malformed trace lines skipped (--lenient).`)
  return `${lines.join('\n')}\n`
}
