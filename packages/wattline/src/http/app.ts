/**
 * @module http/app
 * The fastify application of the gateway: OpenAI endpoints, `/v1/models`, health, readiness and
 * Prometheus metrics, OpenAI-shaped errors from one place (`toOpenAiError`), request ids in and out.
 * Extra plugins (the dashboard's `/api/` routes and `/dashboard`) register through `plugins`.
 *
 * Hardening (docs/reliability.md): the admin token guards every route *declared* under `/api`
 * (an `onRequest` hook added to the matched route, so encoded or odd spellings of a URL cannot get
 * around it); the proxy routes authenticate before the body is read; node's own socket-level errors
 * (431, 408, unparseable requests) and fastify's (400, 404, 413, 414) answer in OpenAI's error shape;
 * connection timeouts and a connection cap come from the `gateway:` config; 429/503 refusals are
 * logged once per burst and client disconnects at `info`.
 */
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import { WattlineError, type Clock } from '@wattline/core'
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type onRequestHookHandler,
  type preHandlerHookHandler,
} from 'fastify'
import type { Logger } from 'pino'
import { checkToken, resolveCaller } from './auth.ts'
import { backendReady } from './backend-runtime.ts'
import type { Gateway } from './gateway.ts'
import type { GatewayMetrics } from './metrics.ts'
import { clipInput, rawErrorResponse, toOpenAiError } from './openai-errors.ts'
import { callerOf, registerProxyRoutes, type WithRawBody } from './proxy-route.ts'
import { ENDPOINTS } from './openai-request.ts'
import { createRefusalLog, REFUSAL_LOG_WINDOW_MS } from './refusal-log.ts'
import { lazyChildLoggerFactory } from './request-logger.ts'
import { newRequestId } from './request-id.ts'
import { createEmbeddingsBatcher } from './embeddings-batcher.ts'
import type { ResponseCache } from './response-cache.ts'
import type { LinePlacements } from '../batch/line-placements.ts'
import type { TenantUsage } from '../tenant-usage/tenant-usage.ts'

export interface GatewayAppDeps {
  readonly gateway: Gateway
  readonly clock: Clock
  readonly logger: Logger
  readonly metrics: GatewayMetrics
  /** The response cache (compose/response-cache.ts); omitted = no request is cached. */
  readonly cache?: ResponseCache
  /** Batch lines' placements (batch/line-placements.ts); omitted = no request is placed. */
  readonly placements?: LinePlacements
  /** Per-tenant accounting and budgets (tenant-usage/); omitted = no tenant budget is judged. */
  readonly tenants?: TenantUsage
  /** Registered after the core routes, e.g. `(app) => registerDashboardApi(app, deps)`. */
  readonly plugins?: readonly ((app: FastifyInstance) => void | Promise<void>)[]
  /** True once shutdown started: `/readyz` answers 503 so load balancers stop sending. */
  readonly draining?: () => boolean
  /**
   * Start-up: settles once every backend answered (or failed) its first health probe. Until then
   * `/readyz` answers 503 `warming` and requests to the model endpoints wait for it, at most
   * `gateway.warmup_wait_ms`. Undefined = warm from the start.
   */
  readonly warmup?: Promise<void>
  /** Window of the 429/503 burst log lines, ms (default {@link REFUSAL_LOG_WINDOW_MS}). */
  readonly refusalLogWindowMs?: number
}

const REQUEST_ID = /^[\w.:-]{1,128}$/
/** Longest request target accepted; longer gets 414 (node refuses > 16 KiB of head with 431). */
export const MAX_URL_CHARS = 8_192

/**
 * True for a route *declared* under `/api` (the dashboard's data). Tested on the pattern fastify
 * matched, never on the request's URL. The dashboard's static files hold no data (and a browser
 * cannot attach a bearer token to a page load): they stay open.
 */
const isAdminRoute = (pattern: string): boolean => pattern === '/api' || pattern.startsWith('/api/')

/** Client disconnects: the request's socket is gone, or the error says the peer went away. */
function clientGone(req: FastifyRequest, error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return (
    req.raw.socket?.destroyed === true ||
    req.raw.aborted ||
    code === 'ECONNRESET' ||
    code === 'ECONNABORTED' ||
    code === 'ERR_STREAM_PREMATURE_CLOSE'
  )
}

