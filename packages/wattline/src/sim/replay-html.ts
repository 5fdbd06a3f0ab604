/**
 * @module sim/replay-html
 * The replay report as one self-contained HTML page with inline SVG charts (hand-written SVG: no
 * script, no network, byte-stable): carbon over time per zone for each policy, share of load per
 * zone, and the latency CDF of every policy.
 */
import type { ReplayReport } from './replay.ts'
import { oracleFraction, savingsVsBaseline } from './replay-report.ts'
import { renderTierHtml } from './replay-tiers.ts'

const COLOURS = [
  '#1b9e77',
  '#d95f02',
  '#7570b3',
  '#e7298a',
  '#66a61e',
  '#e6ab02',
  '#a6761d',
  '#666666',
]
const W = 640
const H = 220
const PAD = { l: 56, r: 12, t: 12, b: 32 }

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
const fmt = (x: number): string =>
  Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(1) : x.toPrecision(2)

interface Line {
  readonly label: string
  readonly xs: readonly number[]
  readonly ys: readonly number[]
}

function lineChart(
  title: string,
  xLabel: string,
  yLabel: string,
  lines: readonly Line[],
  xTick: (x: number) => string,
): string {
  const allX = lines.flatMap((l) => l.xs)
  const allY = lines.flatMap((l) => l.ys).filter(Number.isFinite)
  const x0 = Math.min(...allX)
  const x1 = Math.max(...allX, x0 + 1)
  const y1 = Math.max(...allY, 0) * 1.05 || 1
  const sx = (x: number): number => PAD.l + ((x - x0) / (x1 - x0)) * (W - PAD.l - PAD.r)
  const sy = (y: number): number => H - PAD.b - (y / y1) * (H - PAD.t - PAD.b)
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">`,
  ]
  for (let i = 0; i <= 4; i++) {
    const y = (y1 * i) / 4
    parts.push(
      `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${sy(y).toFixed(1)}" y2="${sy(y).toFixed(1)}" stroke="#ddd"/>`,
    )
    parts.push(
      `<text x="${PAD.l - 4}" y="${(sy(y) + 4).toFixed(1)}" text-anchor="end" font-size="10">${fmt(y)}</text>`,
    )
  }
  for (let i = 0; i <= 4; i++) {
    const x = x0 + ((x1 - x0) * i) / 4
    parts.push(
      `<text x="${sx(x).toFixed(1)}" y="${H - PAD.b + 14}" text-anchor="middle" font-size="10">${esc(xTick(x))}</text>`,
    )
  }
  parts.push(
    `<text x="${(W / 2).toFixed(0)}" y="${H - 4}" text-anchor="middle" font-size="11">${esc(xLabel)}</text>`,
  )
  parts.push(
    `<text x="12" y="${(H / 2).toFixed(0)}" text-anchor="middle" font-size="11" transform="rotate(-90 12 ${(H / 2).toFixed(0)})">${esc(yLabel)}</text>`,
  )
  lines.forEach((l, i) => {
    const d = l.xs
      .map((x, k) => `${k === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(l.ys[k] ?? 0).toFixed(1)}`)
      .join('')
    parts.push(
      `<path d="${d}" fill="none" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="1.6"><title>${esc(l.label)}</title></path>`,
    )
  })
  parts.push('</svg>')
  const legend = lines
    .map(
      (l, i) =>
        `<span class="key"><i style="background:${COLOURS[i % COLOURS.length]}"></i>${esc(l.label)}</span>`,
    )
    .join(' ')
  return `<figure><figcaption>${esc(title)}</figcaption>${parts.join('')}<div class="legend">${legend}</div></figure>`
}

function shareBars(report: ReplayReport, zones: readonly string[]): string {
  const rowH = 26
  const h = PAD.t + report.policies.length * rowH + 8
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" role="img" aria-label="share of load per zone">`,
  ]
  report.policies.forEach((p, r) => {
    const y = PAD.t + r * rowH
    parts.push(
      `<text x="${PAD.l + 60}" y="${y + 15}" text-anchor="end" font-size="11">${esc(p.name)}</text>`,
    )
    let x = PAD.l + 66
    const width = W - x - PAD.r
    zones.forEach((zone, i) => {
      const share = p.zones.find((z) => z.zone === zone)?.requestShare ?? 0
      const w = share * width
      if (w > 0) {
        parts.push(
          `<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${COLOURS[i % COLOURS.length]}"><title>${esc(`${p.name} ${zone}: ${(share * 100).toFixed(1)} %`)}</title></rect>`,
        )
        if (w > 34)
          parts.push(
            `<text x="${(x + w / 2).toFixed(1)}" y="${y + 14}" text-anchor="middle" font-size="10" fill="#fff">${(share * 100).toFixed(0)}%</text>`,
          )
      }
      x += w
    })
  })
  parts.push('</svg>')
  const legend = zones
    .map(
      (z, i) =>
        `<span class="key"><i style="background:${COLOURS[i % COLOURS.length]}"></i>${esc(z)}</span>`,
    )
    .join(' ')
  return `<figure><figcaption>Share of requests served per zone</figcaption>${parts.join('')}<div class="legend">${legend}</div></figure>`
}

