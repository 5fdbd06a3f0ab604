import { describe, expect, it } from 'vitest'
import { parseRoutingReason } from './aggregate.ts'
import { createDecisionLog, decisionEntry } from './gateway-live-state.ts'

const decision = (backend: string) =>
  ({ kind: 'route', backend, policy: 'carbon-aware', reason: 'greenest', scores: [] }) as const

describe('createDecisionLog', () => {
  it('returns the newest decisions first and forgets beyond its capacity', () => {
    const log = createDecisionLog(3)
    for (let i = 0; i < 5; i++)
      log.record(decisionEntry(i, `r${i}`, 'chat', 'm', decision(`b${i}`)))
    expect(log.recent(10).map((d) => d.request_id)).toEqual(['r4', 'r3', 'r2'])
    expect(log.recent(1).map((d) => d.request_id)).toEqual(['r4'])
    expect(() => createDecisionLog(0)).toThrow(/capacity/)
  })
})

describe('parseRoutingReason', () => {
  it('reads the gateway’s recorded shape, with or without energy predictions', () => {
    const text = JSON.stringify({
      reason: 'least predicted carbon',
      scores: [
        { backend: 'paris', eligible: true, score: 0.01, carbon_g: 0.012, latency_ms: 900 },
        {
          backend: 'warsaw',
          eligible: false,
          why: 'full',
          score: null,
          carbon_g: 0.1,
          latency_ms: 950,
        },
      ],
    })
    expect(parseRoutingReason(text)).toEqual({
      reason: 'least predicted carbon',
      scores: [
        {
          backend: 'paris',
          eligible: true,
          why: null,
          carbon_g: 0.012,
          energy_j: null,
          latency_ms: 900,
        },
        {
          backend: 'warsaw',
          eligible: false,
          why: 'full',
          carbon_g: 0.1,
          energy_j: null,
          latency_ms: 950,
        },
      ],
    })
  })

  it('gives up on free text or a foreign shape instead of guessing', () => {
    expect(parseRoutingReason('next in rotation')).toBeUndefined()
    expect(parseRoutingReason('{"scores":[{"backend":1}]}')).toBeUndefined()
    expect(parseRoutingReason('[]')).toBeUndefined()
  })
})
