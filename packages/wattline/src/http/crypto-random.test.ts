import { describe, expect, it } from 'vitest'
import { createCryptoRandom } from './crypto-random.ts'

describe('createCryptoRandom', () => {
  it('draws in [0, 1), across refills, without repeating a batch', () => {
    const r = createCryptoRandom(8)
    const draws = Array.from({ length: 40 }, () => r.next())
    for (const d of draws) {
      expect(d).toBeGreaterThanOrEqual(0)
      expect(d).toBeLessThan(1)
    }
    // 40 draws of 32-bit words: a repeat would mean a batch was served twice.
    expect(new Set(draws).size).toBe(40)
  })

  it('is roughly uniform (mean of 20,000 draws within 0.5 ± 0.02)', () => {
    const r = createCryptoRandom()
    let sum = 0
    for (let i = 0; i < 20_000; i++) sum += r.next()
    expect(Math.abs(sum / 20_000 - 0.5)).toBeLessThan(0.02)
  })
})
