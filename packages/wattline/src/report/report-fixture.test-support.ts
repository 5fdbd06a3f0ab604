/**
 * @module report/report-fixture
 * A small ledger with hand-computable figures, shared by the report tests. docs/reports.md works
 * through the same numbers. Period: 2024-03-01T00:00Z–02:00Z; services `chat` and `search`.
 */
import type {
  AuditRecord,
  IdleEnergyRecord,
  IntensityRecord,
  PowerSampleRecord,
  RequestRecord,
} from '@wattline/core'
import type { MemoryReportData } from './memory-report-source.ts'

export const FROM_MS = Date.parse('2024-03-01T00:00:00Z')
export const TO_MS = Date.parse('2024-03-01T02:00:00Z')
export const GENERATED_MS = Date.parse('2024-03-02T08:00:00Z')
const MIN = 60_000
const DAY = 86_400_000
export const CHAIN_HASH = 'ab'.repeat(32)

/** A request with defaults; carbon follows facility energy × intensity unless given. */
export function request(p: Partial<RequestRecord> & { id: string; at_ms: number }): RequestRecord {
  const energy = p.energy_j ?? 360
  const pue = p.pue ?? 1.25
  const intensity = p.intensity_g_per_kwh ?? 400
  const low = p.energy_low_j ?? energy * 0.9
  const high = p.energy_high_j ?? energy * 1.1
  const c = (j: number): number => ((j * pue) / 3_600_000) * intensity
  return {
    kind: 'request',
    service: 'chat',
    tenant: null,
    model: 'llama-3.1-8b-instruct',
    backend: 'gpu-de',
    zone: 'DE',
    endpoint: '/v1/chat/completions',
    status: 200,
    streamed: false,
    input_tokens: 50,
    output_tokens: 100,
    latency_ms: 800,
    ttft_ms: 120,
    energy_j: energy,
    energy_low_j: low,
    energy_high_j: high,
    facility_energy_j: energy * pue,
    pue,
    carbon_g: c(energy),
    carbon_low_g: c(low),
    carbon_high_g: c(high),
    intensity_g_per_kwh: intensity,
    intensity_source: 'electricitymaps-csv:DE',
    intensity_signal: 'average',
    intensity_stale: false,
    method: 'measured',
    energy_source: 'nvidia-smi',
    routing_policy: 'carbon-aware',
    routing_reason: '{}',
    attempts: 1,
    error_code: null,
    ...p,
  }
}

const at = (hhmm: string, dayOffset = 0): number =>
  Date.parse(`2024-03-01T${hhmm}:00Z`) + dayOffset * DAY

