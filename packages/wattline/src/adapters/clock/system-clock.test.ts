import { describe, expect, it, vi, afterEach } from 'vitest'
import { instant } from '@wattline/core'
import { createSystemClock } from './system-clock.ts'

describe('createSystemClock', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('reads wall-clock epoch milliseconds', () => {
    vi.useFakeTimers({ now: Date.UTC(2024, 5, 1, 12) })
    expect(createSystemClock().now()).toBe(Date.UTC(2024, 5, 1, 12))
  })

  it('fires a timer at its instant, not before', () => {
    vi.useFakeTimers({ now: 1_000_000 })
    const clock = createSystemClock()
    const fire = vi.fn()
    clock.setTimer(instant(1_000_500), fire)
    vi.advanceTimersByTime(499)
    expect(fire).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(fire).toHaveBeenCalledTimes(1)
  })

  it('fires at once (asynchronously) when the instant has passed', () => {
    vi.useFakeTimers({ now: 5_000 })
    const fire = vi.fn()
    createSystemClock().setTimer(instant(1_000), fire)
    expect(fire).not.toHaveBeenCalled()
    vi.advanceTimersByTime(0)
    expect(fire).toHaveBeenCalledTimes(1)
  })

  it('chains waits longer than the 24.8-day setTimeout limit', () => {
    vi.useFakeTimers({ now: 0 })
    const fire = vi.fn()
    const thirtyDays = 30 * 24 * 3_600_000
    createSystemClock().setTimer(instant(thirtyDays), fire)
    vi.advanceTimersByTime(thirtyDays - 1)
    expect(fire).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(fire).toHaveBeenCalledTimes(1)
  })

  it('cancels a pending timer', () => {
    vi.useFakeTimers({ now: 0 })
    const fire = vi.fn()
    const cancel = createSystemClock().setTimer(instant(100), fire)
    cancel()
    vi.advanceTimersByTime(1_000)
    expect(fire).not.toHaveBeenCalled()
  })
})
