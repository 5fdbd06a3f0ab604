/**
 * The request-mix estimator on synthetic measurements generated from known coefficients: the fit
 * recovers them, its interval covers held-out request mixes at about the stated rate, and the
 * output-length × batch term carries a measured profile between mixes as stated.
 */
import { describe, expect, it } from 'vitest'
import { getHardware } from '../catalog/hardware.ts'
import { seededRandom } from '../ports/random.ts'
import { leastAbsoluteDeviations } from './curve-fit.ts'
import { fitParametric, resolveRows, THIN_SUPPORT_CONFIGURATIONS } from './fit-profiles.ts'
import type { MeasuredRow } from './measurements.ts'
import {
  BASELINE_FEATURES,
  dot,
  isThinSupport,
  outputMixLogShift,
  PARAMETRIC_FEATURES,
  PARAMETRIC_TPOT_FEATURES,
  parametricFeatures,
  parametricIntervalLog,
  parametricTpotFeatures,
  type ParametricInput,
} from './parametric.ts'
import type { Precision } from './profile.ts'

/** Known coefficients, in the order of PARAMETRIC_FEATURES (signs and sizes like the real fit). */
const THETA = [-1.2, 0.6, 0.15, -0.3, 0.25, -0.1, 0.4, 0.04, -0.09]
const PHI = [3.5, 0.3, 0.7, 0.2, -0.4, -0.2, 0.2, -0.03, 0.08]

const MODELS: readonly [string, number, number][] = [
  ['Qwen/Qwen3-8B', 8, 8],
  ['Qwen/Qwen3-14B', 14, 14],
  ['Qwen/Qwen3-32B', 32, 32],
  ['meta-llama/Llama-3.1-70B-Instruct', 70, 70],
  ['Qwen/Qwen3-30B-A3B-Instruct-2507', 30, 3],
  ['Qwen/Qwen3-235B-A22B-Instruct-2507', 235, 22],
]
const HARDWARE = ['H100-SXM', 'A100-40GB', 'B200'] as const
const BATCHES = [8, 32, 128, 512, 1024]
/** Four request mixes: mean output tokens of each task. */
const TASKS: readonly [string, number][] = [
  ['chat', 600],
  ['code', 90],
  ['fim', 250],
  ['long', 1200],
]

interface Synthetic {
  readonly rows: MeasuredRow[]
}

/**
 * Rows from THETA/PHI with multiplicative noise: per-row ln-normal (sd `rowSd`) and a per
 * configuration offset (sd `configSd`), as measured configurations differ beyond any feature.
 */
function synthesise(seed: number, rowSd: number, configSd: number): Synthetic {
  const rng = seededRandom(seed)
  const normal = (): number => {
    const u = Math.max(1e-12, rng.next())
    const v = rng.next()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }
  const rows: MeasuredRow[] = []
  for (const [task, meanOut] of TASKS) {
    for (const [model, total, active] of MODELS) {
      for (const hwId of HARDWARE) {
        const hw = getHardware(hwId)
        const precision: Precision = 'bf16'
        let gpus = 1
        while (gpus * hw.memoryGb < total * 2 * 1.25) gpus *= 2
        const offset = configSd * normal()
        for (const batch of BATCHES) {
          const outputTokens = meanOut * Math.exp(0.05 * normal())
          const input: ParametricInput = {
            activeParamsB: active,
            totalParamsB: total,
            precision,
            hardware: hw,
            gpus,
            batch,
            outputTokens,
          }
          const e = Math.exp(dot(THETA, parametricFeatures(input)) + offset + rowSd * normal())
          const t = Math.exp(dot(PHI, parametricTpotFeatures(input)) + rowSd * normal())
          rows.push({
            dataset: 'mlenergy-benchmark-v3',
            task,
            model,
            hardware: hwId,
            precision,
            gpus,
            maxBatch: batch,
            batch,
            energyPerOutputTokenJ: e,
            timePerOutputTokenMs: t,
            outputTokens,
            activeParamsB: active,
            totalParamsB: total,
          })
        }
      }
    }
  }
  return { rows }
}

