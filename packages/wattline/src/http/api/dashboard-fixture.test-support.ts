/**
 * @module http/api/dashboard-fixture
 * A deterministic, synthetic fleet for the dashboard's tests and screenshots: three backends in three
 * grid zones (FR, DE, PL), two services, `days` of hourly traffic with a daily rhythm, power samples,
 * idle energy, budgets and routing decisions, plus two injected anomalies in the last day (a power
 * fault on `warsaw` five hours before the end, and doubled energy per request of `chat` three hours
 * before the end). Every figure is modelled by this generator; nothing here is measured.
 */
import type {
  BackendScore,
  BudgetStatus,
  DashboardLiveState,
  GramsCo2e,
  IdleEnergyRecord,
  Joules,
  LedgerRecord,
  LiveBackend,
  LiveDecision,
  LiveZoneIntensity,
  Milliseconds,
  PowerSampleRecord,
  RequestRecord,
  RoutingDecision,
  UsageSummary,
} from '@wattline/core'
import { chargeIdle, summarizeUsage } from './aggregate.ts'

export interface DashboardFixture {
  readonly records: readonly LedgerRecord[]
  readonly live: DashboardLiveState
  readonly budgets: readonly BudgetStatus[]
  /** The fixture's "now" (epoch ms): the end of the generated history. */
  readonly now: number
  /** Where the injected anomalies are (bucket starts, epoch ms). */
  readonly injected: { readonly powerFaultAt: number; readonly energySpikeAt: number }
}

const HOUR = 3_600_000
const JOULES_PER_KWH = 3_600_000

const BACKENDS = [
  {
    id: 'paris',
    zone: 'FR',
    hardware: 'H100-SXM',
    pue: 1.2,
    jPerToken: 1.4,
    idleW: 90,
    measured: true,
  },
  {
    id: 'frankfurt',
    zone: 'DE',
    hardware: 'H100-SXM',
    pue: 1.1,
    jPerToken: 1.5,
    idleW: 90,
    measured: false,
  },
  {
    id: 'warsaw',
    zone: 'PL',
    hardware: 'A100-80GB',
    pue: 1.3,
    jPerToken: 2.2,
    idleW: 70,
    measured: false,
  },
] as const

type FixtureBackend = (typeof BACKENDS)[number]

