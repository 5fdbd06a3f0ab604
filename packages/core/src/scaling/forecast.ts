/**
 * @module scaling/forecast
 * The load a scaler plans for: the arrival rate expected over the next windows, from the history it
 * observed. Seasonal-naive (the same time one period, a day by default, earlier) where that much
 * history exists, never below the recent rate (a trend the season did not see), plus headroom.
 */
import type { RequestMix } from './pool.ts'

/** What a scaler saw in one past window. */
export interface WindowObservation {
  /** Start of the window, epoch ms. */
  readonly startMs: number
  readonly durationMs: number
  readonly arrivals: number
  readonly mix: RequestMix
  /** Replicas that were serving. */
  readonly readyReplicas: number
  /** Mean running batch per serving replica. */
  readonly meanBatch: number
}

export interface ForecastOptions {
  /** Seasonal period, ms (a day). */
  readonly periodMs: number
  /** How far ahead the plan must hold (the cold start: replicas asked for now serve then), ms. */
  readonly leadMs: number
  /** Recent windows whose highest rate the forecast never goes below. */
  readonly recentWindows: number
  /** Multiplicative headroom, e.g. 0.1 = +10 %. */
  readonly headroom: number
}

export const DEFAULT_FORECAST: ForecastOptions = {
  periodMs: 86_400_000,
  leadMs: 60_000,
  recentWindows: 3,
  headroom: 0.1,
}

export interface Forecast {
  readonly ratePerS: number
  readonly mix: RequestMix
  /** `seasonal` when a period of history backed it, `recent` otherwise. */
  readonly basis: 'seasonal' | 'recent'
}

const rate = (o: WindowObservation): number => o.arrivals / (o.durationMs / 1000)

/**
 * Forecast for the window starting at `nowMs` (history oldest first; windows of equal length).
 * With no history at all: rate 0 and an empty mix.
 */
export function forecastLoad(
  history: readonly WindowObservation[],
  nowMs: number,
  options: ForecastOptions = DEFAULT_FORECAST,
): Forecast {
  const last = history[history.length - 1]
  if (last === undefined) {
    return {
      ratePerS: 0,
      mix: { meanInputTokens: 0, meanOutputTokens: 0, p95InputTokens: 0, p95OutputTokens: 0 },
      basis: 'recent',
    }
  }
  let recent = 0
  for (let i = Math.max(0, history.length - options.recentWindows); i < history.length; i++)
    recent = Math.max(recent, rate(history[i] as WindowObservation))
  // The windows one period before [now, now + lead + one window].
  const from = nowMs - options.periodMs
  const to = from + options.leadMs + last.durationMs
  let seasonal = -1
  const first = history[0] as WindowObservation
  if (first.startMs <= from) {
    seasonal = 0
    for (const o of history) {
      if (o.startMs + o.durationMs <= from) continue
      if (o.startMs >= to) break
      seasonal = Math.max(seasonal, rate(o))
    }
  }
  const base = Math.max(recent, seasonal)
  return {
    ratePerS: base * (1 + options.headroom),
    mix: heaviestMix(history, options.recentWindows),
    basis: seasonal >= 0 ? 'seasonal' : 'recent',
  }
}

/** The recent windows' mix, each figure at its highest (plan for the heavier tail). */
function heaviestMix(history: readonly WindowObservation[], n: number): RequestMix {
  let meanIn = 0
  let meanOut = 0
  let p95In = 0
  let p95Out = 0
  for (let i = Math.max(0, history.length - n); i < history.length; i++) {
    const m = (history[i] as WindowObservation).mix
    meanIn = Math.max(meanIn, m.meanInputTokens)
    meanOut = Math.max(meanOut, m.meanOutputTokens)
    p95In = Math.max(p95In, m.p95InputTokens)
    p95Out = Math.max(p95Out, m.p95OutputTokens)
  }
  return {
    meanInputTokens: meanIn,
    meanOutputTokens: meanOut,
    p95InputTokens: p95In,
    p95OutputTokens: p95Out,
  }
}
