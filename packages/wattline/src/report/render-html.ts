/**
 * @module report/render-html
 * The report as one self-contained, printable HTML page: inline CSS (A4 pages, sections that do not
 * split across pages), inline SVG charts rendered on the server, no script, no external resource.
 * The same page is printed to PDF by `render-pdf.ts`. All ledger-derived text is HTML-escaped.
 */
import { carbonByZone, energyCarbonOverTime, measuredShare } from './charts.ts'
import { fmt, interval, pct, shortHash, when, withUnit } from './format.ts'
import type { Figure, Report } from './report-schema.ts'
import { TENANT_COLUMNS } from './tenant-section.ts'

const CSS = `
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.4 Helvetica, Arial, sans-serif; color: #222; margin: 0 auto; max-width: 186mm; }
h1 { font-size: 18pt; margin: 0 0 2mm; }
h2 { font-size: 12.5pt; margin: 6mm 0 2mm; border-bottom: 1px solid #ccc; padding-bottom: 1mm; }
p.meta { color: #555; margin: 0 0 4mm; }
figure, table, .cards, .charts { break-inside: avoid; page-break-inside: avoid; }
h2 { break-after: avoid; page-break-after: avoid; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 3mm; font-size: 9.5pt; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 1.2mm 1.6mm; text-align: left; vertical-align: top; }
th { background: #f3f5f4; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.n { white-space: nowrap; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 2.5mm; margin: 2mm 0 4mm; }
.card { border: 1px solid #d5ddd8; border-radius: 2mm; padding: 2mm 2.5mm; break-inside: avoid; }
.card .k { font-size: 8.5pt; color: #555; }
.card .v { font-size: 14pt; font-weight: 600; }
.card .i { font-size: 8pt; color: #666; }
.charts { display: flex; flex-wrap: wrap; gap: 3mm; justify-content: space-between; }
figure { margin: 0; }
figcaption { font-size: 8.5pt; color: #555; }
svg { max-width: 100%; height: auto; }
code { font: 8.5pt/1.3 Menlo, Consolas, monospace; word-break: break-all; }
.bad { color: #a12b2b; font-weight: 600; }
.note { font-size: 9pt; color: #444; }
ul.notes { padding-left: 5mm; margin: 1mm 0; }
`