/** Builds the fixture ending at `endMs` (aligned down to the hour) with `days` of history. */
export function createDashboardFixture(endMs: number, days = 15): DashboardFixture {
  const end = Math.floor(endMs / HOUR) * HOUR
  const start = end - days * 24 * HOUR
  const rand = lcg(42)
  const records: LedgerRecord[] = []
  const powerFaultAt = end - 5 * HOUR
  const energySpikeAt = end - 3 * HOUR
  let seq = 0
  const decisions: LiveDecision[] = []

  for (let t = start; t < end; t += HOUR) {
    const hourOfDay = new Date(t).getUTCHours()
    const load = 0.6 + 0.4 * Math.sin((2 * Math.PI * (hourOfDay - 8)) / 24) // 0.2–1.0
    for (const [service, perHour, policy] of [
      ['chat', 10, 'carbon-aware'],
      ['search', 4, 'round-robin'],
    ] as const) {
      const n = Math.round(perHour * (0.5 + load))
      for (let k = 0; k < n; k++) {
        const at = t + Math.floor(((k + rand()) / n) * HOUR)
        const backend =
          policy === 'carbon-aware'
            ? k % 5 === 4 && load > 0.8
              ? BACKENDS[1]
              : BACKENDS[0]
            : (BACKENDS[seq % 3] as FixtureBackend)
        const spike = service === 'chat' && t === energySpikeAt ? 2 : 1
        const r = request({ seq: seq++, at, service, policy, backend, rand, spike, hourOfDay })
        records.push(r)
        if (at >= end - HOUR) decisions.push(liveDecision(r, hourOfDay))
      }
    }
    for (const b of BACKENDS) {
      const intensity = zoneIntensity(b.zone, hourOfDay)
      // Idle: about half a minute per hour at idle power, less when busy.
      const idleJ = b.idleW * 30 * (1 - 0.7 * load)
      records.push(idleRecord(b, t, idleJ, intensity))
      for (let m = 0; m < 6; m++) {
        const fault = b.id === 'warsaw' && t === powerFaultAt ? 2.2 : 1
        const w = (b.idleW + 260 * load) * (1 + 0.03 * (rand() * 2 - 1)) * fault
        records.push(powerRecord(b, t + m * 600_000 + 1000, w))
      }
    }
  }

  const zones: LiveZoneIntensity[] = BACKENDS.map((b) => ({
    zone: b.zone,
    intensity_g_per_kwh: zoneIntensity(b.zone, new Date(end).getUTCHours()),
    signal: 'average',
    source: 'static:fixture',
    at_ms: end - HOUR,
    forecast: false,
    stale: false,
  }))
  const liveBackends: LiveBackend[] = BACKENDS.map((b, i) => ({
    id: b.id,
    zone: b.zone,
    hardware: b.hardware,
    models: ['llama-3.1-8b-instruct'],
    healthy: b.id !== 'warsaw',
    inflight: [21, 9, 0][i] ?? 0,
    max_concurrency: 32,
    pue: b.pue,
    power_w: [412.5, 305.1, 70][i] ?? null,
    power_method: b.measured ? 'measured' : 'modelled',
    power_source: b.measured ? 'dcgm:DCGM_FI_DEV_POWER_USAGE' : 'modelled:profile',
  }))
  decisions.reverse()
  const live: DashboardLiveState = {
    backends: () => liveBackends,
    zones: () => zones,
    recentDecisions: (limit) => decisions.slice(0, limit),
  }
  const lastHour = records.filter(
    (r) => (r.kind === 'request' ? r.at_ms : r.kind === 'idle' ? r.from_ms : 0) >= end - HOUR,
  )
  const lastRequests = lastHour.filter((r): r is RequestRecord => r.kind === 'request')
  const lastIdle = lastHour.filter((r): r is IdleEnergyRecord => r.kind === 'idle')
  const watch = (service: string): UsageSummary =>
    summarizeUsage(
      lastRequests.filter((r) => r.service === service),
      chargeIdle(lastRequests, lastIdle, (r) => r.service === service),
    )
  const chatValue = watch('chat').energy_per_1k_requests_wh?.value ?? 0
  const searchValue = watch('search').carbon_per_1k_requests_g?.value ?? 0
  const budgets: BudgetStatus[] = [
    {
      service: 'chat',
      metric: 'energy_per_1k_requests_wh',
      unit: 'Wh/1k requests',
      stage: 'pilot',
      baseline: 250,
      target: 200,
      value: chatValue,
      method: 'modelled',
      ratio: chatValue / 200,
      breached: chatValue > 200,
      window_s: 300,
      evaluated_at_ms: end - 30_000,
    },
    {
      service: 'search',
      metric: 'carbon_per_1k_requests_g',
      unit: 'gCO2e/1k requests',
      stage: 'production',
      baseline: 150,
      target: 90,
      value: searchValue,
      method: 'modelled',
      ratio: searchValue / 90,
      breached: searchValue > 90,
      window_s: 300,
      evaluated_at_ms: end - 30_000,
    },
  ]
  return { records, live, budgets, now: end, injected: { powerFaultAt, energySpikeAt } }
}

interface RequestInput {
  readonly seq: number
  readonly at: number
  readonly service: string
  readonly policy: string
  readonly backend: FixtureBackend
  readonly rand: () => number
  readonly spike: number
  readonly hourOfDay: number
}

