/**
 * Overview: energy and carbon per 1k requests, peak power, idle share, savings by lever, and the trend.
 */
import type { AnomaliesBody, OverviewBody } from '@wattline/core'
import { getJson } from '../api.ts'
import { Chart, energyPer1kRequestsSeries } from '../components/chart.tsx'
import { MethodBadge, Stat } from '../components/stat.tsx'
import { DataTable } from '../components/table.tsx'
import { PolledView } from '../components/polled-view.tsx'
import { carbon, energy, num, percent, time } from '../format.ts'
import { usePoll } from '../use-poll.ts'
import type { ViewProps } from './view-props.ts'

export function OverviewView(view: ViewProps) {
  const { span, paused, intervalMs } = view
  const anomalies = usePoll(
    (signal) => getJson<AnomaliesBody>('anomalies', { span }, signal),
    `overview-anomalies:${span}`,
    intervalMs,
    paused,
  )
  return (
    <PolledView<OverviewBody>
      id="overview"
      title="Overview"
      intro="Fleet-wide energy and carbon for the chosen window. Energy per 1k requests is facility energy (IT × PUE) including the idle energy of the backends."
      path="overview"
      view={view}
    >
      {(data) => <OverviewFigures data={data} anomalies={anomalies.data} />}
    </PolledView>
  )
}

function OverviewFigures({
  data,
  anomalies,
}: {
  readonly data: OverviewBody
  readonly anomalies: AnomaliesBody | undefined
}) {
  const s = data.summary
  const e = s.energy_per_1k_requests_wh
  const c = s.carbon_per_1k_requests_g
  const signals = data.intensity_signals.join(', ') || 'none'
  const split = data.energy_split
  return (
    <>
      {split.idle_dominates ? (
        <p class="notice" role="note" id="idle-notice">
          Idle power dominates this window: {percent(split.idle_share)} of the energy (
          {energy(split.idle_facility_energy_j)}) was drawn by backends with nothing to do, against{' '}
          {energy(split.served_facility_energy_j)} for serving requests. The savings below are on
          the served part; their share of all carbon, idle included, is in the last column.
          Right-sizing (docs/scaling.md) is the lever for idle power.
        </p>
      ) : null}
      <dl class="stats">
        <Stat
          label="Served energy"
          value={energy(split.served_facility_energy_j)}
          method={s.facility_energy_j.method}
          source="facility energy (IT × PUE) attributed to requests"
        />
        <Stat
          label="Idle energy"
          value={energy(split.idle_facility_energy_j)}
          method={s.idle_energy_j.method}
          source={`backends powered with nothing to do: ${percent(split.idle_share)} of all energy`}
        />
        <Stat label="Requests" value={num(s.requests)} source="ledger">
          <span class="stat-interval">{num(s.failed_requests)} failed</span>
        </Stat>
        <Stat
          label="Energy per 1k requests"
          value={e === null ? '–' : `${num(e.value)} Wh`}
          method={e?.method}
          interval={e === null ? undefined : `${num(e.low)}–${num(e.high)} Wh`}
          source={e?.source}
        />
        <Stat
          label="Carbon per 1k requests"
          value={c === null ? '–' : `${num(c.value)} gCO2e`}
          method={c?.method}
          interval={c === null ? undefined : `${num(c.low)}–${num(c.high)} gCO2e`}
          source={`${c?.source ?? 'ledger'}; location-based, ${signals} intensity`}
        />
        <Stat
          label="Peak power"
          value={`${num(data.peak_power_w.value)} W`}
          method={data.peak_power_w.method}
          source={`${data.peak_power_w.source}; at ${time(data.peak_power_w.at_ms)}`}
        />
        <Stat
          label="Idle share of energy"
          value={percent(s.idle_share)}
          method={s.idle_energy_j.method}
          source={`${energy(s.idle_energy_j.value)} idle of ${energy(s.facility_energy_j.value)} facility energy`}
        />
        <Stat
          label="Measured share of energy"
          value={percent(s.measured_share)}
          source="share of facility energy from power meters; the rest is modelled"
        />
        <Stat
          label="Total carbon"
          value={carbon(s.carbon_g.value)}
          method={s.carbon_g.method}
          interval={`${carbon(s.carbon_g.low)}–${carbon(s.carbon_g.high)}`}
          source={s.carbon_g.source}
        />
        <Stat
          label="Network energy (apart from compute)"
          value={energy(data.network.energy_j)}
          method={data.network.method}
          source={`${num(data.network.bytes / 1e6)} MB over ${num(data.network.requests_counted)} requests, ${carbon(data.network.carbon_g)}; ${data.network.source}`}
        />
        <Stat
          label="Anomalies flagged"
          value={anomalies === undefined ? '…' : num(anomalies.anomalies.length)}
          source="hourly energy per request and backend power against the same hour on previous days"
        >
          <a href="#anomalies">See anomalies</a>
        </Stat>
        <Stat
          label="Budgets in breach"
          value={num(data.budgets_breached)}
          source="production budget watch"
        />
      </dl>

      <h3>Savings against baseline, by lever</h3>
      <DataTable
        caption="Savings by optimisation lever against a named baseline (positive = saved)"
        headers={[
          'Lever',
          'Baseline',
          'Energy saved',
          'Carbon saved',
          'Carbon saved (%)',
          'Of all carbon, idle included (%)',
          'Method',
          'Source',
        ]}
        rows={data.savings.length}
      >
        {data.savings.map((l) => (
          <tr key={l.lever}>
            <th scope="row">{l.lever}</th>
            <td>{l.baseline}</td>
            <td>{energy(l.energy_j)}</td>
            <td>{carbon(l.carbon_g)}</td>
            <td>{l.carbon_pct === null ? '–' : `${num(l.carbon_pct)} %`}</td>
            <td>{l.carbon_pct_of_total === null ? '–' : `${num(l.carbon_pct_of_total)} %`}</td>
            <td>
              <MethodBadge method={l.method} />
            </td>
            <td class="source">{l.source}</td>
          </tr>
        ))}
      </DataTable>

      <Chart
        id="overview-trend"
        title="Energy and carbon per 1k requests over the window"
        summary={trendSummary(data)}
        times={data.series.map((b) => b.at_ms)}
        series={[
          energyPer1kRequestsSeries(data.series),
          {
            label: 'Carbon per 1k requests',
            unit: 'gCO2e',
            values: data.series.map((b) => b.carbon_per_1k_requests_g),
            color: '#b35900',
          },
        ]}
      />
    </>
  )
}

function trendSummary(data: OverviewBody): string {
  const values = data.series
    .map((b) => b.energy_per_1k_requests_wh)
    .filter((v): v is number => v !== null)
  if (values.length === 0) return 'No requests in this window.'
  const minutes = Math.round(data.bucket_ms / 60_000)
  return `${values.length} buckets of ${minutes} minutes; energy per 1k requests ranged from ${num(Math.min(...values))} to ${num(Math.max(...values))} Wh. The data table below lists every value.`
}
