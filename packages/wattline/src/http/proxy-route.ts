/**
 * @module http/proxy-route
 * The OpenAI endpoints that go upstream (`/v1/chat/completions`, `/v1/completions`,
 * `/v1/embeddings`): validate, resolve the caller, dispatch through the gateway, then relay the
 * answer — buffered with `x-wattline-*` headers for JSON, event by event for SSE — and account it.
 */
import { parseTierPreference, WattlineError, type Clock } from '@wattline/core'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import type { BackendConfig } from '../config/parse-config.ts'
import { accountingHeaders, accountingJson, type Accounting } from './accounting.ts'
import { resolveCaller, type Caller } from './auth.ts'
import { ClientAbort } from './client-abort.ts'
import { timeShiftOf, type Gateway } from './gateway.ts'
import type { DispatchInput, Dispatched, FinishInput } from '../gateway/exchange-types.ts'
import { clipInput } from './openai-errors.ts'
import { ENDPOINTS, readRequest, type EndpointPath, type RequestFacts } from './openai-request.ts'
import {
  cacheSaving,
  entryOf,
  hitHeaders,
  type CacheEntry,
  type ResponseCache,
} from './response-cache.ts'
import { createSseRelay, readUsage, type SseRelay, type SseRelayOptions } from './sse-relay.ts'
import { NOT_AT_END, usageAtEnd } from './answer-usage.ts'
import { BATCHED_HEADER, type EmbeddingsBatcher } from './embeddings-batcher.ts'
import { PLACEMENT_HEADER, type LinePlacements } from '../batch/line-placements.ts'
import type { TenantUsage } from '../tenant-usage/tenant-usage.ts'

export interface ProxyContext {
  readonly gateway: Gateway
  readonly clock: Clock
  readonly logger: Logger
  /** The response cache (docs/gateway.md); omitted = every request bypasses it. */
  readonly cache?: ResponseCache
  /** Batch lines' placements, taken by the token in `x-wattline-batch-placement` (docs/batch.md). */
  readonly placements?: LinePlacements
  /** Embeddings micro-batching (docs/gateway.md); omitted = every request goes alone. */
  readonly batcher?: EmbeddingsBatcher
  /** Tenant budgets, judged before the cache and the backends (docs/budgets.md "Tenant budgets"). */
  readonly tenants?: TenantUsage
  /**
   * Start-up: while the backends' first probes run, a promise to wait for before anything else
   * (it rejects with 503 when the wait runs out); undefined once warm. Omitted = warm.
   */
  readonly whenWarm?: () => Promise<void> | undefined
}

/** Where a request's answer goes into the cache (a `miss` with a key). */
interface CacheSlot {
  readonly cache: ResponseCache
  readonly key: string
}

/** The raw request bytes, kept by the app's content-type parser for unchanged passthrough. */
export interface WithRawBody {
  rawBody?: Buffer
}

/**
 * The request property holding the caller a proxy route resolved: a request decoration (every
 * request has it, `null` until resolved, so requests keep one shape), not a `WeakMap` entry (its
 * `set` was ≈ 60 % of the authentication hook's CPU samples under load).
 */
const CALLER = 'wattlineCaller'
type WithCaller = FastifyRequest & { [CALLER]?: Caller | null }

/** The caller resolved for `req` by a proxy route (undefined before, or on other routes). */
export function callerOf(req: FastifyRequest): Caller | undefined {
  return (req as WithCaller)[CALLER] ?? undefined
}

/**
 * Registers the three proxied endpoints. The caller is authenticated in `onRequest`, before the
 * body is read or parsed: a request without a valid key gets 401 whatever its body holds.
 */
