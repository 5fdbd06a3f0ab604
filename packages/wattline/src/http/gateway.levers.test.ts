/**
 * Prefix-affinity routing and occupancy shaping in the live gateway (issue 11, levers 2 and 3):
 * the official OpenAI client against the gateway, simulated model servers on loopback that hold
 * each answer until the test releases it (so in-flight counts are exact), round-robin as the
 * policy the levers act on.
 */
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { decodeLeverSavings, type LeverEnergySaving, type RequestRecord } from '@wattline/core'
import OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import { parseConfigText } from '../config/load-config.ts'
import { startGateway, TEST_CATALOG, type Harness } from './harness.test-support.ts'
import { gatewayLiveState } from './live-state.ts'
import { promptBlocks } from './prompt-blocks.ts'

const MODEL = 'llama-3.1-8b-instruct'

/** A simulated model server: answers at once, or holds answers until `release()`. */
interface SimServer {
  readonly url: string
  /** Prompts (the last user message) in arrival order. */
  readonly seen: string[]
  hold: boolean
  readonly held: ServerResponse[]
  release(): void
  close(): Promise<void>
}

async function startSim(): Promise<SimServer> {
  const answer = (res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(
      JSON.stringify({
        id: 'sim',
        object: 'chat.completion',
        created: 1,
        model: MODEL,
        choices: [
          { index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' },
        ],
        usage: { prompt_tokens: 1500, completion_tokens: 40, total_tokens: 1540 },
      }),
    )
  }
  const sim: SimServer = {
    url: '',
    seen: [],
    hold: false,
    held: [],
    release() {
      for (const res of sim.held.splice(0)) answer(res)
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
  const server: Server = createServer((req, res) => {
    let raw = ''
    req.on('data', (c: Buffer) => (raw += c.toString()))
    req.on('end', () => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end('{"object":"list","data":[]}')
        return
      }
      const body = JSON.parse(raw) as { messages: { content: string }[] }
      sim.seen.push(body.messages.at(-1)?.content ?? '')
      // Answers take a few ms (an instant answer is accounted 0 J at the clock's resolution).
      if (sim.hold) sim.held.push(res)
      else setTimeout(() => answer(res), 3)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  ;(sim as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
  return sim
}

const open: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c()
})

async function fleet(
  n: number,
  service: Record<string, unknown>,
  maxConcurrency = 2,
): Promise<{
  gw: Harness
  sims: SimServer[]
  client: OpenAI
  /** Calls still running when a test ends (a failed assertion) are settled before closing. */
  track: <T>(calls: Promise<T>[]) => Promise<T>[]
}> {
  const sims = await Promise.all(Array.from({ length: n }, () => startSim()))
  const gw = await startGateway(
    {
      gateway: { health: { interval_ms: 600_000 } },
      services: [{ name: 'chat', default: true, routing: 'round-robin', ...service }],
      backends: sims.map((s, j) => ({
        id: `b${j}`,
        url: s.url,
        zone: 'FR',
        hardware: 'H100-SXM',
        models: [MODEL],
        max_concurrency: maxConcurrency,
      })),
    },
    { FR: 50 },
  )
  const running: Promise<unknown>[] = []
  open.push(async () => {
    for (const s of sims) s.hold = false
    for (const s of sims) s.release()
    await Promise.allSettled(running)
    await gw.close()
    await Promise.all(sims.map((s) => s.close()))
  })
  const client = new OpenAI({ baseURL: gw.baseUrl, apiKey: 'sk-local', maxRetries: 0 })
  const track = <T>(calls: Promise<T>[]): Promise<T>[] => {
    running.push(...calls)
    return calls
  }
  return { gw, sims, client, track }
}

/** A conversation with a long shared system prompt: each turn repeats the previous ones. */
function conversation(name: string): {
  turn(i: number): OpenAI.Chat.Completions.ChatCompletionMessageParam[]
} {
  const system = `You are ${name}'s assistant. ` + `${name} policy text. `.repeat(300)
  return {
    turn(i) {
      const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
        { role: 'system', content: system },
      ]
      for (let k = 0; k < i; k++) {
        messages.push({ role: 'user', content: `${name} question ${k} ${'detail '.repeat(200)}` })
        messages.push({ role: 'assistant', content: `${name} answer ${k} ${'words '.repeat(200)}` })
      }
      messages.push({ role: 'user', content: `${name} turn ${i}` })
      return messages
    },
  }
}

const requestRows = (gw: Harness): RequestRecord[] =>
  gw.ledger.records.filter((r): r is RequestRecord => r.kind === 'request')

const savingsOf = (rows: readonly RequestRecord[], lever: string): LeverEnergySaving[] =>
  rows.flatMap((r) =>
    r.levers === undefined ? [] : decodeLeverSavings(r.levers).filter((s) => s.lever === lever),
  )

async function metricValue(
  gw: Harness,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const m = await gw.metrics.registry.getSingleMetric(name)?.get()
  return m?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value
}

/** Waits until the servers together received `n` requests (event-driven enough: 5 ms polls). */
async function receivedAll(sims: readonly SimServer[], n: number): Promise<void> {
  const deadline = Date.now() + 15_000
  while (sims.reduce((t, s) => t + s.seen.length, 0) < n) {
    if (Date.now() > deadline) throw new Error('requests did not arrive')
    await new Promise((r) => setTimeout(r, 5))
  }
}

const PREFIX = { levers: { prefix_affinity: { enabled: true } } }

describe('prefix-affinity routing', () => {
  it("keeps a conversation's turns on the backend that served it, where round-robin would alternate", async () => {
    const { gw, sims, client } = await fleet(2, PREFIX)
    const a = conversation('ada')
    for (let i = 0; i < 5; i++) {
      await client.chat.completions.create({ model: MODEL, messages: a.turn(i), max_tokens: 40 })
    }
    expect(sims[0]!.seen).toEqual([0, 1, 2, 3, 4].map((i) => `ada turn ${i}`))
    expect(sims[1]!.seen).toEqual([])
    // Round-robin chose b1 for turns 1 and 3: the lever moved them, and says what it saved.
    const rows = requestRows(gw)
    const prefix = savingsOf(rows, 'prefix')
    expect(prefix.length).toBe(2)
    for (const s of prefix) {
      expect(s.basis).toBe('estimated-counterfactual')
      expect(s.energy_saved_j).toBeGreaterThan(0)
      expect(s.energy_saved_low_j).toBeLessThan(s.energy_saved_j)
      expect(s.energy_saved_high_j).toBeGreaterThan(s.energy_saved_j)
      expect(s.carbon_saved_g).toBeGreaterThan(0)
    }
    // Rows the lever did not move carry no `levers` field at all.
    expect(rows.filter((r) => r.levers === undefined).length).toBe(3)
    expect('levers' in rows[0]!).toBe(false)
    const total = prefix.reduce((t, s) => t + s.energy_saved_j, 0)
    const metric = await metricValue(gw, 'wattline_energy_saved_joules_total', {
      lever: 'prefix',
      service: 'chat',
    })
    expect(metric).toBeCloseTo(total, 9)
    expect(
      await metricValue(gw, 'wattline_carbon_saved_grams_total', { lever: 'prefix' }),
    ).toBeGreaterThan(0)
  })

  it('sends two conversations to different backends, each staying on its own', async () => {
    const { sims, client } = await fleet(2, PREFIX)
    const a = conversation('ada')
    const b = conversation('bob')
    const ask = (c: typeof a, i: number) =>
      client.chat.completions.create({ model: MODEL, messages: c.turn(i) })
    // Round-robin: a0 → b0, b0 → b1; then the policy alternates regardless of who asks.
    await ask(a, 0)
    await ask(b, 0)
    for (let i = 1; i < 4; i++) {
      await ask(b, i)
      await ask(a, i)
    }
    expect(sims[0]!.seen.every((p) => p.startsWith('ada'))).toBe(true)
    expect(sims[1]!.seen.every((p) => p.startsWith('bob'))).toBe(true)
    expect(sims[0]!.seen.length).toBe(4)
    expect(sims[1]!.seen.length).toBe(4)
  })

  it('spills to another backend once the one holding the prefix is full', async () => {
    const { gw, sims, client, track } = await fleet(2, PREFIX, 2)
    const a = conversation('ada')
    await client.chat.completions.create({ model: MODEL, messages: a.turn(0) })
    expect(sims[0]!.seen.length).toBe(1)
    for (const s of sims) s.hold = true
    // Three concurrent next turns: two fill b0 (max_concurrency 2), the third goes elsewhere.
    const turns = track(
      [1, 2, 3].map((i) =>
        client.chat.completions.create({ model: MODEL, messages: a.turn(1), user: `u${i}` }),
      ),
    )
    await receivedAll(sims, 4)
    expect(sims[0]!.held.length).toBe(2)
    expect(sims[1]!.held.length).toBe(1)
    for (const s of sims) s.release()
    await Promise.all(turns)
    expect(requestRows(gw).length).toBe(4)
  })

  it('composes with carbon-aware routing: affinity accepts a zone up to max_carbon_penalty_pct dirtier', async () => {
    const run = async (penaltyPct: number): Promise<string[]> => {
      const sims = await Promise.all([startSim(), startSim()])
      const intensities: Record<string, number> = { FR: 100, DE: 60 }
      const gw = await startGateway(
        {
          gateway: { health: { interval_ms: 600_000 } },
          services: [
            {
              name: 'chat',
              default: true,
              routing: 'carbon-aware',
              carbon_tolerance_pct: 0,
              levers: {
                prefix_affinity: { enabled: true, max_carbon_penalty_pct: penaltyPct },
              },
            },
          ],
          backends: sims.map((s, j) => ({
            id: j === 0 ? 'paris' : 'frankfurt',
            url: s.url,
            zone: j === 0 ? 'FR' : 'DE',
            hardware: 'H100-SXM',
            models: [MODEL],
          })),
        },
        intensities,
      )
      open.push(async () => {
        await gw.close()
        await Promise.all(sims.map((s) => s.close()))
      })
      const client = new OpenAI({ baseURL: gw.baseUrl, apiKey: 'sk-local', maxRetries: 0 })
      const a = conversation('ada')
      const served: string[] = []
      // Turn 0 in the cleaner Frankfurt; then Frankfurt gets 15 %, then 50 % dirtier than Paris.
      for (const [i, de] of [60, 115, 150].entries()) {
        intensities['DE'] = de
        await gw.intensity.refresh()
        await client.chat.completions.create({ model: MODEL, messages: a.turn(i) })
        served.push(requestRows(gw).at(-1)!.backend)
      }
      return served
    }
    // Weight 20 %: the cached prefix beats a zone 15 % greener, not one 50 % greener.
    expect(await run(20)).toEqual(['frankfurt', 'frankfurt', 'paris'])
    // Weight 0: carbon-aware routing wins every time.
    expect(await run(0)).toEqual(['frankfurt', 'paris', 'paris'])
  })

  it('does not move a request when the prefix cache is off (control)', async () => {
    const { sims, client } = await fleet(2, {})
    const a = conversation('ada')
    for (let i = 0; i < 4; i++)
      await client.chat.completions.create({ model: MODEL, messages: a.turn(i) })
    expect(sims[0]!.seen.length).toBe(2)
    expect(sims[1]!.seen.length).toBe(2)
  })

  it('identifies prefixes by chained blocks: a next turn shares the leading ones', () => {
    const a = conversation('ada')
    const t1 = promptBlocks(a.turn(1), MODEL, 2048)
    const t2 = promptBlocks(a.turn(2), MODEL, 2048)
    const other = promptBlocks(conversation('bob').turn(1), MODEL, 2048)
    const otherModel = promptBlocks(a.turn(1), 'llama-3.2-1b-instruct', 2048)
    expect(t1.blocks.length).toBeGreaterThan(2)
    expect(t2.blocks.slice(0, t1.blocks.length - 1)).toEqual(t1.blocks.slice(0, -1))
    expect(other.blocks[0]).not.toBe(t1.blocks[0])
    expect(otherModel.blocks[0]).not.toBe(t1.blocks[0])
    // A change in the first block changes every later id (the chain covers the whole prefix).
    const edited = a
      .turn(1)
      .map((m, i) => (i === 0 ? { ...m, content: `X${m.content as string}` } : m))
    const e = promptBlocks(edited, MODEL, 2048)
    expect(e.blocks.some((id, i) => id === t1.blocks[i])).toBe(false)
  })
})

describe('occupancy shaping', () => {
  it('fills one backend toward its target before waking the next (round-robin would spread)', async () => {
    const run = async (levers: Record<string, unknown>): Promise<number[]> => {
      const { gw, sims, client, track } = await fleet(3, levers, 4)
      for (const s of sims) s.hold = true
      const calls = track(
        Array.from({ length: 6 }, (_, i) =>
          client.chat.completions.create({
            model: MODEL,
            messages: [{ role: 'user', content: `q${i}` }],
            max_tokens: 40,
          }),
        ),
      )
      await receivedAll(sims, 6)
      const counts = sims.map((s) => s.held.length)
      // The dashboard's live backends (GET /api/backends) carry the target beside the occupancy.
      expect(
        gatewayLiveState(gw.gateway, gw.intensity)
          .backends()
          .map((b) => b.occupancy_target),
      ).toEqual('levers' in levers ? [3, 3, 3] : [undefined, undefined, undefined])
      if ('levers' in levers) {
        for (let j = 0; j < 3; j++) {
          expect(
            await metricValue(gw, 'wattline_backend_occupancy_target', { backend: `b${j}` }),
          ).toBe(3)
          expect(await metricValue(gw, 'wattline_backend_occupancy', { backend: `b${j}` })).toBe(
            counts[j],
          )
        }
      }
      for (const s of sims) s.release()
      await Promise.all(calls)
      if ('levers' in levers) {
        const saved = savingsOf(requestRows(gw), 'occupancy')
        expect(saved.length).toBeGreaterThan(0)
        for (const s of saved) {
          expect(s.energy_saved_j).toBeGreaterThan(0)
          expect(s.basis).toBe('estimated-counterfactual')
        }
        expect(
          await metricValue(gw, 'wattline_energy_saved_joules_total', { lever: 'occupancy' }),
        ).toBeCloseTo(
          saved.reduce((t, s) => t + s.energy_saved_j, 0),
          9,
        )
      }
      return counts
    }
    expect(await run({})).toEqual([2, 2, 2])
    const shaped = await run({ levers: { occupancy: { enabled: true, target: 3 } } })
    expect([...shaped].sort()).toEqual([0, 3, 3])
  })

  it("sets an auto target from the profile and the service's p95 objective", async () => {
    const tight = await fleet(
      1,
      { slo: { p95_latency_ms: 1_500 }, levers: { occupancy: { enabled: true } } },
      64,
    )
    await tight.client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'hello' }],
      max_tokens: 100,
    })
    // Test profile: 10 ms/token at batch 1 to 25 at 64; 100 tokens within 1.5 s allows batch ≤ 21.
    const t = await metricValue(tight.gw, 'wattline_backend_occupancy_target', { backend: 'b0' })
    expect(t).toBeGreaterThan(1)
    expect(t).toBeLessThan(64)
    const loose = await fleet(1, { levers: { occupancy: { enabled: true } } }, 64)
    await loose.client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'hello' }],
      max_tokens: 100,
    })
    expect(
      await metricValue(loose.gw, 'wattline_backend_occupancy_target', { backend: 'b0' }),
    ).toBe(64)
  })
})

