import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import Fastify from 'fastify'
import { registerDashboardStatic } from './dashboard-static.ts'

const dir = mkdtempSync(join(tmpdir(), 'wl-dash-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('registerDashboardStatic', () => {
  it('serves index.html, hashed assets with long caching, index.html for deep links and 404 for missing files', async () => {
    const root = join(dir, 'built')
    mkdirSync(join(root, 'assets'), { recursive: true })
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>dash</title>')
    writeFileSync(join(root, 'assets', 'app-abc123.js'), 'console.log(1)')
    const app = Fastify({ logger: false })
    await registerDashboardStatic(app, { root })
    const index = await app.inject('/dashboard/')
    expect(index.statusCode).toBe(200)
    expect(index.body).toContain('<title>dash</title>')
    expect(index.headers['cache-control']).toBe('no-cache')
    const asset = await app.inject('/dashboard/assets/app-abc123.js')
    expect(asset.statusCode).toBe(200)
    expect(asset.headers['cache-control']).toContain('immutable')
    const deep = await app.inject('/dashboard/services/chat')
    expect(deep.statusCode).toBe(200)
    expect(deep.body).toContain('<title>dash</title>')
    // a missing file is an OpenAI-shaped 404, not index.html with 200 (was: 200 text/html)
    for (const missing of [
      '/dashboard/assets/app-gone.js',
      '/dashboard/favicon.ico',
      '/dashboard/assets/x',
      '/dashboard/assets/app-gone.css?v=1',
    ]) {
      const res = await app.inject(missing)
      expect(res.statusCode, missing).toBe(404)
      expect(res.headers['content-type']).toContain('application/json')
      expect(res.json()).toEqual({
        error: {
          message: 'no such file in the dashboard under /dashboard/',
          type: 'invalid_request_error',
          param: null,
          code: 'WL_NOT_FOUND',
        },
      })
    }
    const bare = await app.inject('/dashboard?x=1')
    expect(bare.statusCode).toBe(308)
    expect(bare.headers['location']).toBe('/dashboard/?x=1')
    await app.close()
  })

  it('answers 503 with the build command when the dashboard is not built', async () => {
    const app = Fastify({ logger: false })
    await registerDashboardStatic(app, { root: join(dir, 'missing') })
    const res = await app.inject('/dashboard/')
    expect(res.statusCode).toBe(503)
    expect(res.headers['content-type']).toContain('application/json')
    const body = res.json() as { error: { message: string; type: string; code: string } }
    expect(body.error).toMatchObject({ type: 'server_error', code: 'WL_DASHBOARD_NOT_BUILT' })
    expect(body.error.message).toContain('npm run build -w @wattline/dashboard')
    const deep = await app.inject('/dashboard/x')
    expect(deep.statusCode).toBe(503)
    expect(deep.json()).toEqual(body)
    await app.close()
  })
})
