/**
 * Decision equivalence, gateway vs replay (issue 13): the same request sequence on the same load
 * snapshots goes (1) through the real gateway — fastify on loopback, simulated model servers that
 * hold each answer until the test releases it, a virtual clock — and (2) through the replay's policy
 * chooser fed the same in-flight counts, intensities and time. For every routing policy each
 * decision must be the same data: kind, backend, reason and every score record bit for bit.
 *
 * The scenario (seeded) mixes two services (one restricted to two backends, one with an SLO that
 * the slower backends miss for long answers), two models (one served by two backends only),
 * weights, network round trips, intensity changes between requests (carbon-aware hysteresis), and
 * enough load that every backend fills and requests are refused (queue of size 0 → 429).
 *
 * With levers (issue 11), the `chat` service also runs prefix affinity and occupancy shaping: the
 * gateway from its config, the replay chooser with core's lever objects built as `replay --levers`
 * builds them, fed the same prompt blocks (`http/prompt-blocks.ts`), learnt when each answer is
 * released; a fifth backend shares Paris' zone so that occupancy shaping has a choice to make.
 *
 * What the replay does not model is kept out of the snapshot on purpose: the simulated servers
 * report usage that the energy profile fully explains, so the gateway's measured overhead stays 0
 * (the replay has none); the test checks that it did.
 */
import { testProfile } from '@wattline/core/test-profile'
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  createOccupancyLever,
  createPolicy,
  createPolicyChooser,
  createPrefixAffinityLever,
  createPrefixCacheTable,
  instant,
  ROUTING_POLICIES,
  seededRandom,
  VirtualClock,
  type EngineView,
  type RoutingDecision,
  type RoutingLever,
  type RoutingPolicyName,
} from '@wattline/core'
import { afterAll, describe, expect, it } from 'vitest'
import { startGateway } from '../http/harness.test-support.ts'
import { readRequest } from '../http/openai-request.ts'
import { promptBlocks } from '../http/prompt-blocks.ts'

const M1 = 'llama-3.1-8b-instruct'
const M2 = 'llama-3.2-1b-instruct'
const BACKENDS_BASE = [
  { id: 'paris', zone: 'FR', hardware: 'H100-SXM', models: [M1], weight: 1, rtt_ms: 4, pue: 1.1 },
  {
    id: 'frankfurt',
    zone: 'DE',
    hardware: 'A100-80GB',
    models: [M1],
    weight: 3,
    rtt_ms: 9,
    pue: 1.3,
  },
  {
    id: 'warsaw',
    zone: 'PL',
    hardware: 'H100-SXM',
    models: [M1, M2],
    weight: 0.5,
    rtt_ms: 17,
    pue: 1.2,
  },
  {
    id: 'stockholm',
    zone: 'SE',
    hardware: 'A100-80GB',
    models: [M1, M2],
    weight: 2,
    rtt_ms: 25,
    pue: 1.5,
  },
] as const
/** With levers: a second Paris backend, so occupancy shaping has a same-zone choice to make. */
const PARIS_2 = {
  id: 'paris-2',
  zone: 'FR',
  hardware: 'H100-SXM',
  models: [M1, M2],
  weight: 1,
  rtt_ms: 5,
  pue: 1.1,
} as const
/** Lever settings of the `chat` service on both sides (gateway config and replay levers). */
const OCCUPANCY_TARGET = 2
const PREFIX_BLOCK_CHARS = 2048
const PREFIX_MAX_BLOCKS = 781
const PREFIX_MAX_CARBON_PENALTY_PCT = 20
const MAX_CONCURRENCY = 3
const SLO_MS = 15_000
const TOLERANCE_PCT = 10
const STEPS = 70
/** Completion tokens the simulated servers report: the profile explains any latency seen here. */
const REPORTED_OUTPUT_TOKENS = 100_000

/** Same profiles as the harness gives the gateway. */
const profileOf = (hardware: string) =>
  hardware === 'A100-80GB' ? testProfile({ msPerTokenAt1: 30, msPerTokenAtMax: 60 }) : testProfile()

