import { describe, expect, it } from 'vitest'
import { instant } from '../units/quantity.ts'
import { VirtualClock } from './virtual-clock.ts'

describe('VirtualClock', () => {
  it('fires timers in time order and only when time reaches them', () => {
    const clock = new VirtualClock(instant(1000))
    const fired: string[] = []
    clock.setTimer(instant(3000), () => fired.push(`b@${clock.now()}`))
    clock.setTimer(instant(2000), () => fired.push(`a@${clock.now()}`))
    clock.advanceTo(instant(1999))
    expect(fired).toEqual([])
    clock.advanceTo(instant(2500))
    expect(fired).toEqual(['a@2000'])
    expect(clock.now()).toBe(2500)
    clock.advanceBy(10_000)
    expect(fired).toEqual(['a@2000', 'b@3000'])
  })

  it('does not fire cancelled timers and runs timers set by timers', () => {
    const clock = new VirtualClock(instant(0))
    const fired: number[] = []
    const cancel = clock.setTimer(instant(5), () => fired.push(5))
    clock.setTimer(instant(1), () => {
      fired.push(1)
      clock.setTimer(instant(2), () => fired.push(2))
    })
    cancel()
    expect(clock.pending).toBe(1)
    expect(clock.runUntilIdle()).toBe(2)
    expect(fired).toEqual([1, 2])
    expect(clock.now()).toBe(2)
  })

  it('refuses to go back in time and bounds runaway timers', () => {
    const clock = new VirtualClock(instant(10))
    expect(() => clock.advanceTo(instant(5))).toThrow(RangeError)
    const loop = (): void => {
      clock.setTimer(clock.now(), loop)
    }
    loop()
    expect(() => clock.runUntilIdle(100)).toThrow(RangeError)
  })
})
