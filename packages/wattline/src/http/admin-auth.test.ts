import type { FastifyInstance } from 'fastify'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerDashboardApi } from './api/dashboard-api.ts'
import { createDashboardFixture } from './api/dashboard-fixture.test-support.ts'
import { createMemoryLedgerReader } from './api/memory-ledger-reader.ts'
import { startGateway, startStub, type Harness, type StubBackend } from './harness.test-support.ts'
import { rawGet, type RawAnswer } from './raw-http.test-support.ts'

const fixture = createDashboardFixture(Date.UTC(2025, 5, 16, 12), 2)

/** Every route of the dashboard's data API (the admin token guards all of them). */
const ADMIN_ROUTES = [
  '/api',
  '/api/overview',
  '/api/services',
  '/api/services/chat',
  '/api/zones',
  '/api/backends',
  '/api/decisions',
  '/api/anomalies',
  '/api/budgets',
]

/** Spellings of `route` a router or proxy may treat as the same path, sent as written. */
function variants(route: string): string[] {
  const rest = route.slice('/api'.length)
  const encAll = (s: string): string =>
    [...s].map((c) => (c === '/' ? c : `%${c.charCodeAt(0).toString(16)}`)).join('')
  const out = [
    `/%61pi${rest}`,
    `/%61%70%69${rest}`,
    `/%41%50%49${rest}`,
    encAll(route),
    `/ap%69${rest}`,
    `//api${rest}`,
    `/api/${rest}`,
    `///api${rest}`,
    `/api.${rest}`,
    `${route}.`,
    `${route}/`,
    `${route}%2f`,
    `${route};x`,
    `${route}?x=1`,
    `/API${rest}`,
    `/Api${rest}`,
    `/aPi${rest.toUpperCase()}`,
    `/x/..${route}`,
    `/api/..${route}`,
    `/./api${rest}`,
    `/%2e%2e${route}`,
    `/x/%2e%2e${route}`,
    `/api%2f${rest.slice(1)}`,
    `http://127.0.0.1${route}`,
  ]
  return out
}

describe('admin and metrics tokens', () => {
  let stub: StubBackend
  let gw: Harness
  let port: number

  beforeAll(async () => {
    stub = await startStub()
    gw = await startGateway(
      {
        gateway: { admin_token_env: 'WL_ADMIN', metrics_token_env: 'WL_METRICS' },
        services: [{ name: 'chat', default: true }],
        backends: [
          {
            id: 'paris',
            url: stub.url,
            zone: 'FR',
            hardware: 'H100-SXM',
            models: ['llama-3.1-8b-instruct'],
          },
        ],
      },
      { FR: 30 },
      { WL_ADMIN: 'admin-secret', WL_METRICS: 'metrics-secret' },
      undefined,
      {
        plugins: [
          (app: FastifyInstance) =>
            registerDashboardApi(app, {
              ledger: createMemoryLedgerReader(fixture.records),
              live: fixture.live,
              budgets: { budgets: () => fixture.budgets },
              now: () => fixture.now,
              registry: new Registry(),
            }),
          // routes a later plugin declares in its own encapsulated scope are guarded too
          async (app: FastifyInstance) => {
            await app.register(async (scope) => {
              scope.get('/api/extra', async () => ({ secret: 1 }))
              scope.get('/ops/flush', { config: { admin: true } }, async () => ({ secret: 2 }))
            })
          },
        ],
      },
    )
    port = Number(new URL(gw.baseUrl).port)
  })
  afterAll(async () => {
    await gw.close()
    await stub.close()
  })

  const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` })

  /** A refusal in OpenAI's shape with a WL_ code, never the route's data. */
  function expectRefusal(a: RawAnswer, what: string): void {
    expect([400, 401, 404], what).toContain(a.status)
    const body = JSON.parse(a.body) as { error?: { code?: string; type?: string } }
    expect(body.error?.code, what).toMatch(/^WL_/)
  }

  it('serves every data route with the admin token (so the guard is what refuses below)', async () => {
    for (const route of ADMIN_ROUTES) {
      const a = await rawGet(port, route, bearer('admin-secret'))
      expect(a.status, route).toBe(200)
    }
    // the router decodes percent-encoding: an encoded spelling reaches the same route
    expect((await rawGet(port, '/%61pi/overview', bearer('admin-secret'))).status).toBe(200)
  })

  it('refuses every data route, in every spelling, without the token or with a wrong one', async () => {
    let tried = 0
    let unauthorised = 0
    for (const route of ADMIN_ROUTES) {
      for (const target of [route, ...variants(route)]) {
        for (const method of ['GET', 'HEAD']) {
          for (const headers of [{}, bearer('wrong'), bearer('metrics-secret')]) {
            const a = await rawGet(port, target, headers, method)
            tried += 1
            const what = `${method} ${target} ${JSON.stringify(headers)} -> ${a.status}`
            expect(a.status, what).not.toBe(200)
            if (method === 'GET') expectRefusal(a, what)
            else expect([400, 401, 404], what).toContain(a.status)
            if (a.status === 401) unauthorised += 1
          }
        }
      }
    }
    expect(tried).toBeGreaterThan(1_000)
    // most spellings reach a data route (the router decodes them) and are refused there
    expect(unauthorised).toBeGreaterThan(ADMIN_ROUTES.length * 6)
  })

  it('guards routes declared in a plugin scope, under /api or flagged admin', async () => {
    for (const target of ['/api/extra', '/%61pi/extra', '/ops/flush', '/%6fps/flush']) {
      expect((await rawGet(port, target)).status, target).toBe(401)
      expect((await rawGet(port, target, bearer('admin-secret'))).status, target).toBe(200)
    }
  })

  it('says 401 with an OpenAI-shaped body for the encoded spelling of the issue', async () => {
    const a = await rawGet(port, '/%61pi/overview')
    expect(a.status).toBe(401)
    expect(JSON.parse(a.body)).toMatchObject({
      error: { type: 'authentication_error', code: 'WL_UNAUTHORIZED', param: null },
    })
  })

  it('leaves unrelated paths open (a browser cannot send a bearer token to a page)', async () => {
    expect((await rawGet(port, '/apiary')).status).toBe(404)
    expect((await rawGet(port, '/healthz')).status).toBe(200)
  })

  it('guards /metrics with its own token, in every spelling', async () => {
    expect((await rawGet(port, '/metrics')).status).toBe(401)
    expect((await rawGet(port, '/metrics', bearer('admin-secret'))).status).toBe(401)
    expect((await rawGet(port, '/metrics', bearer('metrics-secret'))).status).toBe(200)
    for (const target of [
      '/%6detrics',
      '/%6D%65%74%72%69%63%73',
      '//metrics',
      '/metrics.',
      '/metrics/',
      '/METRICS',
      '/x/../metrics',
      '/metrics?x',
    ]) {
      const a = await rawGet(port, target)
      expect(a.status, target).not.toBe(200)
      expect(a.body, target).not.toContain('wattline_')
      expectRefusal(a, target)
    }
  })
})
