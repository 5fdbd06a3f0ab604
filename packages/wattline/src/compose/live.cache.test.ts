/**
 * The response cache wired through the real composition (`wattline serve`'s `startLiveGateway`): a
 * config file with `cache:` turns it on, a repeated request is a hit, the saving is on `/metrics`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import { startStub } from '../http/harness.test-support.ts'
import { startLiveGateway, type LiveGateway } from './live.ts'

const MODEL = 'llama-3.1-8b-instruct'
const REDIS_URL = process.env['REDIS_URL']
if (REDIS_URL === undefined)
  console.warn('REDIS_URL is not set: skipping the live gateways sharing a Redis response cache')

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c()
})

async function live(backendUrl: string, store: string[], env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'wl-cache-'))
  writeFileSync(
    join(dir, 'wattline.yaml'),
    [
      'gateway: { log_level: silent, port: 0 }',
      'ledger: { url: "sqlite:./ledger.db" }',
      'services:',
      '  - { name: chat, default: true, cache: { enabled: true, ttl_s: 60 } }',
      'backends:',
      `  - { id: paris, url: "${backendUrl}", zone: FR, hardware: H100-SXM, models: [${MODEL}] }`,
      ...store,
      '',
    ].join('\n'),
  )
  const gw: LiveGateway = await startLiveGateway({ configPath: 'wattline.yaml', cwd: dir, env })
  closers.push(async () => {
    await gw.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return gw
}

const ask = (gw: LiveGateway, content: string) =>
  new OpenAI({
    baseURL: `${gw.url}/v1`,
    apiKey: 'x',
    maxRetries: 0,
    timeout: 10_000,
  }).chat.completions
    .create({ model: MODEL, messages: [{ role: 'user', content }], temperature: 0 })
    .asResponse()

describe('response cache in wattline serve', () => {
  it('serves a repeated request from the memory store and exports the saving', async () => {
    const stub = await startStub()
    closers.push(() => stub.close())
    const gw = await live(stub.url, [])
    const a = await ask(gw, 'live question')
    const aText = await a.text()
    const b = await ask(gw, 'live question')
    expect([a.headers.get('x-wattline-cache'), b.headers.get('x-wattline-cache')]).toEqual([
      'miss',
      'hit',
    ])
    expect(await b.text()).toBe(aText)
    expect(stub.received.length).toBe(1)
    const metrics = await (await fetch(`${gw.url}/metrics`)).text()
    const saved =
      /^wattline_energy_saved_joules_total\{lever="cache",service="chat"\} (\S+)$/m.exec(metrics)
    expect(Number(saved?.[1])).toBeCloseTo(Number(a.headers.get('x-wattline-energy-j')), 3)
    expect(metrics).toMatch(/^wattline_cache_requests_total\{service="chat",result="hit"\} 1$/m)
  })

  it.skipIf(REDIS_URL === undefined)(
    'shares answers between two gateways through Redis (cache.store: redis)',
    async () => {
      const stubs = await Promise.all([startStub(), startStub()])
      closers.push(() => Promise.all(stubs.map((s) => s.close())).then(() => undefined))
      const store = [
        `cache: { store: redis, redis_url_env: WL_CACHE_REDIS, key_prefix: "wl-live-${String(process.pid)}-${String(Date.now())}" }`,
      ]
      const env = { WL_CACHE_REDIS: REDIS_URL as string }
      const one = await live(stubs[0]!.url, store, env)
      const two = await live(stubs[1]!.url, store, env)
      const a = await ask(one, 'shared question')
      const b = await ask(two, 'shared question')
      expect([a.headers.get('x-wattline-cache'), b.headers.get('x-wattline-cache')]).toEqual([
        'miss',
        'hit',
      ])
      expect(await b.text()).toBe(await a.text())
      expect(stubs[1]!.received.length).toBe(0)
    },
  )
})