describe('lever configuration', () => {
  const load = (levers: string): unknown => {
    const text = [
      'services:',
      '  - name: chat',
      '    default: true',
      '    levers:',
      levers,
      'backends:',
      `  - { id: a, url: "http://127.0.0.1:1/v1", zone: FR, hardware: H100-SXM, models: [${MODEL}] }`,
      '',
    ].join('\n')
    try {
      parseConfigText(text, 'wattline.yaml', { env: {}, catalog: TEST_CATALOG })
    } catch (e) {
      return e
    }
    return undefined
  }

  it('refuses malformed lever settings at load with WL_CONFIG_INVALID naming the field', () => {
    const e1 = load('      prefix_affinity: { enabled: true, block_chars: 10 }') as Error & {
      code: string
    }
    expect(e1.code).toBe('WL_CONFIG_INVALID')
    expect(e1.message).toMatch(/wattline\.yaml:5\b.*block_chars/s)
    const e2 = load('      occupancy: { enabled: true, target: most }') as Error & { code: string }
    expect(e2.code).toBe('WL_CONFIG_INVALID')
    expect(e2.message).toMatch(/occupancy\.target/)
    const e3 = load('      prefix_affinity: { weight: 2 }') as Error & { code: string }
    expect(e3.code).toBe('WL_CONFIG_INVALID')
    expect(e3.message).toMatch(/weight/)
    expect(load('      occupancy: { enabled: true, target: 8 }')).toBeUndefined()
  })
})
