import { describe, expect, it } from 'vitest'
import { instant } from '../units/quantity.ts'
import {
  breakerAllows,
  CLOSED,
  stepBreaker,
  type BreakerConfig,
  type BreakerEvent,
  type BreakerState,
} from './circuit-breaker.ts'

const cfg: BreakerConfig = {
  failureThreshold: 3,
  cooldownMs: 1000,
  maxCooldownMs: 4000,
  halfOpenMaxTrials: 1,
}
const run = (events: BreakerEvent[], from: BreakerState = CLOSED): BreakerState =>
  events.reduce((s, e) => stepBreaker(s, e, cfg), from)
const t = instant

describe('circuit breaker', () => {
  it('opens after consecutive failures, not after interleaved ones', () => {
    const interleaved = run([
      { kind: 'failure', at: t(1) },
      { kind: 'failure', at: t(2) },
      { kind: 'success', at: t(3) },
      { kind: 'failure', at: t(4) },
    ])
    expect(interleaved).toEqual({ kind: 'closed', failures: 1 })
    const opened = run([1, 2, 3].map((i) => ({ kind: 'failure', at: t(i) }) as const))
    expect(opened).toMatchObject({ kind: 'open', openUntil: 1003 })
    expect(breakerAllows(opened, t(500), cfg)).toBe(false)
  })

  it('health probe failures open it without client traffic', () => {
    const s = run([1, 2, 3].map((i) => ({ kind: 'probe-failed', at: t(i) }) as const))
    expect(s.kind).toBe('open')
  })

  it('half-opens after the cooldown and admits one trial at a time', () => {
    let s = run([1, 2, 3].map((i) => ({ kind: 'failure', at: t(i) }) as const))
    expect(breakerAllows(s, t(1003), cfg)).toBe(true)
    s = stepBreaker(s, { kind: 'trial-started', at: t(1003) }, cfg)
    expect(s).toMatchObject({ kind: 'half-open', trials: 1 })
    expect(breakerAllows(s, t(1004), cfg)).toBe(false)
    expect(stepBreaker(s, { kind: 'trial-cancelled', at: t(1005) }, cfg)).toMatchObject({
      trials: 0,
    })
    expect(stepBreaker(s, { kind: 'success', at: t(1010) }, cfg)).toEqual(CLOSED)
  })

  it('re-opens with a doubled, capped cooldown when the trial fails', () => {
    let s = run([1, 2, 3].map((i) => ({ kind: 'failure', at: t(i) }) as const))
    s = stepBreaker(s, { kind: 'failure', at: t(2000) }, cfg)
    expect(s).toMatchObject({ kind: 'open', cooldownMs: 2000, openUntil: 4000 })
    s = stepBreaker(s, { kind: 'failure', at: t(5000) }, cfg)
    s = stepBreaker(s, { kind: 'failure', at: t(10_000) }, cfg)
    expect(s).toMatchObject({ kind: 'open', cooldownMs: 4000 })
  })

  it('a successful probe while open moves it to half-open early', () => {
    const s = run([
      ...[1, 2, 3].map((i) => ({ kind: 'failure', at: t(i) }) as const),
      { kind: 'probe-ok', at: t(10) },
    ])
    expect(s.kind).toBe('half-open')
    expect(breakerAllows(s, t(11), cfg)).toBe(true)
  })
})
