/**
 * @module sim/replay-scaling-report
 * The right-sizing part of the replay report: one table line per scaling policy (energy, carbon, idle
 * share, replica-hours, cold starts, SLO misses, savings against the first policy), its JSON, and an
 * HTML section with the replicas-over-time chart (ECharts SSR, as the report's charts).
 */
import { JOULES_PER_KWH } from '@wattline/core'
import { renderChart } from '../report/charts.ts'
import type { ScalingReplay } from './replay-scaling.ts'

const kwh = (j: number): number => j / JOULES_PER_KWH
const round = (x: number, d: number): number => Number(x.toFixed(d))

/** JSON shape: `scaling` in `wattline replay --json` (units in the names; all modelled). */
export function toScalingJson(r: ScalingReplay): unknown {
  const base = r.policies[0]?.totals
  return {
    basis: 'modelled (fitted energy profiles, window-level fleet simulation)',
    window_s: r.windowMs / 1000,
    diurnal_days: r.diurnalDays,
    measured_from: new Date(r.measureFromMs).toISOString(),
    measured_to: new Date(r.measureToMs).toISOString(),
    pools: r.pools.map((p) => ({
      id: p.id,
      zone: p.zone,
      slo_p95_ms: p.sloP95Ms,
      slots_per_replica: p.slotsPerReplica,
      min_replicas: p.minReplicas,
      max_replicas: p.maxReplicas,
      cold_start_s: p.coldStartMs / 1000,
      static_peak_replicas: p.staticPeakReplicas,
      requests: p.requests,
    })),
    policies: r.policies.map((p) => ({
      name: p.name,
      requests: p.totals.requests,
      energy_kwh: round(kwh(p.totals.energyJ), 3),
      idle_energy_kwh: round(kwh(p.totals.idleEnergyJ), 3),
      idle_share: round(p.totals.energyJ > 0 ? p.totals.idleEnergyJ / p.totals.energyJ : 0, 4),
      prefill_energy_kwh: round(kwh(p.totals.prefillEnergyJ), 3),
      cold_start_energy_kwh: round(kwh(p.totals.coldStartEnergyJ), 3),
      carbon_kg: round(p.totals.carbonG / 1000, 3),
      replica_hours: round(p.totals.replicaHours, 2),
      cold_starts: p.totals.coldStarts,
      slo_misses: p.totals.sloMisses,
      slo_miss_share: round(p.totals.requests > 0 ? p.totals.sloMisses / p.totals.requests : 0, 5),
      p95_latency_ms: round(p.totals.p95LatencyMs, 0),
      energy_saving_vs_baseline:
        base === undefined || base.energyJ === 0
          ? null
          : round(1 - p.totals.energyJ / base.energyJ, 4),
      replicas_per_window: Object.fromEntries(p.pools.map((x) => [x.pool, x.replicas])),
    })),
  }
}

/** The table printed after the routing table. */
export function renderScalingTable(r: ScalingReplay): string {
  const base = r.policies[0]?.totals
  const head = [
    'scaling policy',
    'energy kWh',
    'saving',
    'idle',
    'carbon kg',
    'replica-h',
    'cold starts',
    'SLO misses',
    'p95 ms',
  ]
  const rows = r.policies.map((p) => {
    const t = p.totals
    return [
      p.name,
      kwh(t.energyJ).toFixed(2),
      base === undefined || base.energyJ === 0 || p === r.policies[0]
        ? '—'
        : `${((1 - t.energyJ / base.energyJ) * 100).toFixed(1)} %`,
      `${(t.energyJ > 0 ? (t.idleEnergyJ / t.energyJ) * 100 : 0).toFixed(1)} %`,
      (t.carbonG / 1000).toFixed(2),
      t.replicaHours.toFixed(1),
      String(t.coldStarts),
      `${t.sloMisses} (${(t.requests > 0 ? (t.sloMisses / t.requests) * 100 : 0).toFixed(2)} %)`,
      t.p95LatencyMs.toFixed(0),
    ]
  })
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)))
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
  const pools = r.pools
    .map(
      (p) =>
        `${p.id} (${p.zone}, SLO p95 ${p.sloP95Ms} ms, static-peak ${p.staticPeakReplicas} replicas)`,
    )
    .join('; ')
  return [
    '',
    `Right-sizing (modelled; ${r.diurnalDays > 0 ? `trace stretched over ${r.diurnalDays} diurnal days, last day measured` : 'trace as recorded'}; window ${r.windowMs / 1000} s; savings vs ${r.policies[0]?.name ?? '—'})`,
    `pools: ${pools}`,
    line(head),
    ...rows.map(line),
    '',
  ].join('\n')
}

/** HTML section: the table and the serving replicas over time per policy (all pools summed). */
export function renderScalingHtml(r: ScalingReplay): string {
  const n = Math.max(0, ...r.policies.flatMap((p) => p.pools.map((x) => x.replicas.length)))
  const labels = Array.from({ length: n }, (_, k) =>
    new Date(r.measureFromMs + k * r.windowMs).toISOString().slice(11, 16),
  )
  const series = r.policies.map((p) => ({
    name: p.name,
    type: 'line' as const,
    step: 'end' as const,
    showSymbol: false,
    data: labels.map((_, k) => p.pools.reduce((a, x) => a + (x.replicas[k] ?? 0), 0)),
  }))
  const chart = renderChart(
    {
      title: {
        text: `Serving replicas per ${r.windowMs / 1000}-s window (all pools)`,
        left: 0,
        top: 0,
        textStyle: { fontSize: 13 },
      },
      legend: { top: 32, left: 0 },
      grid: { left: 48, right: 16, top: 72, bottom: 40 },
      xAxis: {
        type: 'category',
        data: labels,
        name: 'time (UTC)',
        nameLocation: 'middle',
        nameGap: 26,
      },
      yAxis: { type: 'value' },
      series,
    },
    900,
    320,
  )
  const esc = (s: string): string =>
    s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  const table = renderScalingTable(r)
  return `<h2>Right-sizing</h2>
<p>Replica counts chosen per ${r.windowMs / 1000}-s window by each scaling policy; energy includes cold starts (at idle power) and prompt prefill; idle share is the time no request is in flight (M/G/∞ empty probability). All <strong>modelled</strong> from the fitted profiles: see docs/scaling.md.</p>
<pre>${esc(table)}</pre>
<figure>${chart}</figure>`
}
