/**
 * @module report/charts
 * The report's charts as inline SVG strings, rendered on the server by ECharts' SSR mode (no DOM, no
 * canvas, animation off), so the HTML page and its PDF need no script and no network.
 */
import * as echarts from 'echarts'
import { fmt } from './format.ts'
import type { Report } from './report-schema.ts'

const FONT = { fontFamily: 'Helvetica, Arial, sans-serif', fontSize: 11, color: '#333' }
const COLORS = { measured: '#2f7d4f', modelled: '#9ec5ab', carbon: '#c0504d', idle: '#bbbbbb' }

/** Renders an ECharts option to an SVG string of `width` × `height` px. */
export function renderChart(option: echarts.EChartsOption, width: number, height: number): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height })
  try {
    chart.setOption({ animation: false, textStyle: FONT, ...option })
    return chart.renderToSVGString()
  } finally {
    chart.dispose()
  }
}

/** Energy (bars, measured vs modelled IT energy and idle) and carbon (line) per time bucket. */
export function energyCarbonOverTime(report: Report, width = 680, height = 260): string {
  const b = report.over_time.buckets
  const short = report.over_time.bucket_s < 86_400
  const labels = b.map((x) => (short ? x.from.slice(5, 16).replace('T', ' ') : x.from.slice(0, 10)))
  const active = (wh: number, idle: number): number => Math.max(0, wh - idle)
  return renderChart(
    {
      grid: { left: 56, right: 56, top: 36, bottom: 56 },
      legend: { top: 4, textStyle: FONT },
      tooltip: { show: false },
      xAxis: {
        type: 'category',
        data: labels,
        axisLabel: { ...FONT, rotate: labels.length > 12 ? 45 : 0, hideOverlap: true },
      },
      yAxis: [
        { type: 'value', name: 'IT energy (Wh)', nameTextStyle: FONT, axisLabel: FONT },
        { type: 'value', name: 'carbon (gCO2e)', nameTextStyle: FONT, axisLabel: FONT },
      ],
      series: [
        {
          name: 'measured',
          type: 'bar',
          stack: 'e',
          color: COLORS.measured,
          data: b.map((x) => x.measured_energy_wh),
        },
        {
          name: 'modelled',
          type: 'bar',
          stack: 'e',
          color: COLORS.modelled,
          data: b.map((x) => x.modelled_energy_wh),
        },
        {
          name: 'of which idle',
          type: 'line',
          color: COLORS.idle,
          lineStyle: { type: 'dashed' },
          symbol: 'none',
          data: b.map((x) => x.idle_energy_wh),
        },
        {
          name: 'carbon',
          type: 'line',
          yAxisIndex: 1,
          color: COLORS.carbon,
          symbol: 'circle',
          symbolSize: 3,
          data: b.map((x) => x.carbon_g),
        },
      ],
      aria: { enabled: true, label: { description: ariaOverTime(report, active) } },
    },
    width,
    height,
  )
}

/** Horizontal bars of carbon by zone with the interval as error text. */
export function carbonByZone(report: Report, width = 330, height = 220): string {
  const zones = [...report.carbon_by_zone].reverse()
  return renderChart(
    {
      grid: { left: 96, right: 56, top: 16, bottom: 32 },
      xAxis: { type: 'value', name: 'gCO2e', nameTextStyle: FONT, axisLabel: FONT },
      yAxis: { type: 'category', data: zones.map((z) => z.zone), axisLabel: FONT },
      series: [
        {
          type: 'bar',
          color: COLORS.carbon,
          data: zones.map((z) => z.carbon_g.value),
          label: {
            show: true,
            position: 'right',
            ...FONT,
            formatter: (p: { value: unknown }) => fmt(Number(p.value)),
          },
        },
      ],
      aria: {
        enabled: true,
        label: {
          description: `Carbon by zone: ${report.carbon_by_zone.map((z) => `${z.zone} ${fmt(z.carbon_g.value)} g`).join(', ')}`,
        },
      },
    },
    width,
    height,
  )
}

/** Donut of measured vs modelled IT energy. */
export function measuredShare(report: Report, width = 330, height = 220): string {
  const e = report.methodology.energy
  return renderChart(
    {
      legend: { bottom: 0, textStyle: FONT },
      series: [
        {
          type: 'pie',
          radius: ['45%', '72%'],
          center: ['50%', '45%'],
          label: { ...FONT, formatter: '{b}\n{d}%' },
          data: [
            {
              name: 'measured',
              value: e.measured_share_pct,
              itemStyle: { color: COLORS.measured },
            },
            {
              name: 'modelled',
              value: e.modelled_share_pct,
              itemStyle: { color: COLORS.modelled },
            },
          ],
        },
      ],
      aria: {
        enabled: true,
        label: {
          description: `Measured ${fmt(e.measured_share_pct)} % and modelled ${fmt(e.modelled_share_pct)} % of IT energy`,
        },
      },
    },
    width,
    height,
  )
}

function ariaOverTime(report: Report, active: (wh: number, idle: number) => number): string {
  const b = report.over_time.buckets
  const peak = b.reduce<(typeof b)[number] | undefined>(
    (best, x) => (best === undefined || x.it_energy_wh > best.it_energy_wh ? x : best),
    undefined,
  )
  const total = b.reduce((s, x) => s + active(x.it_energy_wh, x.idle_energy_wh), 0)
  return (
    `IT energy and carbon in ${b.length} buckets of ${report.over_time.bucket_s / 60} minutes; ` +
    `active energy ${fmt(total)} Wh` +
    (peak === undefined ? '' : `; highest bucket ${peak.from} with ${fmt(peak.it_energy_wh)} Wh`)
  )
}
