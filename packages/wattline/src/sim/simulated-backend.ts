/**
 * @module sim/simulated-backend
 * A SIMULATED OpenAI-compatible model server on loopback, for the demo, tests and benchmarks. It
 * says so: every response carries `x-simulated: true`, and `/v1/models` lists its model as
 * `owned_by: "wattline-simulator"`.
 *
 * What it models, and on what data:
 * - Latency and power follow an `EnergyProfile` (fitted to the ML.ENERGY measurements by
 *   `@wattline/core`) at the backend's current batch occupancy, through a continuous-batching
 *   scheduler (`sim/batching-engine.ts`): time to first token = queueing + prefill
 *   (prompt tokens × `timePerInputToken(batch)`) + one decode step; inter-token time =
 *   `timePerOutputToken(batch)`; power = `power(batch)`, `idlePower` when idle.
 * - Output length: exactly `max_tokens` (or `max_completion_tokens`) when the request sets it
 *   (`finish_reason: "length"`), else a draw from the output-token distribution of the Azure LLM
 *   inference conversation trace 2023 (`sim/trace-sample.ts`), seeded by the request body, so the
 *   same request gets the same answer (`finish_reason: "stop"`).
 * - Prompt tokens are counted as ⌈UTF-8 bytes / 4⌉ per text (the usual rule of thumb for BPE
 *   tokenisers on English text; no real tokeniser runs).
 * - Text is deterministic filler words drawn from the same seed.
 * - `/metrics` exposes power in the DCGM exporter's Prometheus format (`DCGM_FI_DEV_POWER_USAGE`, W,
 *   per GPU, at the current batch; `DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION`, mJ since start), so a
 *   Prometheus power meter can scrape it. Both are modelled figures, whatever the format suggests.
 */
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { seededRandom, type EnergyProfile, type Random } from '@wattline/core'
import { createBatchingEngine, type BatchingEngine, type EngineStats } from './batching-engine.ts'
import { loadDemoTrace } from './trace-sample.ts'

export interface SimulatedBackendOptions {
  /** The model id clients name (e.g. `llama-3.1-8b-instruct`); matched case-insensitively. */
  readonly model: string
  /** Latency and power behaviour (from `resolveProfile`). */
  readonly profile: EnergyProfile
  /** Grid zone, for labels only (e.g. `FR`). */
  readonly zone: string
  /** A name for logs and metric labels; defaults to `sim-<zone>`. */
  readonly name?: string
  /** Loopback only; defaults to 127.0.0.1. */
  readonly host?: string
  /** TCP port; 0 (default) picks a free one. */
  readonly port?: number
  /** Model milliseconds per real millisecond (1 = real time, 10 = ten times faster). */
  readonly timeScale?: number
  /** Share of requests answered with an HTTP 500 before any byte, in [0, 1] (default 0). */
  readonly failRate?: number
  /** Seed for the failure draws (default 1). */
  readonly seed?: number
  /** Largest running batch; defaults to the profile's `maxBatch`. */
  readonly maxBatch?: number
  /** Cap on generated tokens per request (default 4096). */
  readonly maxOutputTokens?: number
  /** Largest request body accepted (bytes, default 4 MiB); larger bodies get a 413. */
  readonly bodyLimitBytes?: number
}

export interface SimulatedBackendStats extends EngineStats {
  /** HTTP requests answered, by outcome. */
  readonly requests: number
  readonly failures: number
}

export interface SimulatedBackend {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:9101/v1`. */
  readonly url: string
  /** The server's origin, e.g. `http://127.0.0.1:9101` (`/healthz` and `/metrics` live here). */
  readonly origin: string
  readonly port: number
  readonly model: string
  readonly zone: string
  readonly name: string
  readonly profile: EnergyProfile
  stats(): SimulatedBackendStats
  /** Changes the share of requests that fail with a 500. */
  setFailRate(rate: number): void
  /** Crashes the server: open connections are destroyed mid-response and new ones refused. */
  kill(): Promise<void>
  /** Stops gracefully: cancels running sequences, ends responses, closes the listener. */
  close(): Promise<void>
}

