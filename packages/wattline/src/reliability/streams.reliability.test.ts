/**
 * Streams cut on failover (issue 10): many long SSE streams through the real gateway (fastify on
 * loopback) to two simulated model servers, each its own process; one server is killed with
 * SIGKILL while the streams run. Every stream must end with a final event: the normal last chunk
 * and `data: [DONE]`, or an OpenAI-style `error` event (code WL_UPSTREAM_STREAM_BROKEN) and
 * `data: [DONE]`; none may just stop. The official openai client raises the broken ones as an
 * APIError, and each broken stream is a failed (502) ledger row and counts in the metrics.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import OpenAI, { APIError } from 'openai'
import { afterAll, describe, expect, it } from 'vitest'
import { startGateway, type Harness } from '../http/harness.test-support.ts'
import { atScale } from './scale.test-support.ts'

const BIN = fileURLToPath(new URL('../../bin/wattline.mjs', import.meta.url))
const STREAMS = Number(process.env['WL_STREAMS'] ?? atScale(4000, 300))
const CLIENT_STREAMS = 20

const children: ChildProcess[] = []
let gw: Harness | undefined
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  await gw?.close()
})

async function simulated(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'simulate-backend',
      '--model',
      'llama-3.1-8b-instruct',
      '--hardware',
      'H100-SXM',
      '--zone',
      'FR',
      '--json',
      '--max-batch',
      '5000',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  children.push(child)
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve)
    child.once('exit', (code) => reject(new Error(`simulated backend exited ${code}`)))
  })
  return { url: (JSON.parse(line) as { url: string }).url, child }
}

type Ending = 'done' | 'error' | 'cut' | 'refused'

/** Reads one raw SSE stream to its end and says how it ended. */
async function readStream(body: ReadableStream<Uint8Array>, onFirst: () => void): Promise<Ending> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let text = ''
  let first = true
  for (;;) {
    const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }))
    if (done) break
    if (first) {
      first = false
      onFirst()
    }
    text += decoder.decode(value, { stream: true })
  }
  const events = text.split('\n\n').filter((e) => e.trim() !== '')
  if (events.at(-1) !== 'data: [DONE]') return 'cut'
  const before = events.at(-2) ?? ''
  return before.includes('"WL_UPSTREAM_STREAM_BROKEN"') ? 'error' : 'done'
}

describe('SSE streams when a backend dies mid-stream', () => {
  it(`${STREAMS} long streams, one of two servers SIGKILLed: every stream ends with a final event`, async () => {
    const a = await simulated()
    const b = await simulated()
    gw = await startGateway(
      {
        gateway: { health: { interval_ms: 60_000 } },
        services: [
          { name: 'chat', default: true, routing: 'round-robin', queue: { max_size: 10_000 } },
        ],
        backends: [a, b].map((s, i) => ({
          id: i === 0 ? 'doomed' : 'survivor',
          url: s.url,
          zone: 'FR',
          hardware: 'H100-SXM',
          models: ['llama-3.1-8b-instruct'],
          max_concurrency: 10_000,
        })),
      },
      { FR: 30 },
    )
    const base = gw.baseUrl
    let started = 0
    let resolveHalf: () => void = () => undefined
    const half = new Promise<void>((r) => (resolveHalf = r))
    const body = JSON.stringify({
      model: 'llama-3.1-8b-instruct',
      stream: true,
      max_tokens: 400,
      messages: [{ role: 'user', content: 'tell a long story' }],
    })
    const raw = Array.from({ length: STREAMS }, async () => {
      const res = await fetch(`${base}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      if (res.status !== 200 || res.body === null) {
        // Failed before the first byte (every backend tried): an OpenAI-shaped error, not a cut stream.
        const err = (await res.json().catch(() => null)) as { error?: { code?: string } } | null
        return (err?.error?.code?.startsWith('WL_') === true ? 'refused' : 'cut') as Ending
      }
      return readStream(res.body, () => {
        started++
        if (started >= STREAMS / 2) resolveHalf()
      })
    })
    const client = new OpenAI({ baseURL: base, apiKey: 'x', maxRetries: 0 })
    const official = Array.from({ length: CLIENT_STREAMS }, async () => {
      try {
        const stream = await client.chat.completions.create({
          model: 'llama-3.1-8b-instruct',
          stream: true,
          max_tokens: 400,
          messages: [{ role: 'user', content: 'tell a long story' }],
        })
        for await (const _chunk of stream) {
          // drain
        }
        return 'ok'
      } catch (error) {
        return error instanceof APIError ? `api:${String(error.code)}` : `other:${String(error)}`
      }
    })
    // Kill once half the streams are flowing (or after 30 s, whichever first).
    await Promise.race([half, new Promise((r) => setTimeout(r, 30_000))])
    a.child.kill('SIGKILL')
    const endings = await Promise.all(raw)
    const clientResults = await Promise.all(official)
    const count = (e: Ending): number => endings.filter((x) => x === e).length
    console.log(
      `[streams] ${STREAMS} streams: ${count('done')} completed, ${count('error')} ended with an error event + [DONE], ${count('refused')} refused before the first byte with an OpenAI-shaped error, ${count('cut')} cut; official client: ${clientResults.filter((r) => r === 'ok').length} ok, ${clientResults.filter((r) => r.startsWith('api:')).length} APIError`,
    )
    expect(count('cut')).toBe(0)
    expect(count('error')).toBeGreaterThan(0)
    expect(count('done')).toBeGreaterThan(0)
    for (const r of clientResults)
      expect(r === 'ok' || r === 'api:WL_UPSTREAM_STREAM_BROKEN', r).toBe(true)
    // Each broken stream is a failed request in the ledger and the metrics.
    const failed = gw.ledger.records.filter(
      (r) =>
        r.kind === 'request' && r.error_code === 'WL_UPSTREAM_STREAM_BROKEN' && r.status === 502,
    ).length
    expect(failed).toBeGreaterThanOrEqual(count('error'))
    const metrics = await gw.metrics.registry.getSingleMetricAsString('wattline_requests_total')
    expect(metrics).toMatch(/status="502"\} \d+/)
  }, 240_000)
})
