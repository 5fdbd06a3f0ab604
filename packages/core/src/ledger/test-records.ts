/** Builders for ledger tests (not part of the public surface). */
import type { RequestRecord } from './records.ts'

/** A request record with plausible defaults; `i` varies id and time. */
export function requestRecord(i: number, overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    kind: 'request',
    id: `req-${i}`,
    at_ms: 1_750_000_000_000 + i * 1000,
    service: 'chat',
    tenant: null,
    model: 'llama-3.1-8b-instruct',
    backend: 'paris',
    zone: 'FR',
    endpoint: '/v1/chat/completions',
    status: 200,
    streamed: i % 2 === 0,
    input_tokens: 100 + i,
    output_tokens: 200 + i,
    latency_ms: 850.5,
    ttft_ms: 120,
    energy_j: 150.25 + i,
    energy_low_j: 120,
    energy_high_j: 190.75 + i,
    facility_energy_j: (150.25 + i) * 1.2,
    pue: 1.2,
    carbon_g: 0.0023 + i / 1e4,
    carbon_low_g: 0.0018,
    carbon_high_g: 0.003 + i / 1e4,
    intensity_g_per_kwh: 45.2,
    intensity_source: 'static',
    intensity_signal: 'average',
    intensity_stale: false,
    method: 'modelled',
    energy_source: 'profile:llama-3.1-8b@H100-SXM',
    routing_policy: 'carbon-aware',
    routing_reason: '{"chosen":"paris"}',
    attempts: 1,
    error_code: null,
    ...overrides,
  }
}
