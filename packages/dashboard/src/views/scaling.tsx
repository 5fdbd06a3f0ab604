/**
 * Right-sizing: per pool (a backend with `scaling:`), the replica count the gateway recommends now
 * beside the count it actually runs (read from `scaling.actual_replicas`, when configured), and the
 * load and grid intensity behind the decision. Read from `GET /api/scaling`; all modelled.
 */
import { DataTable } from '../components/table.tsx'
import { PolledView } from '../components/polled-view.tsx'
import { num } from '../format.ts'
import type { ViewProps } from './view-props.ts'

/** One pool as `GET /api/scaling` returns it (docs/scaling.md). */
interface PoolRecommendation {
  readonly pool: string
  readonly zone: string
  readonly policy: string
  readonly recommended_replicas: number
  readonly actual_replicas: number | null
  readonly reason: string
  readonly min_replicas: number
  readonly max_replicas: number
  readonly planned_requests_per_s: number | null
  readonly observed_requests_per_s: number
  readonly slo_p95_ms: number
  readonly deferral_pct: number
  readonly intensity_g_per_kwh: number | null
  readonly intensity_day_median_g_per_kwh: number | null
  readonly updated_at: string | null
}

export function ScalingView(view: ViewProps) {
  return (
    <PolledView<{ pools: readonly PoolRecommendation[] }>
      id="scaling"
      title="Right-sizing"
      intro="Replicas the gateway recommends for each pool now (modelled from its observed load, the fitted profile, the SLO and the grid), beside the replicas the pool runs. KEDA reads the recommendation from /scaling/{pool}."
      path="scaling"
      params={{}}
      view={view}
    >
      {(data) => (
        <DataTable
          caption="Pools: recommended and actual replicas"
          headers={[
            'Pool',
            'Zone',
            'Policy',
            'Recommended replicas',
            'Actual replicas',
            'Range',
            'Observed (req/s)',
            'Planned for (req/s)',
            'SLO p95 (ms)',
            'Grid now / 24 h median (gCO2e/kWh)',
            'Why',
          ]}
          rows={data.pools.length}
          empty="No backend has a scaling: section."
        >
          {data.pools.map((p) => (
            <tr key={p.pool}>
              <th scope="row">{p.pool}</th>
              <td>{p.zone}</td>
              <td>{p.policy}</td>
              <td>
                <strong>{num(p.recommended_replicas)}</strong>
              </td>
              <td>
                {p.actual_replicas === null ? (
                  <span class="muted">not read</span>
                ) : p.actual_replicas === p.recommended_replicas ? (
                  num(p.actual_replicas)
                ) : (
                  <strong class="bad">{num(p.actual_replicas)}</strong>
                )}
              </td>
              <td>
                {num(p.min_replicas)}–{num(p.max_replicas)}
              </td>
              <td>{num(p.observed_requests_per_s)}</td>
              <td>{num(p.planned_requests_per_s)}</td>
              <td>
                {num(p.slo_p95_ms)}
                {p.deferral_pct > 0 && (
                  <span class="muted"> (+{num(p.deferral_pct)} % when dirty)</span>
                )}
              </td>
              <td>
                {num(p.intensity_g_per_kwh)} / {num(p.intensity_day_median_g_per_kwh)}
              </td>
              <td class="source">{p.reason}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </PolledView>
  )
}
