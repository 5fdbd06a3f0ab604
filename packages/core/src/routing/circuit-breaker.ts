/**
 * @module routing/circuit-breaker
 * A per-backend circuit breaker as a pure state machine; time arrives with each event.
 *
 * - `closed`: requests flow. `failureThreshold` consecutive failures (requests or health probes)
 *   open the breaker.
 * - `open`: no requests until `openUntil`. A successful health probe, or the cooldown passing, moves
 *   it to `half-open`. Each re-opening doubles the cooldown, up to `maxCooldownMs`.
 * - `half-open`: up to `halfOpenMaxTrials` trial requests at a time; one success closes the breaker,
 *   one failure opens it again.
 */
import type { Instant } from '../units/quantity.ts'

export interface BreakerConfig {
  /** Consecutive failures that open a closed breaker. */
  readonly failureThreshold: number
  /** First cooldown after opening (ms). */
  readonly cooldownMs: number
  /** Cooldown ceiling for repeated re-opening (ms). */
  readonly maxCooldownMs: number
  /** Concurrent trial requests allowed while half-open. */
  readonly halfOpenMaxTrials: number
}

export const DEFAULT_BREAKER_CONFIG: BreakerConfig = Object.freeze({
  failureThreshold: 3,
  cooldownMs: 5_000,
  maxCooldownMs: 60_000,
  halfOpenMaxTrials: 1,
})

export type BreakerState =
  | { readonly kind: 'closed'; readonly failures: number }
  | {
      readonly kind: 'open'
      readonly openedAt: Instant
      readonly openUntil: Instant
      /** The cooldown that produced `openUntil` (ms), doubled on the next re-opening. */
      readonly cooldownMs: number
    }
  | { readonly kind: 'half-open'; readonly trials: number; readonly cooldownMs: number }

export type BreakerEvent =
  | { readonly kind: 'success'; readonly at: Instant }
  | { readonly kind: 'failure'; readonly at: Instant }
  | { readonly kind: 'probe-ok'; readonly at: Instant }
  | { readonly kind: 'probe-failed'; readonly at: Instant }
  /** A request was admitted through a half-open breaker. */
  | { readonly kind: 'trial-started'; readonly at: Instant }
  /** A trial request ended with neither verdict (the client went away). */
  | { readonly kind: 'trial-cancelled'; readonly at: Instant }

export const CLOSED: BreakerState = Object.freeze({ kind: 'closed', failures: 0 })

/** Applies one event. */
export function stepBreaker(
  state: BreakerState,
  event: BreakerEvent,
  config: BreakerConfig = DEFAULT_BREAKER_CONFIG,
): BreakerState {
  const current = settle(state, event.at)
  switch (current.kind) {
    case 'closed':
      if (event.kind === 'success' || event.kind === 'probe-ok') return CLOSED
      if (event.kind === 'failure' || event.kind === 'probe-failed') {
        const failures = current.failures + 1
        return failures >= config.failureThreshold
          ? open(event.at, config.cooldownMs)
          : { kind: 'closed', failures }
      }
      return current
    case 'open':
      if (event.kind === 'probe-ok' || event.kind === 'success') {
        return { kind: 'half-open', trials: 0, cooldownMs: current.cooldownMs }
      }
      return current
    case 'half-open':
      switch (event.kind) {
        case 'success':
          return CLOSED
        case 'failure':
        case 'probe-failed':
          return open(event.at, Math.min(config.maxCooldownMs, current.cooldownMs * 2))
        case 'trial-started':
          return { ...current, trials: current.trials + 1 }
        case 'trial-cancelled':
          return { ...current, trials: Math.max(0, current.trials - 1) }
        case 'probe-ok':
          return current
      }
  }
}

/** Whether a new request may go to the backend at `now`. */
export function breakerAllows(
  state: BreakerState,
  now: Instant,
  config: BreakerConfig = DEFAULT_BREAKER_CONFIG,
): boolean {
  const current = settle(state, now)
  if (current.kind === 'closed') return true
  if (current.kind === 'open') return false
  return current.trials < config.halfOpenMaxTrials
}

/** The state as of `now`: an open breaker whose cooldown has passed is half-open. */
export function settle(state: BreakerState, now: Instant): BreakerState {
  if (state.kind === 'open' && now >= state.openUntil) {
    return { kind: 'half-open', trials: 0, cooldownMs: state.cooldownMs }
  }
  return state
}

function open(at: Instant, cooldownMs: number): BreakerState {
  return { kind: 'open', openedAt: at, openUntil: (at + cooldownMs) as Instant, cooldownMs }
}
