/**
 * @module adapters/clock/scaled-clock
 * A `Clock` whose time runs `speed` times faster than a base clock from a chosen origin: the demo
 * gives it to the carbon-intensity lookups so that a day of grid intensity passes in minutes while
 * HTTP, timeouts and latency stay in real time. Timers set at a scaled instant fire when the scaled
 * time reaches it (after `(at − now) / speed` of base time).
 */
import { instant, type Clock, type Instant } from '@wattline/core'

export interface ScaledClockOptions {
  /** The real clock underneath (e.g. `createSystemClock()`). */
  readonly base: Clock
  /** The scaled time at the moment of creation (epoch ms, UTC). */
  readonly origin: Instant
  /** Scaled milliseconds per base millisecond (> 0); 720 passes a day in two minutes. */
  readonly speed: number
}

export interface ScaledClock extends Clock {
  readonly speed: number
  /** The scaled instant that corresponds to a base instant. */
  toScaled(base: Instant): Instant
}

/** Creates a clock running `speed`× its base from `origin`. */
export function createScaledClock(options: ScaledClockOptions): ScaledClock {
  const { base, origin, speed } = options
  if (!(speed > 0) || !Number.isFinite(speed)) {
    throw new RangeError(`speed must be a positive finite number, got ${String(speed)}`)
  }
  const start = base.now()
  const toScaled = (t: Instant): Instant => instant(origin + (t - start) * speed)
  const toBase = (t: Instant): Instant => instant(start + (t - origin) / speed)
  return {
    speed,
    toScaled,
    now: () => toScaled(base.now()),
    setTimer: (at, fire) => base.setTimer(toBase(at), fire),
  }
}
