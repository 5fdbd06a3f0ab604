import { describe, expect, it } from 'vitest'
import { UpstreamFailure } from '../adapters/upstream/openai-upstream.ts'
import {
  exchange,
  response,
  runtimes,
  scriptedUpstream,
  testConfig,
} from './exchange.test-support.ts'
import { AttemptFailed } from './pipeline.ts'
import { createUpstreamTerminal } from './upstream.ts'

function setup(answer: Parameters<typeof scriptedUpstream>[1], signal?: AbortSignal) {
  const config = testConfig()
  const up = scriptedUpstream('a', answer)
  const rt = runtimes(config, () => up)[0]!
  const ex = exchange(config, {
    bodyFor: (b) => `{"for":"${b.id}"}`,
    headers: { 'x-request-id': 'r1' },
    ...(signal === undefined ? {} : { signal }),
  })
  ex.backend = rt
  return { ex, up }
}

describe('upstream terminal', () => {
  it('sends the body built for the backend and puts the response on the exchange', async () => {
    const ok = response(200)
    const { ex, up } = setup(async () => ok)
    ex.tried.push('b')
    await createUpstreamTerminal()(ex)
    expect(ex.response).toBe(ok)
    expect(ex.attempts).toBe(2)
    expect(up.requests[0]).toMatchObject({
      method: 'POST',
      path: '/chat/completions',
      body: '{"for":"a"}',
      headers: { 'x-request-id': 'r1' },
    })
  })

  it('a 5xx answer is a failed attempt (its body drained), so is a retryable transport failure', async () => {
    const bad = response(503)
    const a = setup(async () => bad)
    const e = await createUpstreamTerminal()(a.ex).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(AttemptFailed)
    expect(e).toMatchObject({ backend: 'a', reason: 'http_503' })
    expect(bad.dumped()).toBe(1)
    const b = setup(async () =>
      Promise.reject(new UpstreamFailure('a', 'connect', 'ECONNREFUSED', undefined)),
    )
    await expect(createUpstreamTerminal()(b.ex)).rejects.toMatchObject({ reason: 'connect' })
  })

  it('any other failure is a 502 WL_UPSTREAM_UNAVAILABLE; a client abort stays the abort', async () => {
    const a = setup(async () =>
      Promise.reject(new UpstreamFailure('a', 'other', 'bad header', undefined)),
    )
    await expect(createUpstreamTerminal()(a.ex)).rejects.toMatchObject({
      code: 'WL_UPSTREAM_UNAVAILABLE',
      details: { status: 502 },
      message: 'backend a failed: bad header',
    })
    const ac = new AbortController()
    const b = setup(async () => {
      ac.abort(new Error('client gone'))
      throw new UpstreamFailure('a', 'aborted', 'aborted', undefined)
    }, ac.signal)
    await expect(createUpstreamTerminal()(b.ex)).rejects.toThrow('client gone')
  })
})
