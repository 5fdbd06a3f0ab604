/**
 * @module report/render-markdown
 * The report as GitHub-flavoured Markdown for pull-request comments and job summaries: a headline
 * table, then compact tables per section; the methodology folds into a `<details>` block so a comment
 * stays short. Every figure shows its unit, interval and method.
 */
import { fmt, interval, pct, shortHash, when, withUnit } from './format.ts'
import type { Figure, Report } from './report-schema.ts'
import { TENANT_COLUMNS } from './tenant-section.ts'

/** Renders `report` as Markdown (ends with a newline). */
export function renderMarkdown(report: Report): string {
  const out: string[] = []
  const scope = report.scope.service ?? 'all services'
  out.push(`## Wattline transparency report: ${esc(scope)}`)
  out.push('')
  out.push(
    `${when(report.period.from)} → ${when(report.period.to)} (${fmt(report.period.duration_h)} h) · ` +
      `ledger head \`${shortHash(report.chain_head.hash)}\` (${report.chain_head.height} blocks)`,
  )
  out.push('')
  out.push(...table(['Metric', 'Value', 'Interval', 'Method'], headline(report), 'lrrl'))

  if (report.carbon_by_zone.length > 0) {
    section(out, 'Carbon by zone')
    out.push(
      ...table(
        [
          'Zone',
          'Requests',
          'Energy (Wh)',
          'Carbon (gCO2e)',
          'Share',
          'Intensity (g/kWh)',
          'Signal',
        ],
        report.carbon_by_zone.map((z) => [
          z.zone,
          String(z.requests),
          fmt(z.facility_energy_wh),
          `${fmt(z.carbon_g.value)} (${interval(z.carbon_g)})`,
          pct(z.share_of_carbon_pct),
          fmt(z.mean_intensity_g_per_kwh),
          z.signals.join(', '),
        ]),
        'lrrrrrl',
      ),
    )
  }
  if (report.carbon_by_region.length > 1) {
    section(out, 'Carbon by region')
    out.push(
      ...table(
        ['Region', 'Zones', 'Energy (Wh)', 'Carbon (gCO2e)', 'Share'],
        report.carbon_by_region.map((r) => [
          r.region,
          r.zones.join(', '),
          fmt(r.facility_energy_wh),
          fmt(r.carbon_g.value),
          pct(r.share_of_carbon_pct),
        ]),
        'llrrr',
      ),
    )
  }
  const sv = report.savings_by_lever
  if (sv.levers.length > 0) {
    section(out, 'Savings by lever')
    out.push(
      ...table(
        [
          'Lever',
          'Requests',
          'Energy saved (Wh)',
          'Interval (Wh)',
          'Carbon saved (gCO2e)',
          'Share',
          'Basis',
        ],
        sv.levers.map((l) => [
          l.lever,
          String(l.requests),
          fmt(l.energy_saved_wh.value),
          `${fmt(l.energy_saved_wh.low)}–${fmt(l.energy_saved_wh.high)}`,
          fmt(l.carbon_saved_g),
          pct(l.share_of_energy_without_it_pct),
          `\`${l.basis}\``,
        ]),
        'lrrrrrl',
      ),
      '',
      sv.basis_note,
    )
  }
  const net = report.network
  if (net.requests_counted > 0) {
    section(out, 'Network energy (apart from compute)')
    out.push(
      `${fmt(net.bytes / 1e6)} MB over ${net.requests_counted} requests: ${fmt(net.energy_wh)} Wh, ` +
        `${fmt(net.carbon_g)} gCO2e (${net.method}; ${pct(net.share_of_compute_energy_pct)} of the ` +
        `requests' IT energy). ${net.note}`,
      '',
      ...net.sources.map((x) => `- ${x}`),
    )
  }
  tenantsSection(out, report)
  if (report.budgets.length > 0) {
    section(out, 'Budgets')
    out.push(
      ...table(
        ['Service', 'Metric', 'Stage', 'Target', 'In period', 'Status'],
        report.budgets.map((b) => [
          b.model_family === null ? b.service : `${b.service} / ${b.model_family}`,
          `\`${b.metric}\``,
          b.stage,
          `${fmt(b.target)} (+${fmt(b.variance_pct)} %)`,
          fmt(b.actual_in_period),
          b.status === 'over' ? '**over**' : b.status,
        ]),
        'lllrrl',
      ),
    )
  }
  if (report.gate_decisions.length > 0) {
    section(out, 'Gate decisions')
    out.push(
      ...table(
        ['When', 'Service', 'Release', 'Verdict', 'Upper / target', 'Reason'],
        report.gate_decisions.map((g) => [
          when(g.at),
          g.service,
          g.release ?? '–',
          g.verdict === 'fail' ? '**fail**' : 'pass',
          `${fmt(g.upper)} / ${fmt(g.target)}`,
          g.reason,
        ]),
        'llllrl',
      ),
    )
  }
  const lc = report.lifecycle
  if (lc.training_runs.length > 0 || lc.hardware.length > 0) {
    section(out, 'Lifecycle')
    if (lc.training_runs.length > 0)
      out.push(
        ...table(
          ['Training run', 'Model', 'Energy (kWh)', 'Carbon (kgCO2e)', 'Method', 'Source'],
          lc.training_runs.map((t) => [
            t.name,
            t.model,
            fmt(t.energy_kwh.value),
            fmt(t.carbon_kg),
            t.method,
            t.source,
          ]),
          'llrrll',
        ),
        '',
      )
    if (lc.hardware.length > 0)
      out.push(
        ...table(
          ['Hardware', 'Units', 'Embodied (kg/unit)', 'Life (y)', 'Share', 'Amortised (gCO2e)'],
          lc.hardware.map((h) => [
            `${h.id} (${h.hardware})`,
            String(h.count),
            fmt(h.embodied_kg_per_unit),
            fmt(h.lifetime_years),
            fmt(h.allocation_share * h.scope_share),
            fmt(h.amortised_g),
          ]),
          'lrrrrr',
        ),
      )
  }
  section(out, 'Anomalies')
  if (report.anomalies.items.length === 0) {
    out.push(`None flagged in ${report.anomalies.series_checked} series.`)
  } else {
    out.push(
      ...table(
        ['Hour', 'Series', 'Value', 'Expected', 'z'],
        report.anomalies.items.map((a) => [
          when(a.at),
          `${a.subject} ${a.kind === 'energy_per_request' ? 'energy/request' : 'power'}`,
          `${fmt(a.value)} ${a.unit}`,
          `${fmt(a.expected_low)}–${fmt(a.expected_high)}`,
          fmt(a.score, 2),
        ]),
        'llrrr',
      ),
    )
  }
  out.push('')
  out.push('<details><summary>Methodology</summary>')
  out.push('')
  for (const note of report.methodology.notes) out.push(`- ${esc(note)}`)
  const sources = report.methodology.intensity.sources
  if (sources.length > 0)
    out.push(
      `- Intensity sources: ${sources.map((s) => `\`${s.source}\` (${s.signal}, ${s.values_recorded} values)`).join('; ')}.`,
    )
  out.push(
    `- SCI (${report.sci.standard}): ${report.sci.formula}; E = ${fmt(report.sci.e_kwh.value)} kWh, ` +
      `E·I = ${fmt(report.sci.operational_g.value)} g, M = ${fmt(report.sci.embodied_g)} g.`,
  )
  out.push(
    `- Chain head: \`${report.chain_head.hash ?? 'none'}\`; check with \`${report.chain_head.verify_command}\`.`,
  )
  out.push('')
  out.push('</details>')
  return `${out.join('\n')}\n`
}

