/**
 * @module http/live-state
 * The gateway's live state as the dashboard API reads it (`DashboardLiveState`): backends with
 * health, occupancy and power; zone intensities in use; recent routing decisions.
 */
import type { DashboardLiveState } from '@wattline/core'
import type { Gateway } from './gateway.ts'
import type { IntensityBoard } from './intensity-board.ts'

/** Adapts a running gateway and its intensity board to `DashboardLiveState`. */
export function gatewayLiveState(gateway: Gateway, intensity: IntensityBoard): DashboardLiveState {
  return {
    backends: () =>
      [...gateway.backends.values()].map((rt) => ({
        id: rt.config.id,
        zone: rt.config.zone,
        hardware: rt.config.hardware,
        models: rt.config.models,
        healthy: rt.breaker.kind !== 'open',
        inflight: rt.tracker.inflight,
        max_concurrency: rt.config.max_concurrency,
        ...(gateway.occupancyTarget(rt.config.id) === undefined
          ? {}
          : { occupancy_target: gateway.occupancyTarget(rt.config.id) as number }),
        pue: rt.config.pue,
        power_w: rt.tracker.powerW,
        power_method: rt.tracker.method,
        power_source:
          rt.tracker.method === 'measured'
            ? rt.meterSource
            : rt.meterFallback
              ? `modelled:profile (fallback: ${rt.meterSource} stale)`
              : 'modelled:profile',
      })),
    zones: () =>
      intensity.zones.map((zone) => {
        const p = intensity.current(zone)
        return {
          zone,
          intensity_g_per_kwh: p.intensity,
          signal: p.signal,
          source: p.source,
          at_ms: p.at,
          forecast: p.forecast,
          stale: p.stale,
        }
      }),
    recentDecisions: (limit) => gateway.recentDecisions(limit),
  }
}
