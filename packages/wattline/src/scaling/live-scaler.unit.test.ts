/**
 * The live scaler's bookkeeping without HTTP: windows close on the clock it is given, requests of
 * its pools (only) count, the recommendation follows the core policy on that history, and the
 * services' deferral budget makes energy-optimal recommend fewer replicas while the zone's intensity
 * is above its 24 h median.
 */
import { describe, expect, it } from 'vitest'
import { resolveProfile } from '@wattline/core'
import { requestRecord } from '@wattline/core/testing'
import { createConfigCatalog } from '../config/catalog.ts'
import { parseConfigText } from '../config/load-config.ts'
import { createLiveScaler } from './live-scaler.ts'
import type { SharedScalingLoad, WindowCounts } from './shared-scaling-load.ts'

const T0 = Date.UTC(2026, 0, 1)
/** These pools have no `actual_replicas`: a read would be a bug. */
const noActualReplicas = (): Promise<number> =>
  Promise.reject(new Error('no pool here reads actual replicas'))

function config(deferralPct: number) {
  return parseConfigText(
    [
      'services:',
      '  - name: chat',
      '    slo: { p95_latency_ms: 2500, deferral_pct: ' + deferralPct + ' }',
      'backends:',
      '  - id: paris',
      '    url: http://127.0.0.1:9/v1',
      '    zone: FR',
      '    hardware: H100-SXM',
      '    models: [llama-3.1-8b-instruct]',
      '    scaling: { policy: energy-optimal, min_replicas: 1, max_replicas: 64, slots_per_replica: 64, window_s: 60 }',
      '  - id: other',
      '    url: http://127.0.0.1:9/v1',
      '    zone: FR',
      '    hardware: H100-SXM',
      '    models: [llama-3.1-8b-instruct]',
      '',
    ].join('\n'),
    'wattline.yaml',
    { env: {}, catalog: createConfigCatalog() },
  )
}

/** A scaler fed `perWindow` requests of 800 + 300 tokens each minute for `windows` minutes. */
function run(deferralPct: number, intensityNow: number) {
  const scaler = createLiveScaler({
    config: config(deferralPct),
    nowMs: T0,
    profileFor: (b) => resolveProfile({ model: b.models[0] as string, hardware: b.hardware }),
    readActual: noActualReplicas,
  })
  // A day of hourly intensity at 100 g, then the current value.
  for (let h = 0; h < 24; h++)
    scaler.observe({
      kind: 'intensity',
      zone: 'FR',
      at_ms: T0 - (24 - h) * 3_600_000,
      intensity_g_per_kwh: 100,
      signal: 'average',
      source: 'test',
      forecast: false,
      stale: false,
    })
  scaler.observe({
    kind: 'intensity',
    zone: 'FR',
    at_ms: T0,
    intensity_g_per_kwh: intensityNow,
    signal: 'average',
    source: 'test',
    forecast: false,
    stale: false,
  })
  let i = 0
  for (let w = 0; w < 5; w++) {
    for (let k = 0; k < 600; k++)
      scaler.observe(
        requestRecord(i++, {
          backend: 'paris',
          at_ms: T0 + w * 60_000,
          input_tokens: 800,
          output_tokens: 300,
        }),
      )
    // Requests of a backend without scaling: are not counted.
    scaler.observe(requestRecord(i++, { backend: 'other', at_ms: T0 + w * 60_000 }))
    void scaler.tick(T0 + (w + 1) * 60_000) // no shared load: synchronous
  }
  return scaler.recommendation('paris')!
}

describe('live scaler', () => {
  it('closes windows on the given clock and recommends from the observed load', () => {
    const r = run(0, 100)
    expect(r.observed_requests_per_s).toBeCloseTo(10, 6)
    expect(r.updated_at).toBe(new Date(T0 + 5 * 60_000).toISOString())
    expect(r.recommended_replicas).toBeGreaterThan(1)
    expect(r.planned_requests_per_s).toBeGreaterThanOrEqual(10)
    expect(r.intensity_day_median_g_per_kwh).toBe(100)
  })

  it('recommends fewer replicas with a deferral budget while the grid is above its median', () => {
    const plain = run(0, 300)
    const deferred = run(100, 300)
    const clean = run(100, 50)
    expect(deferred.recommended_replicas).toBeLessThan(plain.recommended_replicas)
    expect(deferred.reason).toMatch(/slack/)
    expect(clean.recommended_replicas).toBe(plain.recommended_replicas)
    expect(deferred.deferral_pct).toBe(100)
  })
})