/** Renders the whole report page. */
/** `extraHtml`: sections appended after the routing charts (e.g. right-sizing). */
export function renderReplayHtml(report: ReplayReport, extraHtml = ''): string {
  const zones = [...new Set(report.policies.flatMap((p) => p.zones.map((z) => z.zone)))]
  const hour = (x: number): string =>
    new Date(report.binStart + x).toISOString().slice(5, 16).replace('T', ' ')
  const rows = report.policies
    .map((p) => {
      const s = savingsVsBaseline(report, p)
      const f = oracleFraction(report, p)
      return `<tr><td>${esc(p.name)}${p.planCarbonKg === undefined ? '' : ' (bound)'}</td><td>${p.requests}</td><td>${p.energyKwh.toFixed(3)}</td><td>${((p.idleEnergyKwh / Math.max(1e-12, p.energyKwh)) * 100).toFixed(1)} %</td><td>${p.carbonKg.toFixed(3)}</td><td>${((p.carbonKg * 1e6) / Math.max(1, p.requests)).toFixed(1)}</td><td>${p.latencyMs.p50.toFixed(0)}</td><td>${p.latencyMs.p95.toFixed(0)}</td><td>${p.latencyMs.p99.toFixed(0)}</td><td>${p.sloViolations}</td><td>${s === null || p === report.policies[0] ? '–' : `${(s * 100).toFixed(1)} %`}</td><td>${f === null ? '–' : `${(f * 100).toFixed(0)} %`}</td></tr>`
    })
    .join('\n')
  const carbonCharts = report.policies
    .map((p) =>
      lineChart(
        `Carbon per ${report.binMs / 60_000} min per zone — ${p.name}${p.planCarbonKg === undefined ? '' : ' (replayed LP plan)'}`,
        'time (UTC)',
        'gCO2e per bin',
        p.carbonSeries.map((z) => ({
          label: z.zone,
          xs: z.grams.map((_, k) => k * report.binMs),
          ys: z.grams,
        })),
        hour,
      ),
    )
    .join('\n')
  const cdf = lineChart(
    'Latency CDF (network + queue + prefill + decode)',
    'latency (ms)',
    'fraction of requests',
    report.policies.map((p) => ({
      label: p.name,
      xs: p.latencyCdf,
      ys: p.latencyCdf.map((_, i) => (i + 1) / 100),
    })),
    (x) => x.toFixed(0),
  )
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Wattline replay — ${esc(report.fleet)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;max-width:980px;color:#222}
table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}
figure{margin:18px 0;break-inside:avoid}figcaption{font-weight:600;margin-bottom:4px}
.legend{font-size:12px}.key{margin-right:12px}.key i{display:inline-block;width:10px;height:10px;margin-right:4px}
@page{size:A4}
</style></head><body>
<h1>Replay: ${esc(report.fleet)}</h1>
<p>${report.trace.requests} requests from <code>${esc(report.trace.file)}</code> (${esc(report.trace.format)}), ${esc(report.start)} → ${esc(report.end)}; intensity: ${esc(report.intensitySource)}; seed ${report.seed}.
Energy is facility energy (IT × PUE); carbon = energy × grid intensity in force. All figures are <strong>modelled</strong> from the fitted energy profiles.
Savings are against <strong>${esc(report.policies[0]?.name ?? '–')}</strong>; “of oracle” is a policy's savings as a fraction of the oracle's (the exact LP lower bound).</p>
<table><thead><tr><th>policy</th><th>requests</th><th>energy kWh</th><th>idle</th><th>carbon kg</th><th>g / 1k req</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>SLO misses</th><th>savings</th><th>of oracle</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${renderTierHtml(report.policies)}${shareBars(report, zones)}
${cdf}
${carbonCharts}
${extraHtml}</body></html>
`
}