export function registerProxyRoutes(app: FastifyInstance, ctx: ProxyContext): void {
  if (!app.hasRequestDecorator(CALLER)) app.decorateRequest(CALLER, null)
  const authenticate = (req: FastifyRequest, _reply: FastifyReply, done: (e?: Error) => void) => {
    try {
      // A batch line of this process carries its caller in its placement (a random one-use
      // token only the scheduler holds); every other request authenticates by its key.
      const placed = ctx.placements?.peek(req.headers[PLACEMENT_HEADER])?.caller
      const service =
        placed === undefined
          ? undefined
          : ctx.gateway.config.services.find((s) => s.name === placed.service)
      ;(req as WithCaller)[CALLER] =
        service === undefined || placed === undefined
          ? resolveCaller(req.headers, ctx.gateway.config)
          : { service, tenant: placed.tenant }
    } catch (error) {
      done(error as Error)
      return
    }
    done()
  }
  for (const endpoint of Object.keys(ENDPOINTS) as EndpointPath[]) {
    app.post(endpoint, { onRequest: authenticate }, (req, reply) =>
      proxy(endpoint, req, reply, ctx),
    )
  }
}

async function proxy(
  endpoint: EndpointPath,
  req: FastifyRequest,
  reply: FastifyReply,
  ctx: ProxyContext,
): Promise<FastifyReply> {
  const cold = ctx.whenWarm?.()
  if (cold !== undefined) await cold
  const { gateway, clock } = ctx
  const arrivedMs = clock.now()
  const caller = callerOf(req) ?? resolveCaller(req.headers, gateway.config)
  // Refusals before the cache decides (bad body, unknown model) say `bypass` too.
  reply.header('x-wattline-cache', 'bypass')
  const facts = readRequest(endpoint, req.body)
  const tierHeader = req.headers['x-wattline-tier']
  const tier = parseTierPreference(typeof tierHeader === 'string' ? tierHeader : undefined)
  if (caller.service.models !== undefined && !caller.service.models.includes(facts.model)) {
    throw new WattlineError(
      'WL_UNKNOWN_MODEL',
      `The model '${clipInput(facts.model)}' is not available in service '${caller.service.name}'`,
      {
        details: { param: 'model' },
      },
    )
  }
  // The tenant budget before any work (cache included): headers, or 429 WL_BUDGET_EXCEEDED.
  if (ctx.tenants !== undefined) {
    const admitted = ctx.tenants.admit(caller.service.name, caller.tenant)
    if (admitted.state !== null) reply.headers(admitted.headers)
  }
  const body = req.body as Record<string, unknown>
  const raw = (req as FastifyRequest & WithRawBody).rawBody
  /** Request bytes at the service boundary (the body as the client sent it). */
  const requestBytes = raw?.length ?? Buffer.byteLength(JSON.stringify(body))
  let slot: CacheSlot | undefined
  if (ctx.cache !== undefined && caller.service.cache.enabled) {
    const auth = req.headers['authorization']
    const cc = req.headers['cache-control']
    const decided = ctx.cache.decide({
      service: caller.service,
      tenant: caller.tenant,
      authorization: typeof auth === 'string' ? auth : undefined,
      cacheControl: typeof cc === 'string' ? cc : undefined,
      endpoint,
      model: facts.model,
      body,
      raw,
    })
    const c = decided instanceof Promise ? await decided : decided
    if (c.outcome === 'hit' && c.entry !== undefined) {
      ctx.cache.countHit(caller.service.name, c.entry)
      const entry = c.entry
      const responseBytes =
        entry.kind === 'json'
          ? Buffer.byteLength(entry.body)
          : entry.chunks.reduce((n, chunk) => n + Buffer.byteLength(chunk), 0)
      gateway.recordCacheHit({
        requestId: req.id,
        arrivedMs,
        service: caller.service.name,
        tenant: caller.tenant,
        model: facts.model,
        endpoint,
        streamed: entry.kind === 'sse',
        zone: entry.zone,
        saving: cacheSaving(entry),
        networkBytes: requestBytes + responseBytes,
      })
      // Only answers of the requested model are stored (a lighter tier's never is).
      reply.header('x-wattline-model-served', facts.model)
      return serveHit(entry, req, reply, ctx, caller.service.name, facts.model)
    }
    reply.header('x-wattline-cache', c.outcome)
    if (c.key !== undefined) slot = { cache: ctx.cache, key: c.key }
  }
  // Not an AbortController: ≈ 3 µs less per request (http/client-abort.ts).
  const clientGone = new ClientAbort()
  // `on`, not `once` (no wrapper per request): a response closes once. One handler for every
  // response (no closure per request), finding the signal on the response.
  ;(reply.raw as WithClientAbort)[CLIENT_ABORT] = clientGone
  reply.raw.on('close', abortOnEarlyClose)
  const injectUsage = facts.stream && !facts.clientWantsUsage
  const bodyFor = upstreamBody(facts, body, raw, injectUsage)
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: facts.stream ? 'text/event-stream' : 'application/json',
    'x-request-id': req.id,
  }
  const auth = req.headers['authorization']
  if (gateway.config.secrets.tenantKeys.length === 0 && typeof auth === 'string')
    headers['authorization'] = auth
  // A batch line's placement (zones, time-shift baseline): only the scheduler holds a valid token.
  const placement = ctx.placements?.take(req.headers[PLACEMENT_HEADER])
  // Embeddings micro-batching: merged with concurrent callers into one upstream call.
  if (placement === undefined && ctx.batcher?.accepts(endpoint, caller.service, body) === true) {
    return viaBatcher(ctx.batcher, {
      reply,
      caller,
      facts,
      body,
      tier,
      authorization: headers['authorization'],
      signal: clientGone.signal,
      requestId: req.id,
      arrivedMs,
      requestBytes,
      slot,
    })
  }
  // Built field by field (no spread of optional parts): one object of one shape per request.
  const input: Mutable<DispatchInput> = {
    service: caller.service,
    model: facts.model,
    inputTokens: facts.estimatedInputTokens,
    outputTokens: facts.maxTokens ?? caller.service.typical_output_tokens,
    decodes: endpoint !== '/v1/embeddings',
    path: ENDPOINTS[endpoint].path,
    bodyFor,
    headers,
    signal: clientGone.signal,
    requestId: req.id,
  }
  if (placement !== undefined) Object.assign(input, placement)
  if (tier !== undefined) input.tier = tier
  // Prefix identity for prefix-affinity routing (embeddings have no KV cache to reuse).
  if (endpoint !== '/v1/embeddings') input.prompt = body[ENDPOINTS[endpoint].input]
  const d = await gateway.dispatch(input)
  const base: RequestBase = {
    endpoint,
    requestId: req.id,
    tenant: caller.tenant,
    arrivedMs,
    requestBytes,
  }
  const contentType = String(d.response.headers['content-type'] ?? 'application/json')
  // Never silently: every answer names the model that served it (docs/gateway.md "Quality tiers").
  reply.header('x-wattline-model-served', d.model)
  // A lighter tier's answer is not the requested model's: it never enters the cache.
  if (d.model !== facts.model) slot = undefined
  const upstreamModel = d.backend.config.model_names[d.model]
  const modelBack = upstreamModel === undefined ? undefined : { from: upstreamModel, to: d.model }
  if (facts.stream && d.response.status === 200 && contentType.includes('text/event-stream')) {
    const keep = slot === undefined ? undefined : streamKeeper(slot, caller.service, d)
    new RelayedStream(d, facts, reply, ctx, clientGone.signal, base, modelBack, keep)
    return reply
  }
  let text: string
  try {
    text = await d.response.body.text()
  } catch (error) {
    gateway.finish(d, finishInput(base, 0, 499, 0, 0, null, false, 'client_closed', false))
    throw error
  }
  let out = text
  let usage = undefined as ReturnType<typeof readUsage>
  if (contentType.includes('json')) {
    // The usage from the answer's last member when it is there, as servers write it (no parse
    // of the whole answer: http/answer-usage.ts); the whole answer when it is not, or when its
    // model name is to be rewritten.
    const atEnd = modelBack === undefined ? usageAtEnd(text) : NOT_AT_END
    if (atEnd !== NOT_AT_END) usage = atEnd
    else {
      try {
        const obj = JSON.parse(text) as Record<string, unknown>
        usage = readUsage(obj['usage'])
        if (modelBack !== undefined && obj['model'] === modelBack.from) {
          obj['model'] = modelBack.to
          out = JSON.stringify(obj)
        }
      } catch {
        // Not JSON after all: pass it through as it is.
      }
    }
  }
  const status = d.response.status
  const a = gateway.finish(
    d,
    finishInput(
      base,
      Buffer.byteLength(out),
      status,
      usage?.prompt_tokens ?? 0,
      usage?.completion_tokens ?? 0,
      null,
      false,
      status >= 400 ? `upstream_${status}` : null,
      true,
    ),
  )
  if (ctx.logger.isLevelEnabled('info')) logDone(ctx, req, d, status, a)
  if (slot !== undefined && status === 200 && contentType.includes('json')) {
    slot.cache.store(
      caller.service,
      slot.key,
      entryOf({ kind: 'json', contentType, body: out }, d.backend.config.id, a),
    )
  }
  reply.code(status).header('content-type', contentType)
  reply.headers(accountingHeaders(d.backend.config.id, a))
  // A deferred request's time-shift saving (exactly the ledger row's), for the batch scheduler.
  const shifted = timeShiftOf(d, a)
  if (shifted !== undefined)
    reply.header('x-wattline-carbon-saved-g', String(shifted.carbon_saved_g))
  return reply.send(out)
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

