import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requestRecord } from '@wattline/core/testing'
import { budgetConfigSchema } from '../config/budget.ts'
import { createBudgetWatch, watchingSink } from './budget-watch.ts'

let server: Server
let hookUrl: string
const received: { body: Record<string, unknown>; auth: string | undefined }[] = []

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      if (req.url === '/slow') return // never answers: the watch must time out
      received.push({
        body: JSON.parse(body) as Record<string, unknown>,
        auth: req.headers.authorization,
      })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((r) => server.close(r))
})

const T0 = 1_750_000_000_000

describe('createBudgetWatch', () => {
  it('exposes the ratio, flags a breach, calls webhooks once per transition, and recovers', async () => {
    received.length = 0
    let now = T0
    const registry = new Registry()
    // 360 J per request = 100 Wh per 1k requests; baseline 100 → pilot target 80, limit 84
    const budget = budgetConfigSchema.parse({
      metric: 'energy_per_1k_requests_wh',
      baseline: 100,
      watch: {
        window_s: 60,
        min_requests: 10,
        webhooks: [
          { url: `${hookUrl}/hook`, bearer_token_env: 'HOOK_TOKEN' },
          { url: `${hookUrl}/slow`, timeout_ms: 200 },
        ],
      },
    })
    const watch = createBudgetWatch([{ name: 'chat', budget }, { name: 'other' }], {
      registry,
      now: () => now,
      env: { HOOK_TOKEN: 's3cret' },
    })
    const forwarded: string[] = []
    const sink = watchingSink(
      { append: (r) => forwarded.push(r.kind), flush: async () => {}, close: async () => {} },
      watch,
    )
    for (let i = 0; i < 5; i += 1) sink.append(requestRecord(i, { at_ms: now, energy_j: 360 }))
    let [status] = await watch.evaluate()
    expect(status).toMatchObject({ ratio: null, breached: false, requests: 5 })
    for (let i = 0; i < 10; i += 1) sink.append(requestRecord(i, { at_ms: now, energy_j: 360 }))
    ;[status] = await watch.evaluate()
    expect(status?.ratio).toBeCloseTo(100 / 84, 6)
    expect(status?.breached).toBe(true)
    expect(watch.breached('chat')).toBe(true)
    expect(forwarded).toHaveLength(15)
    const gauge = (await registry.getMetricsAsJSON()).find(
      (m) => m.name === 'wattline_budget_ratio',
    )
    expect(gauge?.values[0]).toMatchObject({ labels: { service: 'chat' } })
    expect(gauge?.values[0]?.value).toBeCloseTo(100 / 84, 6)
    expect(received).toHaveLength(1)
    expect(received[0]?.body).toMatchObject({
      event: 'budget_breach',
      service: 'chat',
      requests: 15,
    })
    expect(received[0]?.auth).toBe('Bearer s3cret')
    await watch.evaluate() // still breached: no second call
    expect(received).toHaveLength(1)
    // the window moves on; efficient requests bring the ratio under 1
    now += 120_000
    for (let i = 0; i < 20; i += 1) sink.append(requestRecord(i, { at_ms: now, energy_j: 180 }))
    ;[status] = await watch.evaluate()
    expect(status).toMatchObject({ breached: false, requests: 20 })
    expect(status?.ratio).toBeCloseTo(50 / 84, 6)
    expect(received.map((r) => r.body['event'])).toEqual(['budget_breach', 'budget_recovered'])
    await watch.stop()
  })
})
