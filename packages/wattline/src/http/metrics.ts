/**
 * @module http/metrics
 * The gateway's Prometheus metrics on a private registry (documented in docs/metrics.md). Labels are
 * bounded: service, model, backend and zone come from config; `status` is the HTTP status code.
 */
import { Registry, type Counter, type Gauge, type Histogram } from 'prom-client'
import { counterIn } from '../metrics/registry-metrics.ts'
import { CachedCounter, CachedGauge, CachedHistogram } from './cached-metrics.ts'

const REQUEST_LABELS = ['service', 'model', 'backend', 'zone'] as const

export interface GatewayMetrics {
  readonly registry: Registry
  readonly requests: Counter<'service' | 'model' | 'backend' | 'zone' | 'status'>
  readonly duration: Histogram<'service' | 'model' | 'backend' | 'zone'>
  readonly energy: Counter<'service' | 'model' | 'backend' | 'zone' | 'method'>
  readonly carbon: Counter<'service' | 'model' | 'backend' | 'zone'>
  readonly idleEnergy: Counter<'backend' | 'zone' | 'method'>
  readonly inflight: Gauge<'backend' | 'zone'>
  readonly intensity: Gauge<'zone' | 'signal'>
  readonly intensityStale: Gauge<'zone' | 'signal'>
  readonly retries: Counter<'backend' | 'reason'>
  /** `wattline_requests_rejected_total`, also counted under the deprecated `wattline_rejected_requests_total`. */
  readonly rejected: { inc(labels: { service: string; reason: string }): void }
  readonly queueDepth: Gauge<'service'>
  readonly backendUp: Gauge<'backend' | 'zone'>
  readonly backendPower: Gauge<'backend' | 'zone' | 'method'>
  readonly meterUp: Gauge<'backend' | 'zone'>
  readonly meterFallbacks: Counter<'backend' | 'zone'>
  readonly meterReadFailures: Counter<'backend' | 'zone'>
}

/**
 * Creates every gateway metric on a fresh private registry. They are prom-client's metrics that
 * remember each label object's series (`cached-metrics.ts`): the gateway passes label objects it
 * built once, so a request's updates skip prom-client's label keying.
 */
export function createGatewayMetrics(registry: Registry = new Registry()): GatewayMetrics {
  const on = { registers: [registry] }
  return {
    registry,
    requests: new CachedCounter({
      name: 'wattline_requests_total',
      help: 'Requests answered, by service, model, backend, zone and HTTP status.',
      labelNames: [...REQUEST_LABELS, 'status'],
      ...on,
    }),
    duration: new CachedHistogram({
      name: 'wattline_request_duration_seconds',
      help: 'Request duration from arrival to the last byte, seconds.',
      labelNames: REQUEST_LABELS,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      ...on,
    }),
    energy: new CachedCounter({
      name: 'wattline_energy_joules_total',
      help: 'IT energy attributed to requests (before PUE), joules, by method (measured|modelled).',
      labelNames: [...REQUEST_LABELS, 'method'],
      ...on,
    }),
    carbon: new CachedCounter({
      name: 'wattline_carbon_grams_total',
      help: 'Operational emissions of requests (facility energy × zone intensity), grams CO2e.',
      labelNames: REQUEST_LABELS,
      ...on,
    }),
    idleEnergy: new CachedCounter({
      name: 'wattline_idle_energy_joules_total',
      help: 'IT energy of backends while no request was in flight, joules.',
      labelNames: ['backend', 'zone', 'method'],
      ...on,
    }),
    inflight: new CachedGauge({
      name: 'wattline_backend_inflight',
      help: 'Requests in flight per backend.',
      labelNames: ['backend', 'zone'],
      ...on,
    }),
    intensity: new CachedGauge({
      name: 'wattline_grid_intensity_grams_per_kwh',
      help: 'Grid carbon intensity used for routing and accounting, gCO2e/kWh.',
      labelNames: ['zone', 'signal'],
      ...on,
    }),
    intensityStale: new CachedGauge({
      name: 'wattline_grid_intensity_stale',
      help: '1 when the zone intensity in use is stale (forecast, last known or static fallback).',
      labelNames: ['zone', 'signal'],
      ...on,
    }),
    retries: new CachedCounter({
      name: 'wattline_upstream_retries_total',
      help: 'Attempts that failed before the first byte and were retried on another backend.',
      labelNames: ['backend', 'reason'],
      ...on,
    }),
    rejected: bothCounters(
      new CachedCounter({
        name: 'wattline_requests_rejected_total',
        help: 'Requests refused by the gateway itself (overload 429, no healthy backend or draining 503).',
        labelNames: ['service', 'reason'],
        ...on,
      }),
      new CachedCounter({
        name: 'wattline_rejected_requests_total',
        help: 'Deprecated: the same count as wattline_requests_rejected_total (kept for existing rules).',
        labelNames: ['service', 'reason'],
        ...on,
      }),
    ),
    queueDepth: new CachedGauge({
      name: 'wattline_queue_depth',
      help: 'Requests waiting for a backend slot per service.',
      labelNames: ['service'],
      ...on,
    }),
    backendUp: new CachedGauge({
      name: 'wattline_backend_up',
      help: '1 when the backend’s circuit breaker admits requests.',
      labelNames: ['backend', 'zone'],
      ...on,
    }),
    backendPower: new CachedGauge({
      name: 'wattline_backend_power_watts',
      help: 'Current IT power of the backend, watts (measured by its meter or modelled).',
      labelNames: ['backend', 'zone', 'method'],
      ...on,
    }),
    meterUp: new CachedGauge({
      name: 'wattline_meter_up',
      help: '1 while the backend’s power meter gives fresh readings (power is measured); 0 while it is stale or has not read yet (power is modelled).',
      labelNames: ['backend', 'zone'],
      ...on,
    }),
    meterFallbacks: new CachedCounter({
      name: 'wattline_meter_fallback_total',
      help: 'Times a backend’s power meter went stale and its power fell back to the profile model.',
      labelNames: ['backend', 'zone'],
      ...on,
    }),
    meterReadFailures: new CachedCounter({
      name: 'wattline_meter_read_failures_total',
      help: 'Power meter reads that failed (error, timeout, no usable reading).',
      labelNames: ['backend', 'zone'],
      ...on,
    }),
  }
}

/** One count under the current name and its deprecated alias. */
function bothCounters(
  current: Counter<'service' | 'reason'>,
  deprecated: Counter<'service' | 'reason'>,
): GatewayMetrics['rejected'] {
  return {
    inc(labels) {
      current.inc(labels)
      deprecated.inc(labels)
    },
  }
}

/** The name of the savings counter shared by every lever (docs/metrics.md). */
export const ENERGY_SAVED_METRIC = 'wattline_energy_saved_joules_total'

/**
 * The savings counters every lever shares, `{lever, service}`: got from `registry` when another
 * lever registered them first, created otherwise.
 */
export function savingsCounters(registry: Registry): {
  readonly energy: Counter<'lever' | 'service'>
  readonly carbon: Counter<'lever' | 'service'>
} {
  return {
    energy: counterIn(
      registry,
      ENERGY_SAVED_METRIC,
      'IT energy not spent thanks to a lever (estimated counterfactual: the energy the avoided work was charged), joules, by lever and service.',
      ['lever', 'service'],
    ),
    carbon: counterIn(
      registry,
      'wattline_carbon_saved_grams_total',
      'Emissions avoided by a lever (the avoided work at the zone intensity it ran in, facility energy), grams CO2e.',
      ['lever', 'service'],
    ),
  }
}