// The route itself creates no closure: one would make V8 allocate the route's variables in a
// context object on every request, closure or not. Those it needs are made by the functions below.

/** The response's client-abort signal, for the one `close` handler of every response. */
const CLIENT_ABORT = Symbol('wattline.clientAbort')
type WithClientAbort = FastifyReply['raw'] & { [CLIENT_ABORT]?: ClientAbort }

/** A response closed before it finished: the client left; abort what the request waits on. */
function abortOnEarlyClose(this: WithClientAbort): void {
  if (!this.writableFinished) this[CLIENT_ABORT]?.abort(new Error('client closed the connection'))
}

/** What a stream that completed cleanly leaves in the cache: the chunks the client received. */
function streamKeeper(
  slot: CacheSlot,
  service: Caller['service'],
  d: Dispatched,
): (chunks: readonly string[], a: Accounting) => void {
  return (chunks, a) => {
    slot.cache.store(
      service,
      slot.key,
      entryOf(
        { kind: 'sse', contentType: 'text/event-stream; charset=utf-8', chunks },
        d.backend.config.id,
        a,
      ),
    )
  }
}

/** An embeddings request merged with concurrent callers into one upstream call. */
async function viaBatcher(
  batcher: EmbeddingsBatcher,
  r: {
    readonly reply: FastifyReply
    readonly caller: Caller
    readonly facts: RequestFacts
    readonly body: Record<string, unknown>
    readonly tier: ReturnType<typeof parseTierPreference>
    readonly authorization: string | undefined
    readonly signal: AbortSignal
    readonly requestId: string
    readonly arrivedMs: number
    readonly requestBytes: number
    readonly slot: CacheSlot | undefined
  },
): Promise<FastifyReply> {
  const { reply, caller, facts, slot } = r
  const answer = await batcher.submit({
    service: caller.service,
    model: facts.model,
    body: r.body,
    ...(r.tier === undefined ? {} : { tier: r.tier }),
    ...(r.authorization === undefined ? {} : { authorization: r.authorization }),
    signal: r.signal,
    requestId: r.requestId,
    tenant: caller.tenant,
    arrivedMs: r.arrivedMs,
    requestBytes: r.requestBytes,
    onDispatch: (n) => void reply.header(BATCHED_HEADER, String(n)),
  })
  if (slot !== undefined && answer.model === facts.model)
    slot.cache.store(
      caller.service,
      slot.key,
      entryOf(
        { kind: 'json', contentType: answer.contentType, body: answer.body },
        answer.backend,
        answer.accounting,
      ),
    )
  return reply.code(answer.status).headers(answer.headers).send(answer.body)
}

