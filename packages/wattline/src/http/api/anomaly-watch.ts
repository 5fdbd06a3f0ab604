/**
 * @module http/api/anomaly-watch
 * Runs the core anomaly detector over the ledger and counts each anomaly once in
 * `wattline_anomalies_total{kind}`. The dashboard API calls `scan` when asked; the composition root
 * may also call it on a timer so the metric moves without anyone watching the dashboard.
 */
import { Counter, type Registry } from 'prom-client'
import {
  ANOMALY_KINDS,
  detectLedgerAnomalies,
  detectSeriesAnomalies,
  type Anomaly,
  type AnomalyOptions,
  type DashboardLedgerReader,
  type TimeWindow,
} from '@wattline/core'

export interface AnomalyWatchDeps {
  readonly ledger: DashboardLedgerReader
  readonly registry: Registry
}

export interface AnomalyWatchOptions {
  /** How much history before the window the detector may use (days). Default 14. */
  readonly historyDays?: number
  readonly detector?: Partial<AnomalyOptions>
  /**
   * A scan of a window of the same length ending within this many ms of a previous one reuses its
   * result (anomalies are hourly; a dashboard polling every few seconds must not rescan weeks of
   * history each time). Default 60 000; 0 disables.
   */
  readonly reuseMs?: number
}

export interface AnomalyWatch {
  /** Anomalies inside `window` (judged against up to `historyDays` before it), newest last. */
  scan(window: TimeWindow): Promise<readonly Anomaly[]>
}

const DAY_MS = 86_400_000
const HOUR_MS = 3_600_000
/** How many anomaly keys are remembered to count each one once. */
const SEEN_LIMIT = 10_000

/** Creates the watch and registers `wattline_anomalies_total` on the injected registry. */
export function createAnomalyWatch(
  deps: AnomalyWatchDeps,
  options: AnomalyWatchOptions = {},
): AnomalyWatch {
  const historyMs = (options.historyDays ?? 14) * DAY_MS
  const counter = anomalyCounter(deps.registry)
  const seen = new Set<string>()
  const reuseMs = options.reuseMs ?? 60_000
  const recent = new Map<number, { readonly to_ms: number; readonly found: readonly Anomaly[] }>()
  return {
    async scan(window) {
      const span = window.to_ms - window.from_ms
      const cached = recent.get(span)
      if (cached !== undefined && Math.abs(window.to_ms - cached.to_ms) < reuseMs) {
        return cached.found
      }
      const history = { from_ms: window.from_ms - historyMs, to_ms: window.to_ms }
      const within = { ...options.detector, fromMs: window.from_ms, toMs: window.to_ms }
      const found =
        deps.ledger.hourlyMeans === undefined || (options.detector?.bucketMs ?? HOUR_MS) !== HOUR_MS
          ? detectLedgerAnomalies(
              {
                requests: await deps.ledger.requests(history),
                powerSamples: await deps.ledger.powerSamples(history),
              },
              within,
            )
          : detectSeriesAnomalies(await deps.ledger.hourlyMeans(history), within)

      for (const a of found) {
        const key = `${a.kind}\u0000${a.subject}\u0000${a.at_ms}`
        if (seen.has(key)) continue
        seen.add(key)
        if (seen.size > SEEN_LIMIT) seen.delete(seen.values().next().value as string)
        counter.inc({ kind: a.kind })
      }
      if (reuseMs > 0) {
        if (recent.size >= 16) recent.clear() // a handful of spans are in use at any time
        recent.set(span, { to_ms: window.to_ms, found })
      }
      return found
    },
  }
}

function anomalyCounter(registry: Registry): Counter<'kind'> {
  const name = 'wattline_anomalies_total'
  const existing = registry.getSingleMetric(name)
  if (existing instanceof Counter) return existing as Counter<'kind'>
  const counter = new Counter({
    name,
    help: 'Anomalies flagged in energy per request (per service) and power (per backend), each counted once',
    labelNames: ['kind'],
    registers: [registry],
  })
  for (const kind of ANOMALY_KINDS) counter.inc({ kind }, 0)
  return counter
}
