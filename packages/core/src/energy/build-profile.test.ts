import { describe, expect, it } from 'vitest'
import { resolveProfile } from './resolve.ts'

describe('buildProfile', () => {
  it('answers each batch the same however often and in whatever order it is asked (answers at whole batches are kept)', () => {
    const spec = {
      model: 'meta-llama/Llama-3.1-8B-Instruct',
      hardware: 'H100-SXM',
      precision: 'bf16',
    } as const
    const up = resolveProfile(spec)
    const down = resolveProfile(spec)
    const batches = [1, 2, 3, 7.5, 16, 64, 255, 256, 300, 5000, 0, -3, Number.NaN]
    const ask = (p: typeof up, b: number) => {
      const e = p.energyPerOutputToken(b)
      return [e.value, e.low, e.high, e.method, e.source, p.timePerOutputToken(b), p.power(b)]
    }
    const first = batches.map((b) => ask(up, b))
    const reversed = [...batches].reverse().map((b) => ask(down, b))
    expect(reversed.reverse()).toEqual(first)
    // asked again (now from what was kept): the same, and different batches differ
    expect(batches.map((b) => ask(up, b))).toEqual(first)
    expect(up.energyPerOutputToken(2).value).not.toBe(up.energyPerOutputToken(16).value)
    expect(up.timePerOutputToken(2)).not.toBe(up.timePerOutputToken(16))
    expect(Object.isFrozen(up.energyPerOutputToken(2))).toBe(true)
  })
})
