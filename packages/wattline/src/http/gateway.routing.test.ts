import OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import { startGateway, startStub, type Harness, type StubBackend } from './harness.test-support.ts'

const MODEL = 'llama-3.1-8b-instruct'
const INTENSITY = { FR: 30, DE: 350, PL: 650 }
const msg = [{ role: 'user' as const, content: 'hi' }]

let cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanup.reverse()) await c()
  cleanup = []
})

async function setup(
  stubOpts: Parameters<typeof startStub>[0][],
  backendOver: Record<string, unknown>[],
  service: Record<string, unknown> = {},
  env: Record<string, string> = {},
): Promise<{ gw: Harness; stubs: StubBackend[]; client: OpenAI }> {
  const stubs = await Promise.all(stubOpts.map((o) => startStub(o)))
  const ids = ['paris', 'frankfurt', 'warsaw']
  const zones = ['FR', 'DE', 'PL']
  const gw = await startGateway(
    {
      gateway: { health: { interval_ms: 60_000 } },
      services: [{ name: 'chat', default: true, routing: 'carbon-aware', ...service }],
      backends: stubs.map((s, i) => ({
        id: ids[i],
        url: s.url,
        zone: zones[i],
        hardware: 'H100-SXM',
        models: [MODEL],
        ...backendOver[i],
      })),
    },
    INTENSITY,
    env,
  )
  cleanup.push(async () => {
    await gw.close()
    await Promise.all(stubs.map((s) => s.close()))
  })
  return {
    gw,
    stubs,
    client: new OpenAI({ baseURL: gw.baseUrl, apiKey: 'sk-local', maxRetries: 0, timeout: 10_000 }),
  }
}

async function chat(client: OpenAI, extra: Record<string, unknown> = {}): Promise<string> {
  const { response } = await client.chat.completions
    .create({ model: MODEL, messages: msg, max_tokens: 5, ...extra })
    .withResponse()
  return response.headers.get('x-wattline-backend') ?? ''
}

