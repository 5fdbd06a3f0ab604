/**
 * The Batch API end to end through the live gateway (startLiveGateway: real fastify, real ledger,
 * real scheduler) with the official `openai` client, against a simulated backend (the harness
 * stub), on SQLite and — with PG_URL — PostgreSQL.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI, { toFile } from 'openai'
import { pino } from 'pino'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { openDatabase } from '../adapters/storage/open-database.ts'
import { createPgSchemas } from '../adapters/storage/pg-test-database.ts'
import { startLiveGateway, type LiveGateway } from '../compose/live.ts'
import { startStub, type StubBackend } from '../http/harness.test-support.ts'

const MODEL = 'llama-3.1-8b-instruct'
const KEY = 'sk-batch-test-key-1'
const HOUR = 3_600_000

interface OutputLine {
  custom_id: string
  response: {
    status_code: number
    body: { choices: { message: { content: string } }[] }
  }
  wattline: {
    ran_at: string
    deferred_from: string
    carbon_g: number
    carbon_saved_g: number
    carbon_saved_basis: string
  }
}
interface ErrorLine {
  custom_id: string | null
  error: { code: string; message: string; line: number }
}

const dirs: string[] = []
const stubs: StubBackend[] = []
const gateways: LiveGateway[] = []
const pgUrl = process.env['PG_URL']
const pg = pgUrl === undefined ? undefined : createPgSchemas(pgUrl)
if (pgUrl === undefined) console.warn('batch-api.test: PG_URL unset, PostgreSQL cases skipped')

afterEach(async () => {
  for (const g of gateways.splice(0)) await g.close()
  for (const s of stubs.splice(0)) await s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
afterAll(async () => pg?.drop())

const line = (i: number, extra = ''): string =>
  JSON.stringify({
    custom_id: `req-${i}`,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: MODEL, messages: [{ role: 'user', content: `line ${i}${extra}` }] },
  })

async function start(options: {
  ledger: string
  batch?: string[]
  carbon?: string[]
  delayMs?: number
  backend?: string[]
}): Promise<{ live: LiveGateway; client: OpenAI; stub: StubBackend; dir: string }> {
  const stub = await startStub({ model: MODEL, delayMs: options.delayMs ?? 0 })
  stubs.push(stub)
  const dir = mkdtempSync(join(tmpdir(), 'wl-batch-'))
  dirs.push(dir)
  writeFileSync(
    join(dir, 'wattline.yaml'),
    [
      'gateway:',
      '  log_level: silent',
      '  intensity_refresh_ms: 10',
      ...(options.carbon ?? []),
      'ledger:',
      `  url: "${options.ledger}"`,
      'services:',
      '  - name: chat',
      '    default: true',
      '    api_keys: [{ tenant: acme, key_env: BATCH_KEY }]',
      'backends:',
      '  - id: frankfurt',
      `    url: ${stub.url}`,
      '    zone: DE',
      '    hardware: H100-SXM',
      `    models: [${MODEL}]`,
      ...(options.backend ?? []).map((l) => `    ${l}`),
      'batch:',
      '  tick_ms: 25',
      ...(options.batch ?? []).map((l) => `  ${l}`),
      '',
    ].join('\n'),
  )
  const live = await startLiveGateway({
    configPath: 'wattline.yaml',
    cwd: dir,
    env: { BATCH_KEY: KEY },
    host: '127.0.0.1',
    port: 0,
    logger: pino({ level: 'silent' }),
  })
  gateways.push(live)
  const client = new OpenAI({ baseURL: `${live.url}/v1`, apiKey: KEY, maxRetries: 0 })
  return { live, client, stub, dir }
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await f()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

const databases: [string, () => Promise<string | undefined>][] = [
  ['SQLite', async () => 'sqlite:./ledger.db'],
  ['PostgreSQL', async () => pg?.next()],
]

describe.each(databases)('Batch API on %s', (_name, ledgerUrl) => {
  it('runs a batch submitted with the official client; malformed lines go to the error file with line numbers', async (ctx) => {
    const ledger = await ledgerUrl()
    if (ledger === undefined) return ctx.skip()
    // grid time 36,000× (24 h in 2.4 s): the built-in table's diurnal shape may defer the batch
    const { live, client, stub } = await start({
      ledger,
      batch: ['clock_speed: 36000', `clock_anchor_ms: ${Date.now()}`],
    })
    const jsonl = [
      line(1),
      line(2),
      '{"custom_id": "req-bad-json", ',
      line(3),
      JSON.stringify({ method: 'POST', url: '/v1/chat/completions', body: { model: MODEL } }),
      '',
      line(4),
      line(5),
    ].join('\n')
    const file = await client.files.create({
      file: await toFile(Buffer.from(jsonl), 'input.jsonl'),
      purpose: 'batch',
    })
    // uploads are bounded by batch.max_file_bytes, not gateway.body_limit_bytes (4 MiB)
    const large = Buffer.alloc(5 * 1024 * 1024, 'x')
    const big = await client.files.create({
      file: await toFile(large, 'big.jsonl'),
      purpose: 'batch',
    })
    expect(big.bytes).toBe(large.length)
    expect(file).toMatchObject({
      object: 'file',
      purpose: 'batch',
      bytes: Buffer.byteLength(jsonl),
    })
    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      metadata: { job: 'nightly' },
    })
    expect(created.status).toBe('in_progress')
    expect(created.request_counts).toEqual({ total: 7, completed: 0, failed: 2 })
    expect(created.errors?.data?.map((e) => e.line)).toEqual([3, 5])
    expect(created.expires_at! - created.created_at).toBe(24 * 3600)
    const done = await until('batch completed', async () => {
      const b = await client.batches.retrieve(created.id)
      return b.status === 'completed' ? b : undefined
    })
    expect(done.request_counts).toEqual({ total: 7, completed: 5, failed: 2 })
    expect(done.metadata).toEqual({ job: 'nightly' })
    const out = (await (await client.files.content(done.output_file_id!)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as OutputLine)
    expect(out.map((o) => o.custom_id)).toEqual(['req-1', 'req-2', 'req-3', 'req-4', 'req-5'])
    for (const o of out) {
      expect(o.response.status_code).toBe(200)
      expect(o.response.body.choices[0]!.message.content).toBe('Hello from stub')
      expect(o.wattline.carbon_g).toBeGreaterThan(0)
      expect(typeof o.wattline.ran_at).toBe('string')
    }
    const errors = (await (await client.files.content(done.error_file_id!)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ErrorLine)
    expect(errors.map((e) => e.error.line)).toEqual([3, 5])
    expect(errors[0]!.error.message).toMatch(/^line 3: not valid JSON/)
    expect(errors[1]!.error.message).toBe('line 5: custom_id must be a non-empty string')
    // each line reached the backend once, and is an ordinary ledger request row
    expect(stub.received.filter((r) => r.path.endsWith('/chat/completions'))).toHaveLength(5)
    await live.close() // flushes the ledger
    const { db } = await openDatabase(ledger, { baseDir: dirs.at(-1)! })
    try {
      const lines = await db
        .selectFrom('batch_lines')
        .selectAll()
        .where('status', '=', 'done')
        .execute()
      const ids = lines.map((l) => l['request_id'] as string)
      const rows = await db.selectFrom('requests').selectAll().where('id', 'in', ids).execute()
      expect(rows).toHaveLength(5)
      for (const r of rows) {
        expect(r['service']).toBe('chat')
        expect(r['tenant']).toBe('acme')
        expect(r['status']).toBe(200)
        const l = lines.find((x) => x['request_id'] === r['id'])!
        // the line records the gateway's figure (its header, rounded to 6 significant digits)
        const ledgerCarbon = r['carbon_g'] as number
        expect(Math.abs((l['carbon_g'] as number) - ledgerCarbon) / ledgerCarbon).toBeLessThan(1e-5)
        expect(Math.floor((l['deferred_from_ms'] as number) / 1000)).toBe(created.created_at)
        expect(l['ran_at_ms'] as number).toBeGreaterThanOrEqual(l['deferred_from_ms'] as number)
      }
    } finally {
      await db.destroy()
    }
  })

  it('rejects oversize files (413), wrong purpose, unknown ids, other tenants; honours cancel between lines', async (ctx) => {
    const ledger = await ledgerUrl()
    if (ledger === undefined) return ctx.skip()
    const { live, client, stub } = await start({
      ledger,
      batch: [
        'max_file_bytes: 4000',
        'max_concurrent_lines: 1',
        'clock_speed: 36000',
        `clock_anchor_ms: ${Date.now()}`,
      ],
      delayMs: 40,
    })
    const big = Array.from({ length: 60 }, (_, i) => line(i)).join('\n')
    expect(Buffer.byteLength(big)).toBeGreaterThan(4000)
    const tooBig = await client.files
      .create({ file: await toFile(Buffer.from(big), 'big.jsonl'), purpose: 'batch' })
      .catch((e: unknown) => e)
    expect(tooBig).toBeInstanceOf(OpenAI.APIError)
    expect((tooBig as InstanceType<typeof OpenAI.APIError>).status).toBe(413)
    expect((tooBig as InstanceType<typeof OpenAI.APIError>).code).toBe('WL_REQUEST_TOO_LARGE')
    expect((tooBig as Error).message).toMatch(/batch\.max_file_bytes/)

    const wrong = await client.files
      .create({ file: await toFile(Buffer.from(line(1)), 'x.jsonl'), purpose: 'fine-tune' })
      .catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>)
    expect(wrong).toMatchObject({ status: 400, code: 'WL_INVALID_INPUT', param: 'purpose' })

    const missing = await client.batches.retrieve('batch_nope').catch((e: unknown) => e)
    expect(missing).toMatchObject({ status: 404, code: 'WL_NOT_FOUND' })
    const anon = new OpenAI({ baseURL: `${live.url}/v1`, apiKey: 'wrong', maxRetries: 0 })
    expect(await anon.batches.retrieve('batch_x').catch((e: unknown) => e)).toMatchObject({
      status: 401,
      code: 'WL_UNAUTHORIZED',
    })
    const badWindow = await client.batches
      .create({
        input_file_id: 'file-x',
        endpoint: '/v1/chat/completions',
        completion_window: '1 day' as '24h',
      })
      .catch((e: unknown) => e)
    expect(badWindow).toMatchObject({ status: 400, param: 'completion_window' })

    const lines = Array.from({ length: 20 }, (_, i) => line(i)).join('\n')
    const file = await client.files.create({
      file: await toFile(Buffer.from(lines), 'in.jsonl'),
      purpose: 'batch',
    })
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    })
    await until('two lines answered', async () => (stub.received.length >= 2 ? true : undefined))
    const cancelling = await client.batches.cancel(batch.id)
    expect(['cancelling', 'cancelled']).toContain(cancelling.status)
    const cancelled = await until('batch cancelled', async () => {
      const b = await client.batches.retrieve(batch.id)
      return b.status === 'cancelled' ? b : undefined
    })
    const sent = stub.received.length
    expect(sent).toBeLessThan(20)
    expect(cancelled.request_counts!.completed).toBe(sent)
    expect(cancelled.request_counts!.failed).toBe(20 - sent)
    const errs = (await (await client.files.content(cancelled.error_file_id!)).text())
      .trim()
      .split('\n')
    expect(errs).toHaveLength(20 - sent)
    expect(JSON.parse(errs[0]!).error.code).toBe('batch_cancelled')
    // nothing more is sent after the cancel took effect
    await new Promise((r) => setTimeout(r, 200))
    expect(stub.received.length).toBe(sent)
  })
})

describe('Batch API with two gateways on one PostgreSQL', () => {
  it('one scheduler (the lease holder) runs the batch; both gateways serve it; every line runs once', async (ctx) => {
    const ledger = await pg?.next()
    if (ledger === undefined) return ctx.skip()
    const speed = ['clock_speed: 36000', `clock_anchor_ms: ${Date.now()}`]
    const a = await start({ ledger, batch: speed, delayMs: 5 })
    const b = await start({ ledger, batch: speed, delayMs: 5 })
    const file = await a.client.files.create({
      file: await toFile(
        Buffer.from(Array.from({ length: 30 }, (_, i) => line(i)).join('\n')),
        'in.jsonl',
      ),
      purpose: 'batch',
    })
    // created through B from A's upload: the state is the database's, not a gateway's
    const batch = await b.client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    })
    const done = await until('batch completed', async () => {
      const x = await a.client.batches.retrieve(batch.id)
      return x.status === 'completed' ? x : undefined
    })
    expect(done.request_counts).toEqual({ total: 30, completed: 30, failed: 0 })
    const sent = [a.stub.received.length, b.stub.received.length].sort((x, y) => x - y)
    expect(sent).toEqual([0, 30]) // one scheduler ran every line, each once
    const out = (await (await b.client.files.content(done.output_file_id!)).text())
      .trim()
      .split('\n')
    expect(new Set(out.map((l) => (JSON.parse(l) as OutputLine).custom_id)).size).toBe(30)
  })
})

describe('Batch expiry', () => {
  it('expires a batch whose window ends first: done lines in the output, the rest batch_expired in the error file', async () => {
    // grid time 36,000×: a 1 h window lasts 0.1 s; 30 lines of 40 ms one at a time cannot fit
    const { client } = await start({
      ledger: 'sqlite:./ledger.db',
      batch: ['max_concurrent_lines: 1', 'clock_speed: 36000', `clock_anchor_ms: ${Date.now()}`],
      delayMs: 40,
    })
    const file = await client.files.create({
      file: await toFile(
        Buffer.from(Array.from({ length: 30 }, (_, i) => line(i)).join('\n')),
        'in.jsonl',
      ),
      purpose: 'batch',
    })
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '1h' as '24h', // the client's type knows only 24h; it sends any string
    })
    const expired = await until('batch expired', async () => {
      const b = await client.batches.retrieve(batch.id)
      return b.status === 'expired' ? b : undefined
    })
    const counts = expired.request_counts!
    expect(counts.total).toBe(30)
    expect(counts.completed).toBeLessThan(30)
    expect(counts.completed + counts.failed).toBe(30)
    expect(expired.expired_at).not.toBeNull()
    const errs = (await (await client.files.content(expired.error_file_id!)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ErrorLine)
    expect(errs).toHaveLength(counts.failed)
    expect(errs.every((e) => e.error.code === 'batch_expired')).toBe(true)
    expect(errs.every((e) => e.error.message.startsWith('batch_expired'))).toBe(true)
    if (counts.completed > 0) {
      const out = (await (await client.files.content(expired.output_file_id!)).text())
        .trim()
        .split('\n')
      expect(out).toHaveLength(counts.completed)
    }
  })
})

describe('Batch throttle', () => {
  it('keeps batch lines within their share of backend capacity while interactive requests are served', async () => {
    const { live, client, stub } = await start({
      ledger: 'sqlite:./ledger.db',
      // capacity 8, batch share 0.5: at most 4 batch lines in flight
      backend: ['max_concurrency: 8'],
      batch: [
        'max_concurrent_lines: 16',
        'max_capacity_share: 0.5',
        'clock_speed: 36000',
        `clock_anchor_ms: ${Date.now()}`,
      ],
      delayMs: 40,
    })
    // batch lines in flight at the backend, counted as they arrive and as their answers leave
    let batchNow = 0
    let batchMax = 0
    const original = stub.received.push.bind(stub.received)
    stub.received.push = (...items) => {
      for (const r of items) {
        const content = (r.body['messages'] as { content: string }[])[0]!.content
        if (content.startsWith('line ')) {
          batchNow++
          batchMax = Math.max(batchMax, batchNow)
          // the stub answers after delayMs (40 ms); count the line out a little before that
          setTimeout(() => batchNow--, 35)
        }
      }
      return original(...items)
    }
    const file = await client.files.create({
      file: await toFile(
        Buffer.from(Array.from({ length: 60 }, (_, i) => line(i)).join('\n')),
        'in.jsonl',
      ),
      purpose: 'batch',
    })
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    })
    // interactive load alongside: 4 clients in a loop until the batch is done
    let finished = false
    let answered = 0
    const worker = async (): Promise<void> => {
      while (!finished) {
        await client.chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: 'interactive' }],
        })
        answered++
      }
    }
    const workers = Array.from({ length: 4 }, worker)
    let done
    try {
      done = await until('batch completed', async () => {
        const b = await client.batches.retrieve(batch.id)
        return b.status === 'completed' ? b : undefined
      })
    } finally {
      finished = true
    }
    await Promise.all(workers) // every interactive request answered 200 (a refusal would throw)
    expect(answered).toBeGreaterThan(4)
    expect(done.request_counts).toEqual({ total: 60, completed: 60, failed: 0 })
    expect(batchMax).toBeGreaterThan(1)
    expect(batchMax).toBeLessThanOrEqual(4)
    expect(live.gateway.inflight()).toBe(0)
  })
})

describe('Batch scheduler (time-compressed clock, seasonal forecast from a CSV source)', () => {
  it('defers a batch to the clean hour the history predicts, records deferred_from/ran_at and the carbon saved', async () => {
    // grid time runs 3,600× (an hour per second) from the anchor = now
    const anchor = Date.now()
    const speed = 3600
    const S = anchor
    const cleanHour = (new Date(S).getUTCHours() + 3) % 24
    const rows = ['zone,datetime,intensity_g_per_kwh']
    for (let t = Math.floor(S / HOUR) * HOUR - 9 * 24 * HOUR; t < S + 3 * 24 * HOUR; t += HOUR) {
      const v = new Date(t).getUTCHours() === cleanHour ? 40 : 400
      rows.push(`DE,${new Date(t).toISOString()},${v}`)
    }
    const dirCsv = mkdtempSync(join(tmpdir(), 'wl-batch-csv-'))
    dirs.push(dirCsv)
    writeFileSync(join(dirCsv, 'de.csv'), `${rows.join('\n')}\n`)
    const { client } = await start({
      ledger: 'sqlite:./ledger.db',
      carbon: ['carbon:', `  sources: [{ type: csv, path: ${join(dirCsv, 'de.csv')} }]`],
      batch: [`clock_speed: ${speed}`, `clock_anchor_ms: ${anchor}`, 'estimated_line_ms: 5'],
    })
    const file = await client.files.create({
      file: await toFile(Buffer.from([1, 2, 3, 4].map((i) => line(i)).join('\n')), 'in.jsonl'),
      purpose: 'batch',
    })
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    })
    const planned = await client.batches.retrieve(batch.id)
    const done = await until('batch completed', async () => {
      const b = await client.batches.retrieve(batch.id)
      return b.status === 'completed' ? b : undefined
    })
    const plan = (
      planned as unknown as {
        wattline: {
          plan: { slots: { start: string }[]; forecast_basis: Record<string, string> } | null
        }
      }
    ).wattline.plan
    if (plan !== null) {
      expect(new Date(plan.slots[0]!.start).getUTCHours()).toBe(cleanHour)
      expect(plan.forecast_basis['DE']).toBe('seasonal-naive-7d')
    }
    const out = (await (await client.files.content(done.output_file_id!)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as OutputLine)
    expect(out).toHaveLength(4)
    const cleanStart =
      Math.floor(S / HOUR) * HOUR + ((cleanHour - new Date(S).getUTCHours() + 24) % 24) * HOUR
    for (const o of out) {
      const ran = Date.parse(o.wattline.ran_at)
      // never before the clean hour, and within the window
      expect(ran).toBeGreaterThanOrEqual(cleanStart)
      expect(ran).toBeLessThan(S + 24 * HOUR)
      expect(Date.parse(o.wattline.deferred_from)).toBeLessThan(cleanStart)
      expect(o.wattline.carbon_saved_basis).toBe('estimated-counterfactual')
      // ran at 40 g/kWh instead of 400: saved = 9 × the carbon charged (within rounding)
      if (ran < cleanStart + HOUR) {
        expect(o.wattline.carbon_saved_g).toBeCloseTo(9 * o.wattline.carbon_g, 6)
      }
    }
    expect(out.some((o) => Date.parse(o.wattline.ran_at) < cleanStart + HOUR)).toBe(true)
    const saved = (done as unknown as { wattline: { carbon_saved_g: number } }).wattline
      .carbon_saved_g
    expect(saved).toBeGreaterThan(0)
  })
})
