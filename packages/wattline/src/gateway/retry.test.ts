import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { UpstreamFailure } from '../adapters/upstream/openai-upstream.ts'
import { exchange, testConfig } from './exchange.test-support.ts'
import { AttemptFailed } from './pipeline.ts'
import { createRetry } from './retry.ts'

function setup() {
  const lines: string[] = []
  const logger = pino({ level: 'warn' }, { write: (s: string) => void lines.push(s) })
  const retries: string[] = []
  const retry = createRetry({ onRetry: (b, r) => void retries.push(`${b}:${r}`), logger })
  return { retry, retries, lines }
}

describe('retry', () => {
  it('retries after failed attempts, recording the backends tried and the last cause', async () => {
    const { retry, retries, lines } = setup()
    const ex = exchange(testConfig())
    const reset = new UpstreamFailure('b', 'reset', 'socket hang up', undefined)
    const failures = [
      new AttemptFailed('a', 'http_502', new Error('backend a answered 502')),
      new AttemptFailed('b', 'reset', reset),
    ]
    let calls = 0
    await retry.dispatch!(ex, async (e) => {
      calls++
      expect(e.tried).toHaveLength(calls - 1)
      const f = failures.shift()
      if (f !== undefined) throw f
    })
    expect(calls).toBe(3)
    expect(ex.tried).toEqual(['a', 'b'])
    expect(ex.lastError).toBe(reset)
    expect(retries).toEqual(['a:http_502', 'b:reset'])
    // One warning, for the transport failure (a 5xx answer is not logged as such).
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0]!)).toMatchObject({ backend: 'b', kind: 'reset' })
  })

  it('passes any other error on at once, and stops when the chain gives up', async () => {
    const { retry, retries } = setup()
    const ex = exchange(testConfig())
    await expect(
      retry.dispatch!(ex, async () => Promise.reject(new Error('no backend'))),
    ).rejects.toThrow('no backend')
    expect(retries).toEqual([])
    let calls = 0
    await expect(
      retry.dispatch!(exchange(testConfig()), async () => {
        if (++calls < 3) throw new AttemptFailed(`b${calls}`, 'timeout', new Error('t'))
        throw new Error('no backend could serve model')
      }),
    ).rejects.toThrow('no backend could serve model')
    expect(calls).toBe(3)
  })
})
