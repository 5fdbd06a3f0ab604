import { decodeLeverSavings, type RequestRecord } from '@wattline/core'
import fc from 'fast-check'
import OpenAI, { APIError, APIUserAbortError } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createConfigCatalog } from '../config/catalog.ts'
import { parseConfigText } from '../config/load-config.ts'
import { DEMO_FLEET, demoConfigText } from '../compose/demo.ts'
import {
  startGateway,
  startStub,
  stubEmbedding,
  type Harness,
  type StubBackend,
} from './harness.test-support.ts'

const MODEL = 'embed'

/** One caller's input: a string, strings, a token array or token arrays. */
type Input = string | string[] | number[] | number[][]

/** The items of an input, as the upstream sees them. */
function items(input: Input): (string | number[])[] {
  if (typeof input === 'string') return [input]
  if (input.length > 0 && input.every((x) => typeof x === 'number')) return [input as number[]]
  return input as (string | number[])[]
}

describe('embeddings micro-batching (simulated backends, official openai client)', () => {
  let ok: StubBackend
  let alone: StubBackend
  let five: StubBackend
  let four: StubBackend
  let picky: StubBackend
  let gw: Harness

  beforeAll(async () => {
    ;[ok, alone, five, four, picky] = await Promise.all([
      startStub({ perInputEmbeddings: true }),
      startStub({ perInputEmbeddings: true }),
      startStub({ perInputEmbeddings: true, mode: '500' }),
      startStub({ perInputEmbeddings: true, mode: '400' }),
      startStub({ perInputEmbeddings: true, refuseInput: 'TOO-LONG' }),
    ])
    const backend = (id: string, stub: StubBackend) => ({
      id,
      url: stub.url,
      zone: 'FR',
      hardware: 'H100-SXM',
      models: [MODEL],
      max_concurrency: 64,
    })
    const batching = (window_ms: number, max_batch: number) => ({
      enabled: true,
      window_ms,
      max_batch,
    })
    gw = await startGateway(
      {
        services: [
          {
            name: 'emb',
            default: true,
            backends: ['a'],
            embeddings_batching: batching(200, 1000),
          },
          { name: 'small', backends: ['a'], embeddings_batching: batching(100, 4) },
          { name: 'full', backends: ['a'], embeddings_batching: batching(1000, 4) },
          { name: 'plain', backends: ['a'] },
          { name: 'ledger', backends: ['l'], embeddings_batching: batching(200, 1000) },
          { name: 'err5', backends: ['e5'], embeddings_batching: batching(200, 64) },
          { name: 'err4', backends: ['e4'], embeddings_batching: batching(200, 64) },
          { name: 'picky', backends: ['p'], embeddings_batching: batching(200, 64) },
        ],
        backends: [
          backend('a', ok),
          backend('l', alone),
          backend('e5', five),
          backend('e4', four),
          backend('p', picky),
        ],
      },
      { FR: 50 },
    )
  })
  afterAll(async () => {
    await gw.close()
    await Promise.all([ok, alone, five, four, picky].map((s) => s.close()))
  })

  const client = (service: string) =>
    new OpenAI({
      baseURL: gw.baseUrl,
      apiKey: 'sk-local',
      maxRetries: 0,
      timeout: 10_000,
      defaultHeaders: { 'x-wattline-service': service },
    })
  /** Upstream embeddings calls `stub` received so far. */
  const calls = (stub: StubBackend) => stub.received.filter((r) => r.path.endsWith('/embeddings'))

  it('gives every concurrent caller exactly its own vectors, in its order, in fewer upstream calls (property)', async () => {
    const c = client('emb')
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom('hello', 'hello', 'wattline', 'ünïcödé ✓'),
    )
    const textInput: fc.Arbitrary<Input> = fc.oneof(
      text,
      fc.array(text, { minLength: 1, maxLength: 5 }),
    )
    const token = fc.integer({ min: 0, max: 50_000 })
    const tokenInput: fc.Arbitrary<Input> = fc.oneof(
      fc.array(token, { minLength: 1, maxLength: 8 }),
      fc.array(fc.array(token, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 4 }),
    )
    const run = fc.oneof(
      fc.array(textInput, { minLength: 2, maxLength: 8 }),
      fc.array(tokenInput, { minLength: 2, maxLength: 6 }),
    )
    await fc.assert(
      fc.asyncProperty(run, fc.constantFrom('float' as const, undefined), async (inputs, fmt) => {
        const before = calls(ok).length
        const answers = await Promise.all(
          inputs.map((input) =>
            c.embeddings
              .create({
                model: MODEL,
                input,
                ...(fmt === undefined ? {} : { encoding_format: fmt }),
              })
              .withResponse(),
          ),
        )
        const made = calls(ok).slice(before)
        expect(made.length).toBeLessThan(inputs.length)
        expect(made.reduce((n, r) => n + (r.body['input'] as unknown[]).length, 0)).toBe(
          inputs.reduce((n, i) => n + items(i).length, 0),
        )
        answers.forEach(({ data, response }, k) => {
          const own = items(inputs[k] as Input)
          expect(data.data.map((d) => d.index)).toEqual(own.map((_, i) => i))
          expect(data.data.map((d) => d.embedding)).toEqual(own.map(stubEmbedding))
          expect(data.model).toBe(MODEL)
          expect(Number(response.headers.get('x-wattline-batched'))).toBeGreaterThanOrEqual(1)
          expect(Number(response.headers.get('x-wattline-energy-j'))).toBeGreaterThanOrEqual(0)
        })
        // Each call's usage is split whole among its callers: the parts add up to the upstream's.
        const upstreamTokens = made.reduce(
          (n, r) =>
            n +
            (r.body['input'] as (string | number[])[]).reduce(
              (m: number, it) =>
                m + (typeof it === 'string' ? Math.max(1, Math.ceil(it.length / 4)) : it.length),
              0,
            ),
          0,
        )
        expect(answers.reduce((n, a) => n + (a.data.usage.prompt_tokens ?? 0), 0)).toBe(
          upstreamTokens,
        )
      }),
      { numRuns: 20 },
    )
  })

  it('respects max_batch (a full batch goes at once) and the window (a lone caller waits it)', async () => {
    const small = client('small')
    let before = calls(ok).length
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        small.embeddings.create({ model: MODEL, input: `caller ${i}` }),
      ),
    )
    let made = calls(ok).slice(before)
    expect(made.length).toBeGreaterThanOrEqual(3)
    for (const r of made) expect((r.body['input'] as unknown[]).length).toBeLessThanOrEqual(4)

    // Two callers of 3 inputs do not fit one batch of 4: two calls, neither split.
    before = calls(ok).length
    await Promise.all(
      [0, 1].map((k) =>
        small.embeddings.create({ model: MODEL, input: [`${k}a`, `${k}b`, `${k}c`] }),
      ),
    )
    made = calls(ok).slice(before)
    expect(made.map((r) => (r.body['input'] as unknown[]).length)).toEqual([3, 3])

    // More inputs than max_batch: the request goes alone, as without batching.
    before = calls(ok).length
    const big = await small.embeddings
      .create({ model: MODEL, input: ['1', '2', '3', '4', '5', '6'] })
      .withResponse()
    expect(big.response.headers.get('x-wattline-batched')).toBeNull()
    expect(big.data.data).toHaveLength(6)
    expect(calls(ok).length - before).toBe(1)

    // The window: a lone caller's call waits window_ms (100) before it goes upstream.
    const t0 = Date.now()
    const lone = await small.embeddings.create({ model: MODEL, input: 'lone' }).withResponse()
    expect(Date.now() - t0).toBeGreaterThanOrEqual(99)
    expect(lone.response.headers.get('x-wattline-batched')).toBe('1')

    // A batch that reaches max_batch goes at once, long before its 1,000 ms window.
    const full = client('full')
    const t1 = Date.now()
    const four = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        full.embeddings.create({ model: MODEL, input: `f${i}` }).withResponse(),
      ),
    )
    expect(Date.now() - t1).toBeLessThan(900)
    expect(four.map((a) => a.response.headers.get('x-wattline-batched'))).toEqual([
      '4',
      '4',
      '4',
      '4',
    ])
  })

  it('fans an upstream failure out to every caller as an OpenAI-shaped WL_ error', async () => {
    const fail = async (service: string) =>
      Promise.all(
        [0, 1, 2].map((i) =>
          client(service)
            .embeddings.create({ model: MODEL, input: `x${i}` })
            .then(
              () => undefined,
              (e: unknown) => e,
            ),
        ),
      )
    const five5 = await fail('err5')
    expect(calls(five)).toHaveLength(1)
    for (const e of five5) {
      expect(e).toBeInstanceOf(APIError)
      expect(e).toMatchObject({
        status: 502,
        code: 'WL_UPSTREAM_UNAVAILABLE',
        type: 'server_error',
      })
      expect((e as APIError).headers?.get('x-wattline-batched')).toBe('3')
    }
    const four4 = await fail('err4')
    // Refused as input: the merged call, then each caller alone (refused again).
    expect(calls(four)).toHaveLength(4)
    for (const e of four4) {
      expect(e).toBeInstanceOf(APIError)
      expect(e).toMatchObject({
        status: 400,
        code: 'WL_INVALID_INPUT',
        type: 'invalid_request_error',
        param: 'input',
      })
      expect((e as APIError).message).toMatch(
        /embeddings call to backend e4 .*400: input is too long/,
      )
      expect((e as APIError).headers?.get('x-wattline-batched')).toBe('1')
    }
    // Every upstream call is accounted: the refused merged call's own row, then one per caller.
    const rows = gw.ledger.records.filter(
      (r): r is RequestRecord => r.kind === 'request' && r.backend === 'e4',
    )
    expect(rows.map((r) => [r.status, r.error_code, r.id.endsWith(':merged')])).toEqual([
      [400, 'upstream_400', true],
      [400, 'upstream_400', false],
      [400, 'upstream_400', false],
      [400, 'upstream_400', false],
    ])
  })

  it('refuses only the caller whose input the upstream refuses, not the others merged with it', async () => {
    const c = client('picky')
    const inputs = ['fine', ['also fine', 'TOO-LONG here'], ['ok', 'ok']]
    const out = await Promise.all(
      inputs.map((input) =>
        c.embeddings.create({ model: MODEL, input }).then(
          (r) => r,
          (e: unknown) => e,
        ),
      ),
    )
    // One merged call (refused), then one call per caller.
    const sizes = calls(picky).map((r) => (r.body['input'] as unknown[]).length)
    expect(sizes[0]).toBe(5)
    expect(sizes.slice(1).sort()).toEqual([1, 2, 2])
    expect(out[1]).toBeInstanceOf(APIError)
    expect(out[1]).toMatchObject({ status: 400, code: 'WL_INVALID_INPUT', param: 'input' })
    for (const k of [0, 2]) {
      const own = items(inputs[k] as Input)
      expect((out[k] as OpenAI.CreateEmbeddingResponse).data.map((d) => d.embedding)).toEqual(
        own.map(stubEmbedding),
      )
    }
  })

  it('drops a caller that leaves while its batch fills; the others are still answered', async () => {
    const c = client('emb')
    const before = calls(ok).length
    const leaving = new AbortController()
    const left = c.embeddings
      .create({ model: MODEL, input: 'leaving' }, { signal: leaving.signal })
      .then(
        () => 'answered',
        (e: unknown) => (e instanceof APIUserAbortError ? 'aborted' : String(e)),
      )
    const stays = c.embeddings.create({ model: MODEL, input: ['staying', 'too'] })
    // Abort once the gateway holds the request in its batch (window 200 ms).
    await new Promise((r) => setTimeout(r, 60))
    leaving.abort()
    expect(await left).toBe('aborted')
    expect((await stays).data.map((d) => d.embedding)).toEqual(
      ['staying', 'too'].map(stubEmbedding),
    )
    const made = calls(ok).slice(before)
    expect(made.map((r) => r.body['input'])).toEqual([['staying', 'too']])
  })

  it('sends one upstream call per request on a service without batching', async () => {
    const before = calls(ok).length
    const answers = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        client('plain')
          .embeddings.create({ model: MODEL, input: `p${i}` })
          .withResponse(),
      ),
    )
    expect(calls(ok).length - before).toBe(4)
    for (const a of answers) expect(a.response.headers.get('x-wattline-batched')).toBeNull()
  })

  it('charges each caller its token share of the one call (rows add up to it) and records the microbatch saving', async () => {
    const c = client('ledger')
    // Long inputs: a request alone is worth more to the estimator than a share of the merged call.
    const inputs = ['a'.repeat(4000), ['b'.repeat(8000), 'c'.repeat(4000)], 'd'.repeat(2000)]
    const answers = await Promise.all(
      inputs.map((input) => c.embeddings.create({ model: MODEL, input }).withResponse()),
    )
    expect(calls(alone)).toHaveLength(1)
    const ids = answers.map((a) => a.response.headers.get('x-request-id'))
    for (const a of answers) expect(a.response.headers.get('x-wattline-batched')).toBe('3')
    const rows = ids.map(
      (id) => gw.ledger.records.find((r) => r.kind === 'request' && r.id === id) as RequestRecord,
    )
    // Conservation: every joule backend l integrated is in these rows or in its idle energy.
    const rt = gw.gateway.backends.get('l')!
    const t = Date.now()
    const idleJ = rt.tracker.takeIdle(t).reduce((n, s) => n + s.energyJ, 0)
    const rowsJ = rows.reduce((n, r) => n + r.energy_j, 0)
    expect(rowsJ).toBeGreaterThan(0)
    expect(rowsJ + idleJ).toBeCloseTo(rt.tracker.totalJ(t), 9)
    // Shares by input tokens (1000 : 3000 : 500).
    expect(rows[1]!.energy_j / rows[0]!.energy_j).toBeCloseTo(3, 9)
    expect(rows[2]!.energy_j / rows[0]!.energy_j).toBeCloseTo(0.5, 9)
    expect(rows.map((r) => r.input_tokens)).toEqual([1000, 3000, 500])
    // Each row: a microbatch saving, estimated counterfactual; the metrics add them up.
    let savedJ = 0
    for (const r of rows) {
      const levers = decodeLeverSavings(r.levers ?? '[]')
      expect(levers).toHaveLength(1)
      expect(levers[0]).toMatchObject({ lever: 'microbatch', basis: 'estimated-counterfactual' })
      expect(levers[0]!.energy_saved_j).toBeGreaterThan(0)
      expect(levers[0]!.energy_saved_low_j).toBeLessThanOrEqual(levers[0]!.energy_saved_j)
      expect(levers[0]!.energy_saved_high_j).toBeGreaterThanOrEqual(levers[0]!.energy_saved_j)
      savedJ += levers[0]!.energy_saved_j
    }
    const metric = await gw.metrics.registry
      .getSingleMetric('wattline_energy_saved_joules_total')
      ?.get()
    const value = metric?.values.find(
      (v) => v.labels['lever'] === 'microbatch' && v.labels['service'] === 'ledger',
    )?.value
    expect(value).toBeCloseTo(savedJ, 9)
    const carbon = await gw.metrics.registry
      .getSingleMetric('wattline_carbon_saved_grams_total')
      ?.get()
    expect(
      carbon?.values.find(
        (v) => v.labels['lever'] === 'microbatch' && v.labels['service'] === 'ledger',
      )?.value,
    ).toBeGreaterThan(0)
  })
})

