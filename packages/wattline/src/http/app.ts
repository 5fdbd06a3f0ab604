/**
 * @module http/app
 * The fastify application of the gateway: OpenAI endpoints, `/v1/models`, health, readiness and
 * Prometheus metrics, OpenAI-shaped errors from one place (`toOpenAiError`), request ids in and out.
 * Extra plugins (the dashboard's `/api/` routes and `/dashboard`) register through `plugins`; the
 * admin token, when configured, guards them.
 */
import { randomUUID } from 'node:crypto'
import type { Clock } from '@wattline/core'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { checkToken, resolveCaller } from './auth.ts'
import type { Gateway } from './gateway.ts'
import type { GatewayMetrics } from './metrics.ts'
import { toOpenAiError } from './openai-errors.ts'
import { registerProxyRoutes, type WithRawBody } from './proxy-route.ts'

export interface GatewayAppDeps {
  readonly gateway: Gateway
  readonly clock: Clock
  readonly logger: Logger
  readonly metrics: GatewayMetrics
  /** Registered after the core routes, e.g. `(app) => registerDashboardApi(app, deps)`. */
  readonly plugins?: readonly ((app: FastifyInstance) => void | Promise<void>)[]
  /** True once shutdown started: `/readyz` answers 503 so load balancers stop sending. */
  readonly draining?: () => boolean
}

const REQUEST_ID = /^[\w.:-]{1,128}$/
// The dashboard's static files hold no data (and a browser cannot attach a bearer token to a page
// load); the data behind it, under /api/, is what the admin token protects.
const isAdminPath = (url: string): boolean => url === '/api' || /^\/api[/?]/.test(url)

/** Builds (but does not start) the gateway's HTTP app. */
export async function createGatewayApp(deps: GatewayAppDeps): Promise<FastifyInstance> {
  const { gateway, logger, metrics } = deps
  const config = gateway.config
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One structured line per request is written by the proxy route, with accounting.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.gateway.body_limit_bytes,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    return503OnClosing: true,
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

  // Callback-style hooks (not async): no promise and microtask hop per request on the hot path.
  app.addHook('onSend', (req, reply, payload, done) => {
    reply.header('x-request-id', req.id)
    done(null, payload)
  })

  app.setErrorHandler((error, req, reply) => {
    const e = toOpenAiError(error)
    if (e.status >= 500) req.log.error({ err: error, reqId: req.id }, 'request failed')
    else
      req.log.info({ reqId: req.id, status: e.status, code: e.body.error.code }, 'request refused')
    metrics.requests.inc({
      service: '',
      model: '',
      backend: 'none',
      zone: 'none',
      status: String(e.status),
    })
    return reply.code(e.status).headers(e.headers).send(e.body)
  })
  app.setNotFoundHandler((req, reply) => {
    const e = toOpenAiError(
      Object.assign(new Error(`no route for ${req.method} ${req.url}`), {
        statusCode: 404,
        code: 'not_found',
      }),
    )
    return reply.code(404).send(e.body)
  })

  app.addHook('onRequest', (req, reply, done) => {
    if (
      isAdminPath(req.url) &&
      !checkToken(req.headers['authorization'], config.secrets.adminToken)
    ) {
      const e = toOpenAiError(
        Object.assign(new Error('admin token required'), { code: 'WL_UNAUTHORIZED' }),
      )
      reply.code(401).send(e.body)
      return
    }
    done()
  })

  registerProxyRoutes(app, { gateway, clock: deps.clock, logger })

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
    const up = [...gateway.backends.values()]
      .filter((b) => b.breaker.kind !== 'open')
      .map((b) => b.config.id)
    const ready = up.length > 0 && deps.draining?.() !== true
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not ready',
      backends_up: up,
      draining: deps.draining?.() === true,
    })
  })
  app.get('/metrics', async (req, reply) => {
    if (!checkToken(req.headers['authorization'], config.secrets.metricsToken)) {
      const e = toOpenAiError(
        Object.assign(new Error('metrics token required'), { code: 'WL_UNAUTHORIZED' }),
      )
      return reply.code(401).send(e.body)
    }
    return reply
      .header('content-type', metrics.registry.contentType)
      .send(await metrics.registry.metrics())
  })

  for (const plugin of deps.plugins ?? []) await plugin(app)
  return app
}
