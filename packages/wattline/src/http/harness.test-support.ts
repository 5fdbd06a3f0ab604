/**
 * @module http/harness.test-support
 * Test support for the gateway: small OpenAI-compatible upstream servers on 127.0.0.1 port 0, a
 * fixed catalogue, a fixed intensity source and a recording ledger sink. Imported by tests only.
 */
import { testProfile } from '@wattline/core/test-profile'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  gramsPerKwh,
  seededRandom,
  type CarbonIntensitySource,
  type Clock,
  type Instant,
  type LedgerRecord,
  type LedgerSink,
} from '@wattline/core'
import type { FastifyInstance } from 'fastify'
import { pino, type Logger } from 'pino'
import type { Registry } from 'prom-client'
import { createOpenAiUpstream, type Upstream } from '../adapters/upstream/openai-upstream.ts'
import { parseConfig, type ConfigCatalog, type WattlineConfig } from '../config/parse-config.ts'
import { createGatewayApp, type GatewayAppDeps } from './app.ts'
import type { ResponseCache } from './response-cache.ts'
import type { ClusterLoad } from './cluster-load.ts'
import { createGateway, type Gateway, type GatewayDeps } from './gateway.ts'
import { createIntensityBoard, type IntensityBoard } from './intensity-board.ts'
import { createGatewayMetrics, type GatewayMetrics } from './metrics.ts'
import { createTenantUsage, tenantSink, type TenantUsage } from '../tenant-usage/tenant-usage.ts'

export interface StubOptions {
  /**
   * Milliseconds before answering (per request); default 2. No model server answers in under a
   * millisecond, and the live clock's resolution is 1 ms: an instant answer would be accounted 0 J.
   */
  delayMs?: number
  /** `ok`, answer 500 (or 400, an OpenAI-shaped refusal), or destroy the socket. */
  mode?: 'ok' | '500' | '400' | 'reset'
  /** Milliseconds between SSE events. */
  eventGapMs?: number
  model?: string
  /**
   * Embeddings: one deterministic vector per input item (`stubEmbedding`) and
   * `usage.prompt_tokens` = Σ `stubTokens`, instead of the one fixed vector [0.1, 0.2, 0.3].
   */
  perInputEmbeddings?: boolean
  /** Answer 400 (`input is too long`) to a request whose `input` contains this text. */
  refuseInput?: string
}

/** Dimensions of `stubEmbedding` vectors. */
export const STUB_EMBEDDING_DIMENSIONS = 8

/**
 * The stub's embedding of one input item (a string or a token array): 8 multiples of 1/256 in
 * [-1, 1) from an FNV-1a hash of the item (exact in float32, so base64 round trips are exact).
 */
export function stubEmbedding(item: string | readonly number[]): number[] {
  let h = 0x811c9dc5
  const text = typeof item === 'string' ? `s:${item}` : `t:${item.join(',')}`
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0
  return Array.from({ length: STUB_EMBEDDING_DIMENSIONS }, (_, k) => {
    h = Math.imul(h ^ (k + 1), 0x01000193) >>> 0
    return ((h >>> 8) % 512) / 256 - 1
  })
}

/** The stub's token count of one input item: ⌈characters / 4⌉ (at least 1), or the array length. */
export function stubTokens(item: string | readonly number[]): number {
  return typeof item === 'string' ? Math.max(1, Math.ceil(item.length / 4)) : item.length
}

export interface StubBackend {
  readonly url: string
  readonly received: {
    path: string
    body: Record<string, unknown>
    headers: IncomingMessage['headers']
  }[]
  options: StubOptions
  /** Requests whose upstream connection closed before the answer was complete. */
  aborted: number
  close(): Promise<void>
  /** Stops the server and drops every open connection (a crashed backend). */
  kill(): void
}

