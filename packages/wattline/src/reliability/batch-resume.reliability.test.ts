/**
 * Batch API crash safety with real processes: a gateway (`wattline serve`, its own process) runs a
 * batch submitted with the official `openai` client against a simulated backend (the harness stub,
 * on loopback); the test kills the gateway with SIGKILL mid-batch, starts a new one on the same
 * ledger database, and checks that every line completes exactly once in the output file, that no
 * line already recorded done reaches the backend again, and that only lines in flight at the kill
 * (at most `max_concurrent_lines`) were sent twice. SQLite always; PostgreSQL with PG_URL.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import OpenAI, { toFile } from 'openai'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { openDatabase } from '../adapters/storage/open-database.ts'
import { createPgSchemas } from '../adapters/storage/pg-test-database.ts'
import { startStub, type StubBackend } from '../http/harness.test-support.ts'
import { atScale } from './scale.test-support.ts'

const MODEL = 'llama-3.1-8b-instruct'
const KEY = 'sk-batch-resume-1'
const HOUR = 3_600_000
const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'wattline.mjs')
const LINES = atScale(600, 120)
const CONCURRENCY = 4

const children: ChildProcess[] = []
const stubs: StubBackend[] = []
const dirs: string[] = []
const pgUrl = process.env['PG_URL']
const pg = pgUrl === undefined ? undefined : createPgSchemas(pgUrl)
if (pgUrl === undefined) console.warn('batch-resume: PG_URL unset, PostgreSQL case skipped')

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL')
  for (const s of stubs.splice(0)) await s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
afterAll(async () => pg?.drop())

/** Starts `wattline serve` in its own process; resolves with its URL once it listens. */
function serve(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--config', 'wattline.yaml', '--port', '0'],
    {
      cwd: dir,
      env: { ...process.env, BATCH_KEY: KEY },
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
        resolve({ child, url: m[1]! })
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`gateway exited (${String(code)}): ${err}`))
    })
  })
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await f().catch(() => undefined)
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const databases: [string, () => Promise<string | undefined>][] = [
  ['SQLite', async () => 'sqlite:./ledger.db'],
  ['PostgreSQL', async () => pg?.next()],
]

describe.each(databases)('batch resume after kill -9 (%s)', (_name, ledgerUrl) => {
  it(`completes all ${LINES} lines exactly once across a SIGKILL and a restart`, async (ctx) => {
    const ledger = await ledgerUrl()
    if (ledger === undefined) return ctx.skip()
    const stub = await startStub({ model: MODEL, delayMs: 15 })
    stubs.push(stub)
    const dir = mkdtempSync(join(tmpdir(), 'wl-batch-resume-'))
    dirs.push(dir)
    // flat intensity: the plan is "run now", so the test measures resumption, not deferral
    const rows = ['zone,datetime,intensity_g_per_kwh']
    const now = Math.floor(Date.now() / HOUR) * HOUR
    for (let t = now - 10 * 24 * HOUR; t < now + 3 * 24 * HOUR; t += HOUR)
      rows.push(`DE,${new Date(t).toISOString()},300`)
    writeFileSync(join(dir, 'de.csv'), `${rows.join('\n')}\n`)
    writeFileSync(
      join(dir, 'wattline.yaml'),
      [
        'gateway:',
        '  host: 127.0.0.1',
        '  log_level: warn',
        '  intensity_refresh_ms: 100',
        'carbon:',
        '  sources: [{ type: csv, path: ./de.csv }]',
        'ledger:',
        `  url: "${ledger}"`,
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
        '    max_concurrency: 16',
        'batch:',
        '  tick_ms: 20',
        `  max_concurrent_lines: ${CONCURRENCY}`,
        // a killed holder's lease expires quickly so the restarted gateway takes over
        '  lease_ms: 1000',
        '',
      ].join('\n'),
    )
    const first = await serve(dir)
    const client = (url: string): OpenAI =>
      new OpenAI({ baseURL: `${url}/v1`, apiKey: KEY, maxRetries: 0 })
    const jsonl = Array.from({ length: LINES }, (_, i) =>
      JSON.stringify({
        custom_id: `line-${i}`,
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: MODEL, messages: [{ role: 'user', content: `line-${i}` }] },
      }),
    ).join('\n')
    const file = await client(first.url).files.create({
      file: await toFile(Buffer.from(jsonl), 'in.jsonl'),
      purpose: 'batch',
    })
    const batch = await client(first.url).batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    })
    // kill -9 once about a third of the lines are done
    await until(
      'a third of the lines done',
      async () => {
        const b = await client(first.url).batches.retrieve(batch.id)
        return b.request_counts!.completed >= LINES / 3 ? true : undefined
      },
      30_000,
    )
    first.child.kill('SIGKILL')
    await new Promise((r) => first.child.once('exit', r))
    const { db } = await openDatabase(ledger, { baseDir: dir })
    let doneAtKill: Set<string>
    try {
      const rows = await db
        .selectFrom('batch_lines')
        .select(['custom_id', 'status'])
        .where('batch_id', '=', batch.id)
        .execute()
      doneAtKill = new Set(
        rows.filter((r) => r['status'] === 'done').map((r) => r['custom_id'] as string),
      )
      expect(doneAtKill.size).toBeGreaterThanOrEqual(LINES / 3)
      expect(doneAtKill.size).toBeLessThan(LINES)
    } finally {
      await db.destroy()
    }
    const sentBeforeRestart = stub.received.length

    const second = await serve(dir)
    const done = await until(
      'batch completed after restart',
      async () => {
        const b = await client(second.url).batches.retrieve(batch.id)
        return b.status === 'completed' ? b : undefined
      },
      60_000,
    )
    expect(done.request_counts).toEqual({ total: LINES, completed: LINES, failed: 0 })
    const out = (await (await client(second.url).files.content(done.output_file_id!)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { custom_id: string; response: { status_code: number } })
    expect(out).toHaveLength(LINES)
    expect(new Set(out.map((o) => o.custom_id)).size).toBe(LINES)
    expect(out.every((o) => o.response.status_code === 200)).toBe(true)
    expect(done.error_file_id).toBeNull()
    // backend side: what each line cost
    const sends = new Map<string, number>()
    for (const r of stub.received) {
      const content = (r.body['messages'] as { content: string }[] | undefined)?.[0]?.content
      if (content !== undefined) sends.set(content, (sends.get(content) ?? 0) + 1)
    }
    expect(sends.size).toBe(LINES)
    // no line recorded done before the kill reached the backend again
    for (const id of doneAtKill) expect(sends.get(id)).toBe(1)
    // only lines in flight at the kill were sent twice
    const twice = [...sends.values()].filter((n) => n > 1).length
    console.log(
      `batch-resume (${_name}): ${LINES} lines, ${doneAtKill.size} done at SIGKILL, ${twice} in flight at the kill sent twice, output ${out.length} lines, ${new Set(out.map((o) => o.custom_id)).size} distinct`,
    )
    expect(twice).toBeLessThanOrEqual(CONCURRENCY)
    expect(stub.received.length).toBe(LINES + twice)
    expect(sentBeforeRestart).toBeGreaterThanOrEqual(doneAtKill.size)
    second.child.kill('SIGTERM')
    await new Promise((r) => second.child.once('exit', r))
  }, 120_000)
})
