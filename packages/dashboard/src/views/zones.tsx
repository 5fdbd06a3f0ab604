/**
 * Per zone: the grid intensity routing uses now, the share of traffic sent there, and its carbon.
 */
import type { ZonesBody } from '@wattline/core'
import { MethodBadge } from '../components/stat.tsx'
import { DataTable, Ratio } from '../components/table.tsx'
import { PolledView } from '../components/polled-view.tsx'
import { carbon, energy, num, percent, time } from '../format.ts'
import type { ViewProps } from './view-props.ts'

export function ZonesView(view: ViewProps) {
  return (
    <PolledView<ZonesBody>
      id="zones"
      title="Zones"
      intro="Grid zones the backends run in: the carbon intensity used for routing now (location-based), the share of requests routed there and the carbon emitted there in the window, idle energy included."
      path="zones"
      view={view}
    >
      {(data) => (
        <DataTable
          caption="Zones: current intensity, share of traffic and carbon"
          headers={[
            'Zone',
            'Intensity now (gCO2e/kWh)',
            'Signal and source',
            'Share of requests',
            'Requests',
            'Facility energy',
            'Carbon',
            'Share of carbon',
            'Mean intensity used (gCO2e/kWh)',
          ]}
          rows={data.zones.length}
        >
          {data.zones.map((z) => (
            <tr key={z.zone}>
              <th scope="row">{z.zone}</th>
              <td>{z.current === null ? '–' : num(z.current.intensity_g_per_kwh)}</td>
              <td class="source">
                {z.current === null
                  ? 'no live value'
                  : `${z.current.signal}${z.current.forecast ? ' forecast' : ''}, ${z.current.source}, since ${time(z.current.at_ms)}${z.current.stale ? ' (stale)' : ''}`}
              </td>
              <td>
                <Ratio value={z.share_of_requests} label={`${z.zone} share of requests`} />
              </td>
              <td>{num(z.requests)}</td>
              <td>{energy(z.facility_energy_j)}</td>
              <td>
                {carbon(z.carbon_g)} <MethodBadge method={z.method} />
              </td>
              <td>{percent(z.share_of_carbon)}</td>
              <td>{num(z.mean_intensity_g_per_kwh)}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </PolledView>
  )
}
