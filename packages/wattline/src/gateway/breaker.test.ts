import type { BreakerState } from '@wattline/core'
import { describe, expect, it } from 'vitest'
import { createBreaker, type BreakerFeed } from './breaker.ts'
import { exchange, finishInput, runtimes, testConfig } from './exchange.test-support.ts'
import { AttemptFailed } from './pipeline.ts'

const end = (completed: boolean) =>
  finishInput({ status: completed ? 200 : 499, inputTokens: 0, outputTokens: 0, completed })

function setup(state: BreakerState['kind'] = 'closed') {
  const config = testConfig()
  const rt = runtimes(config)[0]!
  rt.breaker = { ...rt.breaker, kind: state } as BreakerState
  const fed: BreakerFeed[] = []
  const breaker = createBreaker({ feed: (_rt, kind) => void fed.push(kind) })
  const ex = exchange(config)
  ex.backend = rt
  return { breaker, ex, fed }
}

describe('breaker', () => {
  it('a closed backend: no event on the way in, success when the response completes', async () => {
    const { breaker, ex, fed } = setup()
    await breaker.dispatch!(ex, async () => {})
    expect(ex.halfOpen).toBe(false)
    breaker.finish!(ex, end(true))
    expect(fed).toEqual(['success'])
  })

  it('a half-open backend: the attempt is its trial; a client cut cancels it', async () => {
    const { breaker, ex, fed } = setup('half-open')
    await breaker.dispatch!(ex, async () => {})
    expect(ex.halfOpen).toBe(true)
    breaker.finish!(ex, end(false))
    expect(fed).toEqual(['trial-started', 'trial-cancelled'])
  })

  it('a retryable failure counts against the backend; another error only cancels a trial', async () => {
    const a = setup()
    const failed = new AttemptFailed('a', 'http_503', new Error('503'))
    await expect(a.breaker.dispatch!(a.ex, async () => Promise.reject(failed))).rejects.toBe(failed)
    expect(a.fed).toEqual(['failure'])
    const b = setup('half-open')
    await expect(
      b.breaker.dispatch!(b.ex, async () => Promise.reject(new Error('client gone'))),
    ).rejects.toThrow('client gone')
    expect(b.fed).toEqual(['trial-started', 'trial-cancelled'])
    const c = setup()
    await expect(
      c.breaker.dispatch!(c.ex, async () => Promise.reject(new Error('x'))),
    ).rejects.toThrow()
    expect(c.fed).toEqual([])
  })
})
