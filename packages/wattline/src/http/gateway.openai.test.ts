import OpenAI, { APIError } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGateway, startStub, type Harness, type StubBackend } from './harness.test-support.ts'

const MODEL = 'llama-3.1-8b-instruct'

describe('gateway with the official openai client', () => {
  let stubs: StubBackend[]
  let gw: Harness
  let client: OpenAI

  beforeAll(async () => {
    stubs = await Promise.all([startStub(), startStub(), startStub()])
    gw = await startGateway(
      {
        services: [
          { name: 'chat', default: true, routing: 'carbon-aware', slo: { p95_latency_ms: 60_000 } },
          { name: 'de-only', backends: ['frankfurt'] },
        ],
        backends: [
          {
            id: 'paris',
            url: stubs[0]!.url,
            zone: 'FR',
            hardware: 'H100-SXM',
            models: [MODEL, 'embed'],
            pue: 1.2,
          },
          {
            id: 'frankfurt',
            url: stubs[1]!.url,
            zone: 'DE',
            hardware: 'H100-SXM',
            models: [MODEL],
            model_names: { [MODEL]: 'meta-llama/Llama-3.1-8B-Instruct' },
          },
          { id: 'warsaw', url: stubs[2]!.url, zone: 'PL', hardware: 'A100-80GB', models: [MODEL] },
        ],
      },
      { FR: 30, DE: 350, PL: 650 },
    )
    client = new OpenAI({ baseURL: gw.baseUrl, apiKey: 'sk-local', maxRetries: 0, timeout: 10_000 })
  })
  afterAll(async () => {
    await gw.close()
    await Promise.all(stubs.map((s) => s.close()))
  })

  it('answers a chat completion through the greenest backend with accounting headers', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse()
    expect(data.choices[0]?.message.content).toBe('Hello from stub')
    expect(data.usage?.completion_tokens).toBe(3)
    const h = response.headers
    expect(h.get('x-wattline-backend')).toBe('paris')
    expect(h.get('x-wattline-zone')).toBe('FR')
    expect(h.get('x-wattline-method')).toBe('modelled')
    expect(Number(h.get('x-wattline-energy-j'))).toBeGreaterThan(0)
    expect(Number(h.get('x-wattline-carbon-g'))).toBeGreaterThan(0)
    expect(Number(h.get('x-wattline-intensity-g-per-kwh'))).toBe(30)
    expect(h.get('x-request-id')).toBeTruthy()
    const rec = gw.ledger.records.find((r) => r.kind === 'request' && r.backend === 'paris')
    expect(rec).toMatchObject({
      kind: 'request',
      service: 'chat',
      model: MODEL,
      status: 200,
      input_tokens: 7,
      output_tokens: 3,
      pue: 1.2,
      routing_policy: 'carbon-aware',
    })
    if (rec?.kind === 'request') {
      expect(rec.carbon_g).toBeCloseTo(((rec.energy_j * 1.2) / 3_600_000) * 30, 12)
      expect(JSON.parse(rec.routing_reason).scores).toHaveLength(3)
    }
  })

  it('passes the request body through unchanged', async () => {
    const before = stubs[0]!.received.length
    await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'x' }],
      temperature: 0.25,
      seed: 7,
    })
    expect(stubs[0]!.received[before]?.body).toEqual({
      model: MODEL,
      messages: [{ role: 'user', content: 'x' }],
      temperature: 0.25,
      seed: 7,
    })
  })

  it('streams chunk by chunk, with a usage chunk carrying accounting only when asked', async () => {
    const withUsage = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = []
    for await (const c of withUsage) chunks.push(c)
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Hello from stub')
    const last = chunks[chunks.length - 1] as OpenAI.Chat.Completions.ChatCompletionChunk & {
      wattline?: { energy_j: { value: number }; backend: string }
    }
    expect(last.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 3 })
    expect(last.wattline?.backend).toBe('paris')
    expect(last.wattline?.energy_j.value).toBeGreaterThan(0)

    const before = stubs[0]!.received.length
    const noUsage = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    })
    const plain: OpenAI.Chat.Completions.ChatCompletionChunk[] = []
    for await (const c of noUsage) plain.push(c)
    expect(plain.every((c) => c.usage === undefined || c.usage === null)).toBe(true)
    expect(plain.length).toBe(4)
    // The gateway asked the upstream for usage on the client's behalf and accounted the tokens.
    expect(stubs[0]!.received[before]?.body['stream_options']).toEqual({ include_usage: true })
    await expect
      .poll(
        () =>
          gw.ledger.records.filter(
            (r) => r.kind === 'request' && r.streamed && r.output_tokens === 3,
          ).length,
      )
      .toBeGreaterThanOrEqual(2)
  })

  it('maps model names for a backend that uses another name', async () => {
    const before = stubs[1]!.received.length
    const { data, response } = await client.chat.completions
      .create(
        { model: MODEL, messages: [{ role: 'user', content: 'hi' }] },
        { headers: { 'x-wattline-service': 'de-only' } },
      )
      .withResponse()
    expect(response.headers.get('x-wattline-backend')).toBe('frankfurt')
    expect(stubs[1]!.received[before]?.body['model']).toBe('meta-llama/Llama-3.1-8B-Instruct')
    expect(data.model).toBe(MODEL)
    const unknown = await client.chat.completions
      .create(
        { model: MODEL, messages: [{ role: 'user', content: 'hi' }] },
        { headers: { 'x-wattline-service': 'nope' } },
      )
      .catch((e: unknown) => e)
    expect(unknown).toMatchObject({ status: 400, param: 'x-wattline-service' })
  })

  it('serves embeddings and lists the union of models', async () => {
    const e = await client.embeddings.create({ model: 'embed', input: 'hello' })
    expect(e.data[0]?.embedding.map((x) => Number(x.toFixed(3)))).toEqual([0.1, 0.2, 0.3])
    const models = await client.models.list()
    expect(models.data.map((m) => m.id)).toEqual(['embed', MODEL])
  })

  it('answers bad input with OpenAI-shaped 4xx errors', async () => {
    const err = await client.chat.completions
      .create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(APIError)
    expect(err).toMatchObject({
      status: 404,
      type: 'invalid_request_error',
      code: 'WL_UNKNOWN_MODEL',
      param: 'model',
    })

    const bad = await client.chat.completions
      .create({ model: MODEL, messages: 'oops' as never })
      .catch((e: unknown) => e)
    expect(bad).toMatchObject({ status: 400, type: 'invalid_request_error', param: 'messages' })

    const res = await fetch(`${gw.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model": ',
    })
    expect(res.status).toBe(400)
    expect((await res.json()) as unknown).toMatchObject({
      error: { type: 'invalid_request_error', code: 'WL_INVALID_INPUT' },
    })

    const big = await fetch(`${gw.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: MODEL,
        messages: [{ role: 'user', content: 'x'.repeat(5 * 1024 * 1024) }],
      }),
    })
    expect(big.status).toBe(413)
    expect((await big.json()) as unknown).toMatchObject({ error: { code: 'WL_REQUEST_TOO_LARGE' } })
  })

  it('exposes health, readiness and metrics', async () => {
    const origin = gw.baseUrl.replace(/\/v1$/, '')
    expect((await fetch(`${origin}/healthz`)).status).toBe(200)
    expect((await fetch(`${origin}/readyz`)).status).toBe(200)
    const text = await (await fetch(`${origin}/metrics`)).text()
    for (const name of [
      'wattline_requests_total',
      'wattline_request_duration_seconds_bucket',
      'wattline_energy_joules_total',
      'wattline_carbon_grams_total',
      'wattline_idle_energy_joules_total',
      'wattline_backend_inflight',
      'wattline_grid_intensity_grams_per_kwh',
    ]) {
      expect(text).toContain(name)
    }
    expect(text).toMatch(
      /wattline_energy_joules_total\{service="chat",model="llama-3.1-8b-instruct",backend="paris",zone="FR",method="modelled"\} [0-9.e-]+/,
    )
  })
})