const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024
const DEFAULT_MAX_OUTPUT = 4096
const OWNER = 'wattline-simulator'
const EMBEDDING_DIMENSIONS = 64
const WORDS = [
  'the',
  'grid',
  'power',
  'model',
  'energy',
  'carbon',
  'token',
  'batch',
  'signal',
  'zone',
  'green',
  'watt',
  'hour',
  'load',
  'cloud',
  'served',
  'answer',
  'request',
  'latency',
  'is',
  'and',
  'of',
  'to',
  'a',
  'in',
  'with',
  'low',
  'clean',
  'wind',
  'solar',
  'night',
  'day',
]

/** The DCGM `modelName` label for catalogue hardware ids (cosmetic; unknown ids pass through). */
const DCGM_MODEL_NAMES: Readonly<Record<string, string>> = {
  'H100-SXM': 'NVIDIA H100 80GB HBM3',
  'H100-PCIE': 'NVIDIA H100 PCIe',
  H200: 'NVIDIA H200',
  B200: 'NVIDIA B200',
  'A100-80GB': 'NVIDIA A100-SXM4-80GB',
  'A100-40GB': 'NVIDIA A100-SXM4-40GB',
  L4: 'NVIDIA L4',
  L40S: 'NVIDIA L40S',
  A10G: 'NVIDIA A10G',
}

/** Approximate BPE token count of a text: ⌈UTF-8 bytes / 4⌉, at least 1 for non-empty text. */
export function approxTokens(text: string): number {
  return text.length === 0 ? 0 : Math.max(1, Math.ceil(Buffer.byteLength(text, 'utf8') / 4))
}

/** A problem with the request, answered in OpenAI's error shape. */
class RequestError extends Error {
  readonly status: number
  readonly type: string
  readonly param: string | null
  readonly code: string | null
  constructor(
    status: number,
    message: string,
    param: string | null = null,
    code: string | null = null,
  ) {
    super(message)
    this.status = status
    this.type = status >= 500 ? 'server_error' : 'invalid_request_error'
    this.param = param
    this.code = code
  }
}

