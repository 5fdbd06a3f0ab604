import { describe, expect, it } from 'vitest'
import { getHardware, HARDWARE } from '../catalog/hardware.ts'
import { hasCode } from '../errors.ts'
import { EDGE_MEASUREMENTS, edgeProfile } from './edge-profile.ts'
import { resolveProfile } from './resolve.ts'

describe('edge modules in the catalogue', () => {
  it('lists Jetson AGX Orin 64GB with its datasheet power modes (15–60 W) and a cited source', () => {
    const orin = getHardware('Jetson AGX Orin')
    expect(orin.id).toBe('Jetson-AGX-Orin-64GB')
    expect(orin.kind).toBe('edge')
    expect(orin.powerModesW).toEqual([15, 30, 50, 60])
    expect(orin.tdpW).toBe(60)
    expect(orin.idleW).toBeGreaterThan(0)
    expect(orin.idleW).toBeLessThan(15)
    expect(orin.sources.tdp).toMatch(/data sheet.*60 W/)
    for (const h of HARDWARE.filter((x) => x.kind === 'edge')) {
      expect(Math.max(...(h.powerModesW ?? []))).toBe(h.tdpW)
    }
  })

  it('rejects an unknown device listing the known ones, edge modules included', () => {
    try {
      getHardware('Jetson Xavier 9000')
      expect.unreachable()
    } catch (e) {
      expect(hasCode(e, 'WL_UNKNOWN_HARDWARE')).toBe(true)
      expect((e as Error).message).toContain('Jetson-AGX-Orin-64GB')
      expect((e as Error).message).toContain('H100-SXM')
    }
  })
})

describe('edge profile', () => {
  const m = EDGE_MEASUREMENTS.find(
    (x) => x.model === 'Qwen/Qwen3-8B' && x.hardware === 'Jetson-AGX-Orin-64GB',
  )
  it('draws power within the module power range and never batches', () => {
    expect(m).toBeDefined()
    if (m === undefined) return
    const p = edgeProfile(m)
    const orin = getHardware(m.hardware)
    expect(p.maxBatch).toBe(1)
    expect(p.gpus).toBe(1)
    expect(p.power(1)).toBeGreaterThanOrEqual(Math.min(...(orin.powerModesW ?? [])))
    expect(p.power(1)).toBeLessThanOrEqual(60)
    expect(p.power(0)).toBe(orin.idleW)
    // Energy per token = power ÷ measured decode rate; batch 8 is served as batch 1.
    const e = p.energyPerOutputToken(1)
    expect(e.value).toBeCloseTo(60 / 32.5, 9)
    expect(e.low).toBeCloseTo(30 / 32.5, 9)
    expect(p.energyPerOutputToken(8).value).toBe(e.value)
    expect(p.timePerOutputToken(1)).toBeCloseTo(1000 / 32.5, 9)
    expect(p.source).toMatch(/TensorRT Edge-LLM v0\.9\.0/)
    expect(p.source).toMatch(/power not measured/)
  })

  it('resolves the measured int4 configuration by default, and extrapolates others at batch 1', () => {
    const measured = resolveProfile({ model: 'qwen3-8b', hardware: 'AGX Orin 64GB' })
    expect(measured.precision).toBe('int4')
    expect(measured.source).toMatch(/^edge: decode 32\.5 tok\/s/)
    const extrapolated = resolveProfile({
      model: 'llama-3.1-8b',
      hardware: 'Jetson-AGX-Orin-64GB',
      precision: 'fp16',
    })
    expect(extrapolated.basis).toBe('parametric')
    expect(extrapolated.maxBatch).toBe(1)
    expect(extrapolated.gpus).toBe(1)
    // Held to batch 1: no lower energy per token at a larger batch.
    expect(extrapolated.energyPerOutputToken(32).value).toBe(
      extrapolated.energyPerOutputToken(1).value,
    )
  })

  it('refuses a model that does not fit and a precision the module cannot run', () => {
    try {
      resolveProfile({ model: 'llama-3.1-70b', hardware: 'Jetson-Orin-NX-16GB', precision: 'int4' })
      expect.unreachable()
    } catch (e) {
      expect(hasCode(e, 'WL_INVALID_INPUT')).toBe(true)
      expect((e as Error).message).toMatch(/more than Jetson-Orin-NX-16GB's 16 GB/)
    }
    try {
      resolveProfile({ model: 'qwen3-8b', hardware: 'Jetson-AGX-Orin-64GB', precision: 'fp8' })
      expect.unreachable()
    } catch (e) {
      expect(hasCode(e, 'WL_INVALID_INPUT')).toBe(true)
      expect((e as Error).message).toMatch(/int4, int8, fp16, bf16/)
    }
  })
})