describe('live state for the dashboard', () => {
  it('lists backends, zones and the recent decisions, newest first', async () => {
    const { gatewayLiveState } = await import('./live-state.ts')
    const { createIntensityBoard } = await import('./intensity-board.ts')
    const { fixedIntensity, realClock } = await import('./harness.test-support.ts')
    const stub = await startStub()
    const gw = await startGateway(
      {
        services: [{ name: 'chat' }],
        backends: [{ id: 'a', url: stub.url, zone: 'FR', hardware: 'H100-SXM', models: [MODEL] }],
      },
      { FR: 40 },
    )
    const board = createIntensityBoard({
      source: fixedIntensity({ FR: 40 }),
      clock: realClock,
      zones: ['FR'],
      signal: 'average',
    })
    await board.refresh()
    const client = new OpenAI({ baseURL: gw.baseUrl, apiKey: 'x', maxRetries: 0 })
    await client.chat.completions.create(
      { model: MODEL, messages: [{ role: 'user', content: 'a' }] },
      { headers: { 'x-request-id': 'req-1' } },
    )
    await client.chat.completions.create(
      { model: MODEL, messages: [{ role: 'user', content: 'b' }] },
      { headers: { 'x-request-id': 'req-2' } },
    )
    const live = gatewayLiveState(gw.gateway, board)
    expect(live.backends()).toMatchObject([
      { id: 'a', zone: 'FR', healthy: true, inflight: 0, power_method: 'modelled' },
    ])
    expect(live.zones()).toMatchObject([{ zone: 'FR', intensity_g_per_kwh: 40, stale: false }])
    expect(live.recentDecisions(5).map((d) => d.request_id)).toEqual(['req-2', 'req-1'])
    await gw.close()
    await stub.close()
  })
})
