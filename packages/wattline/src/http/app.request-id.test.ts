/**
 * Every answer of the gateway's app names its request id in `x-request-id` — the client's when it
 * sent a valid one, a fresh UUID otherwise — whoever answers: a proxied completion, the routes of
 * the app, fastify's router, a refusal in a hook, the error handler, the not-found handler.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGateway, startStub, type Harness, type StubBackend } from './harness.test-support.ts'
import { rawGet } from './raw-http.test-support.ts'

const MODEL = 'llama-3.1-8b-instruct'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('x-request-id on every answer', () => {
  let stub: StubBackend
  let gw: Harness
  let port: number
  let origin: string

  beforeAll(async () => {
    stub = await startStub()
    gw = await startGateway(
      {
        services: [{ name: 'chat', default: true, routing: 'carbon-aware' }],
        backends: [
          { id: 'paris', url: stub.url, zone: 'FR', hardware: 'H100-SXM', models: [MODEL] },
        ],
      },
      { FR: 30 },
    )
    origin = new URL(gw.baseUrl).origin
    port = Number(new URL(gw.baseUrl).port)
  })
  afterAll(async () => {
    await gw.close()
    await stub.close()
  })

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${origin}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    })
  const chat = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] })

  it("echoes the client's id, on answers and on refusals alike", async () => {
    const ok = await post('/v1/chat/completions', chat, { 'x-request-id': 'client-1' })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('x-request-id')).toBe('client-1')
    const unknown = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'nope', messages: [] }),
      {
        'x-request-id': 'client-2',
      },
    )
    expect(unknown.status).toBeGreaterThanOrEqual(400)
    expect(unknown.headers.get('x-request-id')).toBe('client-2')
  })

  it('gives a fresh UUID to every answer that came without an id, whoever answered', async () => {
    const answers = [
      await post('/v1/chat/completions', chat), // proxied
      await post('/v1/chat/completions', '{not json'), // the body parser's error
      await fetch(`${origin}/healthz`), // a route of the app
      await fetch(`${origin}/no/such/route`), // the not-found handler
      await fetch(`${origin}/metrics`), // a route's own answer
    ]
    const ids = answers.map((r) => r.headers.get('x-request-id'))
    expect(answers.map((r) => r.status)).toEqual([200, 400, 200, 404, 200])
    for (const id of ids) expect(id).toMatch(UUID)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it("names it on refusals in the app's onRequest hook and in fastify's router", async () => {
    const tooLong = await rawGet(port, `/v1/models?q=${'x'.repeat(9_000)}`)
    expect(tooLong.status).toBe(414)
    expect(tooLong.headers['x-request-id']).toMatch(UUID)
    const badEncoding = await rawGet(port, '/v1/%E0%A4%A', { 'x-request-id': 'raw-1' })
    expect(badEncoding.status).toBe(400)
    expect(badEncoding.headers['x-request-id']).toBe('raw-1')
  })
})
