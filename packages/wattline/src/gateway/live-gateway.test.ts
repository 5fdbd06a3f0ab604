/**
 * The live gateway (`http/gateway.ts`) runs each request through the composed pipeline: the
 * engine alone (no HTTP), over scripted upstreams, so that what each interceptor adds can be seen
 * on one request — retry after a 5xx with the breaker and retries metric fed, the slot released,
 * the ledger row written at finish, a shared call with no part still giving its slot back.
 */
import { testProfile } from '@wattline/core/test-profile'
import { seededRandom, type RequestRecord } from '@wattline/core'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import type { Upstream } from '../adapters/upstream/openai-upstream.ts'
import { createGateway, RECENT_DECISIONS, type RecentDecision } from '../http/gateway.ts'
import type { Dispatched } from './exchange-types.ts'
import { memorySink, realClock } from '../http/harness.test-support.ts'
import { createGatewayMetrics } from '../http/metrics.ts'
import {
  finishInput,
  MODEL,
  response,
  scriptedUpstream,
  testConfig,
  testIntensity,
} from './exchange.test-support.ts'
import { Exchange } from './pipeline.ts'

const END = finishInput({ requestId: 'req-1', arrivedMs: Date.now() })

async function rig(status: Record<string, number>) {
  // carbon-aware: FR (a) greenest, then DE (b), then PL (c)
  const config = testConfig({ routing: 'carbon-aware' })
  const upstreams = new Map<string, Upstream & { requests: unknown[] }>(
    config.backends.map((b) => [
      b.id,
      scriptedUpstream(b.id, async () => response(status[b.id] ?? 200)),
    ]),
  )
  const intensity = await testIntensity()
  const ledger = memorySink()
  const metrics = createGatewayMetrics()
  const gateway = createGateway({
    config,
    clock: realClock,
    upstreams,
    profileFor: () => testProfile(),
    intensity,
    ledger,
    metrics,
    random: seededRandom(1),
    logger: pino({ level: 'silent' }),
  })
  const input = {
    service: config.services[0]!,
    model: MODEL,
    inputTokens: 100,
    outputTokens: 50,
    path: '/chat/completions',
    bodyFor: (b: { id: string }, model?: string) => JSON.stringify({ to: b.id, model }),
    headers: {},
    signal: new AbortController().signal,
    requestId: 'req-1',
  }
  return { gateway, upstreams, ledger, metrics, input }
}

describe('the live gateway runs requests through the pipeline', () => {
  it('retries a 5xx on the next backend, feeds the breaker and the retries metric, accounts once', async () => {
    const { gateway, upstreams, ledger, metrics, input } = await rig({ a: 503 })
    const d = await gateway.dispatch(input)
    expect(d).toBeInstanceOf(Exchange)
    expect(d.backend.config.id).toBe('b')
    expect(d.attempts).toBe(2)
    expect(d.model).toBe(MODEL)
    expect(upstreams.get('a')!.requests).toHaveLength(1)
    expect(gateway.backends.get('a')!.breaker).toMatchObject({ kind: 'closed', failures: 1 })
    expect(gateway.inflight()).toBe(1) // the failed attempt's slot is back, b's is held
    const a = gateway.finish(d, END)
    expect(gateway.inflight()).toBe(0)
    expect(ledger.records).toHaveLength(1)
    const row = ledger.records[0] as RequestRecord
    expect(row).toMatchObject({ backend: 'b', attempts: 2, energy_j: a.energyJ, status: 200 })
    expect(JSON.parse(row.routing_reason).scores.length).toBe(3)
    const text = await metrics.registry.metrics()
    expect(text).toMatch(
      /wattline_upstream_retries_total\{[^}]*backend="a"[^}]*reason="http_503"[^}]*\} 1/,
    )
    expect(gateway.recentDecisions(5)).toHaveLength(2) // one decision per attempt
  })

  it('a completed response resets the failures counted on its backend and marks it reachable', async () => {
    const status: Record<string, number> = { a: 503 }
    const { gateway, input } = await rig(status)
    const a = gateway.backends.get('a')!
    expect(a.reachable).toBeUndefined()
    gateway.finish(await gateway.dispatch(input), END) // a failed (counted), b served
    expect(a.breaker).toEqual({ kind: 'closed', failures: 1 })
    status['a'] = 200
    const d = await gateway.dispatch(input)
    expect(d.backend.config.id).toBe('a')
    gateway.finish(d, END)
    expect(a.breaker).toEqual({ kind: 'closed', failures: 0 })
    expect(a.reachable).toBe(true)
    gateway.finish(await gateway.dispatch(input), END) // nothing left to change
    expect(a.breaker).toEqual({ kind: 'closed', failures: 0 })
  })

  it('keeps the last RECENT_DECISIONS decisions, newest first; what it handed out never changes', async () => {
    const { gateway, input } = await rig({})
    const early: RecentDecision[] = []
    for (let i = 0; i < RECENT_DECISIONS + 5; i++) {
      const d = await gateway.dispatch({ ...input, requestId: `r${String(i)}` })
      gateway.finish(d, END)
      if (i === 2) early.push(...gateway.recentDecisions(3))
    }
    expect(early.map((e) => e.request_id)).toEqual(['r2', 'r1', 'r0'])
    const all = gateway.recentDecisions(RECENT_DECISIONS + 10)
    expect(all).toHaveLength(RECENT_DECISIONS)
    expect(all[0]!.request_id).toBe(`r${String(RECENT_DECISIONS + 4)}`)
    expect(all.at(-1)!.request_id).toBe('r5')
    expect(all[0]!.decision.policy).toBe('carbon-aware')
    expect(all[0]).not.toBe(all[1])
    expect(new Set(all.map((e) => e.decision)).size).toBe(RECENT_DECISIONS)
  })

  it('refuses a Dispatched it did not make; a shared call with no part frees its slot', async () => {
    const { gateway, input, ledger } = await rig({})
    const d = await gateway.dispatch(input)
    const forged = { ...d } as Dispatched
    expect(() => gateway.finish(forged, END)).toThrow(/not a request this gateway dispatched/)
    expect(gateway.finishShared(d, [])).toEqual([])
    expect(gateway.inflight()).toBe(0)
    expect(ledger.records).toHaveLength(0)
  })
})
