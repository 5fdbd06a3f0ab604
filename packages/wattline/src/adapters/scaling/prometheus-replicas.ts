/**
 * @module adapters/scaling/prometheus-replicas
 * The replicas a pool actually runs, read from a Prometheus exposition page (kube-state-metrics'
 * `kube_deployment_status_replicas_available{deployment=…}` by default): the series of `metric`
 * whose labels include all of `labels`, summed. Shown beside the recommendation and used as the
 * replicas serving when the scaler plans.
 */
import { WattlineError } from '@wattline/core'
import type { ActualReplicasSource } from '../../scaling/actual-replicas.ts'
import { parsePrometheusText } from '../power/prometheus-text.ts'

/** Reads the count; fails (WL_UPSTREAM_UNAVAILABLE) on a failed scrape or no matching series. */
export async function readActualReplicas(source: ActualReplicasSource): Promise<number> {
  let text: string
  try {
    const res = await fetch(source.url, { signal: AbortSignal.timeout(source.timeout_ms) })
    if (!res.ok) throw new Error(`HTTP ${res.status}`)
    text = await res.text()
  } catch (cause) {
    throw new WattlineError(
      'WL_UPSTREAM_UNAVAILABLE',
      `actual replicas: cannot scrape ${source.url}: ${(cause as Error).message}`,
      { cause },
    )
  }
  let total = 0
  let series = 0
  for (const s of parsePrometheusText(text)) {
    if (s.name !== source.metric) continue
    if (!Object.entries(source.labels).every(([k, v]) => s.labels[k] === v)) continue
    if (!Number.isFinite(s.value)) continue
    total += s.value
    series++
  }
  if (series === 0)
    throw new WattlineError(
      'WL_UPSTREAM_UNAVAILABLE',
      `actual replicas: no ${source.metric} series matching ${JSON.stringify(source.labels)} at ${source.url}`,
    )
  return Math.round(total)
}