/** Starts a simulated backend on loopback and resolves once it listens. */
export async function startSimulatedBackend(
  options: SimulatedBackendOptions,
): Promise<SimulatedBackend> {
  const host = options.host ?? '127.0.0.1'
  if (host !== '127.0.0.1' && host !== '::1' && host !== 'localhost') {
    throw new RangeError(`a simulated backend listens on loopback only, not ${host}`)
  }
  let failRate = checkRate(options.failRate ?? 0)
  const bodyLimit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT
  const maxOutput = options.maxOutputTokens ?? DEFAULT_MAX_OUTPUT
  const name = options.name ?? `sim-${options.zone}`
  const failDraw: Random = seededRandom(options.seed ?? 1)
  const outputLengths = loadDemoTrace().requests.map((r) => r.outputTokens)
  const engine: BatchingEngine = createBatchingEngine(
    {
      profile: options.profile,
      ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
      ...(options.timeScale === undefined ? {} : { timeScale: options.timeScale }),
    },
    {
      now: () => performance.now(),
      schedule: (delay, fire) => {
        const t = setTimeout(fire, delay)
        return () => {
          clearTimeout(t)
        }
      },
    },
  )
  let requests = 0
  let failures = 0
  let counter = 0
  const sockets = new Set<Socket>()
  const modelId = options.model
  const created = Math.floor(Date.now() / 1000)

  const server = createServer((req, res) => {
    res.setHeader('x-simulated', 'true')
    res.setHeader('x-simulated-backend', name)
    handle(req, res).catch((error: unknown) => {
      const e =
        error instanceof RequestError
          ? error
          : new RequestError(500, `simulated backend error: ${String(error)}`)
      sendError(res, e)
    })
  })
  server.keepAliveTimeout = 65_000
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    const method = req.method ?? 'GET'
    if (method === 'GET' && (path === '/healthz' || path === '/health')) {
      return sendJson(res, 200, {
        status: 'ok',
        simulated: true,
        model: modelId,
        zone: options.zone,
      })
    }
    if (method === 'GET' && path === '/metrics') return sendMetrics(res)
    if (method === 'GET' && path === '/v1/models') {
      return sendJson(res, 200, {
        object: 'list',
        data: [{ id: modelId, object: 'model', created, owned_by: OWNER }],
      })
    }
    const post = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings']
    if (!post.includes(path)) {
      throw new RequestError(
        404,
        `Unknown route ${method} ${path} (simulated backend)`,
        null,
        'not_found',
      )
    }
    if (method !== 'POST') throw new RequestError(405, `Use POST for ${path}`)
    const body = await readJson(req, bodyLimit)
    requests += 1
    const requested = body['model']
    if (typeof requested !== 'string' || requested.length === 0) {
      throw new RequestError(400, 'you must provide a model parameter', 'model')
    }
    if (requested.toLowerCase() !== modelId.toLowerCase()) {
      throw new RequestError(
        404,
        `The model \`${requested}\` does not exist (this simulated backend serves \`${modelId}\`)`,
        'model',
        'model_not_found',
      )
    }
    if (failRate > 0 && failDraw.next() < failRate) {
      failures += 1
      throw new RequestError(500, 'simulated upstream failure (fail_rate)')
    }
    counter += 1
    const id = `${String(counter)}-${digest(JSON.stringify(body)).slice(0, 12)}`
    if (path === '/v1/embeddings') return embeddings(body, res, id)
    return generate(path === '/v1/chat/completions' ? 'chat' : 'text', body, req, res, id)
  }

  function outputLength(
    body: Record<string, unknown>,
    seed: string,
  ): { n: number; capped: boolean } {
    const limit = body['max_completion_tokens'] ?? body['max_tokens']
    if (limit !== undefined && limit !== null) {
      if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) {
        throw new RequestError(400, 'max_tokens must be a positive integer', 'max_tokens')
      }
      return { n: Math.min(limit, maxOutput), capped: true }
    }
    const draw = Number.parseInt(seed.slice(0, 8), 16) / 0x1_0000_0000
    const n = outputLengths[Math.floor(draw * outputLengths.length)] ?? 128
    return { n: Math.min(Math.max(n, 1), maxOutput), capped: false }
  }

  function generate(
    kind: 'chat' | 'text',
    body: Record<string, unknown>,
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
  ): Promise<void> {
    const promptTokens =
      kind === 'chat' ? chatPromptTokens(body['messages']) : textPromptTokens(body['prompt'])
    const seed = digest(JSON.stringify([body['messages'] ?? body['prompt'], body['seed'] ?? null]))
    const { n, capped } = outputLength(body, seed)
    const stream = body['stream'] === true
    const streamOptions = body['stream_options']
    const includeUsage =
      typeof streamOptions === 'object' &&
      streamOptions !== null &&
      (streamOptions as Record<string, unknown>)['include_usage'] === true
    const words = wordStream(seed)
    const finishReason = capped ? 'length' : 'stop'
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: n,
      total_tokens: promptTokens + n,
    }
    const objectId = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-sim-${id}`
    const base = { id: objectId, created: Math.floor(Date.now() / 1000), model: modelId }
    const pieces: string[] = []

    return new Promise<void>((resolve) => {
      let finished = false
      const handleSeq = engine.submit({
        inputTokens: promptTokens,
        outputTokens: n,
        onToken: (index) => {
          const word = index === 0 ? words() : ` ${words()}`
          if (!stream) {
            pieces.push(word)
            return
          }
          if (index === 0) {
            res.writeHead(200, {
              'content-type': 'text/event-stream',
              'cache-control': 'no-cache',
              connection: 'keep-alive',
            })
          }
          const choice =
            kind === 'chat'
              ? {
                  index: 0,
                  delta: index === 0 ? { role: 'assistant', content: word } : { content: word },
                  logprobs: null,
                  finish_reason: null,
                }
              : { index: 0, text: word, logprobs: null, finish_reason: null }
          writeEvent(res, {
            ...base,
            object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion',
            choices: [choice],
          })
        },
        onDone: () => {
          finished = true
          if (stream) {
            const last =
              kind === 'chat'
                ? { index: 0, delta: {}, logprobs: null, finish_reason: finishReason }
                : { index: 0, text: '', logprobs: null, finish_reason: finishReason }
            writeEvent(res, {
              ...base,
              object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion',
              choices: [last],
            })
            if (includeUsage) {
              writeEvent(res, {
                ...base,
                object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion',
                choices: [],
                usage,
              })
            }
            res.end('data: [DONE]\n\n')
          } else {
            const text = pieces.join('')
            const choice =
              kind === 'chat'
                ? {
                    index: 0,
                    message: { role: 'assistant', content: text, refusal: null },
                    logprobs: null,
                    finish_reason: finishReason,
                  }
                : { index: 0, text, logprobs: null, finish_reason: finishReason }
            sendJson(res, 200, {
              ...base,
              object: kind === 'chat' ? 'chat.completion' : 'text_completion',
              choices: [choice],
              usage,
            })
          }
          resolve()
        },
      })
      // A client that goes away stops its generation: no energy for answers nobody reads.
      res.on('close', () => {
        if (!finished) {
          handleSeq.cancel()
          resolve()
        }
      })
      void req
    })
  }

  function embeddings(
    body: Record<string, unknown>,
    res: ServerResponse,
    _id: string,
  ): Promise<void> {
    const input = body['input']
    const texts: string[] = []
    if (typeof input === 'string') texts.push(input)
    else if (
      Array.isArray(input) &&
      input.length > 0 &&
      input.every((t) => typeof t === 'string')
    ) {
      texts.push(...(input as string[]))
    } else if (
      Array.isArray(input) &&
      input.length > 0 &&
      input.every((t) => typeof t === 'number')
    ) {
      texts.push(' '.repeat(input.length * 4))
    } else {
      throw new RequestError(
        400,
        'input must be a string, an array of strings or an array of token ids',
        'input',
      )
    }
    const format = body['encoding_format'] ?? 'float'
    if (format !== 'float' && format !== 'base64') {
      throw new RequestError(400, 'encoding_format must be "float" or "base64"', 'encoding_format')
    }
    const base64 = format === 'base64'
    const promptTokens = texts.reduce((a, t) => a + approxTokens(t), 0)
    return new Promise<void>((resolve) => {
      let finished = false
      const handleSeq = engine.submit({
        inputTokens: Math.max(promptTokens, 1),
        outputTokens: 0,
        onDone: () => {
          finished = true
          sendJson(res, 200, {
            object: 'list',
            data: texts.map((t, index) => ({
              object: 'embedding',
              index,
              embedding: base64 ? toBase64(embed(t)) : embed(t),
            })),
            model: modelId,
            usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
          })
          resolve()
        },
      })
      res.on('close', () => {
        if (!finished) {
          handleSeq.cancel()
          resolve()
        }
      })
    })
  }

  function sendMetrics(res: ServerResponse): void {
    const s = engine.stats()
    const gpus = Math.max(1, options.profile.gpus)
    const modelName =
      DCGM_MODEL_NAMES[options.profile.hardware] ?? `NVIDIA ${options.profile.hardware}`
    const lines = [
      '# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).',
      '# TYPE DCGM_FI_DEV_POWER_USAGE gauge',
    ]
    const label = (gpu: number): string =>
      `gpu="${String(gpu)}",UUID="GPU-sim-${name}-${String(gpu)}",device="nvidia${String(gpu)}",modelName="${modelName}",Hostname="${name}",zone="${options.zone}",simulated="true"`
    for (let g = 0; g < gpus; g += 1)
      lines.push(`DCGM_FI_DEV_POWER_USAGE{${label(g)}} ${(s.powerW / gpus).toFixed(3)}`)
    lines.push(
      '# HELP DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION Total energy consumption since boot (in mJ).',
      '# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter',
    )
    for (let g = 0; g < gpus; g += 1) {
      lines.push(
        `DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{${label(g)}} ${Math.round((s.energyJ * 1000) / gpus)}`,
      )
    }
    lines.push(
      '# HELP wattline_sim_batch_running Sequences in the running batch (simulated).',
      '# TYPE wattline_sim_batch_running gauge',
      `wattline_sim_batch_running{backend="${name}"} ${String(s.running)}`,
      '# HELP wattline_sim_batch_waiting Sequences waiting for a batch slot (simulated).',
      '# TYPE wattline_sim_batch_waiting gauge',
      `wattline_sim_batch_waiting{backend="${name}"} ${String(s.waiting)}`,
    )
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
    res.end(`${lines.join('\n')}\n`)
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${String(port)}`
  let closed = false

  async function shutdown(hard: boolean): Promise<void> {
    if (closed) return
    closed = true
    engine.stop()
    const done = new Promise<void>((resolve) => server.close(() => resolve()))
    if (hard) for (const s of sockets) s.destroy()
    else server.closeAllConnections()
    await done
  }

  return {
    url: `${origin}/v1`,
    origin,
    port,
    model: modelId,
    zone: options.zone,
    name,
    profile: options.profile,
    stats: () => ({ ...engine.stats(), requests, failures }),
    setFailRate(rate: number): void {
      failRate = checkRate(rate)
    },
    kill: () => shutdown(true),
    close: () => shutdown(false),
  }
}

