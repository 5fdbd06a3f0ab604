/**
 * @module advise/advise-report
 * The `wattline advise` report: the JSON shape (`--json`), the terminal table and the standalone
 * HTML page with the energy-vs-latency frontier chart (`--html FILE`).
 */
import type { AdviseOption, AdviseResult, WorkloadMix, ZoneDay } from '@wattline/core'
import { renderChart } from '../report/charts.ts'
import { esc } from '../report/render-html.ts'

export interface AdviseReport {
  readonly workload: {
    readonly source: string
    readonly requests: number
    readonly input_tokens: WorkloadMix['inputTokens']
    readonly output_tokens: WorkloadMix['outputTokens']
    readonly requests_per_s_by_hour: readonly number[]
    readonly covered_hours: number
  }
  readonly slo_p95_ms: number | null
  readonly pue: number
  readonly zones: readonly { readonly zone: string; readonly source: string }[]
  readonly method: 'modelled'
  readonly units: {
    readonly energy: 'Wh per 1,000 requests (IT energy × PUE; edge: module energy, no PUE)'
    readonly carbon: 'gCO2e per 1,000 requests'
    readonly latency: 'ms'
  }
  readonly options: readonly AdviseOption[]
  readonly recommended: AdviseOption | null
  readonly extrapolated_better: AdviseOption | null
  readonly current: AdviseResult['current']
  readonly savings: AdviseResult['savings']
  /** Why there is no current deployment to compare with, when there is none. */
  readonly no_current_reason: string | null
  readonly profile_table: string
}

export function buildAdviseReport(
  result: AdviseResult,
  mix: WorkloadMix,
  zones: readonly ZoneDay[],
  sloP95Ms: number | undefined,
  pue: number,
  tableSource: string,
  noCurrentReason: string,
): AdviseReport {
  return {
    workload: {
      source: mix.source,
      requests: mix.requests,
      input_tokens: mix.inputTokens,
      output_tokens: mix.outputTokens,
      requests_per_s_by_hour: mix.ratePerHour,
      covered_hours: mix.coveredHours,
    },
    slo_p95_ms: sloP95Ms ?? null,
    pue,
    zones: zones.map((z) => ({ zone: z.zone, source: z.source })),
    method: 'modelled',
    units: {
      energy: 'Wh per 1,000 requests (IT energy × PUE; edge: module energy, no PUE)',
      carbon: 'gCO2e per 1,000 requests',
      latency: 'ms',
    },
    options: result.ranked,
    recommended: result.recommended,
    extrapolated_better: result.extrapolatedBetter,
    current: result.current,
    savings: result.savings,
    no_current_reason: result.current === null ? noCurrentReason : null,
    profile_table: tableSource,
  }
}

const BASIS_LABEL: Readonly<Record<AdviseOption['basis'], string>> = {
  measured: 'measured',
  'measured-extrapolated': 'measured, batch extrapolated',
  extrapolated: 'extrapolated',
}

/** The basis as the table says it: an edge measurement has its rates measured, not its power. */
function basisLabel(o: AdviseOption): string {
  return o.placement === 'edge' && o.basis === 'measured-extrapolated'
    ? 'rates measured, power not'
    : BASIS_LABEL[o.basis]
}

/** Devices powered: `R×per = N` GPUs in the cloud, `N modules` at the edge. */
function devicesCell(o: AdviseOption): string {
  return o.placement === 'edge'
    ? `${o.devices} module${o.devices === 1 ? '' : 's'}`
    : `${o.replicas}×${o.gpus_per_replica} = ${o.gpus}`
}

function sig(v: number): string {
  if (!Number.isFinite(v)) return '–'
  const a = Math.abs(v)
  if (a >= 1000) return v.toFixed(0)
  return Number(v.toPrecision(3)).toString()
}

function shortModel(id: string): string {
  return id.split('/').pop() ?? id
}

function carbonCell(o: AdviseOption): string {
  if (o.best_zone === null) return '–'
  const c = o.carbon_per_1k_requests_g[o.best_zone]
  return c === undefined ? '–' : `${sig(c.value)} (${o.best_zone})`
}

function row(o: AdviseOption, rank: string): string[] {
  const e = o.energy_per_1k_requests_wh
  return [
    rank,
    shortModel(o.model),
    o.precision,
    o.hardware,
    o.placement,
    devicesCell(o),
    String(o.batch_cap),
    `${sig(e.value)} (${sig(e.low)}–${sig(e.high)})`,
    carbonCell(o),
    sig(o.capacity_rps),
    sig(o.latency_p95_ms),
    o.meets_slo === null ? '–' : o.meets_slo ? 'yes' : 'no',
    o.carries_peak ? basisLabel(o) : `${basisLabel(o)}; peak NOT carried`,
  ]
}

