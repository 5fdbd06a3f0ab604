import { describe, expect, it } from 'vitest'
import { FITTED_PROFILE_TABLE } from '../catalog/data/fitted-profiles.ts'
import { hasCode } from '../errors.ts'
import { outputMixLogShift } from './parametric.ts'
import { estimateRequest } from './request.ts'
import { fittedEntries, resolveProfile } from './resolve.ts'

describe('resolveProfile', () => {
  it('returns the fitted profile for a measured triple, by alias and hardware alias', () => {
    const p = resolveProfile({ model: 'llama-3.1-8b-instruct', hardware: 'h100' })
    expect(p.basis).toBe('fitted')
    expect(p.model).toBe('meta-llama/Llama-3.1-8B-Instruct')
    expect(p.hardware).toBe('H100-SXM')
    expect(p.precision).toBe('bf16')
    expect(p.gpus).toBe(1)
    expect(p.source).toContain('mlenergy-benchmark-v3')
  })

  it('defaults the precision of an FP8 checkpoint to fp8 and finds it from the base model', () => {
    const fp8 = resolveProfile({
      model: 'Qwen/Qwen3-235B-A22B-Instruct-2507-FP8',
      hardware: 'H100',
    })
    expect(fp8.precision).toBe('fp8')
    expect(fp8.basis).toBe('fitted')
    const viaBase = resolveProfile({
      model: 'qwen3-235b-a22b',
      hardware: 'H100',
      precision: 'fp8',
    })
    expect(viaBase.basis).toBe('fitted')
    expect(viaBase.precision).toBe('fp8')
  })

  it('falls back to the parametric estimator with a wider interval', () => {
    const fitted = resolveProfile({ model: 'llama-3.1-8b-instruct', hardware: 'H100-SXM' })
    const param = resolveProfile({ model: 'llama-3.1-8b-instruct', hardware: 'H200' })
    expect(param.basis).toBe('parametric')
    const width = (e: { low: number; high: number }): number => e.high / e.low
    expect(width(param.energyPerOutputToken(64))).toBeGreaterThan(
      width(fitted.energyPerOutputToken(64)),
    )
  })

  it('carries a measured profile to another request mix by the output-length term, wider', () => {
    const asMeasured = resolveProfile({ model: 'llama-3.1-8b-instruct', hardware: 'h100' })
    const entry = FITTED_PROFILE_TABLE.profiles.find(
      (p) =>
        p.model === 'meta-llama/Llama-3.1-8B-Instruct' &&
        p.hardware === 'H100-SXM' &&
        p.dataset === 'mlenergy-benchmark-v3',
    )
    expect(entry).toBeDefined()
    const same = resolveProfile({
      model: 'llama-3.1-8b-instruct',
      hardware: 'h100',
      outputTokens: entry?.outputTokens ?? 0,
    })
    expect(same.energyPerOutputToken(64).value).toBeCloseTo(
      asMeasured.energyPerOutputToken(64).value,
      9,
    )
    const long = resolveProfile({
      model: 'llama-3.1-8b-instruct',
      hardware: 'h100',
      outputTokens: (entry?.outputTokens ?? 0) * 4,
    })
    // Longer answers amortise the prompt over more tokens: less energy per output token at a
    // batch where decode is cheap (the output-length × batch term makes the effect batch-dependent).
    expect(outputMixLogShift(FITTED_PROFILE_TABLE.parametric, 100, 400, 64)).toBeLessThan(0)
    expect(outputMixLogShift(FITTED_PROFILE_TABLE.parametric, 100, 400, 512)).toBeLessThan(
      outputMixLogShift(FITTED_PROFILE_TABLE.parametric, 100, 400, 64),
    )
    expect(long.energyPerOutputToken(64).value).toBeLessThan(
      asMeasured.energyPerOutputToken(64).value,
    )
    const width = (e: { low: number; high: number }): number => e.high / e.low
    expect(width(long.energyPerOutputToken(64))).toBeGreaterThan(
      width(asMeasured.energyPerOutputToken(64)),
    )
    expect(long.source).toContain('mean output tokens')
    expect(long.basis).toBe('fitted')
  })

  it('feeds the request mix to the parametric estimator', () => {
    const short = resolveProfile({
      model: 'llama-3.1-8b-instruct',
      hardware: 'H200',
      outputTokens: 100,
    })
    const long = resolveProfile({
      model: 'llama-3.1-8b-instruct',
      hardware: 'H200',
      outputTokens: 1000,
    })
    expect(short.basis).toBe('parametric')
    expect(long.energyPerOutputToken(32).value).toBeLessThan(short.energyPerOutputToken(32).value)
    expect(() =>
      resolveProfile({ model: 'llama-3.1-8b-instruct', hardware: 'H200', outputTokens: 0 }),
    ).toThrow(expect.objectContaining({ code: 'WL_INVALID_INPUT' }))
  })

  it('estimates an uncatalogued model from its active parameters', () => {
    const p = resolveProfile({ model: 'acme/secret-13b', hardware: 'A100-80GB', activeParamsB: 13 })
    expect(p.basis).toBe('parametric')
    expect(p.model).toBe('acme/secret-13b')
    expect(p.source).toContain('13 B active params')
    const big = resolveProfile({
      model: 'acme/secret-70b',
      hardware: 'A100-80GB',
      activeParamsB: 70,
    })
    expect(big.gpus).toBeGreaterThan(p.gpus)
    expect(big.energyPerOutputToken(32).value).toBeGreaterThan(p.energyPerOutputToken(32).value)
  })

  it('rejects unknown models, hardware and bad numbers with typed errors', () => {
    expect(() => resolveProfile({ model: 'nope-9000', hardware: 'H100' })).toThrow(
      expect.objectContaining({ code: 'WL_UNKNOWN_MODEL' }),
    )
    expect(() => resolveProfile({ model: 'llama-3.1-8b', hardware: 'H1000' })).toThrow(
      expect.objectContaining({ code: 'WL_UNKNOWN_HARDWARE' }),
    )
    try {
      resolveProfile({ model: 'x', hardware: 'H100', activeParamsB: -1 })
      expect.unreachable()
    } catch (e) {
      expect(hasCode(e, 'WL_INVALID_INPUT')).toBe(true)
    }
  })

  it('gives profiles whose energy per token falls with batch and whose power stays physical', () => {
    for (const entry of fittedEntries()) {
      const p = resolveProfile({
        model: entry.model,
        hardware: entry.hardware,
        precision: entry.precision,
        gpus: entry.gpus,
      })
      const e1 = p.energyPerOutputToken(1).value
      const eMax = p.energyPerOutputToken(p.maxBatch).value
      expect(eMax).toBeLessThanOrEqual(e1)
      expect(p.power(0)).toBe(p.idlePower)
      const pw = p.power(p.maxBatch)
      expect(pw).toBeGreaterThanOrEqual(p.idlePower)
      expect(pw).toBeLessThanOrEqual(p.gpus * 1000)
    }
  })

  it('is built from a table whose intervals were calibrated', () => {
    expect(FITTED_PROFILE_TABLE.fittedIntervalLog).toBeGreaterThan(0)
    expect(FITTED_PROFILE_TABLE.parametric.energyIntervalLog).toBeGreaterThan(
      FITTED_PROFILE_TABLE.fittedIntervalLog,
    )
    expect(FITTED_PROFILE_TABLE.heldOut.groups.length).toBeGreaterThan(0)
  })
})

