/**
 * Per tenant (the tenant of each API key): energy, carbon and requests in the window, the share of
 * the fleet's request energy, and the shared-pool idle energy allocated to it by the stated rule.
 */
import type { TenantsBody } from '@wattline/core'
import { MethodBadge } from '../components/stat.tsx'
import { DataTable, Ratio } from '../components/table.tsx'
import { PolledView } from '../components/polled-view.tsx'
import { carbon, energy, num, percent } from '../format.ts'
import type { ViewProps } from './view-props.ts'

export function TenantsView(view: ViewProps) {
  return (
    <PolledView<TenantsBody>
      id="tenants"
      title="Tenants"
      intro="Energy (IT, before PUE), carbon and requests of each tenant in the window, and the idle energy of the shared backends allocated to it. The tenant filter above narrows the other views to one tenant."
      path="tenants"
      params={{ span: view.span }}
      view={view}
    >
      {(data) => (
        <>
          <DataTable
            caption="Tenants: energy, carbon, requests and allocated idle energy"
            headers={[
              'Tenant',
              'Requests',
              'Energy',
              'Carbon',
              'Share of energy',
              'Share of requests',
              'Idle energy allocated',
              'Idle carbon allocated',
            ]}
            rows={data.tenants.length}
            empty="No tenant in this window: configure api_keys to see requests by tenant."
          >
            {data.tenants.map((t) => (
              <tr
                key={t.tenant ?? '(none)'}
                aria-current={t.tenant === view.tenant ? 'true' : undefined}
              >
                <th scope="row">{t.tenant ?? <em>no tenant key</em>}</th>
                <td>
                  {num(t.requests)}
                  {t.failed_requests > 0 && (
                    <span class="muted"> ({num(t.failed_requests)} failed)</span>
                  )}
                </td>
                <td>
                  {energy(t.it_energy_j.value)} <MethodBadge method={t.it_energy_j.method} />
                </td>
                <td>{carbon(t.carbon_g.value)}</td>
                <td>
                  <Ratio
                    value={t.share_of_it_energy}
                    label={`${t.tenant ?? 'no tenant key'} share of energy`}
                  />
                </td>
                <td>{percent(t.share_of_requests)}</td>
                <td>{energy(t.idle_allocated_j)}</td>
                <td>{carbon(t.idle_allocated_carbon_g)}</td>
              </tr>
            ))}
          </DataTable>
          <p class="muted" id="idle-allocation-note">
            Idle allocation <code>{data.idle_allocation}</code>: {data.idle_allocation_basis}. Idle
            energy in the window: {energy(data.pool_idle_energy_j)}
            {data.unallocated_idle_energy_j > 0 &&
              `, of which ${energy(data.unallocated_idle_energy_j)} ran on backends no request used and is not allocated`}
            .
          </p>
        </>
      )}
    </PolledView>
  )
}