/** Renders `report` as a complete HTML document. */
export function renderHtml(report: Report): string {
  const scope = report.scope.service ?? 'all services'
  const title = `Wattline transparency report: ${scope}`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="${esc(report.generator)}">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${esc(title)}</h1>
<p class="meta">${esc(when(report.period.from))} → ${esc(when(report.period.to))} (${fmt(report.period.duration_h)} h) ·
generated ${esc(when(report.generated_at))} · ledger head <code>${esc(shortHash(report.chain_head.hash))}</code> (${report.chain_head.height} blocks)</p>
</header>
<main>
${cards(report)}
<section aria-labelledby="s-time"><h2 id="s-time">Energy and carbon over time</h2>
<figure>${energyCarbonOverTime(report)}<figcaption>IT energy per ${fmt(report.over_time.bucket_s / 60)}-minute bucket, measured and modelled, idle energy dashed; carbon (right axis) includes PUE.</figcaption></figure>
</section>
<section aria-labelledby="s-zone"><h2 id="s-zone">Carbon by zone and region</h2>
<div class="charts">
<figure>${carbonByZone(report)}<figcaption>Location-based carbon by grid zone, gCO2e.</figcaption></figure>
<figure>${measuredShare(report)}<figcaption>Share of IT energy measured by a meter vs modelled.</figcaption></figure>
</div>
${zoneTable(report)}
${regionTable(report)}
</section>
${backendTable(report)}
${sciSection(report)}
${savingsSection(report)}
${tenantsSection(report)}
${budgetSection(report)}
${lifecycleSection(report)}
${anomalySection(report)}
${methodologySection(report)}
${chainSection(report)}
</main>
</body>
</html>
`
}

function cards(r: Report): string {
  const card = (k: string, v: string, i: string): string =>
    `<div class="card"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div><div class="i">${esc(i)}</div></div>`
  const fi = (f: Figure | null): string =>
    f === null ? 'no requests' : `${interval(f)} · ${f.method}`
  return `<section aria-label="Headline figures" class="cards">
${card('Energy per 1k requests', withUnit(r.energy_per_1k_requests_wh?.value, 'Wh'), fi(r.energy_per_1k_requests_wh))}
${card('Carbon per 1k requests', withUnit(r.carbon_per_1k_requests_g?.value, 'gCO2e'), fi(r.carbon_per_1k_requests_g))}
${card('SCI per request', withUnit(r.sci.per_request.sci_g?.value, 'gCO2e'), fi(r.sci.per_request.sci_g))}
${card('SCI per 1k output tokens', withUnit(r.sci.per_1k_output_tokens.sci_g?.value, 'gCO2e'), fi(r.sci.per_1k_output_tokens.sci_g))}
${card('Requests', String(r.totals.requests), `${r.totals.failed_requests} failed · ${fmt(r.totals.output_tokens)} output tokens`)}
${card('Facility energy', withUnit(r.totals.facility_energy_wh.value, 'Wh'), `${interval(r.totals.facility_energy_wh)} · idle ${pct(r.totals.idle_share_pct)} of IT`)}
${card('Peak power', withUnit(r.peak_power_w.value, 'W'), r.peak_power_w.value === null ? 'no data' : `${when(r.peak_power_w.at)} · ${r.peak_power_w.method ?? ''}`)}
${card('PUE (energy-weighted)', fmt(r.pue.energy_weighted), `range ${fmt(r.pue.min)}–${fmt(r.pue.max)}`)}
</section>`
}

function table(
  caption: string,
  head: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: readonly number[],
): string {
  const cls = (i: number): string => (numeric.includes(i) ? ' class="n"' : '')
  return `<table><caption class="note" style="text-align:left">${esc(caption)}</caption>
<thead><tr>${head.map((h, i) => `<th scope="col"${cls(i)}>${esc(h)}</th>`).join('')}</tr></thead>
<tbody>${rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${c}</td>`).join('')}</tr>`).join('\n')}</tbody></table>`
}

function zoneTable(r: Report): string {
  if (r.carbon_by_zone.length === 0) return '<p class="note">No requests in scope.</p>'
  return table(
    'Carbon by zone (facility energy includes idle overhead; intensity is energy-weighted)',
    [
      'Zone',
      'Requests',
      'Energy (Wh)',
      'Carbon (gCO2e)',
      'Interval',
      'Share',
      'Intensity (g/kWh)',
      'Sources',
    ],
    r.carbon_by_zone.map((z) => [
      esc(z.zone),
      String(z.requests),
      fmt(z.facility_energy_wh),
      fmt(z.carbon_g.value),
      interval(z.carbon_g),
      pct(z.share_of_carbon_pct),
      fmt(z.mean_intensity_g_per_kwh),
      esc(`${z.signals.join(', ')}: ${z.intensity_sources.join(', ')}`),
    ]),
    [1, 2, 3, 4, 5, 6],
  )
}

function regionTable(r: Report): string {
  if (r.carbon_by_region.length === 0) return ''
  return table(
    'Carbon by region (country of the grid zone)',
    ['Region', 'Zones', 'Requests', 'Energy (Wh)', 'Carbon (gCO2e)', 'Share'],
    r.carbon_by_region.map((g) => [
      esc(g.region),
      esc(g.zones.join(', ')),
      String(g.requests),
      fmt(g.facility_energy_wh),
      fmt(g.carbon_g.value),
      pct(g.share_of_carbon_pct),
    ]),
    [2, 3, 4, 5],
  )
}

function backendTable(r: Report): string {
  if (r.by_backend.length === 0) return ''
  return `<section aria-labelledby="s-backends"><h2 id="s-backends">Backends</h2>
