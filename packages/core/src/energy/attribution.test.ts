import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { instant, watts } from '../units/quantity.ts'
import { attributeEnergy, integratePower, type RequestSpan } from './attribution.ts'

const at = instant
describe('attributeEnergy', () => {
  it('splits by tokens while requests overlap and keeps idle time apart', () => {
    // 100 W constant for 10 s = 1000 J. a: 0–4 s, 40 tokens; b: 2–6 s, 120 tokens; idle 6–10 s.
    const result = attributeEnergy({
      samples: [{ at: at(0), power: watts(100) }],
      requests: [
        { id: 'a', start: at(0), end: at(4000), tokens: 40 },
        { id: 'b', start: at(2000), end: at(6000), tokens: 120 },
      ],
      from: at(0),
      to: at(10_000),
    })
    expect(result.total).toBeCloseTo(1000, 9)
    expect(result.idle).toBeCloseTo(400, 9)
    // 0–2 s: a alone 200 J. 2–4 s: a does 20 tokens, b 60 → a 50 J, b 150 J. 4–6 s: b alone 200 J.
    expect(result.perRequest.get('a')).toBeCloseTo(250, 9)
    expect(result.perRequest.get('b')).toBeCloseTo(350, 9)
  })

  it('follows the power series step by step', () => {
    const samples = [
      { at: at(0), power: watts(100) },
      { at: at(1000), power: watts(300) },
    ]
    expect(integratePower(samples, at(0), at(2000))).toBeCloseTo(400, 9)
    const r = attributeEnergy({
      samples,
      requests: [{ id: 'x', start: at(1000), end: at(2000), tokens: 5 }],
      from: at(0),
      to: at(2000),
    })
    expect(r.perRequest.get('x')).toBeCloseTo(300, 9)
    expect(r.idle).toBeCloseTo(100, 9)
  })

  it('rejects duplicate ids and negative power', () => {
    const base = { from: at(0), to: at(10) }
    expect(() =>
      attributeEnergy({
        ...base,
        samples: [{ at: at(0), power: watts(-1) }],
        requests: [],
      }),
    ).toThrow(expect.objectContaining({ code: 'WL_INVALID_INPUT' }))
    const r: RequestSpan = { id: 'a', start: at(0), end: at(5), tokens: 1 }
    expect(() =>
      attributeEnergy({ ...base, samples: [{ at: at(0), power: watts(1) }], requests: [r, r] }),
    ).toThrow(expect.objectContaining({ code: 'WL_INVALID_INPUT' }))
  })

  it('conserves energy: Σ request shares + idle = ∫P dt (property)', () => {
    const sample = fc.record({
      at: fc.integer({ min: 0, max: 60_000 }),
      power: fc.double({ min: 0, max: 5000, noNaN: true }),
    })
    const request = fc
      .record({
        start: fc.integer({ min: -5_000, max: 65_000 }),
        length: fc.integer({ min: 0, max: 30_000 }),
        tokens: fc.integer({ min: 0, max: 4000 }),
      })
      .map(({ start, length, tokens }) => ({ start, end: start + length, tokens }))
    fc.assert(
      fc.property(
        fc.array(sample, { minLength: 1, maxLength: 30 }),
        fc.array(request, { maxLength: 25 }),
        fc.integer({ min: 0, max: 30_000 }),
        fc.integer({ min: 1, max: 40_000 }),
        (samples, reqs, from, length) => {
          const input = {
            samples: samples.map((s) => ({ at: at(s.at), power: watts(s.power) })),
            requests: reqs.map((r, i) => ({
              id: `r${i}`,
              start: at(r.start),
              end: at(r.end),
              tokens: r.tokens,
            })),
            from: at(from),
            to: at(from + length),
          }
          const result = attributeEnergy(input)
          const shares = [...result.perRequest.values()].reduce((a, b) => a + b, 0)
          const integral = integratePower(input.samples, input.from, input.to)
          const tolerance = 1e-9 * Math.max(1, integral)
          expect(Math.abs(shares + result.idle - integral)).toBeLessThanOrEqual(tolerance)
          expect(Math.abs(result.total - integral)).toBeLessThanOrEqual(tolerance)
          for (const v of result.perRequest.values()) expect(v).toBeGreaterThanOrEqual(0)
          expect(result.idle).toBeGreaterThanOrEqual(0)
        },
      ),
      { numRuns: 300 },
    )
  })
})
