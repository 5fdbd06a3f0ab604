/**
 * The response cache shared by two gateway processes through one real Redis (issue 11): two
 * `wattline serve` processes (their own processes, one config with `cache.store: redis`) in front of
 * one simulated backend (the harness stub). Every prompt asked of the first is a miss that reaches
 * the backend once; the same prompts asked of the second are hits, byte for byte, JSON and SSE, and
 * never reach the backend; a second tenant's identical prompts never hit the first tenant's answers.
 * Skipped with a notice when REDIS_URL is unset (CI sets it).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import OpenAI from 'openai'
import { afterAll, describe, expect, it } from 'vitest'
import { startStub, type StubBackend } from '../http/harness.test-support.ts'
import { atScale } from './scale.test-support.ts'

const MODEL = 'llama-3.1-8b-instruct'
const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'wattline.mjs')
const PROMPTS = atScale(200, 20)
const REDIS_URL = process.env['REDIS_URL']
if (REDIS_URL === undefined) console.warn('shared-cache: REDIS_URL unset, skipped')

const children: ChildProcess[] = []
let stub: StubBackend | undefined
const dirs: string[] = []
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  await stub?.close()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** Starts `wattline serve` in its own process; resolves with its URL once it listens. */
function serve(cwd: string): Promise<string> {
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--config', 'wattline.yaml', '--port', '0'],
    {
      cwd,
      env: {
        ...process.env,
        WL_CACHE_REDIS: REDIS_URL as string,
        KEY_ACME: 'sk-acme',
        KEY_GLOBEX: 'sk-globex',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
  children.push(child)
  return new Promise((resolve, reject) => {
    let err = ''
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${err}`)), 30_000)
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString()
      const m = /wattline gateway on (http:\/\/[^\s/]+)\/v1/.exec(err)
      if (m !== null) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`gateway exited (${String(code)}): ${err}`))
    })
  })
}

const client = (url: string, key: string) =>
  new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0, timeout: 20_000 })

describe.skipIf(REDIS_URL === undefined)('two gateway processes sharing one Redis cache', () => {
  it(`answers ${PROMPTS} prompts from the other process's misses, JSON and SSE, per tenant`, async () => {
    stub = await startStub()
    const prefix = `wl-rel-${String(process.pid)}-${String(Date.now())}`
    // Two processes, each with its own directory and ledger, one Redis.
    const config = (backendUrl: string) =>
      [
        'gateway: { log_level: warn }',
        'ledger: { url: "sqlite:./ledger.db" }',
        `cache: { store: redis, redis_url_env: WL_CACHE_REDIS, key_prefix: "${prefix}" }`,
        'services:',
        '  - name: chat',
        '    default: true',
        '    cache: { enabled: true, ttl_s: 300 }',
        '    api_keys: [{ tenant: acme, key_env: KEY_ACME }, { tenant: globex, key_env: KEY_GLOBEX }]',
        'backends:',
        `  - { id: paris, url: "${backendUrl}", zone: FR, hardware: H100-SXM, models: [${MODEL}] }`,
        '',
      ].join('\n')
    const start = (): Promise<string> => {
      const dir = mkdtempSync(join(tmpdir(), 'wl-shared-cache-'))
      dirs.push(dir)
      writeFileSync(join(dir, 'wattline.yaml'), config(stub!.url))
      return serve(dir)
    }
    const [one, two] = await Promise.all([start(), start()])
    const prompt = (i: number) => [{ role: 'user' as const, content: `shared prompt ${i}` }]
    const json = (url: string, key: string, i: number) =>
      client(url, key)
        .chat.completions.create({ model: MODEL, messages: prompt(i), temperature: 0 })
        .asResponse()
    const sse = async (url: string, key: string, i: number) => {
      const r = await client(url, key)
        .chat.completions.create({
          model: MODEL,
          messages: prompt(i),
          temperature: 0,
          stream: true,
        })
        .asResponse()
      return { cache: r.headers.get('x-wattline-cache'), text: await r.text() }
    }

    const first: string[] = []
    for (let i = 0; i < PROMPTS; i++) {
      const r = await json(one, 'sk-acme', i)
      expect(r.headers.get('x-wattline-cache')).toBe('miss')
      first.push(await r.text())
    }
    const streamed = []
    for (let i = 0; i < PROMPTS; i += 4) streamed.push(await sse(one, 'sk-acme', i))
    const upstreamAfterOne = stub.received.length
    expect(upstreamAfterOne).toBe(PROMPTS + Math.ceil(PROMPTS / 4))

    let hits = 0
    for (let i = 0; i < PROMPTS; i++) {
      const r = await json(two, 'sk-acme', i)
      if (r.headers.get('x-wattline-cache') === 'hit' && (await r.text()) === first[i]) hits += 1
    }
    expect(hits).toBe(PROMPTS)
    for (let i = 0, k = 0; i < PROMPTS; i += 4, k++) {
      const again = await sse(two, 'sk-acme', i)
      expect(again).toEqual({ cache: 'hit', text: streamed[k]?.text })
      expect(again.text.trimEnd().endsWith('data: [DONE]')).toBe(true)
    }
    expect(stub.received.length).toBe(upstreamAfterOne)

    // The other tenant's identical prompt is its own miss, on either process.
    const other = await json(two, 'sk-globex', 0)
    expect(other.headers.get('x-wattline-cache')).toBe('miss')
    expect(stub.received.length).toBe(upstreamAfterOne + 1)
  }, 120_000)
})
