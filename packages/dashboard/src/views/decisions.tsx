/**
 * Recent routing decisions with their reasons and every candidate's predicted figures.
 */
import type { DecisionsBody } from '@wattline/core'
import { DataTable } from '../components/table.tsx'
import { PolledView } from '../components/polled-view.tsx'
import { num } from '../format.ts'
import type { ViewProps } from './view-props.ts'

export function DecisionsView(view: ViewProps) {
  return (
    <PolledView<DecisionsBody>
      id="decisions"
      title="Routing decisions"
      intro="The 50 most recent decisions, newest first. Predicted energy and carbon are modelled by the routing policy at decision time; open a row's candidates to compare."
      path="decisions"
      params={{ limit: '50' }}
      view={view}
    >
      {(data) => (
        <DataTable
          caption="Recent routing decisions"
          headers={['Time (UTC)', 'Service', 'Policy', 'Outcome', 'Reason', 'Candidates']}
          rows={data.decisions.length}
          empty="No routing decisions yet."
        >
          {data.decisions.map((d) => (
            <tr key={d.request_id}>
              <th scope="row">{d.at.slice(11, 19)}</th>
              <td>{d.service}</td>
              <td>{d.policy}</td>
              <td>
                {d.kind === 'route' ? (
                  `→ ${d.backend ?? ''}`
                ) : (
                  <strong class="bad">rejected</strong>
                )}
              </td>
              <td>{d.reason}</td>
              <td>
                <details>
                  <summary>
                    {d.scores.length} candidates
                    <span class="visually-hidden"> for {d.request_id}</span>
                  </summary>
                  <table class="nested">
                    <caption class="visually-hidden">Candidates for {d.request_id}</caption>
                    <thead>
                      <tr>
                        <th scope="col">Backend</th>
                        <th scope="col">Eligible</th>
                        <th scope="col">Predicted energy (J)</th>
                        <th scope="col">Predicted carbon (gCO2e)</th>
                        <th scope="col">Predicted latency (ms)</th>
                      </tr>
                    </thead>
                    <tbody>
                      {d.scores.map((s) => (
                        <tr key={s.backend}>
                          <th scope="row">
                            {s.backend}
                            {s.backend === d.backend ? ' (chosen)' : ''}
                          </th>
                          <td>{s.eligible ? 'yes' : `no: ${s.reason ?? ''}`}</td>
                          <td>{num(s.predicted_energy_j)}</td>
                          <td>{num(s.predicted_carbon_g)}</td>
                          <td>{num(s.predicted_latency_ms)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </details>
              </td>
            </tr>
          ))}
        </DataTable>
      )}
    </PolledView>
  )
}