/** A simulated model server that holds each request until `release()`. */
interface HoldingServer {
  readonly url: string
  readonly held: ServerResponse[]
  /** Answers the oldest held request. */
  release(): void
  close(): Promise<void>
}

async function startHolding(onReceive: () => void): Promise<HoldingServer> {
  const held: ServerResponse[] = []
  const server: Server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end('{"object":"list","data":[]}')
        return
      }
      held.push(res)
      onReceive()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    held,
    release() {
      const res = held.shift()
      if (res === undefined) throw new Error('nothing held')
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          id: 'sim-1',
          object: 'chat.completion',
          created: 1,
          model: M1,
          choices: [
            { index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' },
          ],
          usage: { prompt_tokens: 1, completion_tokens: REPORTED_OUTPUT_TOKENS, total_tokens: 1 },
        }),
      )
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/** Equal exactly when the same data: numbers by Object.is, key order and absent keys significant. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'number') return Object.is(v, -0) ? 'num:-0' : `num:${String(v)}`
    if (v === undefined) return 'undefined'
    return v
  })
}

interface Tally {
  routes: Map<string, number>
  waits: number
  kept: number
  slo: number
  /** Decisions a lever changed, by lever. */
  levers: Map<string, number>
}

const cleanup: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const c of cleanup.reverse()) await c()
})

