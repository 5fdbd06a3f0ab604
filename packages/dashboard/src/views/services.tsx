/**
 * Per service: totals, the production budget watch (burn against the stage target), and the trend of
 * one selected service.
 */
import { useState } from 'preact/hooks'
import type { ServiceDetailBody, ServicesBody } from '@wattline/core'
import { getJson } from '../api.ts'
import { Chart, energyPer1kRequestsSeries } from '../components/chart.tsx'
import { MethodBadge, Stat } from '../components/stat.tsx'
import { DataTable, Ratio } from '../components/table.tsx'
import { PolledView } from '../components/polled-view.tsx'
import { carbon, num, time } from '../format.ts'
import { usePoll } from '../use-poll.ts'
import { viewQuery, type ViewProps } from './view-props.ts'

export function ServicesView(view: ViewProps) {
  const { span, tenant, paused, intervalMs } = view
  const [chosen, setChosen] = useState<string | undefined>(undefined)
  return (
    <PolledView<ServicesBody>
      id="services"
      title="Services"
      intro="Each service's energy and carbon per 1k requests in the window, and its budget: the production watch's latest value against the stage target."
      path="services"
      view={view}
    >
      {(data) => {
        const selected = chosen ?? data.services[0]?.name
        return (
          <>
            <DataTable
              caption="Services: totals in the window and budget watch"
              headers={[
                'Service',
                'Requests',
                'Energy per 1k requests',
                'Carbon per 1k requests',
                'Budget metric',
                'Stage target',
                'Watch value',
                'Burn (value / target)',
                'Status',
              ]}
              rows={data.services.length}
            >
              {data.services.map((s) => {
                const e = s.summary.energy_per_1k_requests_wh
                const c = s.summary.carbon_per_1k_requests_g
                const b = s.budget
                return (
                  <tr key={s.name}>
                    <th scope="row">
                      <button
                        type="button"
                        class="link"
                        aria-pressed={selected === s.name}
                        onClick={() => setChosen(s.name)}
                      >
                        {s.name}
                      </button>
                    </th>
                    <td>{num(s.summary.requests)}</td>
                    <td>
                      {e === null ? '–' : `${num(e.value)} Wh`}{' '}
                      {e && <MethodBadge method={e.method} />}
                    </td>
                    <td>
                      {c === null ? '–' : `${num(c.value)} gCO2e`}{' '}
                      {c && <MethodBadge method={c.method} />}
                    </td>
                    <td>{b?.metric ?? 'no budget'}</td>
                    <td>{b === null ? '–' : `${num(b.target)} ${b.unit} (${b.stage})`}</td>
                    <td>
                      {b === null || b.value === null ? '–' : `${num(b.value)} ${b.unit}`}{' '}
                      {b && <MethodBadge method={b.method} />}
                    </td>
                    <td>
                      <Ratio value={b?.ratio ?? null} label={`${s.name} budget burn`} high={1.5} />
                    </td>
                    <td>
                      {b === null ? (
                        '–'
                      ) : b.breached ? (
                        <strong class="bad">over budget</strong>
                      ) : (
                        'within budget'
                      )}
                    </td>
                  </tr>
                )
              })}
            </DataTable>
            {selected !== undefined && (
              <ServiceDetailPanel
                name={selected}
                span={span}
                tenant={tenant}
                paused={paused}
                intervalMs={intervalMs}
              />
            )}
          </>
        )
      }}
    </PolledView>
  )
}

function ServiceDetailPanel(p: {
  readonly name: string
  readonly span: string
  readonly tenant: string
  readonly paused: boolean
  readonly intervalMs: number
}) {
  const { data, error } = usePoll(
    (signal) =>
      getJson<ServiceDetailBody>(`services/${encodeURIComponent(p.name)}`, viewQuery(p), signal),
    `service:${p.name}:${p.span}:${p.tenant}`,
    p.intervalMs,
    p.paused,
  )
  return (
    <section aria-labelledby="service-detail-heading" class="panel">
      <h3 id="service-detail-heading">Service {p.name}</h3>
      {error !== undefined && (
        <p role="alert" class="error">
          Could not refresh: {error}
        </p>
      )}
      {data === undefined ? (
        <p aria-busy="true">Loading…</p>
      ) : (
        <>
          <dl class="stats">
            <Stat
              label="Budget burn over the window"
              value={data.window_burn === null ? '–' : `${num(data.window_burn * 100)} % of target`}
              method={data.budget?.method}
              source={
                data.budget === null
                  ? 'no budget configured'
                  : `${num(data.window_value)} ${data.budget.unit} against the ${data.budget.stage} target ${num(data.budget.target)} ${data.budget.unit} (baseline ${num(data.budget.baseline)})`
              }
            >
              <Ratio value={data.window_burn} label={`${p.name} window burn`} high={1.5} />
            </Stat>
            <Stat
              label="Watch (rolling)"
              value={
                data.budget?.value === null || data.budget === null
                  ? '–'
                  : `${num(data.budget.value)} ${data.budget.unit}`
              }
              method={data.budget?.method}
              source={
                data.budget === null
                  ? 'no budget configured'
                  : `last ${num(data.budget.window_s)} s, evaluated ${time(data.budget.evaluated_at_ms)}`
              }
            />
            <Stat
              label="Carbon in the window"
              value={carbon(data.summary.carbon_g.value)}
              method={data.summary.carbon_g.method}
              source={data.summary.carbon_g.source}
            />
          </dl>
          <Chart
            id="service-trend"
            title={`${p.name}: energy per 1k requests and requests over the window`}
            summary={`Trend of ${p.name} in ${data.series.length} buckets; target ${
              data.budget === null ? 'none' : `${num(data.budget.target)} ${data.budget.unit}`
            }. The data table below lists every value.`}
            times={data.series.map((b) => b.at_ms)}
            series={[
              energyPer1kRequestsSeries(data.series),
              {
                label: 'Requests',
                unit: 'requests',
                values: data.series.map((b) => b.requests),
                color: '#6e7781',
              },
            ]}
          />
        </>
      )}
    </section>
  )
}