${table(
  'IT energy by backend; PUE = facility / IT energy',
  [
    'Backend',
    'Zone',
    'Requests',
    'IT energy (Wh)',
    'Idle (Wh)',
    'PUE',
    'Peak (W)',
    'J/output token',
    'Method',
  ],
  r.by_backend.map((b) => [
    esc(b.backend),
    esc(b.zone),
    String(b.requests),
    fmt(b.it_energy_wh),
    fmt(b.idle_energy_wh),
    fmt(b.pue),
    fmt(b.peak_power_w),
    fmt(b.energy_per_output_token_j),
    b.method,
  ]),
  [2, 3, 4, 5, 6, 7],
)}</section>`
}

function sciSection(r: Report): string {
  const s = r.sci
  const line = (label: string, value: string): string =>
    `<tr><th scope="row">${esc(label)}</th><td class="n">${esc(value)}</td></tr>`
  return `<section aria-labelledby="s-sci"><h2 id="s-sci">Software Carbon Intensity (${esc(s.standard)})</h2>
<p class="note">${esc(s.formula)}, with R = one request and R = 1,000 output tokens.</p>
<table><tbody>
${line('E: facility energy', `${fmt(s.e_kwh.value, 4)} kWh (${interval(s.e_kwh)})`)}
${line('I: effective intensity', withUnit(s.i_g_per_kwh, 'gCO2e/kWh', 4))}
${line('E·I: operational carbon', `${fmt(s.operational_g.value, 4)} gCO2e (${interval(s.operational_g)})`)}
${line('M: embodied, amortised', `${fmt(s.embodied_g, 4)} gCO2e`)}
${line('E·I + M', `${fmt(s.total_g.value, 4)} gCO2e`)}
${line(`SCI per request (R = ${fmt(s.per_request.r)})`, `${withUnit(s.per_request.sci_g?.value, 'gCO2e', 4)} (${interval(s.per_request.sci_g)})`)}
${line(`SCI per 1k output tokens (R = ${fmt(s.per_1k_output_tokens.r)})`, `${withUnit(s.per_1k_output_tokens.sci_g?.value, 'gCO2e', 4)} (${interval(s.per_1k_output_tokens.sci_g)})`)}
</tbody></table>
<ul class="notes">${s.boundary.map((b) => `<li>${esc(b)}</li>`).join('')}</ul>
</section>`
}

function savingsSection(r: Report): string {
  const sv = r.savings_by_lever
  const net = r.network
  if (sv.levers.length === 0 && net.requests_counted === 0) return ''
  const levers =
    sv.levers.length === 0
      ? '<p class="note">No lever acted on a request in this period.</p>'
      : table(
          'Energy and carbon each lever saved (counterfactual: see the basis)',
          [
            'Lever',
            'Requests',
            'Energy saved (Wh)',
            'Low',
            'High',
            'Carbon saved (gCO2e)',
            'Share',
            'Basis',
          ],
          sv.levers.map((l) => [
            esc(l.lever),
            String(l.requests),
            fmt(l.energy_saved_wh.value),
            fmt(l.energy_saved_wh.low),
            fmt(l.energy_saved_wh.high),
            fmt(l.carbon_saved_g),
            `${fmt(l.share_of_energy_without_it_pct)} %`,
            `<code>${esc(l.basis)}</code>`,
          ]),
          [1, 2, 3, 4, 5, 6],
        ) + `<p class="note">${esc(sv.basis_note)}</p>`
  const network =
    net.requests_counted === 0
      ? ''
      : `<h3>Network energy (apart from compute)</h3><p>${fmt(net.bytes / 1e6)} MB over ${net.requests_counted} requests: <strong>${fmt(net.energy_wh)} Wh</strong>, ${fmt(net.carbon_g)} gCO2e (${esc(net.method)}; ${fmt(net.share_of_compute_energy_pct)} % of the requests' IT energy). ${esc(net.note)}</p><ul class="notes">${net.sources.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>`
  return `<section aria-labelledby="s-savings"><h2 id="s-savings">Savings by lever</h2>${levers}${network}</section>`
}

