import { describe, expect, it } from 'vitest'
import { Registry } from 'prom-client'
import { createAnomalyWatch } from './anomaly-watch.ts'
import { createDashboardFixture } from './dashboard-fixture.test-support.ts'
import { createMemoryLedgerReader } from './memory-ledger-reader.ts'
import type { DashboardLedgerReader } from '@wattline/core'

const fixture = createDashboardFixture(Date.UTC(2025, 5, 16, 12))
const DAY = 86_400_000

function countingReader(): { reader: DashboardLedgerReader; reads: () => number } {
  const inner = createMemoryLedgerReader(fixture.records)
  let reads = 0
  return {
    reader: {
      ...inner,
      requests: (w) => {
        reads += 1
        return inner.requests(w)
      },
    },
    reads: () => reads,
  }
}

describe('createAnomalyWatch', () => {
  it('reuses a recent scan of the same span instead of rescanning the history', async () => {
    const { reader, reads } = countingReader()
    const watch = createAnomalyWatch({ ledger: reader, registry: new Registry() })
    const at = (to: number) => ({ from_ms: to - DAY, to_ms: to })
    const first = await watch.scan(at(fixture.now))
    expect(first).toHaveLength(2)
    expect(await watch.scan(at(fixture.now + 30_000))).toBe(first)
    expect(reads()).toBe(1)
    await watch.scan(at(fixture.now + 61_000))
    await watch.scan({ from_ms: fixture.now - 2 * DAY, to_ms: fixture.now })
    expect(reads()).toBe(3)
  })

  it('shares one counter when two watches use the same registry', async () => {
    const registry = new Registry()
    const a = createAnomalyWatch({ ledger: createMemoryLedgerReader(fixture.records), registry })
    const b = createAnomalyWatch({ ledger: createMemoryLedgerReader([]), registry })
    await a.scan({ from_ms: fixture.now - DAY, to_ms: fixture.now })
    await b.scan({ from_ms: fixture.now - DAY, to_ms: fixture.now })
    const text = await registry.metrics()
    expect(text).toContain('wattline_anomalies_total{kind="backend_power"} 1')
  })
})