/**
 * The body builder of one request, for the backend that gets it: the client's bytes unchanged when
 * nothing in them changes (the usual case), else the body re-serialised with the backend's model
 * name and/or `stream_options.include_usage`. The model served may be a lighter quality tier's: the
 * upstream body names that one.
 *
 * Returned rather than declared in the route: tsx (esbuild `keepNames`) would re-name a closure
 * bound to a name on every request, an `Object.defineProperty` of ≈ 1 µs.
 */
function upstreamBody(
  facts: RequestFacts,
  body: Record<string, unknown>,
  raw: Buffer | undefined,
  injectUsage: boolean,
): (b: BackendConfig, served?: string) => string | Buffer {
  return (b, served = facts.model) => {
    const upstreamModel = b.model_names[served] ?? (served === facts.model ? undefined : served)
    if (!injectUsage && upstreamModel === undefined && raw !== undefined) return raw
    const copy: Record<string, unknown> = { ...body }
    if (upstreamModel !== undefined) copy['model'] = upstreamModel
    if (injectUsage) {
      const so = body['stream_options']
      copy['stream_options'] = {
        ...(so !== null && typeof so === 'object' ? so : {}),
        include_usage: true,
      }
    }
    return JSON.stringify(copy)
  }
}

/** What every accounted request of a proxy route shares. */
interface RequestBase extends Pick<FinishInput, 'endpoint' | 'requestId' | 'tenant' | 'arrivedMs'> {
  /** Request body bytes as received. */
  readonly requestBytes: number
}

