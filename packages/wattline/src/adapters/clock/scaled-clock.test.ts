import { instant, type Clock, type Instant } from '@wattline/core'
import { describe, expect, it } from 'vitest'
import { createScaledClock } from './scaled-clock.ts'

function manualClock(start: number): Clock & { advance(ms: number): void } {
  let now = start
  const timers: { at: number; fire: () => void; live: boolean }[] = []
  return {
    now: () => instant(now),
    setTimer(at: Instant, fire: () => void) {
      const t = { at, fire, live: true }
      timers.push(t)
      return () => {
        t.live = false
      }
    },
    advance(ms: number) {
      now += ms
      for (const t of timers) {
        if (t.live && t.at <= now) {
          t.live = false
          t.fire()
        }
      }
    },
  }
}

describe('createScaledClock', () => {
  it('runs speed times faster than its base from the origin', () => {
    const base = manualClock(1_000_000)
    const day = Date.UTC(2026, 0, 1)
    const clock = createScaledClock({ base, origin: instant(day), speed: 720 })
    expect(clock.now()).toBe(day)
    base.advance(120_000) // two real minutes
    expect(clock.now()).toBe(day + 24 * 3_600_000)
    expect(clock.toScaled(instant(1_000_000 + 5_000))).toBe(day + 3_600_000)
  })

  it('fires a timer when the scaled time reaches it', () => {
    const base = manualClock(0)
    const clock = createScaledClock({ base, origin: instant(0), speed: 100 })
    let fired = 0
    clock.setTimer(instant(60_000), () => (fired += 1)) // one scaled minute = 600 real ms
    base.advance(599)
    expect(fired).toBe(0)
    base.advance(1)
    expect(fired).toBe(1)
  })

  it('rejects a speed that is not positive', () => {
    const base = manualClock(0)
    expect(() => createScaledClock({ base, origin: instant(0), speed: 0 })).toThrow(/speed/)
    expect(() => createScaledClock({ base, origin: instant(0), speed: Number.NaN })).toThrow()
  })
})