function request(i: RequestInput): RequestRecord {
  const b = i.backend
  const outputTokens = 120 + Math.floor(i.rand() * 160)
  const inputTokens = 200 + Math.floor(i.rand() * 400)
  const energy = (outputTokens * b.jPerToken + inputTokens * 0.05) * i.spike
  const spread = b.measured ? 0.05 : 0.2
  const intensity = zoneIntensity(b.zone, i.hourOfDay)
  const facility = energy * b.pue
  const carbon = (facility / JOULES_PER_KWH) * intensity
  const scores = candidateScores(i.hourOfDay, inputTokens + outputTokens)
  const reason =
    i.policy === 'round-robin'
      ? 'next in rotation'
      : `least predicted carbon among eligible backends`
  return {
    kind: 'request',
    id: `req-${i.seq}`,
    at_ms: i.at,
    service: i.service,
    tenant: null,
    model: 'llama-3.1-8b-instruct',
    backend: b.id,
    zone: b.zone,
    endpoint: '/v1/chat/completions',
    status: 200,
    streamed: i.seq % 2 === 0,
    input_tokens: inputTokens,
    output_tokens: outputTokens,
    latency_ms: 800 + outputTokens * 9,
    ttft_ms: 180,
    energy_j: energy,
    energy_low_j: energy * (1 - spread),
    energy_high_j: energy * (1 + spread),
    facility_energy_j: facility,
    pue: b.pue,
    carbon_g: carbon,
    carbon_low_g: carbon * (1 - spread),
    carbon_high_g: carbon * (1 + spread),
    intensity_g_per_kwh: intensity,
    intensity_source: 'static:fixture',
    intensity_signal: 'average',
    intensity_stale: false,
    method: b.measured ? 'measured' : 'modelled',
    energy_source: b.measured ? 'dcgm:DCGM_FI_DEV_POWER_USAGE' : 'modelled:profile',
    routing_policy: i.policy,
    // The gateway's recorded shape (see http/gateway.ts), plus energy_j.
    routing_reason: JSON.stringify({
      reason,
      scores: scores.map((c) => ({
        backend: c.backend,
        eligible: c.eligible,
        score: c.score,
        carbon_g: c.predictedCarbon,
        energy_j: c.predictedEnergy,
        latency_ms: c.predictedLatency,
      })),
    }),
    attempts: 1,
    error_code: null,
  }
}

function candidateScores(hourOfDay: number, tokens: number): BackendScore[] {
  return BACKENDS.map((b) => {
    const e = tokens * b.jPerToken * 0.7
    const c = ((e * b.pue) / JOULES_PER_KWH) * zoneIntensity(b.zone, hourOfDay)
    return {
      backend: b.id,
      eligible: true,
      predictedEnergy: e as Joules,
      predictedCarbon: c as GramsCo2e,
      predictedLatency: (900 + tokens * 3) as Milliseconds,
      score: c,
    }
  })
}

function liveDecision(r: RequestRecord, hourOfDay: number): LiveDecision {
  const scores = candidateScores(hourOfDay, r.input_tokens + r.output_tokens)
  const decision: RoutingDecision = {
    kind: 'route',
    backend: r.backend,
    policy: r.routing_policy === 'round-robin' ? 'round-robin' : 'carbon-aware',
    reason:
      r.routing_policy === 'round-robin'
        ? 'next in rotation'
        : r.backend === 'paris'
          ? 'least predicted carbon among eligible backends'
          : 'paris near capacity: spilled to next greenest',
    scores,
  }
  return { at_ms: r.at_ms, request_id: r.id, service: r.service, model: r.model, decision }
}

function idleRecord(
  b: FixtureBackend,
  t: number,
  energy: number,
  intensity: number,
): IdleEnergyRecord {
  const facility = energy * b.pue
  return {
    kind: 'idle',
    backend: b.id,
    zone: b.zone,
    from_ms: t,
    to_ms: t + HOUR,
    energy_j: energy,
    facility_energy_j: facility,
    carbon_g: (facility / JOULES_PER_KWH) * intensity,
    method: b.measured ? 'measured' : 'modelled',
    source: b.measured ? 'dcgm:DCGM_FI_DEV_POWER_USAGE' : 'modelled:profile',
  }
}

function powerRecord(b: FixtureBackend, at: number, w: number): PowerSampleRecord {
  return {
    kind: 'power',
    backend: b.id,
    at_ms: at,
    power_w: w,
    method: b.measured ? 'measured' : 'modelled',
    source: b.measured ? 'dcgm:DCGM_FI_DEV_POWER_USAGE' : 'modelled:profile',
  }
}

/** A daily intensity shape per zone (gCO2e/kWh): FR low and flat, DE with a midday solar dip, PL high. */
function zoneIntensity(zone: string, hourOfDay: number): number {
  const solar = Math.max(0, Math.sin((Math.PI * (hourOfDay - 6)) / 12))
  if (zone === 'FR') return 55 + 10 * Math.cos((2 * Math.PI * hourOfDay) / 24)
  if (zone === 'DE') return 420 - 170 * solar
  return 680 - 40 * solar
}

function lcg(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}
