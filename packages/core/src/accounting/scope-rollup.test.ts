import { describe, expect, it } from 'vitest'
import type { IdleEnergyRecord } from '../ledger/records.ts'
import type { ReportRequest } from '../ports/report-source.ts'
import { joules } from '../units/quantity.ts'
import { carbonOfItEnergy } from './carbon.ts'
import { facilityEnergy } from './facility-energy.ts'
import { ScopeRollup } from './scope-rollup.ts'

const H = 3_600_000

/** A request whose figures follow core's formulas: facility = IT × PUE, carbon at 400 g/kWh. */
function req(p: Partial<ReportRequest> & { at_ms: number }): ReportRequest {
  const energy = p.energy_j ?? 360
  const pue = p.pue ?? 1.25
  const [low, high] = [energy * 0.9, energy * 1.1]
  const figures = {
    energy_j: energy,
    energy_low_j: low,
    energy_high_j: high,
    facility_energy_j: facilityEnergy(joules(energy), pue),
    pue,
    carbon_g: carbonOfItEnergy(energy, pue, 400),
    carbon_low_g: carbonOfItEnergy(low, pue, 400),
    carbon_high_g: carbonOfItEnergy(high, pue, 400),
    intensity_g_per_kwh: 400,
  }
  return {
    service: 'chat',
    tenant: null,
    model: 'm',
    backend: 'gpu-de',
    zone: 'DE',
    status: 200,
    error_code: null,
    input_tokens: 10,
    output_tokens: 100,
    ...figures,
    intensity_source: 'electricitymaps-csv:DE',
    intensity_signal: 'average',
    intensity_stale: false,
    method: 'measured',
    energy_source: 'nvidia-smi',
    ...p,
  }
}

const idle = (p: Partial<IdleEnergyRecord>): IdleEnergyRecord => ({
  kind: 'idle',
  backend: 'gpu-de',
  zone: 'DE',
  from_ms: 0,
  to_ms: H,
  energy_j: 3600,
  facility_energy_j: 4500,
  carbon_g: 0.5,
  method: 'modelled',
  source: 'profile idle power',
  ...p,
})

describe('ScopeRollup', () => {
  it('totals requests and charged idle energy with intervals, per zone, backend and bucket', () => {
    const s = new ScopeRollup({ fromMs: 0, toMs: 2 * H })
    s.addRequest(req({ at_ms: 60_000 }))
    s.addRequest(req({ at_ms: H + 60_000, zone: 'FR', backend: 'gpu-fr', pue: 1.1, status: 500 }))
    // Half of a backend's idle hour is inside the period; the scope's share of it is 0.5.
    const charged = s.addIdle(idle({ from_ms: -H / 2, to_ms: H / 2 }), 0.5)
    expect(charged).toBe(900)
    expect(s.requests).toBe(2)
    expect(s.failed).toBe(1)
    expect(s.it.value).toBe(360 + 360 + 900)
    expect(s.it.low).toBeCloseTo(324 + 324 + 900, 9)
    expect(s.idleIt.value).toBe(900)
    expect(s.facility.value).toBeCloseTo(450 + 396 + 1125, 9)
    expect(s.carbon.sumMethod()).toBe('mixed')
    expect(s.zones.get('DE')?.idleFacilityJ).toBe(1125)
    expect(s.backends.get('gpu-de')).toMatchObject({ requests: 1, itJ: 360, idleJ: 900 })
    // Energy is conserved across the time buckets and across zones.
    const bucketJ = s.buckets.list.reduce((t, b) => t + b.itJ, 0)
    expect(bucketJ).toBeCloseTo(s.it.value, 9)
    const zoneJ = [...s.zones.values()].reduce((t, z) => t + z.itJ, 0)
    expect(zoneJ).toBeCloseTo(s.it.value, 9)
    expect(s.measuredJ + s.modelledJ).toBeCloseTo(s.it.value, 9)
  })

  it('charges nothing for idle energy outside the period or with no share', () => {
    const s = new ScopeRollup({ fromMs: 0, toMs: H })
    expect(s.addIdle(idle({ from_ms: 2 * H, to_ms: 3 * H }), 1)).toBe(0)
    expect(s.addIdle(idle({}), 0)).toBe(0)
    expect(s.it.parts).toBe(0)
    expect(s.minuteEnergy.peak()).toBeUndefined()
  })
})