/** Builds (but does not start) the gateway's HTTP app. */
export async function createGatewayApp(deps: GatewayAppDeps): Promise<FastifyInstance> {
  const { gateway, logger, metrics } = deps
  const config = gateway.config
  const limits = config.gateway
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One structured line per request is written by the proxy route, with accounting.
    logController: new LogController({ disableRequestLogging: true }),
    // `req.log` is pino's child for the request, made only when something logs through it.
    childLoggerFactory: lazyChildLoggerFactory,
    bodyLimit: limits.body_limit_bytes,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : newRequestId()
    },
    // Draining is answered by the onRequest hook below, in OpenAI's shape (fastify's own 503 body
    // is not).
    return503OnClosing: false,
    // Slow clients: a request must send its head within headers_timeout_ms and its whole body
    // within request_timeout_ms; idle keep-alive sockets close after keep_alive_timeout_ms. Node
    // checks the first two every connectionsCheckingInterval.
    requestTimeout: limits.request_timeout_ms,
    keepAliveTimeout: limits.keep_alive_timeout_ms,
    http: {
      headersTimeout: limits.headers_timeout_ms,
      connectionsCheckingInterval: Math.min(1_000, limits.headers_timeout_ms),
    },
    // Router-level errors (malformed percent-encoding, over-long route parameters) in our shape.
    frameworkErrors: (error, req, reply) => {
      // Router-level errors come before the onRequest hooks that set the id on every answer.
      void (reply as FastifyReply).header('x-request-id', req.id)
      const e = toOpenAiError(error)
      req.log.info({ reqId: req.id, status: e.status, code: e.body.error.code }, 'request refused')
      void (reply as FastifyReply).code(e.status).send(e.body)
    },
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) => {
      // A peer that reset its connection has nothing left to answer (not a gateway error).
      if (err.code === 'ECONNRESET' || socket.destroyed) {
        logger.debug({ code: err.code }, 'client connection reset')
        return
      }
      const [status, code, message] =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? ([431, 'WL_REQUEST_TOO_LARGE', 'request head (URL and headers) is too large'] as const)
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? ([408, 'WL_REQUEST_TIMEOUT', 'request not received in time'] as const)
            : ([400, 'WL_INVALID_INPUT', 'malformed HTTP request'] as const)
      logger.info({ code: err.code, status }, 'client error answered on the socket')
      if (socket.writable) {
        socket.write(
          rawErrorResponse(status, STATUS_CODES[status] ?? 'Error', {
            error: { message, type: 'invalid_request_error', param: null, code },
          }),
        )
      }
      socket.destroy()
    },
  })
  // Connection cap: past it, node closes new connections at once (they never hold a descriptor).
  app.server.maxConnections = limits.max_connections
  const refusals = createRefusalLog(logger, deps.refusalLogWindowMs ?? REFUSAL_LOG_WINDOW_MS)
  app.addHook('onClose', (_app, done) => {
    refusals.close()
    done()
  })

  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
    ;(req as typeof req & WithRawBody).rawBody = body as Buffer
    try {
      done(
        null,
        (body as Buffer).length === 0 ? undefined : JSON.parse((body as Buffer).toString('utf8')),
      )
    } catch (error) {
      done(error as Error, undefined)
    }
  })

  // Every answer carries its request id: set when the request arrives (the onRequest hook below),
  // kept by fastify's error path, and written by the routes that hijack their reply (streams). Not
  // an onSend hook: fastify runs those through a hook runner with closures per request.

  app.setErrorHandler((error, req, reply) => {
    const service = callerOf(req)?.service.name ?? ''
    if (clientGone(req, error)) {
      req.log.info(
        { reqId: req.id, code: (error as { code?: unknown }).code ?? 'client_closed' },
        'client closed the connection before the answer',
      )
      metrics.requests.inc({ service, model: '', backend: 'none', zone: 'none', status: '499' })
      return reply.code(499).send(toOpenAiError(error).body)
    }
    const e = toOpenAiError(error)
    const code = e.body.error.code
    if (e.status === 429 || e.status === 503) {
      refusals.note({
        status: e.status,
        code,
        service,
        message: e.body.error.message,
        reqId: req.id,
      })
      // 429s are counted where the queue refuses them (gateway.ts); 503s here, with the service.
      if (e.status === 503) {
        metrics.rejected.inc({
          service,
          reason: code === 'WL_DRAINING' ? 'draining' : 'no_healthy_backend',
        })
      }
    } else if (code === 'WL_UPSTREAM_UNAVAILABLE' || code === 'WL_UPSTREAM_TIMEOUT') {
      // An upstream failure is operational, not a bug in the gateway: one line, no stack.
      const cause = (error as { cause?: { message?: unknown } }).cause?.message
      req.log.warn(
        { reqId: req.id, status: e.status, code, service, cause },
        `request failed upstream: ${e.body.error.message}`,
      )
    } else if (e.status >= 500) req.log.error({ err: error, reqId: req.id }, 'request failed')
    else req.log.info({ reqId: req.id, status: e.status, code }, 'request refused')
    metrics.requests.inc({
      service,
      model: '',
      backend: 'none',
      zone: 'none',
      status: String(e.status),
    })
    return reply.code(e.status).headers(e.headers).send(e.body)
  })
  app.setNotFoundHandler((req, reply) => {
    const e = toOpenAiError(
      new WattlineError('WL_NOT_FOUND', `no route for ${req.method} ${clipInput(req.url)}`),
    )
    return reply.code(404).send(e.body)
  })

  // Callback-style hooks (not async): no promise and microtask hop per request on the hot path.
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id)
    if (req.url.length > MAX_URL_CHARS) {
      done(
        new WattlineError(
          'WL_REQUEST_TOO_LARGE',
          `URL is ${req.url.length} characters; the gateway accepts ${MAX_URL_CHARS}`,
          { details: { status: 414 } },
        ),
      )
      return
    }
    if (deps.draining?.() === true && req.url !== '/readyz' && req.url !== '/healthz') {
      reply.header('connection', 'close')
      done(
        new WattlineError('WL_DRAINING', 'the gateway is shutting down; retry on another replica'),
      )
      return
    }
    done()
  })

  // Every route declared under /api (or with `config: { admin: true }`) gets the admin guard on its
  // own onRequest hooks, whichever plugin or scope declares it: authorisation follows the route
  // fastify matched.
  const adminGuard: onRequestHookHandler = (req: FastifyRequest, _reply: FastifyReply, done) => {
    if (checkToken(req.headers['authorization'], config.secrets.adminToken)) done()
    else done(new WattlineError('WL_UNAUTHORIZED', 'admin token required'))
  }
  app.addHook('onRoute', (route) => {
    const flagged = (route.config as { admin?: unknown } | undefined)?.admin === true
    if (!flagged && !isAdminRoute(route.url)) return
    const existing = route.onRequest
    route.onRequest = [
      adminGuard,
      ...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]),
    ]
  })

  let warm = deps.warmup === undefined
  void deps.warmup?.then(
    () => (warm = true),
    () => (warm = true),
  )
  /** While cold: a promise that settles once warm (or rejects at the wait's end); undefined once warm. */
  let whenWarm: (() => Promise<void> | undefined) | undefined
  if (deps.warmup !== undefined) {
    const waitMs = config.gateway.warmup_wait_ms
    const waitWarm = async (): Promise<void> => {
      let timer: NodeJS.Timeout | undefined
      const timedOut = await Promise.race([
        deps.warmup!.then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), waitMs))),
      ])
      clearTimeout(timer)
      if (timedOut) {
        throw new WattlineError(
          'WL_UPSTREAM_UNAVAILABLE',
          `the gateway is still probing its backends after ${waitMs} ms; retry shortly`,
          { details: { status: 503, retryAfterMs: 1_000 } },
        )
      }
    }
    whenWarm = () => (warm ? undefined : waitWarm())
    // The model endpoints wait in their handler (http/proxy-route.ts): a hook would cost them a
    // hook runner, closures included, on every request long after the start. Every other `/v1/`
    // route (models, the Batch API) gets the wait as its first preHandler. Callback style: once
    // warm, no promise and no microtask hop.
    const warmGate: preHandlerHookHandler = (_req, _reply, done) => {
      if (warm) {
        done()
        return
      }
      waitWarm().then(() => done(), done)
    }
    app.addHook('onRoute', (route) => {
      if (!route.url.startsWith('/v1/') || Object.hasOwn(ENDPOINTS, route.url)) return
      const existing = route.preHandler
      route.preHandler = [
        warmGate,
        ...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]),
      ]
    })
  }

  registerProxyRoutes(app, {
    gateway,
    clock: deps.clock,
    logger,
    ...(whenWarm === undefined ? {} : { whenWarm }),
    ...(deps.cache === undefined ? {} : { cache: deps.cache }),
    ...(deps.placements === undefined ? {} : { placements: deps.placements }),
    ...(gateway.config.services.some((s) => s.embeddings_batching.enabled)
      ? {
          batcher: createEmbeddingsBatcher({
            gateway,
            clock: deps.clock,
            logger,
            registry: deps.metrics.registry,
          }),
        }
      : {}),
    ...(deps.tenants === undefined ? {} : { tenants: deps.tenants }),
  })

  app.get('/v1/models', async (req) => {
    const { service } = resolveCaller(req.headers, config)
    const ids = new Set<string>()
    for (const b of config.backends) {
      if (service.backends !== undefined && !service.backends.includes(b.id)) continue
      for (const m of b.models)
        if (service.models === undefined || service.models.includes(m)) ids.add(m)
    }
    return {
      object: 'list',
      data: [...ids]
        .sort()
        .map((id) => ({ id, object: 'model', created: 0, owned_by: 'wattline' })),
    }
  })

  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_req, reply) => {
    const up = [...gateway.backends.values()].filter(backendReady).map((b) => b.config.id)
    const ready = warm && up.length > 0 && deps.draining?.() !== true
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : warm ? 'not ready' : 'warming',
      backends_up: warm ? up : [],
      warming: !warm,
      draining: deps.draining?.() === true,
    })
  })
  app.get('/metrics', async (req, reply) => {
    if (!checkToken(req.headers['authorization'], config.secrets.metricsToken)) {
      throw new WattlineError('WL_UNAUTHORIZED', 'metrics token required')
    }
    return reply
      .header('content-type', metrics.registry.contentType)
      .send(await metrics.registry.metrics())
  })

  for (const plugin of deps.plugins ?? []) await plugin(app)
  return app
}
