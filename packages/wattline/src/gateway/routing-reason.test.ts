import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { routingReasonJson, routingReasonObject } from './routing-reason.ts'

const anyNumber = fc.oneof(
  fc.double(),
  fc.double({ min: -1e-9, max: 1e-9 }),
  fc.double({ min: 1e20, max: 1e300 }),
  fc.integer(),
  fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 0.1 + 0.2, 123456.5, 1e21, 5e-7),
)
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom('"\\\n\u2028', 'é'),
)
const score = fc.record(
  {
    backend: text,
    eligible: fc.boolean(),
    reason: text,
    predictedEnergy: anyNumber,
    predictedCarbon: anyNumber,
    predictedLatency: anyNumber,
    score: anyNumber,
  },
  {
    requiredKeys: [
      'backend',
      'eligible',
      'predictedEnergy',
      'predictedCarbon',
      'predictedLatency',
      'score',
    ],
  },
)

describe('routingReasonJson', () => {
  it('writes exactly what JSON.stringify gives for the object form (the ledger rows are hash-chained)', () => {
    fc.assert(
      fc.property(
        text,
        fc.array(score, { maxLength: 6 }),
        fc.option(text, { nil: undefined }),
        (reason, scores, zone) => {
          const d = { reason, scores }
          expect(routingReasonJson(d, zone)).toBe(JSON.stringify(routingReasonObject(d, zone)))
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('writes a typical decision as before', () => {
    const d = {
      reason: 'lowest predicted carbon',
      scores: [
        {
          backend: 'a',
          eligible: true,
          predictedEnergy: 1,
          predictedCarbon: 0.0123456789,
          predictedLatency: 812.5,
          score: 0.0123456789,
        },
        {
          backend: 'b',
          eligible: false,
          reason: 'full',
          predictedEnergy: 1,
          predictedCarbon: 0.5,
          predictedLatency: 90.49,
          score: Infinity,
        },
      ],
    }
    expect(routingReasonJson(d, 'FR')).toBe(
      '{"reason":"lowest predicted carbon","placed_in_zone":"FR","scores":[' +
        '{"backend":"a","eligible":true,"score":0.0123457,"carbon_g":0.0123457,"latency_ms":813},' +
        '{"backend":"b","eligible":false,"why":"full","score":null,"carbon_g":0.5,"latency_ms":90}]}',
    )
  })
})
