import OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import { startSimulatedBackend, type SimulatedBackend } from './simulated-backend.ts'
import { linearProfile } from './test-profile.ts'

const started: SimulatedBackend[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((b) => b.close()))
})

async function start(
  extra: Partial<Parameters<typeof startSimulatedBackend>[0]> = {},
): Promise<SimulatedBackend> {
  const b = await startSimulatedBackend({
    model: 'llama-3.1-8b-instruct',
    profile: linearProfile({ msPerToken: 10, msPerInputToken: 0.01, gpus: 2 }),
    zone: 'FR',
    timeScale: 20,
    ...extra,
  })
  started.push(b)
  return b
}

function client(b: SimulatedBackend): OpenAI {
  return new OpenAI({ baseURL: b.url, apiKey: 'sk-sim', maxRetries: 0, timeout: 10_000 })
}

describe('startSimulatedBackend', () => {
  it('says it is simulated in /v1/models and in a response header', async () => {
    const b = await start()
    const res = await fetch(`${b.url}/models`)
    expect(res.headers.get('x-simulated')).toBe('true')
    const body = (await res.json()) as { data: { id: string; owned_by: string }[] }
    expect(body.data).toEqual([
      expect.objectContaining({ id: 'llama-3.1-8b-instruct', owned_by: 'wattline-simulator' }),
    ])
    const health = await fetch(`${b.origin}/healthz`)
    expect(health.status).toBe(200)
  })

  it('answers a chat completion with max_tokens tokens and the usage, deterministically', async () => {
    const b = await start()
    const ask = () =>
      client(b).chat.completions.create({
        model: 'llama-3.1-8b-instruct',
        messages: [{ role: 'user', content: 'x'.repeat(400) }],
        max_tokens: 12,
      })
    const first = await ask()
    const second = await ask()
    expect(first.object).toBe('chat.completion')
    expect(first.usage).toEqual({ prompt_tokens: 100, completion_tokens: 12, total_tokens: 112 })
    expect(first.choices[0]?.finish_reason).toBe('length')
    expect(first.choices[0]?.message.content?.split(' ')).toHaveLength(12)
    expect(second.choices[0]?.message.content).toBe(first.choices[0]?.message.content)
    expect(b.stats()).toMatchObject({ completed: 2, outputTokens: 24 })
  })

  it('draws the output length from the trace distribution when max_tokens is absent', async () => {
    const b = await start({ timeScale: 200 })
    const res = await client(b).chat.completions.create({
      model: 'llama-3.1-8b-instruct',
      messages: [{ role: 'user', content: 'tell me about the grid' }],
    })
    expect(res.choices[0]?.finish_reason).toBe('stop')
    expect(res.usage?.completion_tokens).toBeGreaterThan(0)
    expect(res.usage?.completion_tokens).toBeLessThanOrEqual(1000)
  })

  it('streams one chunk per token at the profile’s pace and ends with usage when asked', async () => {
    const b = await start({ timeScale: 1 })
    const sent = performance.now()
    const stream = await client(b).chat.completions.create({
      model: 'llama-3.1-8b-instruct',
      messages: [{ role: 'user', content: 'hello' }],
      max_tokens: 8,
      stream: true,
      stream_options: { include_usage: true },
    })
    const stamps: number[] = []
    const text: string[] = []
    let usage: unknown
    let finish: string | null | undefined
    for await (const chunk of stream) {
      const choice = chunk.choices[0]
      if (choice?.delta.content) {
        stamps.push(performance.now())
        text.push(choice.delta.content)
      }
      if (choice?.finish_reason) finish = choice.finish_reason
      if (chunk.usage) usage = chunk.usage
    }
    expect(text).toHaveLength(8)
    expect(finish).toBe('length')
    expect(usage).toEqual({ prompt_tokens: 2, completion_tokens: 8, total_tokens: 10 })
    // ~10 ms per token at batch 1: the server's timers may run late, never early, so the last
    // token cannot arrive sooner than 7 inter-token gaps after the request was sent (the client
    // may receive chunks coalesced, so gaps between client-side stamps prove nothing).
    const span = (stamps.at(-1) ?? 0) - sent
    expect(span).toBeGreaterThanOrEqual(60)
  })

  it('serves text completions and embeddings', async () => {
    const b = await start()
    const c = client(b)
    const completion = await c.completions.create({
      model: 'llama-3.1-8b-instruct',
      prompt: 'Once upon a time',
      max_tokens: 5,
    })
    expect(completion.object).toBe('text_completion')
    expect(completion.usage?.completion_tokens).toBe(5)
    const emb = await c.embeddings.create({ model: 'llama-3.1-8b-instruct', input: ['a', 'bb'] })
    expect(emb.data).toHaveLength(2)
    expect(emb.data[0]?.embedding).toHaveLength(64)
    const norm = Math.hypot(...(emb.data[0]?.embedding ?? []))
    expect(norm).toBeCloseTo(1, 3)
  })

  it('answers bad input in OpenAI’s error shape', async () => {
    const b = await start()
    const post = (body: string) =>
      fetch(`${b.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
    const malformed = await post('{not json')
    expect(malformed.status).toBe(400)
    expect(await malformed.json()).toMatchObject({ error: { type: 'invalid_request_error' } })
    const unknown = await post(JSON.stringify({ model: 'gpt-9', messages: [] }))
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ error: { code: 'model_not_found' } })
    const noMessages = await post(JSON.stringify({ model: 'llama-3.1-8b-instruct' }))
    expect(noMessages.status).toBe(400)
    await expect(
      client(b).chat.completions.create({
        model: 'llama-3.1-8b-instruct',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: -1,
      }),
    ).rejects.toMatchObject({ status: 400 })
  })

  it('fails requests at the configured rate and can be killed', async () => {
    const b = await start({ failRate: 1 })
    const c = client(b)
    await expect(
      c.chat.completions.create({
        model: 'llama-3.1-8b-instruct',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 2,
      }),
    ).rejects.toMatchObject({ status: 500 })
    expect(b.stats().failures).toBe(1)
    b.setFailRate(0)
    const pending = c.chat.completions.create({
      model: 'llama-3.1-8b-instruct',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 10_000,
      stream: true,
    })
    const stream = await pending
    const reading = (async () => {
      for await (const _ of stream) void _
    })()
    await new Promise((r) => setTimeout(r, 50))
    await b.kill()
    await expect(reading).rejects.toThrow()
    await expect(fetch(`${b.origin}/healthz`)).rejects.toThrow()
  })

  it('cancels the generation when the client disconnects', async () => {
    const b = await start({ timeScale: 1 })
    const controller = new AbortController()
    const res = await fetch(`${b.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'llama-3.1-8b-instruct',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 5000,
        stream: true,
      }),
      signal: controller.signal,
    })
    const reader = res.body?.getReader()
    await reader?.read()
    controller.abort()
    for (let i = 0; i < 300 && b.stats().cancelled === 0; i += 1) {
      await new Promise((r) => setTimeout(r, 10))
    }
    expect(b.stats()).toMatchObject({ cancelled: 1, running: 0 })
  })

  it('exposes modelled power in the DCGM exporter format, per GPU', async () => {
    const b = await start({ timeScale: 1 })
    const idle = await (await fetch(`${b.origin}/metrics`)).text()
    expect(idle).toContain('# TYPE DCGM_FI_DEV_POWER_USAGE gauge')
    const values = [...idle.matchAll(/^DCGM_FI_DEV_POWER_USAGE\{[^}]*gpu="(\d)"[^}]*\} (\S+)$/gm)]
    expect(values.map((m) => [m[1], Number(m[2])])).toEqual([
      ['0', 50],
      ['1', 50],
    ])
    const busy = client(b).chat.completions.create({
      model: 'llama-3.1-8b-instruct',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 30,
    })
    await new Promise((r) => setTimeout(r, 60))
    const during = await (await fetch(`${b.origin}/metrics`)).text()
    const w = [...during.matchAll(/^DCGM_FI_DEV_POWER_USAGE\{[^}]*\} (\S+)$/gm)].map((m) =>
      Number(m[1]),
    )
    expect(w).toEqual([150, 150])
    await busy
    expect(during).toMatch(/^DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION\{.*\} \d+$/m)
  })

  it('refuses to listen beyond loopback', async () => {
    await expect(start({ host: '0.0.0.0' })).rejects.toThrow(/loopback/)
  })
})