function headline(r: Report): string[][] {
  const fig = (label: string, f: Figure | null, unit: string): string[] => [
    label,
    withUnit(f?.value, unit),
    interval(f),
    f?.method ?? '–',
  ]
  const rows: string[][] = [
    [
      'Requests',
      `${r.totals.requests}${r.totals.failed_requests > 0 ? ` (${r.totals.failed_requests} failed)` : ''}`,
      '',
      '',
    ],
    fig('Energy per 1k requests', r.energy_per_1k_requests_wh, 'Wh'),
    fig('Carbon per 1k requests', r.carbon_per_1k_requests_g, 'gCO2e'),
    fig('SCI per request', r.sci.per_request.sci_g, 'gCO2e'),
    fig('SCI per 1k output tokens', r.sci.per_1k_output_tokens.sci_g, 'gCO2e'),
    fig('Facility energy', r.totals.facility_energy_wh, 'Wh'),
    fig('Carbon (operational)', r.totals.carbon_g, 'gCO2e'),
    [
      'Peak power',
      r.peak_power_w.value === null
        ? '–'
        : `${withUnit(r.peak_power_w.value, 'W')} at ${when(r.peak_power_w.at)}`,
      '1-min mean',
      r.peak_power_w.method === null ? '–' : `${r.peak_power_w.method} (${r.peak_power_w.basis})`,
    ],
    [
      'PUE (energy-weighted)',
      fmt(r.pue.energy_weighted),
      `${fmt(r.pue.min)}–${fmt(r.pue.max)}`,
      '',
    ],
    ['Idle share of IT energy', pct(r.totals.idle_share_pct), '', ''],
    [
      'Measured share of IT energy',
      pct(r.methodology.energy.measured_share_pct),
      '',
      `${r.methodology.energy.measured_requests} measured / ${r.methodology.energy.modelled_requests} modelled requests`,
    ],
  ]
  return rows
}

function section(out: string[], title: string): void {
  out.push('', `### ${title}`, '')
}

/** A Markdown table; `align` holds one `l`/`r` per column. */
function table(head: readonly string[], rows: readonly string[][], align: string): string[] {
  const sep = [...align].map((a) => (a === 'r' ? '---:' : '---'))
  return [
    `| ${head.map(esc).join(' | ')} |`,
    `| ${sep.join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ]
}

/** Escapes table-breaking characters and HTML; keeps the backticks and bold markers we add. */
function cell(text: string): string {
  return esc(text)
}

function esc(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('<', '&lt;').replaceAll('\n', ' ')
}

/** Per-tenant energy, carbon and requests, with the shared-pool idle energy allocated to each. */
function tenantsSection(out: string[], report: Report): void {
  const t = report.tenants
  if (t.tenants.length === 0) return
  section(out, 'Tenants')
  out.push(
    ...table(
      TENANT_COLUMNS,
      t.tenants.map((x) => [
        x.tenant === null ? '_no tenant key_' : x.tenant,
        String(x.requests),
        fmt(x.it_energy_wh.value),
        interval(x.it_energy_wh),
        fmt(x.carbon_g.value),
        pct(x.share_of_it_energy_pct),
        fmt(x.idle_allocated_it_energy_wh),
        fmt(x.it_energy_with_idle_wh),
        x.it_energy_wh.method,
      ]),
      'lrrrrrrrl',
    ),
    '',
    `Energy is IT energy (before PUE). Idle allocation \`${t.idle_allocation}\`: ${t.idle_allocation_basis}. ` +
      `Pool idle energy ${fmt(t.pool_idle_it_energy_wh)} Wh` +
      (t.unallocated_idle_it_energy_wh > 0
        ? `, of which ${fmt(t.unallocated_idle_it_energy_wh)} Wh ran on backends no request used and is not allocated.`
        : '.'),
  )
}