describe('estimateRequest', () => {
  const profile = resolveProfile({ model: 'llama-3.1-8b-instruct', hardware: 'H100-SXM' })

  it('adds output-token and prompt-token energy and applies PUE', () => {
    const e = estimateRequest(profile, { inputTokens: 100, outputTokens: 200, batch: 16 })
    const expected =
      200 * profile.energyPerOutputToken(16).value + 100 * profile.energyPerInputToken(16).value
    expect(e.value).toBeCloseTo(expected, 9)
    expect(e.low).toBeLessThan(e.value)
    expect(e.high).toBeGreaterThan(e.value)
    expect(e.method).toBe('modelled')
    const withPue = estimateRequest(profile, {
      inputTokens: 100,
      outputTokens: 200,
      batch: 16,
      pue: 1.2,
    })
    expect(withPue.value).toBeCloseTo(e.value * 1.2, 9)
    expect(withPue.source).toContain('PUE 1.2')
  })

  it('costs less per request at a larger running batch', () => {
    const small = estimateRequest(profile, { inputTokens: 0, outputTokens: 500, batch: 1 })
    const large = estimateRequest(profile, { inputTokens: 0, outputTokens: 500, batch: 128 })
    expect(large.value).toBeLessThan(small.value / 5)
  })

  it('rejects impossible inputs', () => {
    for (const bad of [
      { inputTokens: -1, outputTokens: 1, batch: 1 },
      { inputTokens: 1, outputTokens: 1.5, batch: 1 },
      { inputTokens: 1, outputTokens: 1, batch: 0 },
      { inputTokens: 1, outputTokens: 1, batch: 1, pue: 0.9 },
    ]) {
      expect(() => estimateRequest(profile, bad)).toThrow(
        expect.objectContaining({ code: 'WL_INVALID_INPUT' }),
      )
    }
  })
})
