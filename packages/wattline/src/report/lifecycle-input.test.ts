import { describe, expect, it } from 'vitest'
import { builtinMeanIntensity } from '../cli/commands/lifecycle.ts'
import {
  hardwareInputSchema,
  lifecycleFileSchema,
  parseLifecycle,
  toHardwareRecord,
  toTrainingRecord,
  trainingInputSchema,
  type MeanIntensity,
} from './lifecycle-input.ts'

const fixed: MeanIntensity = () => Promise.resolve({ value: 200, source: 'test-table' })
const run = {
  name: 'ft',
  model: 'm',
  zone: 'DE',
  start: '2024-01-01T00:00:00Z',
  end: '2024-01-02T00:00:00Z',
  source: 'meter export',
}

describe('training inputs', () => {
  it('applies PUE and the uncertainty to metered energy, and the mean intensity of the zone', async () => {
    const p = parseLifecycle(trainingInputSchema, {
      ...run,
      energy_kwh: 100,
      pue: 1.2,
      energy_uncertainty_pct: 10,
    })
    if (!p.ok) throw new Error(JSON.stringify(p.issues))
    const r = await toTrainingRecord(p.value, fixed)
    expect(r.energy_j / 3_600_000).toBeCloseTo(120, 9)
    expect(r.energy_low_j / 3_600_000).toBeCloseTo(108, 9)
    expect(r.energy_high_j / 3_600_000).toBeCloseTo(132, 9)
    expect(r.carbon_g).toBeCloseTo(24_000, 6)
    expect(r.method).toBe('measured')
    expect(r.source).toContain('mean over the run of test-table')
  })

  it('resolves a cloud region to its zone and says so', async () => {
    const p = parseLifecycle(trainingInputSchema, {
      ...run,
      zone: undefined,
      region: 'aws:eu-central-1',
      energy_kwh: 1,
      carbon_kg: 0.3,
    })
    if (!p.ok) throw new Error(JSON.stringify(p.issues))
    const r = await toTrainingRecord(p.value, fixed)
    expect(r.zone).toBe('DE')
    expect(r.carbon_g).toBe(300)
    expect(r.source).toContain('region aws:eu-central-1 → zone DE')
  })

  it('collects every problem with its key', () => {
    const p = parseLifecycle(trainingInputSchema, {
      ...run,
      zone: undefined,
      gpu_hours: 10,
      method: 'measured',
      extra: 1,
    })
    expect(p.ok).toBe(false)
    if (p.ok) return
    const keys = p.issues.map((i) => i.path.join('.'))
    expect(keys).toEqual(expect.arrayContaining(['', 'hardware', 'method', 'zone']))
  })
})

describe('hardware inputs', () => {
  it('takes the embodied figure and its source from the catalogue', () => {
    const p = parseLifecycle(hardwareInputSchema, {
      id: 'r',
      hardware: 'h100',
      count: 2,
      lifetime_years: 4,
      in_service_from: '2024-01-01',
      zone: 'FR',
    })
    if (!p.ok) throw new Error(JSON.stringify(p.issues))
    const h = toHardwareRecord(p.value)
    expect(h).toMatchObject({ hardware: 'H100-SXM', embodied_g: 150_000, allocation_share: 1 })
    expect(h.source).toContain('CCF')
  })

  it('reads a file with both lists and rejects unknown keys', () => {
    expect(
      parseLifecycle(lifecycleFileSchema, { training_runs: [], hardware: [], misc: 1 }).ok,
    ).toBe(false)
    expect(parseLifecycle(lifecycleFileSchema, {}).ok).toBe(true)
  })
})

describe('builtinMeanIntensity', () => {
  it('averages the built-in hourly values over the run', async () => {
    const day = await builtinMeanIntensity(
      'DE',
      Date.parse('2023-06-01T00:00:00Z'),
      Date.parse('2023-06-02T00:00:00Z'),
    )
    expect(day.value).toBeGreaterThan(50)
    expect(day.value).toBeLessThan(1000)
    expect(day.source).toContain('DE')
    await expect(builtinMeanIntensity('XX-NOWHERE', 0, 3_600_000)).rejects.toMatchObject({
      code: 'WL_UNKNOWN_ZONE',
    })
  })
})