/**
 * How a request of `base` ended, with `responseBytes` sent back (network bytes = both ways). One
 * object literal: a spread of the base followed by the other fields measured ≈ 5 µs per request
 * on Node 20 (each field after a spread is defined on a slow path), this ≈ 0.1 µs.
 */
function finishInput(
  base: RequestBase,
  responseBytes: number,
  status: number,
  inputTokens: number,
  outputTokens: number,
  ttftMs: number | null,
  streamed: boolean,
  errorCode: string | null,
  completed: boolean,
): FinishInput {
  return {
    endpoint: base.endpoint,
    requestId: base.requestId,
    tenant: base.tenant,
    arrivedMs: base.arrivedMs,
    networkBytes: base.requestBytes + responseBytes,
    status,
    inputTokens,
    outputTokens,
    ttftMs,
    streamed,
    errorCode,
    completed,
  }
}

/**
 * One upstream SSE stream relayed to the client and accounted. The stream is written straight to
 * the socket's response (no PassThrough, no pipe): each upstream chunk goes out as soon as it
 * arrives, and the last one and the end of the chunked body leave in one write. The reply is
 * hijacked, so the headers fastify would add are written here: those set on the reply so far (the
 * app's onRequest hook set `x-request-id`; it is set again, for a reply that did not pass it), and
 * the stream's.
 *
 * A class, so a stream allocates its state and two handlers, not a closure per step (tsx's
 * `keepNames` re-names every closure bound to a name, ≈ 1 µs each). It is also the relay's options:
 * the relay calls `onFirstToken` and `annotate` as its methods.
 */
