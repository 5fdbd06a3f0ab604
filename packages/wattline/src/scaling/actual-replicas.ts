/**
 * @module scaling/actual-replicas
 * Where a pool's running replica count is read from (`scaling.actual_replicas`), and the reader the
 * live scaler is given: the composition root passes the Prometheus adapter
 * (`adapters/scaling/prometheus-replicas.ts`), tests a function of their own.
 */

/** A Prometheus exposition page and the series on it that count a pool's available replicas. */
export interface ActualReplicasSource {
  readonly url: string
  readonly metric: string
  readonly labels: Readonly<Record<string, string>>
  readonly timeout_ms: number
}

/** Reads the count; rejects (`WL_UPSTREAM_UNAVAILABLE`) when it cannot. */
export type ReadActualReplicas = (source: ActualReplicasSource) => Promise<number>
