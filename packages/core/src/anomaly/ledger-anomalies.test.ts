import { describe, expect, it } from 'vitest'
import { detectLedgerAnomalies } from './ledger-anomalies.ts'

const HOUR = 3_600_000
const T0 = Date.UTC(2025, 2, 3)

function requests(
  days: number,
): { at_ms: number; service: string; energy_j: number; status: number }[] {
  const rows = []
  for (let h = 0; h < days * 24; h++) {
    for (let k = 0; k < 12; k++) {
      rows.push({
        at_ms: T0 + h * HOUR + k * 300_000,
        service: 'chat',
        energy_j: 300 + (h % 24) * 5 + k,
        status: 200,
      })
    }
  }
  return rows
}

describe('detectLedgerAnomalies', () => {
  it('flags an hour whose energy per request jumps, per service, within the asked period', () => {
    const rows = requests(10)
    const badHour = T0 + (9 * 24 + 6) * HOUR
    const withFault = rows.map((r) =>
      r.at_ms >= badHour && r.at_ms < badHour + HOUR ? { ...r, energy_j: r.energy_j * 2 } : r,
    )
    // Failed requests are not counted: a 500 with a huge figure changes nothing.
    withFault.push({ at_ms: T0 + 8 * 24 * HOUR, service: 'chat', energy_j: 1e9, status: 500 })
    const found = detectLedgerAnomalies(
      { requests: withFault, powerSamples: [] },
      { fromMs: T0 + 9 * 24 * HOUR },
    )
    expect(found).toHaveLength(1)
    expect(found[0]).toMatchObject({
      kind: 'energy_per_request',
      subject: 'chat',
      at_ms: badHour,
      unit: 'J/request',
      direction: 'high',
    })
    expect(
      detectLedgerAnomalies({ requests: withFault, powerSamples: [] }, { toMs: badHour }),
    ).toEqual([])
  })

  it('skips hours with too few requests to judge, in the series and as history', () => {
    const sparse = requests(10).filter((r) => (r.at_ms / 300_000) % 12 < 3) // 3 per hour
    const badHour = T0 + (9 * 24 + 6) * HOUR
    const withFault = sparse.map((r) =>
      r.at_ms >= badHour && r.at_ms < badHour + HOUR ? { ...r, energy_j: r.energy_j * 3 } : r,
    )
    const input = { requests: withFault, powerSamples: [] }
    expect(detectLedgerAnomalies(input)).toEqual([])
    expect(detectLedgerAnomalies(input, { minRequestsPerBucket: 3 }).map((a) => a.at_ms)).toEqual([
      badHour,
    ])
  })

  it('flags backend power per backend, and nothing for a healthy one', () => {
    const samples = []
    for (let h = 0; h < 8 * 24; h++) {
      for (const backend of ['paris', 'warsaw']) {
        const broken = backend === 'warsaw' && h === 7 * 24 + 2
        samples.push({ at_ms: T0 + h * HOUR + 1000, backend, power_w: broken ? 900 : 350 })
      }
    }
    const found = detectLedgerAnomalies({ requests: [], powerSamples: samples })
    expect(found.map((a) => [a.kind, a.subject, a.at_ms])).toEqual([
      ['backend_power', 'warsaw', T0 + (7 * 24 + 2) * HOUR],
    ])
  })
})