class RelayedStream implements SseRelayOptions {
  readonly clientWantsUsage: boolean
  readonly modelBack: { from: string; to: string } | undefined
  readonly #d: Dispatched
  readonly #ctx: ProxyContext
  readonly #signal: AbortSignal
  readonly #base: RequestBase
  readonly #keep: ((chunks: readonly string[], a: Accounting) => void) | undefined
  readonly #res: FastifyReply['raw']
  readonly #body: Dispatched['response']['body']
  readonly #relay: SseRelay
  /** What the client received, kept for the cache (undefined when nothing keeps it). */
  readonly #written: string[] | undefined
  readonly #onData: (chunk: Buffer) => void
  readonly #onDrain: () => void
  #ttftMs: number | null = null
  #accounting: Accounting | undefined
  /** Response bytes relayed to the client so far (a stream is accounted at its usage chunk). */
  #sentBytes = 0
  #settled = false

  constructor(
    d: Dispatched,
    facts: RequestFacts,
    reply: FastifyReply,
    ctx: ProxyContext,
    signal: AbortSignal,
    base: RequestBase,
    modelBack: { from: string; to: string } | undefined,
    /** Given the chunks the client received when the stream completed cleanly (the cache). */
    keep: ((chunks: readonly string[], a: Accounting) => void) | undefined,
  ) {
    this.clientWantsUsage = facts.clientWantsUsage
    this.modelBack = modelBack
    this.#d = d
    this.#ctx = ctx
    this.#signal = signal
    this.#base = base
    this.#keep = keep
    this.#res = reply.raw
    this.#body = d.response.body
    this.#relay = createSseRelay(this)
    this.#written = keep === undefined ? undefined : []
    const cfg = d.backend.config
    const head: Record<string, string | number | string[]> = {}
    for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) head[k] = v
    head['content-type'] = 'text/event-stream; charset=utf-8'
    head['cache-control'] = 'no-cache'
    head['x-accel-buffering'] = 'no'
    head['x-wattline-backend'] = cfg.id
    head['x-wattline-zone'] = cfg.zone
    head['x-wattline-method'] = d.backend.tracker.method
    head['x-request-id'] = base.requestId
    reply.hijack()
    this.#res.writeHead(200, head)
    // Event-driven pump (no async iterator: no promise per chunk); the upstream is paused while
    // the client is slow (backpressure).
    this.#onData = (chunk) => {
      this.#data(chunk)
    }
    this.#onDrain = () => {
      if (!this.#settled) this.#body.resume()
    }
    this.#body.on('data', this.#onData)
    this.#res.on('drain', this.#onDrain)
    this.#body.once('error', (error: unknown) => {
      this.#fail(error)
    })
    this.#body.once('end', () => {
      this.#end()
    })
    // A client that leaves while the upstream is paused for backpressure: undici destroys the
    // body on abort (an 'error' above); this is the backstop when no event would come.
    signal.addEventListener(
      'abort',
      () => {
        this.#fail(signal.reason)
      },
      { once: true },
    )
  }

  onFirstToken(): void {
    this.#ttftMs = this.#ctx.clock.now() - this.#base.arrivedMs
  }

  annotate(): Record<string, unknown> {
    return {
      wattline: accountingJson(this.#d.backend.config.id, this.#finishOnce(200, true, null)),
    }
  }

  #finishOnce(status: number, completed: boolean, errorCode: string | null): Accounting {
    this.#accounting ??= this.#ctx.gateway.finish(
      this.#d,
      finishInput(
        this.#base,
        this.#sentBytes,
        status,
        this.#relay.usage?.prompt_tokens ?? 0,
        this.#relay.usage?.completion_tokens ?? 0,
        this.#ttftMs,
        true,
        errorCode,
        completed,
      ),
    )
    return this.#accounting
  }

  #data(chunk: Buffer): void {
    try {
      const s = this.#relay.push(chunk)
      this.#sentBytes += Buffer.byteLength(s)
      if (s !== '') this.#written?.push(s)
      if (s !== '' && !this.#res.write(s)) this.#body.pause()
    } catch (error) {
      this.#fail(error)
    }
  }

  #end(): void {
    if (this.#settled) return
    try {
      const rest = this.#relay.end()
      const a = this.#finishOnce(
        200,
        true,
        this.#relay.upstreamError ? 'upstream_stream_error' : null,
      )
      this.#settled = true
      this.#res.off('drain', this.#onDrain)
      const { logger } = this.#ctx
      if (logger.isLevelEnabled('info'))
        logger.info(
          {
            reqId: this.#base.requestId,
            backend: this.#d.backend.config.id,
            streamed: true,
            energy_j: a.energyJ,
            carbon_g: a.carbonG,
          },
          'request done',
        )
      if (rest !== '') this.#res.end(rest)
      else this.#res.end()
      const written = this.#written
      if (written !== undefined && !this.#relay.upstreamError) {
        if (rest !== '') written.push(rest)
        this.#keep?.(written, a)
      }
    } catch (error) {
      this.#fail(error)
    }
  }

  #fail(error: unknown): void {
    if (this.#settled) return
    this.#settled = true
    const body = this.#body
    const res = this.#res
    body.off('data', this.#onData)
    res.off('drain', this.#onDrain)
    // Stop reading the upstream (a no-op when it already failed): frees its connection.
    if (!body.destroyed) body.destroy()
    const aborted = this.#signal.aborted
    const cfg = this.#d.backend.config
    try {
      this.#finishOnce(
        aborted ? 499 : 502,
        false,
        aborted ? 'client_closed' : 'WL_UPSTREAM_STREAM_BROKEN',
      )
    } finally {
      if (!aborted) {
        this.#ctx.logger.warn(
          { reqId: this.#base.requestId, backend: cfg.id, err: error },
          'upstream stream broke after the first byte',
        )
        const event = {
          error: {
            message: `upstream stream from ${cfg.id} broke`,
            type: 'server_error',
            param: null,
            code: 'WL_UPSTREAM_STREAM_BROKEN',
          },
        }
        // The error event (the official clients raise it as an APIError), then the stream's end.
        res.end(`data: ${JSON.stringify(event)}\n\ndata: [DONE]\n\n`)
      } else res.destroy()
    }
  }
}

