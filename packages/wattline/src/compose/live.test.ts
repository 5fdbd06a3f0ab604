import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import OpenAI from 'openai'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { startStub, type StubBackend } from '../http/harness.test-support.ts'
import type { CliIo } from '../cli/io.ts'
import { runCli } from '../cli/program.ts'
import { startLiveGateway, type LiveGateway } from './live.ts'

const MODEL = 'llama-3.1-8b-instruct'
const dirs: string[] = []
const stubs: StubBackend[] = []
const gateways: LiveGateway[] = []
const hooks: { close(): Promise<void> }[] = []
afterEach(async () => {
  for (const g of gateways.splice(0)) await g.close()
  for (const h of hooks.splice(0)) await h.close()
  for (const s of stubs.splice(0)) await s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

async function setUp(
  ledger: string[] = [],
  watch = '{ window_s: 60, min_requests: 1 }',
  baseline = 100,
): Promise<{ dir: string; stub: StubBackend }> {
  const stub = await startStub({ model: MODEL })
  stubs.push(stub)
  const dir = mkdtempSync(join(tmpdir(), 'wl-live-'))
  dirs.push(dir)
  writeFileSync(
    join(dir, 'wattline.yaml'),
    [
      'gateway:',
      '  log_level: silent',
      'ledger:',
      '  url: sqlite:./ledger.db',
      ...ledger.map((l) => `  ${l}`),
      'services:',
      '  - name: chat',
      '    default: true',
      '    budget:',
      '      metric: energy_per_1k_requests_wh',
      `      baseline: ${baseline}`,
      `      watch: ${watch}`,
      'backends:',
      '  - id: paris',
      `    url: ${stub.url}`,
      '    zone: FR',
      '    hardware: H100-SXM',
      `    models: [${MODEL}]`,
      '',
    ].join('\n'),
  )
  return { dir, stub }
}

interface CliRun {
  /** stderr written so far. */
  readonly err: string[]
  readonly done: Promise<{ code: number; out: string; err: string }>
}

function startCli(dir: string, args: string[], stop = new AbortController()): CliRun {
  const out: string[] = []
  const err: string[] = []
  const io: CliIo = {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    env: {},
    cwd: dir,
    stopSignal: stop.signal,
  }
  const done = runCli(args, io).then((code) => ({ code, out: out.join(''), err: err.join('') }))
  return { err, done }
}

const cli = (dir: string, args: string[]) => startCli(dir, args).done

interface RequestRow {
  id: string
  service: string
  backend: string
  zone: string
  streamed: number
  output_tokens: number
  energy_j: number
  carbon_g: number
  method: string
}

function requestRows(dir: string): RequestRow[] {
  const db = new Database(join(dir, 'ledger.db'), { readonly: true })
  try {
    return db.prepare('select * from requests order by block_seq, row_idx').all() as RequestRow[]
  } finally {
    db.close()
  }
}

/** A webhook receiver on 127.0.0.1 that records what the budget watch POSTs. */
async function startHook(): Promise<{
  url: string
  received: { auth: string | undefined; body: unknown }[]
  close(): Promise<void>
}> {
  const received: { auth: string | undefined; body: unknown }[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      received.push({ auth: req.headers.authorization, body: JSON.parse(body) as unknown })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    close: () => new Promise((r) => server.close(() => r())),
  }
}

/** The gateway's header form of a figure: 6 significant digits. */
const header6 = (n: number): number => Number(n.toPrecision(6))

describe('startLiveGateway with a SQLite ledger', () => {
  it('writes every request with the energy and carbon of its headers; verify passes, tampering fails', async () => {
    // a budget no request can meet (1 µWh per 1,000 requests): the watch must flag a breach
    const hook = await startHook()
    hooks.push(hook)
    const { dir } = await setUp(
      [],
      `{ window_s: 60, min_requests: 1, webhooks: [{ url: "${hook.url}", bearer_token_env: HOOK_TOKEN }] }`,
      0.000001,
    )
    const live = await startLiveGateway({
      configPath: 'wattline.yaml',
      cwd: dir,
      env: { HOOK_TOKEN: 't0ken' },
      host: '127.0.0.1',
      port: 0,
      logger: pino({ level: 'silent' }),
    })
    gateways.push(live)
    const client = new OpenAI({ baseURL: `${live.url}/v1`, apiKey: 'x', maxRetries: 0 })
    const answered = new Map<string, { energy: number; carbon: number }>()
    for (let i = 0; i < 4; i += 1) {
      const { response } = await client.chat.completions
        .create({ model: MODEL, messages: [{ role: 'user', content: `hello ${i}` }] })
        .withResponse()
      answered.set(response.headers.get('x-request-id') ?? '', {
        energy: Number(response.headers.get('x-wattline-energy-j')),
        carbon: Number(response.headers.get('x-wattline-carbon-g')),
      })
    }
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'stream' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    let usageSeen = false
    for await (const chunk of stream) if (chunk.usage) usageSeen = true
    expect(usageSeen).toBe(true)

    // the production watch sees the same requests: ratio on the gateway's registry and the API
    const [status] = await live.budgetWatch.evaluate()
    expect(status).toMatchObject({ service: 'chat', requests: 5, breached: true })
    expect(status?.ratio).toBeGreaterThan(1)
    const metrics = await (await fetch(`${live.url}/metrics`)).text()
    const gauge = /wattline_budget_ratio\{service="chat"\} ([0-9.e+-]+)/.exec(metrics)
    expect(Number(gauge?.[1])).toBeCloseTo(status?.ratio ?? -1, 6)
    const budgets = (await (await fetch(`${live.url}/api/budgets`)).json()) as {
      budgets: { service: string; ratio: number | null; breached: boolean }[]
      breached: string[]
    }
    expect(budgets.budgets[0]).toMatchObject({ service: 'chat', breached: true })
    expect(budgets.breached).toEqual(['chat'])
    expect(hook.received).toEqual([
      expect.objectContaining({
        auth: 'Bearer t0ken',
        body: expect.objectContaining({ event: 'budget_breach', service: 'chat', requests: 5 }),
      }),
    ])

    await live.close()
    const rows = requestRows(dir)
    expect(rows).toHaveLength(5)
    for (const [id, figures] of answered) {
      const row = rows.find((r) => r.id === id)
      expect(row, `ledger row of request ${id}`).toMatchObject({
        service: 'chat',
        backend: 'paris',
        zone: 'FR',
        streamed: 0,
        method: 'modelled',
      })
      expect(header6(row?.energy_j ?? -1)).toBe(figures.energy)
      expect(header6(row?.carbon_g ?? -1)).toBe(figures.carbon)
      expect(figures.energy).toBeGreaterThan(0)
    }
    expect(rows.filter((r) => r.streamed === 1)).toHaveLength(1)

    const intact = await cli(dir, ['verify', '--ledger', 'sqlite:./ledger.db', '--json'])
    expect(intact.code, intact.err).toBe(0)
    expect(JSON.parse(intact.out)).toMatchObject({ intact: true })
    expect(JSON.parse(intact.out).rows).toBeGreaterThanOrEqual(5) // + intensity, idle, power

    const db = new Database(join(dir, 'ledger.db'))
    db.prepare('update requests set energy_j = energy_j / 2 where id = ?').run(
      [...answered.keys()][1],
    )
    db.close()
    const tampered = await cli(dir, ['verify', '--ledger', 'sqlite:./ledger.db'])
    expect(tampered.code).toBe(1)
    expect(tampered.out + tampered.err).toMatch(/row_modified/)
  })

  it('records gate decisions in the same ledger, which still verifies', async () => {
    const { dir } = await setUp()
    writeFileSync(
      join(dir, 'workload.jsonl'),
      [
        '{"wattline_trace": 1, "description": "live test"}',
        ...Array.from({ length: 8 }, (_, i) =>
          JSON.stringify({ t_ms: i * 50, input_tokens: 100 + i, output_tokens: 20 + i }),
        ),
      ].join('\n'),
    )
    const live = await startLiveGateway({
      configPath: 'wattline.yaml',
      cwd: dir,
      env: {},
      host: '127.0.0.1',
      port: 0,
      logger: pino({ level: 'silent' }),
    })
    gateways.push(live)
    // the candidate is benchmarked through the gateway itself
    const bench = await cli(dir, [
      'bench',
      '--target',
      `${live.url}/v1`,
      '--model',
      MODEL,
      '--hardware',
      'H100-SXM',
      '--workload',
      'workload.jsonl',
      '--requests',
      '8',
      '--repeat',
      '2',
      '--out',
      'result.json',
    ])
    expect(bench.code, bench.err).toBe(0)
    await live.close()
    const gate = await cli(dir, [
      'gate',
      '--result',
      'result.json',
      '--config',
      'wattline.yaml',
      '--service',
      'chat',
      '--release',
      'r1',
      '--ledger',
      'sqlite:./ledger.db',
    ])
    expect([0, 1]).toContain(gate.code)
    expect(requestRows(dir)).toHaveLength(16)
    const db = new Database(join(dir, 'ledger.db'), { readonly: true })
    const decisions = db.prepare('select release, service from gate_decisions').all()
    db.close()
    expect(decisions).toEqual([{ release: 'r1', service: 'chat' }])
    const verify = await cli(dir, ['verify', '--ledger', 'sqlite:./ledger.db', '--json'])
    expect(verify.code, verify.out + verify.err).toBe(0)
  })
})

describe('wattline serve, stopped as on SIGTERM', () => {
  it('drains an in-flight request, then writes every buffered row before exiting', async () => {
    // flushes only on close: a long interval and a batch size never reached
    const { dir, stub } = await setUp(['flush_interval_ms: 250', 'batch_rows: 100000'])
    const stop = new AbortController()
    const served = startCli(
      dir,
      ['serve', '--config', 'wattline.yaml', '--host', '127.0.0.1', '--port', '0'],
      stop,
    )
    let url = ''
    await expect
      .poll(
        () => {
          const found = /gateway on (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(served.err.join(''))
          url = found?.[1] ?? ''
          return url
        },
        { timeout: 15_000 },
      )
      .not.toBe('')
    const client = new OpenAI({ baseURL: url, apiKey: 'x', maxRetries: 0 })
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        client.chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: `${i}` }],
        }),
      ),
    )
    stub.options = { model: MODEL, delayMs: 300 }
    const slow = client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'slow' }],
    })
    await expect.poll(() => stub.received.length, { timeout: 5_000 }).toBe(21)
    stop.abort() // what SIGTERM does in cli/main.ts
    const answer = await slow
    expect(answer.choices[0]?.message.content).toBe('Hello from stub')
    const result = await served.done
    expect(result.code, result.err).toBe(0)
    expect(requestRows(dir)).toHaveLength(21)
    const verify = await cli(dir, ['verify', '--ledger', 'sqlite:./ledger.db', '--json'])
    expect(verify.code).toBe(0)
    // everything was sealed on close: no row is left outside a signed block
    expect(JSON.parse(verify.out)).toMatchObject({ intact: true, unsealed_rows: 0 })
  })
})
