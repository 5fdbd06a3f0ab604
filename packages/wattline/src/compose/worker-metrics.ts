/**
 * @module compose/worker-metrics
 * `/metrics` of a `serve --workers N` gateway is the whole gateway's: the primary gathers every
 * worker's registry (and its own: ledger writer, worker restarts) as JSON and merges them with
 * prom-client's `AggregatorRegistry.aggregate`. Counters and histograms are summed. Gauges are
 * summed only where the quantity adds up across processes (requests in flight, queue depth); the
 * others — a value every worker reads from the same world (intensity, power, a ratio), or a
 * health flag — are combined as `GAUGE_AGGREGATION` says.
 *
 * A gauge missing from both lists is summed (prom-client's default); the workers test fails when
 * the live registry has a gauge neither list names, so a new gauge gets a decision.
 */
import { AggregatorRegistry } from 'prom-client'
import type { MetricsJson } from './worker-protocol.ts'

type Aggregation = 'max' | 'min' | 'average' | 'sum'

/**
 * Gauges that are not summed across workers, and how they combine:
 * - `min` for up flags (0 when any worker sees the thing down);
 * - `max` for values every worker reads from the same source (grid intensity, a backend's power:
 *   each worker models or meters the whole backend), fleet-wide views (the Redis count), and
 *   ratios and recommendations (the worst worker's);
 * - `average` for a backend's occupancy (each worker's in-flight over its share of the limit).
 */
export const GAUGE_AGGREGATION: Readonly<Record<string, Aggregation>> = Object.freeze({
  wattline_backend_up: 'min',
  wattline_meter_up: 'min',
  wattline_cluster_redis_up: 'min',
  wattline_backend_power_watts: 'max',
  wattline_grid_intensity_grams_per_kwh: 'max',
  wattline_grid_intensity_stale: 'max',
  wattline_cluster_backend_inflight: 'max',
  wattline_scaling_planned_requests_per_second: 'max',
  wattline_scaling_recommended_replicas: 'max',
  wattline_budget_ratio: 'max',
  wattline_tenant_budget_ratio: 'max',
  wattline_backend_occupancy: 'average',
  wattline_backend_occupancy_target: 'max',
})

/** Gauges whose workers' values add up to the gateway's (each worker counts its own requests). */
export const ADDITIVE_GAUGES: ReadonlySet<string> = new Set([
  'wattline_backend_inflight',
  'wattline_queue_depth',
])

/** The Prometheus text of the merged registries (the primary's and every worker's). */
export async function mergedMetricsText(parts: readonly MetricsJson[]): Promise<string> {
  const withPolicy = parts.map((metrics) =>
    metrics.map((m) => {
      const how = GAUGE_AGGREGATION[m.name]
      return how === undefined ? { ...m, aggregator: 'sum' as const } : { ...m, aggregator: how }
    }),
  )
  return AggregatorRegistry.aggregate(withPolicy).metrics()
}