/** Answers from the cache: the stored bytes (JSON) or chunks (SSE), headers stating the saving. */
function serveHit(
  entry: CacheEntry,
  req: FastifyRequest,
  reply: FastifyReply,
  ctx: ProxyContext,
  service: string,
  model: string,
): FastifyReply {
  ctx.logger.info(
    {
      reqId: req.id,
      service,
      model,
      cache: 'hit',
      energy_j: 0,
      carbon_g: 0,
      saving: cacheSaving(entry),
    },
    'request done',
  )
  if (entry.kind === 'json') {
    return reply
      .code(200)
      .header('content-type', entry.content_type)
      .headers(hitHeaders(entry))
      .send(entry.body)
  }
  const res = reply.raw
  const head: Record<string, string | number | string[]> = {}
  for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) head[k] = v
  Object.assign(head, hitHeaders(entry))
  head['content-type'] = entry.content_type
  head['cache-control'] = 'no-cache'
  head['x-accel-buffering'] = 'no'
  head['x-request-id'] = req.id
  reply.hijack()
  res.writeHead(200, head)
  const last = entry.chunks.length - 1
  entry.chunks.forEach((c, i) => (i === last ? res.end(c) : res.write(c)))
  if (last < 0) res.end()
  return reply
}

function logDone(
  ctx: ProxyContext,
  req: FastifyRequest,
  d: Dispatched,
  status: number,
  a: Accounting,
): void {
  ctx.logger.info(
    {
      reqId: req.id,
      service: d.service,
      model: d.model,
      ...(d.tier.reason === undefined
        ? {}
        : { model_requested: d.tier.requested, tier_reason: d.tier.reason }),
      backend: d.backend.config.id,
      status,
      attempts: d.attempts,
      energy_j: a.energyJ,
      carbon_g: a.carbonG,
      method: a.method,
    },
    'request done',
  )
}
