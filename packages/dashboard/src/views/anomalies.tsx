/**
 * Anomalies in energy per request (per service) and power (per backend), judged against the same
 * hour of previous days with a robust (median/MAD) interval.
 */
import type { AnomaliesBody } from '@wattline/core'
import { DataTable } from '../components/table.tsx'
import { PolledView } from '../components/polled-view.tsx'
import { num, time } from '../format.ts'
import type { ViewProps } from './view-props.ts'

export function AnomaliesView(view: ViewProps) {
  return (
    <PolledView<AnomaliesBody>
      id="anomalies"
      title="Anomalies"
      intro="Hours whose energy per request or backend power fell outside the normal range for that hour of day (median ± 3.5 robust standard deviations of up to 14 previous days; at least 5 days of history needed; hours with fewer than 10 requests are not judged for energy per request)."
      path="anomalies"
      view={view}
    >
      {(data) => (
        <DataTable
          caption={`Anomalies in the window (${data.anomalies.length})`}
          headers={[
            'Hour (UTC)',
            'What',
            'Of',
            'Value',
            'Expected (normal range)',
            'Robust z',
            'Reason',
          ]}
          rows={data.anomalies.length}
          empty="No anomalies in this window."
        >
          {data.anomalies.map((a) => (
            <tr key={`${a.kind}:${a.subject}:${a.at_ms}`} class={`anomaly anomaly-${a.direction}`}>
              <th scope="row">{time(a.at_ms)}</th>
              <td>{a.kind === 'energy_per_request' ? 'energy per request' : 'backend power'}</td>
              <td>{a.subject}</td>
              <td>
                <strong>
                  {num(a.value)} {a.unit}
                </strong>{' '}
                ({a.direction === 'high' ? 'above' : 'below'})
              </td>
              <td>
                {num(a.expected)} {a.unit} ({num(a.expected_low)}–{num(a.expected_high)})
              </td>
              <td>{a.score.toFixed(1)}</td>
              <td>{a.reason}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </PolledView>
  )
}
