import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGateway, startStub, type Harness, type StubBackend } from './harness.test-support.ts'

describe('admin and metrics tokens', () => {
  let stub: StubBackend
  let gw: Harness
  let origin: string

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
    )
    origin = new URL(gw.baseUrl).origin
  })
  afterAll(async () => {
    await gw.close()
    await stub.close()
  })

  const get = (path: string, token?: string): Promise<Response> =>
    fetch(
      `${origin}${path}`,
      token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
    )

  it('guards the data API with the admin token', async () => {
    expect((await get('/api/probe')).status).toBe(401)
    expect((await get('/api/probe', 'wrong')).status).toBe(401)
    // past the guard: no such route in this bare gateway, so 404 rather than 401
    expect((await get('/api/probe', 'admin-secret')).status).toBe(404)
  })

  it('leaves the dashboard page and unrelated paths open (a browser cannot send a bearer token)', async () => {
    // no dashboard is registered in this bare gateway: the request gets past the guard to a 404
    expect((await get('/dashboard/')).status).toBe(404)
    expect((await get('/apiary')).status).toBe(404)
  })

  it('guards /metrics with its own token', async () => {
    expect((await get('/metrics')).status).toBe(401)
    expect((await get('/metrics', 'admin-secret')).status).toBe(401)
    expect((await get('/metrics', 'metrics-secret')).status).toBe(200)
  })
})