function checkRate(rate: number): number {
  if (!(rate >= 0 && rate <= 1))
    throw new RangeError(`fail rate must be in [0, 1], got ${String(rate)}`)
  return rate
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** Deterministic filler words from a hex seed. */
function wordStream(seed: string): () => string {
  const random = seededRandom(Number.parseInt(seed.slice(8, 16), 16))
  return () => WORDS[Math.floor(random.next() * WORDS.length)] ?? 'token'
}

/** A deterministic unit vector for a text. */
function embed(text: string): number[] {
  const random = seededRandom(Number.parseInt(digest(text).slice(0, 8), 16))
  const v = Array.from({ length: EMBEDDING_DIMENSIONS }, () => random.next() * 2 - 1)
  const norm = Math.hypot(...v) || 1
  return v.map((x) => Number((x / norm).toFixed(6)))
}

/** Little-endian float32 bytes in base64, as OpenAI's `encoding_format: "base64"` returns. */
function toBase64(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4)
  vector.forEach((x, i) => bytes.writeFloatLE(x, i * 4))
  return bytes.toString('base64')
}

function chatPromptTokens(messages: unknown): number {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new RequestError(400, 'messages must be a non-empty array', 'messages')
  }
  let tokens = 0
  messages.forEach((m: unknown, i: number) => {
    if (typeof m !== 'object' || m === null || typeof (m as { role?: unknown }).role !== 'string') {
      throw new RequestError(
        400,
        `messages[${String(i)}] must be an object with a string role`,
        `messages[${String(i)}]`,
      )
    }
    const content = (m as { content?: unknown }).content
    if (typeof content === 'string') tokens += approxTokens(content)
    else if (Array.isArray(content)) {
      for (const part of content) {
        const text = (part as { text?: unknown } | null)?.text
        if (typeof text === 'string') tokens += approxTokens(text)
      }
    } else if (content !== null && content !== undefined) {
      throw new RequestError(
        400,
        `messages[${String(i)}].content must be a string or an array of parts`,
        `messages[${String(i)}].content`,
      )
    }
  })
  return Math.max(tokens, 1)
}