/** Starts an OpenAI-compatible stub on 127.0.0.1, port 0. */
export async function startStub(options: StubOptions = {}): Promise<StubBackend> {
  const received: StubBackend['received'] = []
  const stub: StubBackend = {
    url: '',
    received,
    options,
    aborted: 0,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
    kill: () => {
      server.close()
      server.closeAllConnections()
    },
  }
  const server: Server = createServer((req, res) => {
    let raw = ''
    req.on('data', (c: Buffer) => (raw += c.toString()))
    req.on('end', () => {
      const o = stub.options
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' })
        return res.end(
          JSON.stringify({ object: 'list', data: [{ id: o.model ?? 'stub', object: 'model' }] }),
        )
      }
      const body = raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>)
      received.push({ path: req.url ?? '', body, headers: req.headers })
      if (o.mode === 'reset') return req.socket.destroy()
      if (o.mode === '500') {
        res.writeHead(500, { 'content-type': 'application/json' })
        return res.end('{"error":{"message":"boom"}}')
      }
      const refused =
        o.refuseInput !== undefined && JSON.stringify(body['input'] ?? '').includes(o.refuseInput)
      if (o.mode === '400' || refused) {
        res.writeHead(400, { 'content-type': 'application/json' })
        const error = { message: 'input is too long', type: 'invalid_request_error', param: null }
        return res.end(JSON.stringify({ error }))
      }
      let done = false
      res.on('close', () => {
        if (!done) stub.aborted += 1
      })
      setTimeout(() => {
        void answer(req.url ?? '', body, res, o).then(() => {
          done = true
        })
      }, o.delayMs ?? 2)
      return undefined
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  ;(stub as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
  return stub
}

async function answer(
  path: string,
  body: Record<string, unknown>,
  res: ServerResponse,
  o: StubOptions,
): Promise<void> {
  const model = body['model']
  const usage = { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 }
  if (path.endsWith('/embeddings') && o.perInputEmbeddings === true) {
    res.writeHead(200, { 'content-type': 'application/json' })
    const input = body['input']
    const items: (string | number[])[] =
      typeof input === 'string'
        ? [input]
        : Array.isArray(input) && input.every((x) => typeof x === 'number')
          ? [input as number[]]
          : (input as (string | number[])[])
    const base64 = body['encoding_format'] === 'base64'
    const tokens = items.reduce((n, item) => n + stubTokens(item), 0)
    res.end(
      JSON.stringify({
        object: 'list',
        model,
        data: items.map((item, index) => {
          const v = stubEmbedding(item)
          const embedding = base64 ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v
          return { object: 'embedding', index, embedding }
        }),
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      }),
    )
    return
  }
  if (path.endsWith('/embeddings')) {
    res.writeHead(200, { 'content-type': 'application/json' })
    const vector = [0.1, 0.2, 0.3]
    const embedding =
      body['encoding_format'] === 'base64'
        ? Buffer.from(new Float32Array(vector).buffer).toString('base64')
        : vector
    res.end(
      JSON.stringify({
        object: 'list',
        model,
        data: [{ object: 'embedding', index: 0, embedding }],
        usage: { prompt_tokens: 4, total_tokens: 4 },
      }),
    )
    return
  }
  const base = { id: 'cmpl-1', created: 1, model }
  if (body['stream'] === true) {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    const words = ['Hello', ' from', ' stub']
    for (const [i, w] of words.entries()) {
      if (res.destroyed) return
      res.write(
        `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content: w } : { content: w }, finish_reason: null }] })}\n\n`,
      )
      if ((o.eventGapMs ?? 0) > 0) await new Promise((r) => setTimeout(r, o.eventGapMs))
    }
    res.write(
      `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`,
    )
    const so = body['stream_options'] as { include_usage?: boolean } | undefined
    if (so?.include_usage === true)
      res.write(
        `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage })}\n\n`,
      )
    res.end('data: [DONE]\n\n')
    return
  }
  res.writeHead(200, { 'content-type': 'application/json' })
  const chat = path.endsWith('/chat/completions')
  res.end(
    JSON.stringify({
      ...base,
      object: chat ? 'chat.completion' : 'text_completion',
      choices: chat
        ? [
            {
              index: 0,
              message: { role: 'assistant', content: 'Hello from stub' },
              finish_reason: 'stop',
            },
          ]
        : [{ index: 0, text: 'Hello', finish_reason: 'stop' }],
      usage,
    }),
  )
}

/** A catalogue knowing a few real ids, enough for gateway tests. */
export const TEST_CATALOG: ConfigCatalog = {
  hardware: (id) =>
    ['H100-SXM', 'A100-80GB', 'L4'].includes(id)
      ? { ok: true, value: id }
      : { ok: false, matches: ['H100-SXM'] },
  zone: (id) =>
    ['FR', 'DE', 'PL', 'SE'].includes(id)
      ? { ok: true, value: id }
      : { ok: false, matches: ['DE'] },
  region: (id) =>
    id === 'aws:eu-central-1' ? { ok: true, value: 'DE' } : { ok: false, matches: [] },
  model: (id) =>
    id.startsWith('llama') || id === 'embed' ? { ok: true, value: id } : { ok: false, matches: [] },
}

/** A fixed intensity per zone (gCO2e/kWh). */
export function fixedIntensity(values: Record<string, number>): CarbonIntensitySource {
  return {
    name: 'fixed',
    signal: 'average',
    intensityAt: async (zone, at) => {
      const v = values[zone]
      if (v === undefined) throw new Error(`no value for ${zone}`)
      return {
        zone,
        at,
        intensity: gramsPerKwh(v),
        signal: 'average',
        source: 'test-fixed',
        forecast: false,
        stale: false,
      }
    },
    series: async () => [],
  }
}

/** A ledger sink that keeps records in memory. */
export function memorySink(): LedgerSink & { records: LedgerRecord[] } {
  const records: LedgerRecord[] = []
  return {
    records,
    append: (r) => void records.push(r),
    flush: async () => {},
    close: async () => {},
  }
}

/** A real-time clock (timers are real: servers are real). */
export const realClock: Clock = {
  now: () => Date.now() as Instant,
  setTimer: (at, fire) => {
    const t = setTimeout(fire, Math.max(0, at - Date.now()))
    return () => clearTimeout(t)
  },
}

export interface Harness {
  readonly app: FastifyInstance
  readonly gateway: Gateway
  readonly metrics: GatewayMetrics
  readonly ledger: ReturnType<typeof memorySink>
  readonly config: WattlineConfig
  readonly baseUrl: string
  /** The gateway's intensity board (`refresh()` after changing the values given). */
  readonly intensity: IntensityBoard
  /** Per-tenant counters and budgets (fed by every request row the gateway writes). */
  readonly tenants: TenantUsage
  close(): Promise<void>
}

export interface HarnessOptions {
  /** The gateway's clock (default: real time); intensity refreshes keep real time. */
  readonly clock?: Clock
  /** The gateway's logger (default: silent), e.g. one writing to a test's stream. */
  readonly logger?: Logger
  /** Extra app plugins (e.g. the dashboard's `/api/` routes). */
  readonly plugins?: GatewayAppDeps['plugins']
  /** Passed to the app: window of the 429/503 burst log lines, ms. */
  readonly refusalLogWindowMs?: number
  /** Energy profile per backend and model (default: the synthetic test profile, slower on A100). */
  readonly profileFor?: GatewayDeps['profileFor']
  /** Quality tiers' budget pressure per service (default: never). */
  readonly budgetPressure?: GatewayDeps['budgetPressure']
  /** Builds the response cache on the gateway's registry (see compose/response-cache.ts). */
  readonly cache?: (
    config: WattlineConfig,
    registry: Registry,
  ) => Promise<ResponseCache | undefined>
}

/** Starts the gateway on 127.0.0.1:0 for a config object (validated with the test catalogue). */
export async function startGateway(
  rawConfig: unknown,
  intensities: Record<string, number>,
  env: Record<string, string> = {},
  /** Shared in-flight counts across replicas (cluster mode); omitted = this gateway counts alone. */
  cluster?: ClusterLoad,
  options: HarnessOptions = {},
): Promise<Harness> {
  const clock = options.clock ?? realClock
  const parsed = parseConfig(rawConfig, { catalog: TEST_CATALOG, env })
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues))
  const config = parsed.value
  const upstreams = new Map<string, Upstream>(
    config.backends.map((b) => [
      b.id,
      createOpenAiUpstream({
        id: b.id,
        baseUrl: b.url,
        connections: b.connections,
        connectTimeoutMs: b.timeouts.connect_ms,
        headersTimeoutMs: b.timeouts.headers_ms,
        bodyTimeoutMs: b.timeouts.body_ms,
        headers: b.headers,
        ...(config.secrets.backendKeys.get(b.id) === undefined
          ? {}
          : { apiKey: config.secrets.backendKeys.get(b.id) as string }),
      }),
    ]),
  )
  const metrics = createGatewayMetrics()
  const ledger = memorySink()
  const logger = options.logger ?? pino({ level: 'silent' })
  const tenants = createTenantUsage({
    services: config.services,
    registry: metrics.registry,
    now: () => clock.now(),
    log: logger,
  })
  const intensity = createIntensityBoard({
    source: fixedIntensity(intensities),
    clock: realClock,
    zones: config.backends.map((b) => b.zone),
    signal: 'average',
  })
  await intensity.refresh()
  const gateway = createGateway({
    config,
    clock,
    upstreams,
    profileFor:
      options.profileFor ??
      ((b) =>
        b.hardware === 'A100-80GB'
          ? testProfile({ msPerTokenAt1: 30, msPerTokenAtMax: 60 })
          : testProfile()),
    ...(options.budgetPressure === undefined ? {} : { budgetPressure: options.budgetPressure }),
    intensity,
    ledger: tenantSink(ledger, tenants),
    metrics,
    random: seededRandom(1),
    logger,
    ...(cluster === undefined ? {} : { cluster }),
  })
  const cache = await options.cache?.(config, metrics.registry)
  const app = await createGatewayApp({
    gateway,
    clock,
    logger,
    metrics,
    tenants,
    ...(cache === undefined ? {} : { cache }),
    ...(options.plugins === undefined ? {} : { plugins: options.plugins }),
    ...(options.refusalLogWindowMs === undefined
      ? {}
      : { refusalLogWindowMs: options.refusalLogWindowMs }),
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as AddressInfo).port
  return {
    app,
    gateway,
    metrics,
    ledger,
    config,
    baseUrl: `http://127.0.0.1:${port}/v1`,
    intensity,
    tenants,
    close: async () => {
      await app.close()
      await cache?.close()
      await Promise.all([...upstreams.values()].map((u) => u.close()))
    },
  }
}
