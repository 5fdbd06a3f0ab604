import { describe, expect, it } from 'vitest'
import { hasCode } from '../errors.ts'
import { advise } from './advise.ts'
import { adviseCandidates } from './candidates.ts'
import { evaluateOption } from './rank.ts'
import { mixFromSummary } from './workload-mix.ts'

// A latency-tolerant workload: 500-token prompts, 300-token answers, 0.05 requests/s all day.
const mix = mixFromSummary(
  {
    input_tokens: { mean: 500, p95: 1000 },
    output_tokens: { mean: 300, p95: 600 },
    requests_per_s: 0.05,
  },
  'edge.yaml',
)

describe('advise with edge placements', () => {
  it('ranks edge configurations beside cloud ones, each marked by its source', () => {
    const r = advise({
      mix,
      models: ['qwen3-8b'],
      placements: ['cloud', 'edge'],
      sloP95Ms: 60_000,
      zones: [],
      pue: 1.3,
    })
    const edge = r.ranked.filter((o) => o.placement === 'edge')
    const cloud = r.ranked.filter((o) => o.placement === 'cloud')
    expect(cloud.length).toBeGreaterThan(0)
    const orin = edge.find((o) => o.hardware === 'Jetson-AGX-Orin-64GB' && o.precision === 'int4')
    expect(orin).toBeDefined()
    if (orin === undefined) return
    // Rates measured (TensorRT Edge-LLM), power not: measured-extrapolated, and says why.
    expect(orin.basis).toBe('measured-extrapolated')
    expect(orin.source).toMatch(/power not measured/)
    expect(orin.batch_cap).toBe(1)
    expect(orin.gpus).toBe(0)
    expect(orin.devices).toBe(orin.replicas)
    expect(orin.carries_peak).toBe(true)
    // 0.05 req/s × 300 tokens = 15 tokens/s: one module (32.5 tok/s) carries it.
    expect(orin.devices).toBe(1)
    // p95 latency = 1,000 prompt tokens at 931.2 tok/s + 600 tokens at 32.5 tok/s.
    expect(orin.latency_p95_ms).toBeCloseTo((1000 / 931.2) * 1000 + (600 / 32.5) * 1000, 3)
    expect(orin.meets_slo).toBe(true)
    // Unmeasured precisions on the module are extrapolations.
    const fp16 = edge.find((o) => o.hardware === 'Jetson-AGX-Orin-64GB' && o.precision === 'fp16')
    expect(fp16?.basis).toBe('extrapolated')
    // The ranking is by energy per 1k requests among feasible options, edge included.
    const feasible = r.ranked.filter((o) => o.meets_slo !== false && o.carries_peak)
    const energies = feasible.map((o) => o.energy_per_1k_requests_wh.value)
    expect(energies).toEqual([...energies].sort((a, b) => a - b))
    expect(feasible.some((o) => o.placement === 'edge')).toBe(true)
  })

  it('charges no PUE at the edge, and the modules idle power between requests', () => {
    const cands = adviseCandidates({
      models: ['qwen3-8b'],
      hardware: ['Jetson-AGX-Orin-64GB'],
      outputTokens: 300,
    })
    expect(cands.every((c) => c.placement === 'edge')).toBe(true)
    const m = cands.find((c) => c.edge !== undefined)
    expect(m).toBeDefined()
    if (m === undefined) return
    const a = evaluateOption({ mix, candidates: cands, zones: [], pue: 1 }, m, 1)
    const b = evaluateOption({ mix, candidates: cands, zones: [], pue: 1.6 }, m, 1)
    expect(b.energy_per_1k_requests_wh.value).toBe(a.energy_per_1k_requests_wh.value)
    // Energy per request at 60 W: decode 300/32.5 s + prefill 500/931.2 s. The module is busy
    // 0.05 × 300/32.5 of the time (rank.ts sizes occupancy by decode time); the rest idles.
    const perRequestJ = 60 * (300 / 32.5 + 500 / 931.2)
    const busyS = 300 / 32.5
    const idlePerRequestJ = ((1 - 0.05 * busyS) / 0.05) * m.profile.idlePower
    expect(a.energy_per_1k_requests_wh.value).toBeCloseTo(
      ((perRequestJ + idlePerRequestJ) * 1000) / 3600,
      1,
    )
  })

  it('misses a tight SLO at the edge, and refuses when nothing was measured anywhere', () => {
    const tight = advise({
      mix,
      models: ['qwen3-8b'],
      placements: ['cloud', 'edge'],
      sloP95Ms: 5_000,
      zones: [],
      pue: 1.3,
    })
    expect(
      tight.ranked.filter((o) => o.placement === 'edge').every((o) => o.meets_slo === false),
    ).toBe(true)
    expect(tight.recommended?.placement).toBe('cloud')
    try {
      advise({
        mix,
        models: ['llama-3.2-3b'],
        hardware: ['Jetson-Orin-NX-16GB'],
        zones: [],
        pue: 1,
      })
      expect.unreachable()
    } catch (e) {
      expect(hasCode(e, 'WL_NO_MEASURED_PROFILE')).toBe(true)
    }
  })
})