function textPromptTokens(prompt: unknown): number {
  if (typeof prompt === 'string') return Math.max(approxTokens(prompt), 1)
  if (Array.isArray(prompt) && prompt.every((p) => typeof p === 'string')) {
    return Math.max(
      (prompt as string[]).reduce((a, p) => a + approxTokens(p), 0),
      1,
    )
  }
  if (Array.isArray(prompt) && prompt.every((p) => typeof p === 'number'))
    return Math.max(prompt.length, 1)
  throw new RequestError(
    400,
    'prompt must be a string, an array of strings or an array of token ids',
    'prompt',
  )
}

function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let failed = false
    req.on('data', (chunk: Buffer) => {
      if (failed) return
      size += chunk.length
      if (size > limit) {
        failed = true
        reject(new RequestError(413, `request body over ${String(limit)} bytes`))
        return
      }
      chunks.push(chunk)
    })
    req.on('error', (e) => {
      if (!failed) reject(e)
    })
    req.on('end', () => {
      if (failed) return
      let value: unknown
      try {
        value = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        reject(new RequestError(400, 'request body is not valid JSON'))
        return
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        reject(new RequestError(400, 'request body must be a JSON object'))
        return
      }
      resolve(value as Record<string, unknown>)
    })
  })
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}

function sendError(res: ServerResponse, e: RequestError): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  sendJson(res, e.status, {
    error: { message: e.message, type: e.type, param: e.param, code: e.code },
  })
}

function writeEvent(res: ServerResponse, data: unknown): void {
  if (!res.destroyed) res.write(`data: ${JSON.stringify(data)}\n\n`)
}