/** The seeded ledger rows. */
export function fixtureData(): MemoryReportData {
  const requests: RequestRecord[] = [
    request({ id: 'r1', at_ms: at('00:10'), energy_j: 360 }),
    request({ id: 'r2', at_ms: at('00:40'), energy_j: 720, output_tokens: 200 }),
    request({
      id: 'r3',
      at_ms: at('01:20'),
      energy_j: 1800,
      backend: 'gpu-fr',
      zone: 'FR',
      pue: 1.1,
      intensity_g_per_kwh: 50,
      intensity_source: 'electricitymaps-csv:FR',
      method: 'modelled',
      energy_source: 'profile:llama-3.1-8b/H100',
      output_tokens: 300,
    }),
    request({
      id: 'r4',
      at_ms: at('01:30'),
      energy_j: 3600,
      backend: 'gpu-us',
      zone: 'US-CAL-CISO',
      pue: 1.5,
      intensity_g_per_kwh: 250,
      intensity_source: 'watttime:CAISO_NORTH',
      intensity_signal: 'marginal',
      intensity_stale: true,
      method: 'modelled',
      energy_source: 'profile:llama-3.1-8b/H100',
      output_tokens: 400,
      status: 504,
      error_code: 'WL_UPSTREAM_TIMEOUT',
    }),
    request({ id: 's1', at_ms: at('00:30'), service: 'search', model: 'bge-large', energy_j: 360 }),
  ]
  // History for the anomaly detector: six earlier days with 360 J at 00:10 for chat.
  for (let d = -6; d <= -1; d += 1) {
    requests.push(request({ id: `h${d}`, at_ms: at('00:10', d), energy_j: 360 }))
  }
  const idle: IdleEnergyRecord[] = [
    {
      kind: 'idle',
      backend: 'gpu-de',
      zone: 'DE',
      from_ms: at('00:00'),
      to_ms: at('01:00'),
      energy_j: 720,
      facility_energy_j: 900,
      carbon_g: 0.1,
      method: 'measured',
      source: 'nvidia-smi',
    },
    {
      // Half of it lies before the period.
      kind: 'idle',
      backend: 'gpu-fr',
      zone: 'FR',
      from_ms: at('00:00') - 30 * MIN,
      to_ms: at('00:30'),
      energy_j: 3600,
      facility_energy_j: 3960,
      carbon_g: 0.055,
      method: 'modelled',
      source: 'profile:H100 idle',
    },
  ]
  const power: PowerSampleRecord[] = [
    {
      kind: 'power',
      backend: 'gpu-de',
      at_ms: at('00:05'),
      power_w: 300,
      method: 'measured',
      source: 'nvidia-smi',
    },
    {
      kind: 'power',
      backend: 'gpu-de',
      at_ms: at('00:05') + 30_000,
      power_w: 500,
      method: 'measured',
      source: 'nvidia-smi',
    },
    {
      kind: 'power',
      backend: 'gpu-fr',
      at_ms: at('00:05') + 10_000,
      power_w: 200,
      method: 'modelled',
      source: 'profile',
    },
    {
      kind: 'power',
      backend: 'gpu-us',
      at_ms: at('01:00'),
      power_w: 550,
      method: 'modelled',
      source: 'profile',
    },
  ]
  const intensities: IntensityRecord[] = [
    {
      kind: 'intensity',
      zone: 'DE',
      at_ms: at('00:00'),
      intensity_g_per_kwh: 400,
      signal: 'average',
      source: 'electricitymaps-csv:DE',
      forecast: false,
      stale: false,
    },
    {
      kind: 'intensity',
      zone: 'FR',
      at_ms: at('01:00'),
      intensity_g_per_kwh: 50,
      signal: 'average',
      source: 'electricitymaps-csv:FR',
      forecast: false,
      stale: false,
    },
    {
      kind: 'intensity',
      zone: 'US-CAL-CISO',
      at_ms: at('01:00'),
      intensity_g_per_kwh: 250,
      signal: 'marginal',
      source: 'watttime:CAISO_NORTH',
      forecast: true,
      stale: true,
    },
  ]
  return {
    requests,
    idle,
    power,
    intensities,
    budgets: [
      {
        service: 'chat',
        family: null,
        metric: 'energy_per_1k_requests_wh',
        baseline: 1000,
        stage: 'pilot',
        target: 600,
        variance_pct: 10,
        max_regression_pct: 5,
      },
      {
        service: 'search',
        family: null,
        metric: 'carbon_per_1k_requests_g',
        baseline: 25,
        stage: 'pilot',
        target: 20,
        variance_pct: 10,
        max_regression_pct: 10,
      },
    ],
    gateDecisions: [
      {
        at_ms: at('00:50'),
        service: 'chat',
        release: 'v42',
        passed: true,
        metric: 'energy_per_1k_requests_wh',
        value: 450,
        high: 480,
        target: 600,
        reason: 'upper 480 ≤ limit 660',
      },
      {
        at_ms: at('03:00'),
        service: 'chat',
        release: 'v43',
        passed: false,
        metric: 'energy_per_1k_requests_wh',
        value: 700,
        high: 720,
        target: 600,
        reason: 'outside the period',
      },
    ],
    trainingRuns: [
      {
        id: 'ft-1',
        model: 'llama-3.1-8b-instruct',
        hardware: 'H100-SXM',
        accelerators: 8,
        zone: 'DE',
        started_ms: Date.parse('2024-02-01T00:00:00Z'),
        ended_ms: Date.parse('2024-02-02T00:00:00Z'),
        energy_j: 100 * 3_600_000,
        energy_low_j: 95 * 3_600_000,
        energy_high_j: 105 * 3_600_000,
        carbon_g: 40_000,
        method: 'measured',
        source: 'cluster DCGM export',
      },
    ],
    hardware: [
      {
        id: 'rack-1',
        hardware: 'H100-SXM',
        count: 8,
        zone: 'DE',
        embodied_g: 150_000,
        source: 'CCF coefficients-aws-embodied.csv',
        lifetime_years: 4,
        in_service_from_ms: Date.parse('2023-01-01T00:00:00Z'),
        allocation_share: 0.5,
      },
    ],
    chainHead: { hash: CHAIN_HASH, height: 12, sealed_at_ms: at('01:59'), algorithm: 'sha256' },
  }
}

/** The report fixture as ledger records. */
export function fixtureRecords(): AuditRecord[] {
  const d = fixtureData()
  return [
    ...(d.requests ?? []),
    ...(d.idle ?? []),
    ...(d.power ?? []),
    ...(d.intensities ?? []),
    ...(d.budgets ?? []).map((b, i): AuditRecord => ({
      kind: 'budget',
      at_ms: FROM_MS - 1000 + i,
      service: b.service,
      family: b.family,
      metric: b.metric,
      baseline: b.baseline,
      stage: b.stage,
      target: b.target,
      variance_pct: b.variance_pct,
      max_regression_pct: b.max_regression_pct ?? 0,
    })),
    ...(d.gateDecisions ?? []).map((g, i): AuditRecord => ({
      kind: 'gate',
      id: `gate-${i}`,
      at_ms: g.at_ms,
      service: g.service,
      release: g.release ?? '',
      passed: g.passed,
      metric: g.metric,
      value: g.value ?? 0,
      high: g.high ?? 0,
      target: g.target ?? 0,
      limit: (g.target ?? 0) * 1.1,
      previous_release: null,
      previous_value: null,
      regression_pct: null,
      reasons: JSON.stringify([g.reason]),
      result_sha256: '0'.repeat(64),
    })),
    ...(d.trainingRuns ?? []).map((t): AuditRecord => ({ kind: 'training_run', ...t })),
    ...(d.hardware ?? []).map((h): AuditRecord => ({
      kind: 'hardware',
      id: h.id,
      at_ms: h.in_service_from_ms,
      hardware: h.hardware,
      count: h.count,
      zone: h.zone,
      embodied_g: h.embodied_g,
      lifetime_years: h.lifetime_years,
      source: h.source,
      allocation_share: h.allocation_share,
    })),
  ]
}