/** The table's rows: the options numbered by rank, then the current deployment (`now`) if given. */
function tableRows(r: AdviseReport): string[][] {
  const rows = r.options.map((o, i) => row(o, String(i + 1)))
  if (r.current !== null) rows.push(row(r.current, 'now'))
  return rows
}

/** The terminal table. */
export function renderAdviseText(r: AdviseReport): string {
  const w = r.workload
  const lines: string[] = []
  lines.push(
    `workload  ${w.source}: input ${sig(w.input_tokens.mean)} mean / ${sig(w.input_tokens.p95)} p95 tokens, output ${sig(w.output_tokens.mean)} mean / ${sig(w.output_tokens.p95)} p95 tokens, ${sig(Math.min(...w.requests_per_s_by_hour))}–${sig(Math.max(...w.requests_per_s_by_hour))} requests/s over the day (${w.covered_hours} of 24 hours observed)`,
  )
  lines.push(
    `figures   modelled; energy = IT × PUE ${r.pue} (edge modules: no PUE), Wh per 1,000 requests (interval); carbon gCO2e per 1,000 requests in the best of the given zones; p95 latency without queueing${r.slo_p95_ms === null ? '' : ` vs SLO ${r.slo_p95_ms} ms`}`,
  )
  lines.push('')
  const header = [
    '#',
    'model',
    'prec',
    'hardware',
    'place',
    'devices (GPUs: replicas×per)',
    'batch cap',
    'Wh/1k req',
    'gCO2e/1k req',
    'capacity req/s',
    'p95 ms',
    'SLO',
    'basis',
  ]
  const rows = tableRows(r)
  const all = [header, ...rows]
  const widths = header.map((_, i) => Math.max(...all.map((l) => (l[i] ?? '').length)))
  for (const l of all)
    lines.push(
      l
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
  lines.push('')
  const rec = r.recommended
  if (rec === null) {
    lines.push('no configuration to recommend')
  } else {
    lines.push(
      `recommended  ${rec.model} ${rec.precision} on ${rec.replicas} × ${rec.gpus_per_replica} ${rec.hardware}${rec.placement === 'edge' ? ' (edge)' : ''}, batch cap ${rec.batch_cap}: ${sig(rec.energy_per_1k_requests_wh.value)} Wh per 1,000 requests (${basisLabel(rec)})`,
    )
    if (rec.meets_slo === false || !rec.carries_peak) {
      lines.push(
        '             (no measured configuration meets the SLO and carries the peak; this is the closest)',
      )
    }
    const x = r.extrapolated_better
    if (x !== null) {
      lines.push(
        `worth measuring  ${x.model} ${x.precision} on ${x.replicas} × ${x.gpus_per_replica} ${x.hardware} is extrapolated at ${sig(x.energy_per_1k_requests_wh.value)} Wh per 1,000 requests (${sig(x.energy_per_1k_requests_wh.low)}–${sig(x.energy_per_1k_requests_wh.high)}); no measured profile backs it, so it is not recommended`,
      )
    }
  }
  if (r.current !== null && r.savings !== null) {
    const s = r.savings
    const carbon =
      s.carbon_share === null
        ? ''
        : `, ${pct(s.carbon_share)} carbon (${sig(s.carbon_per_1k_requests_g ?? 0)} gCO2e per 1,000 requests)`
    lines.push(
      `vs current   ${r.current.from}: ${sig(r.current.energy_per_1k_requests_wh.value)} Wh per 1,000 requests on ${r.current.gpus} GPUs → ${pct(s.energy_share)} energy (${sig(s.energy_per_1k_requests_wh)} Wh per 1,000 requests)${carbon}, ${s.gpus_delta >= 0 ? '+' : ''}${s.gpus_delta} GPUs`,
    )
  } else {
    lines.push(`vs current   none: ${r.no_current_reason ?? 'no current deployment'}`)
  }
  lines.push('')
  lines.push('sources')
  r.options.forEach((o, i) => lines.push(`  ${i + 1}. ${o.source}`))
  if (r.current !== null) lines.push(`  now. ${r.current.source}`)
  return `${lines.join('\n')}\n`
}

function pct(share: number): string {
  const v = share * 100
  return v >= 0 ? `${v.toFixed(1)} % less` : `${(-v).toFixed(1)} % more`
}

/** Options no other option beats on both energy and latency (the frontier), by latency. */
export function frontier(options: readonly AdviseOption[]): AdviseOption[] {
  const sorted = [...options].sort(
    (a, b) =>
      a.latency_p95_ms - b.latency_p95_ms ||
      a.energy_per_1k_requests_wh.value - b.energy_per_1k_requests_wh.value,
  )
  const out: AdviseOption[] = []
  let best = Infinity
  for (const o of sorted) {
    if (o.energy_per_1k_requests_wh.value < best) {
      out.push(o)
      best = o.energy_per_1k_requests_wh.value
    }
  }
  return out
}

/** Energy per 1k requests vs p95 latency, every option (all batch caps), frontier as a line. */
export function frontierChart(
  all: readonly AdviseOption[],
  sloP95Ms: number | null,
  current: AdviseOption | null = null,
  width = 720,
  height = 360,
): string {
  const label = (o: AdviseOption): string =>
    `${shortModel(o.model)} ${o.precision} ${o.hardware} cap ${o.batch_cap}`
  const series = (['measured', 'measured-extrapolated', 'extrapolated'] as const).map((basis) => ({
    name: BASIS_LABEL[basis],
    type: 'scatter' as const,
    symbolSize: 7,
    data: all
      .filter((o) => o.basis === basis)
      .map((o) => ({
        value: [o.latency_p95_ms / 1000, o.energy_per_1k_requests_wh.value],
        name: label(o),
      })),
  }))
  const front = frontier(all)
  return renderChart(
    {
      grid: { left: 64, right: 24, top: 40, bottom: 48 },
      legend: { top: 4 },
      xAxis: { type: 'value', name: 'p95 latency (s)', nameLocation: 'middle', nameGap: 28 },
      yAxis: { type: 'log', name: 'Wh per 1,000 requests' },
      series: [
        ...series,
        ...(current === null
          ? []
          : [
              {
                name: 'current',
                type: 'scatter' as const,
                symbol: 'diamond',
                symbolSize: 12,
                color: '#c0504d',
                data: [[current.latency_p95_ms / 1000, current.energy_per_1k_requests_wh.value]],
              },
            ]),
        {
          name: 'frontier',
          type: 'line',
          symbol: 'none',
          data: front.map((o) => [o.latency_p95_ms / 1000, o.energy_per_1k_requests_wh.value]),
          ...(sloP95Ms === null
            ? {}
            : {
                markLine: {
                  symbol: 'none',
                  label: { formatter: 'SLO' },
                  data: [{ xAxis: sloP95Ms / 1000 }],
                },
              }),
        },
      ],
    },
    width,
    height,
  )
}

/** A standalone HTML page: summary, recommendation, table and the frontier chart. */
export function renderAdviseHtml(r: AdviseReport, all: readonly AdviseOption[]): string {
  const head = [
    '#',
    'model',
    'precision',
    'hardware',
    'place',
    'devices (GPUs: replicas×per)',
    'batch cap',
    'Wh / 1k requests',
    'gCO2e / 1k requests',
    'capacity req/s',
    'p95 ms',
    'SLO',
    'basis',
  ]
  const rows = tableRows(r)
  const table = `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((cells) => `<tr>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`
  const text = renderAdviseText(r).split('\n')
  const summary = text.filter(
    (l) =>
      l.startsWith('recommended') || l.startsWith('vs current') || l.startsWith('worth measuring'),
  )
  const sources = r.options.map((o, i) => `<li value="${i + 1}">${esc(o.source)}</li>`).join('')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Wattline advise</title>
<style>body{font:14px/1.4 Helvetica,Arial,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}th{background:#f3f3f3}.note{color:#555}</style>
</head><body>
<h1>Deployment advice</h1>
<p>${esc(text[0] ?? '')}</p>
<p class="note">${esc(text[1] ?? '')}</p>
${summary.map((l) => `<p><strong>${esc(l)}</strong></p>`).join('\n')}
<h2>Energy vs latency</h2>
<p class="note">Every configuration at every batch cap; the line is the frontier (nothing is both faster and less energy). Colours say whether the figure comes from a measured profile or an extrapolation.</p>
${frontierChart(all, r.slo_p95_ms, r.current)}
<h2>Ranked configurations</h2>
${table}
<h2>Sources</h2>
<ol>${sources}</ol>
<p class="note">Energy profiles: ${esc(r.profile_table)}. All figures modelled.</p>
</body></html>
`
}