describe('request-mix estimator on synthetic measurements', () => {
  it('recovers known coefficients, the output-length × batch term included', () => {
    const { rows } = synthesise(7, 0.01, 0)
    const coef = fitParametric(resolveRows(rows), 0.9)
    expect(coef.features).toEqual([...PARAMETRIC_FEATURES])
    expect(coef.tpotFeatures).toEqual([...PARAMETRIC_TPOT_FEATURES])
    expect(coef.weighting).toBe('configuration')
    // Physics features the synthetic configurations span well: tight; the rest: looser.
    coef.energy.forEach((v, i) => expect(Math.abs(v - (THETA[i] ?? 0))).toBeLessThan(0.05))
    coef.tpot.forEach((v, i) => expect(Math.abs(v - (PHI[i] ?? 0))).toBeLessThan(0.05))
    expect(coef.energy[8]).toBeCloseTo(THETA[8] ?? 0, 2)
  })

  it('covers held-out request mixes at about the stated 90 % with its calibrated interval', () => {
    const { rows } = synthesise(11, 0.08, 0.12)
    const resolved = resolveRows(rows)
    for (const [task] of TASKS) {
      const train = resolved.filter((r) => r.task !== task)
      const test = resolved.filter((r) => r.task === task)
      const coef = fitParametric(train, 0.9)
      let inside = 0
      for (const r of test) {
        const x = parametricFeatures(
          {
            activeParamsB: r.activeB,
            totalParamsB: r.totalB,
            precision: r.precision,
            hardware: getHardware(r.hardware),
            gpus: r.gpus,
            batch: r.batch,
            outputTokens: r.outputTokens,
          },
          coef.features,
        )
        const w = parametricIntervalLog(coef, x, isThinSupport(coef, r.hardware, r.precision))
        if (Math.abs(Math.log(r.energyPerOutputTokenJ) - dot(coef.energy, x)) <= w) inside++
      }
      const share = inside / test.length
      // q90 of held-out residuals; 90 rows of 18 correlated configurations per task.
      expect(share).toBeGreaterThanOrEqual(0.8)
      expect(share).toBeLessThanOrEqual(1)
      // ... and not by being absurdly wide: under 3 noise standard deviations of the sum.
      expect(coef.energyIntervalLog).toBeLessThan(3 * Math.hypot(0.08, 0.12))
    }
  })

  it('widens where a hardware × precision cell was rarely measured (Mondrian strata)', () => {
    const { rows } = synthesise(5, 0.05, 0.1)
    // Keep only two B200 configurations: a rarely-seen cell.
    const few = rows.filter(
      (r) =>
        r.hardware !== 'B200' ||
        (r.task === 'chat' && (r.model === 'Qwen/Qwen3-8B' || r.model === 'Qwen/Qwen3-14B')),
    )
    const coef = fitParametric(resolveRows(few), 0.9)
    expect(coef.support?.['B200|bf16']).toBe(2)
    expect(coef.thinSupport).toBe(THIN_SUPPORT_CONFIGURATIONS)
    expect(isThinSupport(coef, 'B200', 'bf16')).toBe(true)
    expect(isThinSupport(coef, 'H100-SXM', 'bf16')).toBe(false)
    expect(isThinSupport(coef, 'H100-SXM', 'fp8')).toBe(true)
    expect(coef.energyThinIntervalLog).toBeGreaterThanOrEqual(coef.energyIntervalLog)
    const x = parametricFeatures({
      activeParamsB: 8,
      totalParamsB: 8,
      precision: 'bf16',
      hardware: getHardware('B200'),
      gpus: 1,
      batch: 64,
      outputTokens: 600,
    })
    expect(parametricIntervalLog(coef, x, true)).toBeGreaterThanOrEqual(
      parametricIntervalLog(coef, x, false),
    )
  })

  it('fits the previous estimator as the baseline: no mix interaction, rows weighed alike', () => {
    const { rows } = synthesise(3, 0.02, 0)
    const coef = fitParametric(resolveRows(rows), 0.9, 'baseline')
    expect(coef.features).toEqual([...BASELINE_FEATURES])
    expect(coef.energy).toHaveLength(7)
    expect(coef.weighting).toBe('row')
    expect(coef.energyThinIntervalLog).toBeUndefined()
  })

  it('carries a profile between mixes by θ_L·Δln L + θ_Lb·Δln L·ln b', () => {
    const { rows } = synthesise(7, 0.01, 0)
    const coef = fitParametric(resolveRows(rows), 0.9)
    const thL = coef.energy[4] ?? 0
    const thLb = coef.energy[8] ?? 0
    const d = Math.log(400 / 100)
    expect(outputMixLogShift(coef, 100, 400, 64)).toBeCloseTo(thL * d + thLb * d * Math.log(64), 9)
    expect(outputMixLogShift(coef, 100, 100, 64)).toBe(0)
    // With THETA's negative interaction, longer outputs save more at larger batch.
    expect(outputMixLogShift(coef, 100, 400, 512)).toBeLessThan(
      outputMixLogShift(coef, 100, 400, 8),
    )
  })
})

describe('leastAbsoluteDeviations with weights', () => {
  it('is a weighted median: the heavier rows win', () => {
    const X = [[1], [1], [1]]
    const y = [0, 0, 10]
    expect(leastAbsoluteDeviations(X, y)[0]).toBeCloseTo(0, 1)
    expect(leastAbsoluteDeviations(X, y, 50, 0.02, [0.1, 0.1, 1])[0]).toBeCloseTo(10, 1)
  })
})