async function runScenario(policy: RoutingPolicyName, withLevers = false): Promise<Tally> {
  const BACKENDS = withLevers ? [...BACKENDS_BASE, PARIS_2] : BACKENDS_BASE
  const rng = seededRandom(20261205)
  const start = instant(Date.UTC(2026, 11, 5, 12))
  const clock = new VirtualClock(start)
  const intensities: Record<string, number> = { FR: 60, DE: 350, PL: 57, SE: 45 }
  let received: ((backend: number) => void) | undefined
  const servers = await Promise.all(BACKENDS.map((_, j) => startHolding(() => received?.(j))))
  const gw = await startGateway(
    {
      gateway: { health: { interval_ms: 600_000 } },
      services: [
        {
          name: 'chat',
          default: true,
          routing: policy,
          slo: { p95_latency_ms: SLO_MS },
          carbon_tolerance_pct: TOLERANCE_PCT,
          queue: { max_size: 0 },
          ...(withLevers
            ? {
                levers: {
                  prefix_affinity: {
                    enabled: true,
                    block_chars: PREFIX_BLOCK_CHARS,
                    max_blocks_per_backend: PREFIX_MAX_BLOCKS,
                    max_carbon_penalty_pct: PREFIX_MAX_CARBON_PENALTY_PCT,
                  },
                  occupancy: { enabled: true, target: OCCUPANCY_TARGET },
                },
              }
            : {}),
        },
        {
          name: 'batch',
          routing: policy,
          backends: ['frankfurt', 'warsaw'],
          carbon_tolerance_pct: TOLERANCE_PCT,
          queue: { max_size: 0 },
        },
      ],
      backends: BACKENDS.map((b, j) => ({
        ...b,
        models: [...b.models],
        url: servers[j]!.url,
        max_concurrency: MAX_CONCURRENCY,
      })),
    },
    intensities,
    {},
    undefined,
    { clock },
  )
  cleanup.push(async () => {
    await gw.close()
    await Promise.all(servers.map((s) => s.close()))
  })

  // The replay side: the same fleet and services, one client region whose round trips are rtt_ms.
  // Chooser services are (service, model) pairs: stickiness is kept per service and model.
  const pairs = [
    { service: 'chat', model: M1 },
    { service: 'chat', model: M2 },
    { service: 'batch', model: M1 },
  ] as const
  const requests = {
    inputTokens: new Float64Array(STEPS),
    outputTokens: new Float64Array(STEPS),
    client: new Int32Array(STEPS),
    service: new Int32Array(STEPS),
  }
  const policyOf = () => createPolicy(policy, { carbonAware: { tolerance: TOLERANCE_PCT / 100 } })
  // The replay's levers: core's lever objects, as `replay --levers prefix,occupancy` builds them,
  // acting on the `chat` pairs only (as the gateway's config says); the prefix table learns a
  // request's blocks when its answer is released (when the gateway records them).
  const ids = BACKENDS.map((b) => b.id)
  const table = createPrefixCacheTable(BACKENDS.map(() => PREFIX_MAX_BLOCKS))
  let current: readonly number[] | undefined
  const chatOnly = (lever: RoutingLever): RoutingLever => ({
    name: lever.name,
    review: (context) =>
      pairs[context.service]?.service === 'chat' ? lever.review(context) : undefined,
  })
  const levers = withLevers
    ? [
        chatOnly(
          createPrefixAffinityLever({
            table,
            backendIds: ids,
            blocksOf: () => current,
            maxCarbonPenaltyPct: PREFIX_MAX_CARBON_PENALTY_PCT,
          }),
        ),
        chatOnly(
          createOccupancyLever({
            backendIds: ids,
            targets: ids.map(() => OCCUPANCY_TARGET),
            pinned: (j) => current !== undefined && table.match(j, current) > 0,
          }),
        ),
      ]
    : undefined
  const heldBlocks: (readonly number[])[][] = BACKENDS.map(() => [])
  const chooser = createPolicyChooser({
    policy: policyOf(),
    backends: BACKENDS.map((b) => ({
      id: b.id,
      zone: b.zone,
      models: b.models,
      pue: b.pue,
      maxConcurrency: MAX_CONCURRENCY,
      weight: b.weight,
      profile: profileOf(b.hardware),
    })),
    services: pairs.map((p) => ({
      name: p.service,
      model: p.model,
      policy: policyOf(),
      ...(p.service === 'chat' ? { sloMs: SLO_MS } : { backends: ['frankfurt', 'warsaw'] }),
    })),
    clients: 1,
    networkRttMs: BACKENDS.map((b) => b.rtt_ms),
    requests,
    random: seededRandom(1), // the harness gives the gateway seededRandom(1) too
    intensitySource: 'test-fixed',
    ...(levers === undefined ? {} : { levers }),
  })
  const view: EngineView = {
    now: start,
    inflight: new Int32Array(BACKENDS.length),
    queued: new Int32Array(BACKENDS.length),
    intensity: new Float64Array(BACKENDS.length),
    capacity: new Int32Array(BACKENDS.length).fill(MAX_CONCURRENCY),
  }

  const tally: Tally = { routes: new Map(), waits: 0, kept: 0, slo: 0, levers: new Map() }
  const pending: Promise<unknown>[][] = BACKENDS.map(() => [])
  for (let id = 0; id < STEPS; id++) {
    // 1. Time passes; now and then a zone's intensity changes.
    clock.advanceBy(Math.floor(rng.next() * 2_000))
    if (rng.next() < 0.4) {
      // A drift of ±15 %: near-ties between zones come and go (hysteresis keeps or moves).
      const zone = (['FR', 'DE', 'PL', 'SE'] as const)[Math.floor(rng.next() * 4)]!
      intensities[zone] = intensities[zone]! * (0.85 + 0.3 * rng.next())
      await gw.intensity.refresh()
    }
    // 2. Some held requests finish (the oldest at a random busy backend).
    const releases = rng.next() < 0.55 ? 1 + Math.floor(rng.next() * 2) : 0
    for (let r = 0; r < releases; r++) {
      const busy = servers.flatMap((s, j) => (s.held.length > 0 ? [j] : []))
      if (busy.length === 0) break
      const j = busy[Math.floor(rng.next() * busy.length)]!
      servers[j]!.release()
      await pending[j]!.shift()
      view.inflight[j] = (view.inflight[j] as number) - 1
      const blocks = heldBlocks[j]!.shift()
      if (blocks !== undefined && blocks.length > 0) table.admit(j, blocks)
    }
    // 3. One request, sent to the gateway and decided by the replay chooser on the same snapshot.
    const k = rng.next() < 0.6 ? 0 : rng.next() < 0.5 ? 1 : 2
    const pair = pairs[k]!
    const body = {
      model: pair.model,
      messages: [{ role: 'user', content: 'x'.repeat(40 + Math.floor(rng.next() * 8_000)) }],
      max_tokens: 20 + Math.floor(rng.next() * 600),
    }
    requests.inputTokens[id] = readRequest('/v1/chat/completions', body).estimatedInputTokens
    requests.outputTokens[id] = body.max_tokens
    requests.service[id] = k
    view.now = clock.now()
    for (let j = 0; j < BACKENDS.length; j++) {
      view.intensity[j] = intensities[BACKENDS[j]!.zone]!
    }
    current = promptBlocks(body.messages, pair.model, PREFIX_BLOCK_CHARS).blocks
    const replayIndex = chooser.choose(id, view)
    current = undefined
    const replay = chooser.last()!
    for (const a of replay.levers) tally.levers.set(a.lever, (tally.levers.get(a.lever) ?? 0) + 1)

    const arrived = new Promise<number>((r) => (received = r))
    const response = fetch(`${gw.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-wattline-service': pair.service },
      body: JSON.stringify(body),
    })
    const first = await Promise.race([arrived, response])
    received = undefined
    const gateway = gw.gateway.recentDecisions(1)[0]!.decision as RoutingDecision

    expect(canonical(gateway), `${policy} request ${id}`).toBe(canonical(replay.routing))
    if (typeof first === 'number') {
      const j = first
      expect(replay.kind).toBe('route')
      expect(BACKENDS[j]?.id, `${policy} request ${id}: backend`).toBe(
        gateway.kind === 'route' ? gateway.backend : '',
      )
      expect(replayIndex).toBe(j)
      view.inflight[j] = (view.inflight[j] as number) + 1
      pending[j]!.push(response.then((r) => r.text()))
      heldBlocks[j]!.push(
        pair.service === 'chat'
          ? promptBlocks(body.messages, pair.model, PREFIX_BLOCK_CHARS).blocks
          : [],
      )
      tally.routes.set(BACKENDS[j]!.id, (tally.routes.get(BACKENDS[j]!.id) ?? 0) + 1)
      if (gateway.kind === 'route' && gateway.reason.startsWith('kept')) tally.kept++
    } else {
      // Refused by the gateway (queue of size 0): the replay's router said wait, at a serving backend.
      expect(first.status, `${policy} request ${id}: status`).toBe(429)
      await first.text()
      expect(replay.kind).toBe('wait')
      tally.waits++
    }
    if (gateway.scores.some((s) => s.reason === 'slo')) tally.slo++
  }
  // The gateway learnt no overhead the replay lacks (the precondition of "same snapshots").
  for (const rt of gw.gateway.backends.values()) expect(rt.overheadMs ?? 0).toBe(0)
  for (let j = 0; j < servers.length; j++) {
    while (servers[j]!.held.length > 0) {
      servers[j]!.release()
      await pending[j]!.shift()
    }
  }
  return tally
}

describe('gateway and replay decide the same (one engine)', () => {
  for (const policy of ROUTING_POLICIES) {
    it(`${policy}: identical decisions on the same request sequence and snapshots`, async () => {
      const tally = await runScenario(policy)
      // The scenario exercised what it should: several backends, refusals when all were full.
      expect(tally.routes.size, JSON.stringify([...tally.routes])).toBeGreaterThanOrEqual(2)
      expect(tally.waits).toBeGreaterThan(0)
      if (policy === 'carbon-aware') {
        expect(tally.kept).toBeGreaterThan(0)
        expect(tally.slo).toBeGreaterThan(0)
      }
    }, 30_000)
  }
  for (const policy of ['carbon-aware', 'round-robin'] as const) {
    it(`${policy} with prefix affinity and occupancy shaping: the gateway's levers decide as the replay's (core's lever objects)`, async () => {
      const tally = await runScenario(policy, true)
      expect(tally.routes.size).toBeGreaterThanOrEqual(2)
      // Both levers changed decisions, identically on both sides (checked request by request).
      expect(tally.levers.get('prefix') ?? 0, JSON.stringify([...tally.levers])).toBeGreaterThan(0)
      expect(tally.levers.get('occupancy') ?? 0, JSON.stringify([...tally.levers])).toBeGreaterThan(
        0,
      )
    }, 30_000)
  }
})