function budgetSection(r: Report): string {
  if (r.budgets.length === 0 && r.gate_decisions.length === 0) return ''
  const budgets =
    r.budgets.length === 0
      ? '<p class="note">No budgets recorded for this scope.</p>'
      : table(
          'Budgets in force; actuals over the period use IT energy of requests, as the release gate does',
          ['Service', 'Family', 'Metric', 'Stage', 'Baseline', 'Target', 'In period', 'Status'],
          r.budgets.map((b) => [
            esc(b.service),
            esc(b.model_family ?? '–'),
            `<code>${esc(b.metric)}</code>`,
            esc(b.stage),
            fmt(b.baseline),
            `${fmt(b.target)} (+${fmt(b.variance_pct)} %)`,
            fmt(b.actual_in_period),
            b.status === 'over' ? '<span class="bad">over</span>' : b.status,
          ]),
          [4, 5, 6],
        )
  const gates =
    r.gate_decisions.length === 0
      ? '<p class="note">No gate decisions in the period.</p>'
      : table(
          'Release-gate decisions recorded in the period',
          ['When', 'Service', 'Release', 'Verdict', 'Metric', 'Upper', 'Target', 'Reason'],
          r.gate_decisions.map((g) => [
            esc(when(g.at)),
            esc(g.service),
            esc(g.release ?? '–'),
            g.verdict === 'fail' ? '<span class="bad">fail</span>' : 'pass',
            `<code>${esc(g.metric)}</code>`,
            fmt(g.upper),
            fmt(g.target),
            esc(g.reason),
          ]),
          [5, 6],
        )
  return `<section aria-labelledby="s-budgets"><h2 id="s-budgets">Budgets and release gate</h2>${budgets}${gates}</section>`
}

function lifecycleSection(r: Report): string {
  const lc = r.lifecycle
  const training =
    lc.training_runs.length === 0
      ? '<p class="note">No training runs recorded for this scope.</p>'
      : table(
          `Training runs (not part of SCI): ${fmt(lc.training_energy_kwh)} kWh, ${fmt(lc.training_carbon_kg)} kgCO2e in total`,
          [
            'Run',
            'Model',
            'Hardware',
            'Period',
            'Energy (kWh)',
            'Carbon (kgCO2e)',
            'Method',
            'Source',
          ],
          lc.training_runs.map((t) => [
            esc(t.name),
            esc(t.model),
            esc(`${t.accelerators} × ${t.hardware} in ${t.zone}`),
            esc(`${t.start.slice(0, 10)} → ${t.end.slice(0, 10)}`),
            `${fmt(t.energy_kwh.value)} (${interval(t.energy_kwh)})`,
            fmt(t.carbon_kg),
            t.method,
            esc(t.source),
          ]),
          [4, 5],
        )
  const hardware =
    lc.hardware.length === 0
      ? '<p class="note">No hardware inventory recorded: M is 0.</p>'
      : table(
          `Embodied emissions amortised over the period (M = TE × TiR/EL × RR/ToR): ${fmt(lc.embodied_amortised_g)} gCO2e`,
          [
            'Item',
            'Units',
            'kgCO2e/unit',
            'Life (y)',
            'In service from',
            'TiR (h)',
            'RR/ToR',
            'M (gCO2e)',
            'Source',
          ],
          lc.hardware.map((h) => [
            esc(`${h.id} (${h.hardware})`),
            String(h.count),
            fmt(h.embodied_kg_per_unit),
            fmt(h.lifetime_years),
            esc(h.in_service_from.slice(0, 10)),
            fmt(h.time_in_period_h),
            fmt(h.allocation_share * h.scope_share),
            fmt(h.amortised_g),
            esc(h.embodied_source),
          ]),
          [1, 2, 3, 5, 6, 7],
        )
  return `<section aria-labelledby="s-life"><h2 id="s-life">Lifecycle</h2>${training}${hardware}</section>`
}

