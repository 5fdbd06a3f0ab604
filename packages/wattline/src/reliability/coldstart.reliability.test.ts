/**
 * Cold start under load (issue 10): a live gateway (the real `wattline serve` composition) whose
 * backend answers its first health probe only after 0.8 s receives requests at 500 req/s from the
 * moment its port opens. Every request must be answered 200: the ones arriving while the gateway
 * warms wait for the probe instead of timing out or failing.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import { writeOneBackendConfig } from '../compose/gateway-config.test-support.ts'
import { startLiveGateway } from '../compose/live.ts'
import { startStub } from '../http/harness.test-support.ts'
import { atScale } from './scale.test-support.ts'

const REQUESTS = atScale(5000, 1000)
const RATE_PER_S = 500
const cleanups: (() => Promise<void> | void)[] = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

describe('cold start under load', () => {
  it(`${REQUESTS} requests at ${RATE_PER_S} req/s from the first moment: all answered`, async () => {
    const stub = await startStub({ model: 'llama-3.1-8b-instruct' })
    cleanups.push(() => stub.close())
    // The stub behind a front whose /models (the health probe) answers after 0.8 s.
    const front = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const go = async (): Promise<void> => {
          const r = await fetch(`${new URL(stub.url).origin}${req.url ?? '/'}`, {
            method: req.method ?? 'GET',
            headers: { 'content-type': 'application/json' },
            ...(req.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
          })
          res.writeHead(r.status, { 'content-type': 'application/json' })
          res.end(Buffer.from(await r.arrayBuffer()))
        }
        setTimeout(
          () => void go().catch(() => res.destroy()),
          (req.url ?? '').endsWith('/models') ? 800 : 0,
        )
      })
    })
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r))
    cleanups.push(() => new Promise<void>((r) => front.close(() => r())))
    const dir = mkdtempSync(join(tmpdir(), 'wl-cold-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    writeOneBackendConfig(dir, `http://127.0.0.1:${(front.address() as AddressInfo).port}/v1`, {
      gateway: ['health:', '  timeout_ms: 5000'],
      backend: ['max_concurrency: 2000'],
    })
    const live = await startLiveGateway({
      configPath: 'wattline.yaml',
      cwd: dir,
      env: {},
      host: '127.0.0.1',
      port: 0,
      logger: pino({ level: 'silent' }),
    })
    cleanups.push(() => live.close())
    const body = JSON.stringify({
      model: 'llama-3.1-8b-instruct',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'hi' }],
    })
    const statuses: Promise<number>[] = []
    const t0 = Date.now()
    for (let i = 0; i < REQUESTS; i++) {
      const due = t0 + (i * 1000) / RATE_PER_S
      const wait = due - Date.now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      statuses.push(
        fetch(`${live.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(30_000),
        }).then(
          async (r) => (await r.arrayBuffer(), r.status),
          () => -1,
        ),
      )
    }
    const all = await Promise.all(statuses)
    const ok = all.filter((s) => s === 200).length
    console.log(
      `[cold start] ${REQUESTS} requests at ${RATE_PER_S} req/s from start: ${ok} answered 200, ${all.filter((s) => s === -1).length} timed out or failed, others ${all.filter((s) => s !== 200 && s !== -1).length}`,
    )
    expect(ok).toBe(REQUESTS)
  }, 120_000)
})
