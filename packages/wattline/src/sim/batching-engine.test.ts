import { describe, expect, it } from 'vitest'
import { createBatchingEngine, type BatchingEngineDeps } from './batching-engine.ts'
import { linearProfile } from './test-profile.ts'

/** A manual clock: timers fire only when the test advances time. */
function manualTime(): BatchingEngineDeps & { advance(ms: number): void; at(): number } {
  let now = 0
  let timers: { at: number; fire: () => void; live: boolean }[] = []
  return {
    now: () => now,
    at: () => now,
    schedule(delay, fire) {
      const t = { at: now + delay, fire, live: true }
      timers.push(t)
      return () => {
        t.live = false
      }
    },
    advance(ms) {
      const target = now + ms
      for (let guard = 0; guard < 1_000_000; guard += 1) {
        const due = timers.filter((t) => t.live && t.at <= target).sort((a, b) => a.at - b.at)[0]
        if (!due) break
        now = Math.max(now, due.at)
        due.live = false
        timers = timers.filter((t) => t.live)
        due.fire()
      }
      now = target
    },
  }
}

describe('createBatchingEngine', () => {
  it('paces a lone sequence at the profile’s inter-token time after its prefill', () => {
    const time = manualTime()
    const engine = createBatchingEngine(
      { profile: linearProfile({ msPerToken: 10, msPerInputToken: 0.1 }) },
      time,
    )
    const stamps: number[] = []
    let done = false
    engine.submit({
      inputTokens: 100,
      outputTokens: 3,
      onToken: () => stamps.push(time.at()),
      onDone: () => (done = true),
    })
    time.advance(1000)
    // First token after prefill (100 × 0.1 ms) + one decode step (10 ms); then 10 ms apart.
    expect(stamps).toEqual([20, 30, 40])
    expect(done).toBe(true)
    const s = engine.stats()
    expect(s.completed).toBe(1)
    expect(s.outputTokens).toBe(3)
    expect(s.inputTokens).toBe(100)
  })

  it('slows every sequence as the batch grows (continuous batching)', () => {
    const time = manualTime()
    const profile = linearProfile({ msPerToken: 10, msPerTokenPerBatch: 1, msPerInputToken: 0 })
    const engine = createBatchingEngine({ profile }, time)
    const done: number[] = []
    for (let i = 0; i < 5; i += 1) {
      engine.submit({ inputTokens: 1, outputTokens: 10, onDone: () => done.push(time.at()) })
    }
    time.advance(10_000)
    // Batch of 5: 14 ms per iteration, 10 iterations.
    expect(done).toEqual([140, 140, 140, 140, 140])
  })

  it('queues beyond the batch limit and admits as slots free', () => {
    const time = manualTime()
    const profile = linearProfile({ msPerToken: 10, msPerTokenPerBatch: 0, msPerInputToken: 0 })
    const engine = createBatchingEngine({ profile, maxBatch: 2 }, time)
    const done: number[] = []
    for (let i = 0; i < 3; i += 1) {
      engine.submit({ inputTokens: 1, outputTokens: 2, onDone: () => done.push(time.at()) })
    }
    time.advance(0)
    expect(engine.stats()).toMatchObject({ running: 2, waiting: 1 })
    time.advance(1000)
    expect(done).toEqual([20, 20, 40])
  })

  it('integrates power over model time, idle included, and compresses real time', () => {
    const time = manualTime()
    const profile = linearProfile({
      msPerToken: 10,
      msPerTokenPerBatch: 0,
      msPerInputToken: 0,
      idlePowerW: 100,
      powerW: 400,
    })
    const engine = createBatchingEngine({ profile, timeScale: 10 }, time)
    time.advance(5) // 50 model ms idle: 100 W × 0.05 s = 5 J
    let doneAt = -1
    engine.submit({ inputTokens: 1, outputTokens: 100, onDone: () => (doneAt = time.at()) })
    time.advance(1000)
    // 100 tokens × 10 model ms = 1 model second = 100 real ms at timeScale 10.
    expect(doneAt).toBeCloseTo(105, 6)
    const s = engine.stats()
    // Busy: 400 W × 1 s = 400 J. Idle: 50 ms before + (1005 − 105) × 10 model ms after.
    const idle = 100 * 0.05 + (100 * ((1005 - 105) * 10)) / 1000
    expect(s.idleEnergyJ).toBeCloseTo(idle, 6)
    expect(s.energyJ).toBeCloseTo(400 + idle, 6)
    expect(s.powerW).toBe(100)
  })

  it('stops spending on a cancelled sequence', () => {
    const time = manualTime()
    const engine = createBatchingEngine({ profile: linearProfile({ msPerInputToken: 0 }) }, time)
    const tokens: number[] = []
    let done = false
    const h = engine.submit({
      inputTokens: 1,
      outputTokens: 1000,
      onToken: (i) => tokens.push(i),
      onDone: () => (done = true),
    })
    time.advance(55)
    h.cancel()
    const emitted = tokens.length
    time.advance(10_000)
    expect(tokens.length).toBe(emitted)
    expect(emitted).toBeGreaterThan(0)
    expect(done).toBe(false)
    expect(engine.stats()).toMatchObject({ cancelled: 1, running: 0, completed: 0 })
  })

  it('finishes a prefill-only sequence (embeddings) without tokens', () => {
    const time = manualTime()
    const engine = createBatchingEngine({ profile: linearProfile({ msPerInputToken: 0.5 }) }, time)
    let doneAt = -1
    engine.submit({ inputTokens: 40, outputTokens: 0, onDone: () => (doneAt = time.at()) })
    time.advance(100)
    expect(doneAt).toBe(20)
  })

  it('rejects a non-positive time scale', () => {
    expect(() =>
      createBatchingEngine({ profile: linearProfile(), timeScale: 0 }, manualTime()),
    ).toThrow(/timeScale/)
  })
})