function anomalySection(r: Report): string {
  const a = r.anomalies
  const body =
    a.items.length === 0
      ? `<p class="note">No anomalies in ${a.series_checked} series (${esc(a.detector)}).</p>`
      : table(
          `${a.items.length} ${a.items.length === 1 ? 'anomaly' : 'anomalies'} (${a.detector}; history from ${when(a.history_from)})`,
          ['Hour', 'Series', 'Value', 'Normal range', 'z', 'Explanation'],
          a.items.map((x) => [
            esc(when(x.at)),
            esc(
              `${x.subject} (${x.kind === 'energy_per_request' ? 'energy per request' : 'power'})`,
            ),
            esc(`${fmt(x.value)} ${x.unit}`),
            esc(`${fmt(x.expected_low)}–${fmt(x.expected_high)}`),
            fmt(x.score, 2),
            esc(x.reason),
          ]),
          [2, 3, 4],
        )
  return `<section aria-labelledby="s-anom"><h2 id="s-anom">Anomalies</h2>${body}</section>`
}

function methodologySection(r: Report): string {
  const m = r.methodology
  const sources =
    m.intensity.sources.length === 0
      ? '<p class="note">No intensity values were recorded in the period.</p>'
      : table(
          `Intensity sources (accounting: ${m.intensity.accounting})`,
          ['Source', 'Signal', 'Zones', 'Values', 'Forecast', 'Stale'],
          m.intensity.sources.map((s) => [
            esc(s.source),
            s.signal,
            esc(s.zones.join(', ')),
            String(s.values_recorded),
            String(s.forecast_values),
            String(s.stale_values),
          ]),
          [3, 4, 5],
        )
  return `<section aria-labelledby="s-method"><h2 id="s-method">Methodology</h2>
<ul class="notes">${m.notes.map((n) => `<li>${esc(n)}</li>`).join('')}
<li>${esc(`Intervals: ${m.energy.interval_basis}.`)}</li>
<li>${esc(`Energy sources: ${m.energy.sources.join(', ') || 'none'}.`)}</li></ul>
${sources}</section>`
}

function chainSection(r: Report): string {
  const c = r.chain_head
  return `<section aria-labelledby="s-chain"><h2 id="s-chain">Checking this report</h2>
<p class="note">The figures were computed from the ledger whose newest block (${c.height} blocks, sealed ${esc(when(c.at))}) has the ${esc(c.algorithm)} hash</p>
<p><code>${esc(c.hash ?? 'none: the ledger was empty')}</code></p>
<p class="note">An auditor runs <code>${esc(c.verify_command)}</code> to check every block's hash and signature, then confirms that the chain contains a block with this hash: rows the report used cannot have been changed since without the check failing.</p>
</section>`
}

/** Escapes text for HTML element content and attribute values. */
export function esc(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;')
}

/** Per-tenant energy, carbon and requests, with the shared-pool idle energy allocated to each. */
function tenantsSection(r: Report): string {
  const t = r.tenants
  if (t.tenants.length === 0) return ''
  const rows = t.tenants.map((x) => [
    x.tenant === null ? '<em>no tenant key</em>' : esc(x.tenant),
    String(x.requests),
    fmt(x.it_energy_wh.value),
    interval(x.it_energy_wh),
    fmt(x.carbon_g.value),
    `${fmt(x.share_of_it_energy_pct)} %`,
    fmt(x.idle_allocated_it_energy_wh),
    fmt(x.it_energy_with_idle_wh),
    esc(x.it_energy_wh.method),
  ])
  const unallocated =
    t.unallocated_idle_it_energy_wh > 0
      ? ` ${fmt(t.unallocated_idle_it_energy_wh)} Wh of idle energy ran on backends no request used in the period and is not allocated.`
      : ''
  return `<section aria-labelledby="s-tenants"><h2 id="s-tenants">Tenants</h2>
${table(
  'Energy (IT, before PUE), carbon and requests per tenant, and the shared-pool idle energy allocated to each',
  TENANT_COLUMNS,
  rows,
  [1, 2, 3, 4, 5, 6, 7],
)}
<p class="note">Idle allocation <code>${esc(t.idle_allocation)}</code>: ${esc(t.idle_allocation_basis)}. Pool idle energy ${fmt(t.pool_idle_it_energy_wh)} Wh.${esc(unallocated)}</p>
</section>`
}