/** The shared-load port in memory (what the Redis adapter stores), with a switch to fail it. */
function memoryShared(store: {
  windows: Map<string, Map<string, WindowCounts>>
  leader: string | undefined
  decisions: Map<string, string>
  down: boolean
}): (id: string) => SharedScalingLoad {
  const guard = (): void => {
    if (store.down) throw new Error('redis down')
  }
  return (id) => ({
    replicaId: id,
    publish: async (pool, start, counts) => {
      guard()
      const k = `${pool}:${start}`
      const m = store.windows.get(k) ?? new Map<string, WindowCounts>()
      m.set(id, counts)
      store.windows.set(k, m)
    },
    read: async (pool, start) => {
      guard()
      return [...(store.windows.get(`${pool}:${start}`)?.values() ?? [])]
    },
    lead: async () => {
      guard()
      store.leader ??= id
      return store.leader === id
    },
    putDecision: async (pool, json) => {
      guard()
      store.decisions.set(pool, json)
    },
    getDecision: async (pool) => {
      guard()
      return store.decisions.get(pool) ?? null
    },
    close: async () => undefined,
  })
}

describe('live scaler across gateway replicas (shared load port)', () => {
  it('decides on the sum of the replicas’ windows and serves the leader’s answer on each; alone when the port fails', async () => {
    const store = {
      windows: new Map<string, Map<string, WindowCounts>>(),
      leader: undefined as string | undefined,
      decisions: new Map<string, string>(),
      down: false,
    }
    const shared = memoryShared(store)
    const make = (id: string) =>
      createLiveScaler({
        config: config(0),
        nowMs: T0,
        profileFor: (b) => resolveProfile({ model: b.models[0] as string, hardware: b.hardware }),
        readActual: noActualReplicas,
        shared: shared(id),
      })
    const [a, b] = [make('a'), make('b')]
    const feed = (s: ReturnType<typeof make>, n: number, atMs: number) => {
      for (let i = 0; i < n; i++)
        s.observe(
          requestRecord(i, {
            backend: 'paris',
            at_ms: atMs,
            input_tokens: 800,
            output_tokens: 300,
          }),
        )
    }
    // window [T0, T0+60 s): 90 requests through a, 30 through b
    feed(a, 90, T0 + 1000)
    feed(b, 30, T0 + 1000)
    // both close the window and publish; neither decides before the settle time
    await a.tick(T0 + 60_000)
    await b.tick(T0 + 60_000)
    expect(a.recommendation('paris')?.updated_at).toBeNull()
    const later = T0 + 60_000 + 2 * a.tickMs
    await a.tick(later)
    await b.tick(later)
    await a.tick(later + 1) // a reads the leader's (its own) decision
    const [ra, rb] = [a.recommendation('paris')!, b.recommendation('paris')!]
    expect(rb).toEqual(ra)
    expect(ra).toMatchObject({
      observed_requests_per_s: 2, // 120 requests / 60 s
      load_scope: 'cluster',
      replicas_reporting: 2,
    })
    // Redis fails: each replica decides and answers from its own load
    store.down = true
    feed(a, 60, T0 + 61_000)
    feed(b, 6, T0 + 61_000)
    const next = T0 + 120_000 + 2 * a.tickMs
    await a.tick(T0 + 120_000)
    await a.tick(next)
    await b.tick(T0 + 120_000)
    await b.tick(next)
    expect(a.recommendation('paris')).toMatchObject({
      observed_requests_per_s: 1,
      load_scope: 'replica',
      replicas_reporting: 1,
    })
    expect(b.recommendation('paris')).toMatchObject({
      observed_requests_per_s: 0.1,
      load_scope: 'replica',
    })
  })
})
