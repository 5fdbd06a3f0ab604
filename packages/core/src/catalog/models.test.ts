import { describe, expect, it } from 'vitest'
import { hasCode } from '../errors.ts'
import { findModel, getModel, MODELS } from './models.ts'

describe('model catalogue', () => {
  it('finds models by Hugging Face id and by alias, case-insensitively', () => {
    expect(findModel('meta-llama/Llama-3.1-8B-Instruct')?.activeParamsB).toBe(8)
    expect(findModel('llama-3.1-8b-instruct')?.id).toBe('meta-llama/Llama-3.1-8B-Instruct')
    expect(findModel('LLAMA-3.1-8B-INSTRUCT')?.id).toBe('meta-llama/Llama-3.1-8B-Instruct')
    expect(findModel('meta-llama/Meta-Llama-3.1-8B-Instruct')?.id).toBe(
      'meta-llama/Llama-3.1-8B-Instruct',
    )
  })

  it('records MoE active parameters and FP8 checkpoints', () => {
    const m = getModel('Qwen/Qwen3-235B-A22B-Instruct-2507-FP8')
    expect(m.architecture).toBe('moe')
    expect(m.activeParamsB).toBe(22)
    expect(m.totalParamsB).toBe(235)
    expect(m.defaultPrecision).toBe('fp8')
    expect(m.baseModel).toBe('Qwen/Qwen3-235B-A22B-Instruct-2507')
  })

  it('keeps every alias unique and every count consistent', () => {
    const seen = new Map<string, string>()
    for (const m of MODELS) {
      expect(m.activeParamsB).toBeLessThanOrEqual(m.totalParamsB)
      expect(m.architecture === 'moe' || m.activeParamsB === m.totalParamsB).toBe(true)
      for (const n of [m.id, ...m.aliases]) {
        const k = n.toLowerCase().replace(/[^a-z0-9]/g, '')
        expect(seen.get(k) ?? m.id, `alias ${n}`).toBe(m.id)
        seen.set(k, m.id)
      }
    }
  })

  it('rejects an unknown model with close matches', () => {
    try {
      getModel('llama-3.1-8b-instrukt')
      expect.unreachable()
    } catch (e) {
      expect(hasCode(e, 'WL_UNKNOWN_MODEL')).toBe(true)
      expect((e as { details: { matches: string[] } }).details.matches[0]).toBe(
        'meta-llama/Llama-3.1-8B-Instruct',
      )
    }
  })
})
