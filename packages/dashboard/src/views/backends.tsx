/**
 * Per backend: health and occupancy now, power, energy per output token, and how much of its energy
 * was measured rather than modelled.
 */
import type { BackendsBody } from '@wattline/core'
import { MethodBadge } from '../components/stat.tsx'
import { DataTable, Ratio } from '../components/table.tsx'
import { PolledView } from '../components/polled-view.tsx'
import { energy, num, percent } from '../format.ts'
import type { ViewProps } from './view-props.ts'

export function BackendsView(view: ViewProps) {
  return (
    <PolledView<BackendsBody>
      id="backends"
      title="Backends"
      intro="Occupancy is requests in flight over the concurrency limit, now. Energy per output token is IT energy (before PUE) in the window; the measured share is the part that came from a power meter."
      path="backends"
      view={view}
    >
      {(data) => (
        <DataTable
          caption="Backends: occupancy, power and energy per token"
          headers={[
            'Backend',
            'Zone',
            'Hardware',
            'Health',
            'Occupancy',
            'Power now (W)',
            'Mean power (W)',
            'Energy per output token (J/token)',
            'Measured share of energy',
            'Measured energy',
            'Modelled energy',
            'Idle energy',
          ]}
          rows={data.backends.length}
        >
          {data.backends.map((b) => (
            <tr key={b.id}>
              <th scope="row">{b.id}</th>
              <td>{b.zone}</td>
              <td>{b.hardware ?? '–'}</td>
              <td>
                {b.healthy === null ? (
                  '–'
                ) : b.healthy ? (
                  'healthy'
                ) : (
                  <strong class="bad">unhealthy</strong>
                )}
              </td>
              <td>
                <Ratio value={b.occupancy} label={`${b.id} occupancy`} />{' '}
                <span class="muted">
                  {num(b.inflight)}/{num(b.max_concurrency)}
                  {b.occupancy_target !== null && ` · target ${num(b.occupancy_target)}`}
                </span>
              </td>
              <td>
                {num(b.power_w)}{' '}
                {b.power_method !== null && <MethodBadge method={b.power_method} />}
                {b.power_source !== null && <span class="source"> {b.power_source}</span>}
              </td>
              <td>{num(b.mean_power_w)}</td>
              <td>{num(b.energy_per_output_token_j)}</td>
              <td>{percent(b.measured_share)}</td>
              <td>{energy(b.measured_energy_j)}</td>
              <td>{energy(b.modelled_energy_j)}</td>
              <td>{energy(b.idle_energy_j)}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </PolledView>
  )
}
