/**
 * A time-series chart (uPlot on a canvas) that is also accessible: the figure has a text summary as
 * its accessible name, and the same data is available as a table below it.
 */
import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { axisTime, num } from '../format.ts'

export interface ChartSeries {
  readonly label: string
  /** Unit shown in the legend, axis and table header. */
  readonly unit: string
  readonly values: readonly (number | null)[]
  readonly color: string
}

/** The "energy per 1k requests" line (Wh) of a view's trend chart, the same in every view. */
export function energyPer1kRequestsSeries(
  buckets: readonly { readonly energy_per_1k_requests_wh: number | null }[],
): ChartSeries {
  return {
    label: 'Energy per 1k requests',
    unit: 'Wh',
    values: buckets.map((b) => b.energy_per_1k_requests_wh),
    color: '#1f6feb',
  }
}

export interface ChartProps {
  readonly id: string
  readonly title: string
  /** A sentence describing what the chart shows and its range (the chart's text alternative). */
  readonly summary: string
  readonly times: readonly number[]
  readonly series: readonly ChartSeries[]
}

export function Chart({ id, title, summary, times, series }: ChartProps) {
  const host = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const span = times.length > 1 ? (times.at(-1) as number) - (times[0] as number) : 0
  const shape = series.map((s) => `${s.label}|${s.unit}`).join(',')
  const spanRef = useRef(span)
  spanRef.current = span

  const data: uPlot.AlignedData = [
    times.map((t) => t / 1000),
    ...series.map((s) => s.values.map((v) => v ?? null)),
  ]
  const dataRef = useRef(data)
  dataRef.current = data

  // Build the plot when the series' shape changes; destroy it on unmount.
  useEffect(() => {
    const el = host.current
    if (el === null) return undefined
    const width = Math.max(320, el.clientWidth || 640)
    const u = new uPlot(
      {
        width,
        height: 220,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        cursor: { drag: { x: false, y: false } },
        legend: { live: false },
        scales: { x: { time: true } },
        series: [
          { label: 'time (UTC)' },
          ...series.map((s, i) => ({
            label: `${s.label} (${s.unit})`,
            stroke: s.color,
            width: 2,
            scale: i === 0 ? 'y' : 'y2',
          })),
        ],
        axes: [
          {
            values: (_u: uPlot, ticks: number[]) =>
              ticks.map((t) => axisTime(t * 1000, spanRef.current)),
          },
          { scale: 'y', label: series[0]?.unit ?? '', size: 64 },
          ...(series.length > 1
            ? [
                {
                  scale: 'y2',
                  side: 1,
                  label: series[1]?.unit ?? '',
                  size: 64,
                  grid: { show: false },
                },
              ]
            : []),
        ],
      },
      dataRef.current,
      el,
    )
    plot.current = u
    for (const canvas of el.querySelectorAll('canvas')) canvas.setAttribute('aria-hidden', 'true')
    const resize = new ResizeObserver(() => {
      u.setSize({ width: Math.max(320, el.clientWidth), height: 220 })
    })
    resize.observe(el)
    return () => {
      resize.disconnect()
      u.destroy()
      plot.current = null
    }
    // Deliberately keyed on the shape only: data updates go through setData below.
  }, [shape])

  // Feed new data to the existing plot on every refresh.
  useEffect(() => {
    plot.current?.setData(data)
  })

  return (
    <figure class="chart" aria-labelledby={`${id}-title`} aria-describedby={`${id}-summary`}>
      <figcaption id={`${id}-title`}>{title}</figcaption>
      <div ref={host} role="img" aria-label={`${title}. ${summary}`} class="chart-canvas" />
      <p id={`${id}-summary`} class="visually-hidden">
        {summary}
      </p>
      <details>
        <summary>Data table: {title}</summary>
        <div class="table-scroll">
          <table>
            <caption class="visually-hidden">{title}</caption>
            <thead>
              <tr>
                <th scope="col">Time (UTC)</th>
                {series.map((s) => (
                  <th scope="col" key={s.label}>
                    {s.label} ({s.unit})
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {times.map((t, i) => (
                <tr key={t}>
                  <th scope="row">{new Date(t).toISOString().slice(0, 16).replace('T', ' ')}</th>
                  {series.map((s) => (
                    <td key={s.label}>{num(s.values[i] ?? null)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  )
}
