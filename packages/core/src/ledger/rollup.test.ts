import { describe, expect, it } from 'vitest'
import { minuteOf, rollUp } from './rollup.ts'
import { requestRecord } from './test-records.ts'
import type { IdleEnergyRecord } from './records.ts'

describe('rollUp', () => {
  it('sums requests per minute and key, keeping energy conserved', () => {
    const records = Array.from({ length: 130 }, (_, i) => requestRecord(i))
    const rows = rollUp(records)
    expect(rows.reduce((a, r) => a + r.requests, 0)).toBe(130)
    const energy = records.reduce((a, r) => a + r.energy_j, 0)
    expect(rows.reduce((a, r) => a + r.energy_j, 0)).toBeCloseTo(energy, 6)
    expect(rows.every((r) => r.minute_ms === minuteOf(r.minute_ms))).toBe(true)
    expect(new Set(rows.map((r) => r.minute_ms)).size).toBe(rows.length)
  })

  it('counts errors and measured requests, and keeps idle energy on its own row', () => {
    const idle: IdleEnergyRecord = {
      kind: 'idle',
      backend: 'paris',
      zone: 'FR',
      from_ms: 1_750_000_000_000,
      to_ms: 1_750_000_001_000,
      energy_j: 90,
      facility_energy_j: 108,
      carbon_g: 0.001,
      method: 'modelled',
      source: 'profile',
    }
    const rows = rollUp([
      requestRecord(0, { status: 503, method: 'measured' }),
      requestRecord(1),
      idle,
    ])
    const req = rows.find((r) => r.service === 'chat')
    expect(req).toMatchObject({ requests: 2, errors: 1, measured_requests: 1 })
    expect(rows.find((r) => r.service === '')).toMatchObject({ idle_energy_j: 90, requests: 0 })
  })
})