describe('routing through the gateway', () => {
  it('holds the SLO: a greener backend measured too slow loses to a fast one', async () => {
    const { client } = await setup([{ delayMs: 250 }, {}, {}], [{}, {}, {}], {
      slo: { p95_latency_ms: 150 },
    })
    const first = await chat(client)
    expect(first).toBe('paris') // nothing measured yet: the greenest
    const next: string[] = []
    for (let i = 0; i < 5; i++) next.push(await chat(client))
    expect(next).toEqual(Array(5).fill('frankfurt'))
  })

  it('spills over to the next greenest as capacity fills', async () => {
    // Each upstream holds its answer long enough that all six requests are in flight together,
    // even when a loaded machine staggers the client's sends.
    const { client } = await setup(
      [{ delayMs: 1000 }, { delayMs: 1000 }, { delayMs: 1000 }],
      [{ max_concurrency: 2 }, { max_concurrency: 2 }, {}],
    )
    const backends = await Promise.all(Array.from({ length: 6 }, () => chat(client)))
    expect(backends.sort()).toEqual([
      'frankfurt',
      'frankfurt',
      'paris',
      'paris',
      'warsaw',
      'warsaw',
    ])
  })

  it('a backend killed mid-run costs zero failed client requests', async () => {
    const { client, stubs, gw } = await setup([{ delayMs: 5 }, { delayMs: 5 }, {}], [{}, {}, {}])
    const seen: string[] = []
    for (let round = 0; round < 10; round++) {
      if (round === 4) stubs[0]!.kill()
      seen.push(
        ...(await Promise.all([chat(client), chat(client), chat(client, { stream: false })])),
      )
    }
    expect(seen).toHaveLength(30)
    expect(seen.slice(0, 12).every((b) => b === 'paris')).toBe(true)
    expect(seen.slice(12).every((b) => b === 'frankfurt')).toBe(true)
    expect(gw.gateway.backends.get('paris')?.breaker.kind).toBe('open')
  })

  it('retries a 5xx on the next best backend', async () => {
    const { client, gw } = await setup([{ mode: '500' }, {}, {}], [{}, {}, {}])
    expect(await chat(client)).toBe('frankfurt')
    const rec = gw.ledger.records.find((r) => r.kind === 'request')
    expect(rec).toMatchObject({ attempts: 2, backend: 'frankfurt', status: 200 })
  })

  it('answers 502 in OpenAI shape when every backend fails', async () => {
    const { client } = await setup(
      [{ mode: '500' }, { mode: 'reset' }, { mode: '500' }],
      [{}, {}, {}],
    )
    const err = await chat(client).catch((e: unknown) => e)
    expect(err).toMatchObject({
      status: 502,
      type: 'server_error',
      code: 'WL_UPSTREAM_UNAVAILABLE',
    })
  })

  it('queues beyond capacity and answers 429 with retry-after-ms once the queue is full', async () => {
    const { gw } = await setup([{ delayMs: 200 }], [{ max_concurrency: 1 }], {
      queue: { max_size: 1, timeout_ms: 5000 },
    })
    const post = (): Promise<Response> =>
      fetch(`${gw.baseUrl}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, messages: msg }),
      })
    const results = await Promise.all([post(), post(), post()])
    const statuses = results.map((r) => r.status).sort()
    expect(statuses).toEqual([200, 200, 429])
    const refused = results.find((r) => r.status === 429)!
    expect(Number(refused.headers.get('retry-after-ms'))).toBeGreaterThan(0)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect((await refused.json()) as unknown).toMatchObject({
      error: { type: 'rate_limit_error', code: 'WL_OVERLOADED' },
    })
  })

  it('aborts the upstream request when the client disconnects mid-stream', async () => {
    const { gw, stubs } = await setup([{ eventGapMs: 300 }], [{}])
    const controller = new AbortController()
    const res = await fetch(`${gw.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: msg, stream: true }),
      signal: controller.signal,
    })
    const reader = res.body!.getReader()
    await reader.read()
    controller.abort()
    await expect.poll(() => stubs[0]!.aborted, { timeout: 3000 }).toBe(1)
    await expect
      .poll(() => gw.ledger.records.some((r) => r.kind === 'request' && r.status === 499))
      .toBe(true)
    expect(gw.gateway.inflight()).toBe(0)
  })

  it('ends a stream whose upstream breaks mid-way with an error event, accounted as 502', async () => {
    const { gw, stubs } = await setup([{ eventGapMs: 300 }], [{}])
    const res = await fetch(`${gw.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'broken-1' },
      body: JSON.stringify({ model: MODEL, messages: msg, stream: true }),
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('no-cache')
    expect(res.headers.get('x-request-id')).toBe('broken-1')
    expect(res.headers.get('x-wattline-backend')).toBe('paris')
    expect(res.headers.get('x-wattline-zone')).toBe('FR')
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let text = decoder.decode((await reader.read()).value, { stream: true })
    stubs[0]!.kill()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value, { stream: true })
    }
    const events = text.split('\n\n').filter(Boolean)
    expect(events[0]).toMatch(/^data: \{/)
    expect(events.at(-1)).toBe('data: [DONE]')
    expect(JSON.parse(events.at(-2)!.replace(/^data: /, ''))).toMatchObject({
      error: { code: 'WL_UPSTREAM_STREAM_BROKEN', type: 'server_error' },
    })
    await expect
      .poll(() => gw.ledger.records.find((r) => r.kind === 'request' && r.id === 'broken-1'))
      .toMatchObject({ status: 502, error_code: 'WL_UPSTREAM_STREAM_BROKEN', streamed: true })
    expect(gw.gateway.inflight()).toBe(0)
  })

  it('requires a tenant key when keys are configured, and routes the tenant to its service', async () => {
    const { gw } = await setup(
      [{}],
      [{}],
      { api_keys: [{ tenant: 'acme', key_env: 'ACME_KEY' }] },
      { ACME_KEY: 'sk-acme-123' },
    )
    const bad = new OpenAI({ baseURL: gw.baseUrl, apiKey: 'sk-wrong', maxRetries: 0 })
    await expect(bad.models.list()).rejects.toMatchObject({
      status: 401,
      type: 'authentication_error',
    })
    const good = new OpenAI({ baseURL: gw.baseUrl, apiKey: 'sk-acme-123', maxRetries: 0 })
    expect(await chat(good)).toBe('paris')
    expect(gw.ledger.records.find((r) => r.kind === 'request')).toMatchObject({
      tenant: 'acme',
      service: 'chat',
    })
  })
})