describe('embeddings_batching config', () => {
  const deps = { catalog: createConfigCatalog(), env: {} }
  const yaml = (section: string) => `services:
  - name: emb
    default: true
    embeddings_batching: ${section}
backends:
  - id: a
    url: http://127.0.0.1:9101/v1
    zone: FR
    hardware: H100-SXM
    models: [llama-3.1-8b-instruct]
`

  it('is off by default, takes window_ms and max_batch, and is on in the demo', () => {
    const off = parseConfigText(yaml('{}'), 'w.yaml', deps)
    expect(off.services[0]!.embeddings_batching).toEqual({
      enabled: false,
      window_ms: 5,
      max_batch: 64,
    })
    const on = parseConfigText(yaml('{enabled: true, window_ms: 2, max_batch: 32}'), 'w.yaml', deps)
    expect(on.services[0]!.embeddings_batching).toEqual({
      enabled: true,
      window_ms: 2,
      max_batch: 32,
    })
    const demo = demoConfigText(
      DEMO_FLEET.map((spec, i) => ({ spec, url: `http://127.0.0.1:${9100 + i}/v1` })),
      'sqlite:./demo.db',
      './demo.key',
    )
    const d = parseConfigText(demo, 'demo.yaml', deps)
    expect(d.services[0]!.embeddings_batching.enabled).toBe(true)
  })

  it('refuses a malformed section with WL_CONFIG_INVALID naming the field', () => {
    const bad = (section: string) => {
      try {
        parseConfigText(yaml(section), 'w.yaml', deps)
      } catch (e) {
        return e as { code: string; message: string }
      }
      throw new Error('accepted')
    }
    expect(bad('{enabled: true, window_ms: -1}')).toMatchObject({ code: 'WL_CONFIG_INVALID' })
    expect(bad('{enabled: true, window_ms: -1}').message).toMatch(
      /w\.yaml:\d+:\d+ services\[0\]\.embeddings_batching\.window_ms: window_ms must be 0 or more/,
    )
    expect(bad('{window_ms: 2.5}').message).toMatch(/embeddings_batching\.window_ms: .*int/)
    expect(bad('{max_batch: 0}').message).toMatch(/services\[0\]\.embeddings_batching\.max_batch: /)
    expect(bad('{enabled: "yes"}').message).toMatch(/services\[0\]\.embeddings_batching\.enabled: /)
    expect(bad('{windw_ms: 5}').message).toMatch(
      /services\[0\]\.embeddings_batching: unknown field\(s\) "windw_ms"/,
    )
  })
})
