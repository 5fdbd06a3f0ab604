/**
 * @module http/api/gateway-live-state
 * Adapts the running gateway (its backends' runtimes and the intensity board) to the dashboard's
 * `DashboardLiveState`, and keeps a bounded log of recent routing decisions that the gateway may feed.
 */
import type { RoutingDecision } from '@wattline/core'
import type { Gateway } from '../gateway.ts'
import type { IntensityBoard } from '../intensity-board.ts'
import type { DashboardLiveState, LiveDecision } from './ports.ts'

/** A ring buffer of the latest routing decisions. */
export interface DecisionLog {
  record(entry: LiveDecision): void
  /** Newest first, at most `limit`. */
  recent(limit: number): readonly LiveDecision[]
}

/** Creates a log keeping the last `capacity` decisions (memory stays bounded). */
export function createDecisionLog(capacity = 500): DecisionLog {
  if (!Number.isSafeInteger(capacity) || capacity < 1) {
    throw new RangeError(`decision log capacity must be a positive integer, got ${capacity}`)
  }
  const ring: LiveDecision[] = []
  let next = 0
  return {
    record(entry) {
      if (ring.length < capacity) ring.push(entry)
      else ring[next] = entry
      next = (next + 1) % capacity
    },
    recent(limit) {
      const out: LiveDecision[] = []
      for (let k = 1; k <= Math.min(limit, ring.length); k++) {
        out.push(ring[(next - k + ring.length * 2) % ring.length] as LiveDecision)
      }
      return out
    },
  }
}

export interface GatewayLiveStateDeps {
  readonly gateway: Pick<Gateway, 'backends'>
  readonly intensity: Pick<IntensityBoard, 'current' | 'zones'>
  /** Recent decisions; without it the API reads them back from the ledger's request rows. */
  readonly decisions?: DecisionLog
}

/** The gateway's live state as the dashboard API reads it. */
export function createGatewayLiveState(deps: GatewayLiveStateDeps): DashboardLiveState {
  return {
    backends() {
      return [...deps.gateway.backends.values()].map((rt) => ({
        id: rt.config.id,
        zone: rt.config.zone,
        hardware: rt.config.hardware,
        models: rt.config.models,
        healthy: rt.breaker.kind !== 'open',
        inflight: rt.tracker.inflight,
        max_concurrency: rt.config.max_concurrency,
        pue: rt.config.pue,
        power_w: rt.tracker.powerW,
        power_method: rt.tracker.measured ? 'measured' : 'modelled',
        power_source:
          rt.tracker.measured && rt.meterSource !== '' ? rt.meterSource : 'modelled:profile',
      }))
    },
    zones() {
      return deps.intensity.zones.map((zone) => {
        const p = deps.intensity.current(zone)
        return {
          zone,
          intensity_g_per_kwh: p.intensity,
          signal: p.signal,
          source: p.source,
          at_ms: p.at,
          forecast: p.forecast,
          stale: p.stale,
        }
      })
    },
    recentDecisions(limit) {
      return deps.decisions?.recent(limit) ?? []
    },
  }
}

/** Convenience for the gateway: the log entry of one decision. */
export function decisionEntry(
  at_ms: number,
  request_id: string,
  service: string,
  model: string,
  decision: RoutingDecision,
): LiveDecision {
  return { at_ms, request_id, service, model, decision }
}
