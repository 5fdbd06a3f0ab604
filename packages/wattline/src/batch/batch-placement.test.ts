/**
 * Where batch lines run (docs/batch.md "How a batch is scheduled", step 4) and what their ledger
 * rows say they saved:
 * - the gateway's routing constraint (`DispatchInput.zones`) on the engine, against simulated
 *   backends (harness stubs): lines go to the placed zone whatever the service's routing policy,
 *   and to the next zone when the placed zone has no backend that can serve them;
 * - end to end (startLiveGateway, official client, SQLite ledger, time-compressed clock): two
 *   zones with different forecasts, the plan picks the greener zone's clean hour, every line's
 *   ledger row is in that zone and carries the time-shift saving equal to batch_lines'; with that
 *   zone's backend failing, every line still completes, in the other zone.
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeLeverSavings } from '@wattline/core'
import { sql } from 'kysely'
import OpenAI, { toFile } from 'openai'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { openDatabase } from '../adapters/storage/open-database.ts'
import { startLiveGateway, type LiveGateway } from '../compose/live.ts'
import { startGateway, startStub, type StubBackend } from '../http/harness.test-support.ts'

const MODEL = 'llama-3.1-8b-instruct'
const KEY = 'sk-batch-placement-1'
const HOUR = 3_600_000

const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

async function stubs(n: number): Promise<StubBackend[]> {
  const s = await Promise.all(Array.from({ length: n }, () => startStub({ model: MODEL })))
  cleanup.push(async () => {
    await Promise.all(s.map((x) => x.close()))
  })
  return s
}

describe('routing constraint: zones in preference order (gateway dispatch)', () => {
  async function engine(): Promise<{
    dispatchIn: (zones: readonly string[]) => Promise<{ zone: string; attempts: number }>
    paris: StubBackend
  }> {
    const [paris, frankfurt] = await stubs(2)
    const gw = await startGateway(
      {
        gateway: { health: { interval_ms: 60_000 }, max_attempts: 3 },
        // round-robin: without the constraint half of the requests would go to each zone
        services: [{ name: 'chat', default: true, routing: 'round-robin' }],
        backends: [
          { id: 'paris', url: paris!.url, zone: 'FR', hardware: 'H100-SXM', models: [MODEL] },
          {
            id: 'frankfurt',
            url: frankfurt!.url,
            zone: 'DE',
            hardware: 'H100-SXM',
            models: [MODEL],
          },
        ],
      },
      { FR: 40, DE: 400 },
    )
    cleanup.push(() => gw.close())
    const service = gw.config.services[0]!
    return {
      paris: paris!,
      dispatchIn: async (zones) => {
        const d = await gw.gateway.dispatch({
          service,
          model: MODEL,
          inputTokens: 10,
          outputTokens: 5,
          path: '/chat/completions',
          bodyFor: () => JSON.stringify({ model: MODEL, messages: [] }),
          headers: { 'content-type': 'application/json' },
          signal: new AbortController().signal,
          zones,
        })
        await d.response.body.text()
        gw.gateway.finish(d, {
          status: d.response.status,
          inputTokens: 10,
          outputTokens: 5,
          ttftMs: null,
          streamed: false,
          endpoint: '/v1/chat/completions',
          requestId: `r-${Math.random()}`,
          tenant: null,
          arrivedMs: Date.now(),
          errorCode: null,
          completed: true,
        })
        return { zone: d.backend.config.zone, attempts: d.attempts }
      },
    }
  }

  it('routes only to the first zone while it has a backend that serves', async () => {
    const { dispatchIn } = await engine()
    const zones: string[] = []
    for (let i = 0; i < 6; i++) zones.push((await dispatchIn(['DE', 'FR'])).zone)
    expect(zones).toEqual(['DE', 'DE', 'DE', 'DE', 'DE', 'DE'])
    const fr: string[] = []
    for (let i = 0; i < 6; i++) fr.push((await dispatchIn(['FR', 'DE'])).zone)
    expect(fr).toEqual(['FR', 'FR', 'FR', 'FR', 'FR', 'FR'])
  })

  it('moves to the next zone when the placed zone cannot serve; fails when no listed zone can', async () => {
    const { dispatchIn, paris } = await engine()
    paris.options.mode = '500'
    const d = await dispatchIn(['FR', 'DE'])
    expect(d).toEqual({ zone: 'DE', attempts: 2 }) // tried paris (500), then frankfurt
    expect(paris.received.length).toBe(1)
    await expect(dispatchIn(['FR'])).rejects.toMatchObject({ code: 'WL_UPSTREAM_UNAVAILABLE' })
  })
})

describe('Batch lines run in the planned zone; ledger rows carry the time-shift saving', () => {
  interface Setup {
    live: LiveGateway
    client: OpenAI
    paris: StubBackend
    frankfurt: StubBackend
    dir: string
    cleanStart: number
    anchor: number
  }

  /** `hashedKey`: the tenant is configured by `key_sha256` only (the gateway has no raw key). */
  async function start(
    options: { hashedKey?: boolean; breakerFailures?: number } = {},
  ): Promise<Setup> {
    const [paris, frankfurt] = await stubs(2)
    const dir = mkdtempSync(join(tmpdir(), 'wl-batch-placement-'))
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }))
    // grid time runs 3,600× (an hour per second) from the anchor = now; the clean hour is 4–5 s
    // away, so a slow start on a loaded box still submits before it
    const anchor = Date.now()
    const cleanHour = (new Date(anchor).getUTCHours() + 5) % 24
    // FR is greener than DE at every hour; both are cleanest at `cleanHour`
    const rows = ['zone,datetime,intensity_g_per_kwh']
    for (
      let t = Math.floor(anchor / HOUR) * HOUR - 9 * 24 * HOUR;
      t < anchor + 3 * 24 * HOUR;
      t += HOUR
    ) {
      const clean = new Date(t).getUTCHours() === cleanHour
      rows.push(`FR,${new Date(t).toISOString()},${clean ? 30 : 300}`)
      rows.push(`DE,${new Date(t).toISOString()},${clean ? 100 : 400}`)
    }
    writeFileSync(join(dir, 'grid.csv'), `${rows.join('\n')}\n`)
    writeFileSync(
      join(dir, 'wattline.yaml'),
      [
        'gateway:',
        '  log_level: silent',
        '  intensity_refresh_ms: 10',
        '  health: { interval_ms: 200 }',
        ...(options.breakerFailures === undefined
          ? []
          : [`  breaker: { failure_threshold: ${String(options.breakerFailures)} }`]),
        'carbon:',
        `  sources: [{ type: csv, path: ${join(dir, 'grid.csv')} }]`,
        'ledger:',
        '  url: "sqlite:./ledger.db"',
        'services:',
        '  - name: chat',
        '    default: true',
        // round-robin: routing alone would spread lines over both zones
        '    routing: round-robin',
        options.hashedKey === true
          ? `    api_keys: [{ tenant: acme, key_sha256: "${createHash('sha256').update(KEY).digest('hex')}" }]`
          : '    api_keys: [{ tenant: acme, key_env: BATCH_KEY }]',
        'backends:',
        '  - id: paris',
        `    url: ${paris!.url}`,
        '    zone: FR',
        '    hardware: H100-SXM',
        `    models: [${MODEL}]`,
        '  - id: frankfurt',
        `    url: ${frankfurt!.url}`,
        '    zone: DE',
        '    hardware: H100-SXM',
        `    models: [${MODEL}]`,
        'batch:',
        '  tick_ms: 25',
        '  clock_speed: 3600',
        `  clock_anchor_ms: ${anchor}`,
        '  estimated_line_ms: 5',
        '',
      ].join('\n'),
    )
    const live = await startLiveGateway({
      configPath: 'wattline.yaml',
      cwd: dir,
      env: options.hashedKey === true ? {} : { BATCH_KEY: KEY },
      host: '127.0.0.1',
      port: 0,
      logger: pino({ level: 'silent' }),
    })
    // close() is idempotent: the tests close first (to flush the ledger), cleanup again
    cleanup.push(() => live.close())
    const client = new OpenAI({ baseURL: `${live.url}/v1`, apiKey: KEY, maxRetries: 0 })
    const cleanStart =
      Math.floor(anchor / HOUR) * HOUR +
      ((cleanHour - new Date(anchor).getUTCHours() + 24) % 24) * HOUR
    return {
      live,
      client,
      paris: paris!,
      frankfurt: frankfurt!,
      dir,
      cleanStart,
      anchor,
    }
  }

  async function runBatch(client: OpenAI, n: number): Promise<string> {
    const jsonl = Array.from({ length: n }, (_, i) =>
      JSON.stringify({
        custom_id: `req-${i}`,
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: MODEL, messages: [{ role: 'user', content: `line ${i}` }] },
      }),
    ).join('\n')
    const file = await client.files.create({
      file: await toFile(Buffer.from(jsonl), 'in.jsonl'),
      purpose: 'batch',
    })
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    })
    const end = Date.now() + 30_000
    for (;;) {
      const b = await client.batches.retrieve(batch.id)
      if (b.status === 'completed') {
        expect(b.request_counts).toEqual({ total: n, completed: n, failed: 0 })
        return batch.id
      }
      if (Date.now() > end) throw new Error(`batch not completed: ${JSON.stringify(b)}`)
      await new Promise((r) => setTimeout(r, 25))
    }
  }

  interface LedgerLine {
    zone: string
    ran_at_ms: number
    carbon_saved_g: number
    levers: string | null
    ledger_zone: string
    intensity_g_per_kwh: number
  }

  async function ledgerLines(dir: string, batchId: string): Promise<LedgerLine[]> {
    const opened = await openDatabase('sqlite:./ledger.db', { baseDir: dir })
    try {
      const { rows } = await sql<LedgerLine>`
        select l.zone, l.ran_at_ms, l.carbon_saved_g, r.levers, r.zone as ledger_zone,
          r.intensity_g_per_kwh
        from batch_lines l join requests r on r.id = l.request_id
        where l.batch_id = ${batchId}`.execute(opened.db as never)
      return rows
    } finally {
      await opened.db.destroy()
    }
  }

  it('runs every line in the greener zone at its clean hour; each ledger row decodes to the time-shift saving batch_lines holds', async () => {
    const s = await start()
    const id = await runBatch(s.client, 8)
    const metrics = await (await fetch(`${s.live.url}/metrics`)).text()
    await s.live.close() // flushes the ledger
    const rows = await ledgerLines(s.dir, id)
    // the lines' savings are counted once each in the savings counter, lever time-shift
    const counted =
      /^wattline_carbon_saved_grams_total\{lever="time-shift",service="chat"\} (\S+)$/m.exec(
        metrics,
      )
    expect(counted).not.toBeNull()
    const positive = rows.reduce((sum, r) => sum + Math.max(0, r.carbon_saved_g), 0)
    expect(Number(counted![1]) / positive).toBeCloseTo(1, 9)
    expect(rows).toHaveLength(8)
    expect(s.frankfurt.received.filter((r) => r.path.includes('chat')).length).toBe(0)
    for (const r of rows) {
      expect(r.zone).toBe('FR')
      expect(r.ledger_zone).toBe('FR')
      expect(r.ran_at_ms).toBeGreaterThanOrEqual(s.cleanStart)
      expect(r.levers).not.toBeNull()
      const savings = decodeLeverSavings(r.levers!)
      expect(savings).toHaveLength(1)
      const [ts] = savings
      expect(ts).toMatchObject({
        lever: 'time-shift',
        energy_saved_j: 0,
        energy_saved_low_j: 0,
        energy_saved_high_j: 0,
        basis: 'estimated-counterfactual',
      })
      expect(ts!.carbon_saved_g).toBe(r.carbon_saved_g)
      // never dirtier than submission: FR at 30 (or 300 if the clean hour had begun) vs FR's 300
      expect(ts!.carbon_saved_g).toBeGreaterThanOrEqual(0)
    }
    expect(rows.some((r) => r.intensity_g_per_kwh === 30)).toBe(true)
    expect(rows.some((r) => r.carbon_saved_g > 0)).toBe(true)
  })

  it.each(['answers 500', 'is killed'] as const)(
    "fails over to the other zone when the planned zone's backend %s: no line lost",
    async (how) => {
      const s = await start()
      if (how === 'answers 500') s.paris.options.mode = '500'
      else s.paris.kill() // connections refused, health probes fail: its breaker opens
      const id = await runBatch(s.client, 8)
      await s.live.close()
      const rows = await ledgerLines(s.dir, id)
      expect(rows).toHaveLength(8)
      for (const r of rows) {
        expect(r.zone).toBe('DE')
        expect(r.ledger_zone).toBe('DE')
        // the line still saved (DE at its clean hour, 100, vs FR's 300 at submission)
        expect(r.carbon_saved_g).toBeGreaterThanOrEqual(0)
      }
      // answering 500: the planned zone was tried first, until its breaker opened
      if (how === 'answers 500') expect(s.paris.received.length).toBeGreaterThan(0)
    },
  )

  it('places no line on a backend whose last health probe failed, before its breaker opens', async () => {
    // A breaker that would take 1,000 failures to open: only the failed probe says paris is down.
    const s = await start({ breakerFailures: 1000 })
    s.paris.kill()
    const end = Date.now() + 15_000
    for (;;) {
      const ready = (await (await fetch(`${s.live.url}/readyz`)).json()) as {
        backends_up: string[]
      }
      if (!ready.backends_up.includes('paris')) break
      if (Date.now() > end) throw new Error('paris still counted up')
      await new Promise((r) => setTimeout(r, 25))
    }
    const id = await runBatch(s.client, 8)
    const metrics = await (await fetch(`${s.live.url}/metrics`)).text()
    await s.live.close()
    const rows = await ledgerLines(s.dir, id)
    expect(rows).toHaveLength(8)
    for (const r of rows) expect(r.zone).toBe('DE')
    // Placed in DE from the start: no attempt on paris failed and was retried elsewhere.
    expect(metrics).not.toMatch(
      /wattline_upstream_retries_total\{[^}]*backend="paris"[^}]*\} [1-9]/,
    )
  })

  it('runs the lines of a tenant configured by hashed key only, as that tenant', async () => {
    const { live, client, dir } = await start({ hashedKey: true })
    const batchId = await runBatch(client, 4)
    await live.close()
    const opened = await openDatabase('sqlite:./ledger.db', { baseDir: dir })
    try {
      const { rows } = await sql<{ tenant: string | null; status: number }>`
        select r.tenant, r.status from batch_lines l join requests r on r.id = l.request_id
        where l.batch_id = ${batchId}`.execute(opened.db as never)
      expect(rows).toHaveLength(4)
      for (const r of rows) expect(r).toEqual({ tenant: 'acme', status: 200 })
    } finally {
      await opened.db.destroy()
    }
  })
})
