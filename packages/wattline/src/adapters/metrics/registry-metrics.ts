/**
 * @module adapters/metrics/registry-metrics
 * Moved to `metrics/registry-metrics.ts` (it is no adapter). This re-export serves the three modules
 * that other work has open (`http/gateway.ts`, `http/metrics.ts`, `http/response-cache.ts`).
 * TODO(issue 13): delete once they import `../metrics/registry-metrics.ts`.
 */
export { counterIn, gaugeIn } from '../../metrics/registry-metrics.ts'
