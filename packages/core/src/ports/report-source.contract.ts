/**
 * @module ports/report-source.contract
 * The contract every `ReportSource` passes (the ledger on SQLite, and PostgreSQL when PG_URL is set;
 * the in-memory source). `make` is handed {@link ReportSourceData} and returns a source over it
 * (the ledger adapter's test writes it as ledger records and seals them first). Holds: half-open
 * ranges, idle intervals by overlap, time order with ties in write order, requests carrying every
 * `REPORT_REQUEST_FIELDS` field as written, the small tables as written, a well-formed chain head,
 * fresh iterables per call, and (`manyRequests`) streams longer than any page a source reads in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type {
  IdleEnergyRecord,
  IntensityRecord,
  PowerSampleRecord,
  RequestRecord,
} from '../ledger/records.ts'
import { requestRecord } from '../ledger/test-records.ts'
import {
  REPORT_REQUEST_FIELDS,
  type BudgetView,
  type GateDecisionView,
  type HardwareView,
  type ReportRequest,
  type ReportSource,
  type ReportTimeRange,
  type TrainingRunView,
} from './report-source.ts'

const HOUR = 3_600_000
const T0 = Date.UTC(2026, 1, 2, 8)

/** What a source under test holds. Small tables hold one row per key (nothing superseded). */
export interface ReportSourceData {
  readonly requests: readonly RequestRecord[]
  readonly idle: readonly IdleEnergyRecord[]
  readonly power: readonly PowerSampleRecord[]
  readonly intensities: readonly IntensityRecord[]
  readonly budgets: readonly BudgetView[]
  readonly gateDecisions: readonly GateDecisionView[]
  readonly trainingRuns: readonly TrainingRunView[]
  readonly hardware: readonly HardwareView[]
}

export interface ReportSourceFixture {
  readonly source: ReportSource
  readonly close?: () => Promise<void>
}

export interface ReportSourceContractOptions {
  /** Requests in the long-stream test (default 1,200): more than the adapter's page of rows. */
  readonly manyRequests?: number
}

/** The data the contract hands `make`. */
export function reportContractData(): ReportSourceData {
  const requests: RequestRecord[] = []
  for (let i = 0; i < 40; i++)
    requests.push(
      requestRecord(i, {
        // every 9 minutes, two rows share a timestamp (i = 20, 21)
        at_ms: T0 + (i === 21 ? 20 : i) * 540_000,
        service: i % 3 === 0 ? 'search' : 'chat',
        tenant: i % 4 === 0 ? null : 'acme',
        status: i % 9 === 4 ? 502 : 200,
        error_code: i % 9 === 4 ? 'WL_UPSTREAM_UNAVAILABLE' : null,
        intensity_stale: i % 5 === 2,
        energy_j: 0.1 + 0.2 + i * 3.3,
        intensity_signal: i % 2 === 0 ? 'average' : 'marginal',
        ...(i % 4 === 1
          ? {
              levers: '[{"lever":"cache","energy_j":1.5}]',
              network_bytes: 2048,
              network_energy_j: 1.25e-4,
              network_carbon_g: 3.5e-6,
            }
          : {}),
      }),
    )
  const idle: IdleEnergyRecord[] = [-1, 0, 1, 2, 3, 4, 5].map((h) => ({
    kind: 'idle',
    backend: h % 2 === 0 ? 'paris' : 'warsaw',
    zone: h % 2 === 0 ? 'FR' : 'PL',
    from_ms: T0 + h * HOUR + 60_000,
    to_ms: T0 + (h + 1) * HOUR + 60_000,
    energy_j: 72_000.5 + h,
    facility_energy_j: 86_400.6 + h,
    carbon_g: 2.5e-3 * (h + 2),
    method: 'modelled',
    source: 'profile:idle',
  }))
  const power: PowerSampleRecord[] = Array.from({ length: 24 }, (_, i) => ({
    kind: 'power',
    backend: i % 2 === 0 ? 'paris' : 'warsaw',
    at_ms: T0 + i * 900_000,
    power_w: 300.5 + i,
    method: i % 4 === 0 ? 'measured' : 'modelled',
    source: i % 4 === 0 ? 'nvidia-smi' : 'modelled:profile',
  }))
  const intensities: IntensityRecord[] = Array.from({ length: 12 }, (_, i) => ({
    kind: 'intensity',
    zone: i % 2 === 0 ? 'FR' : 'PL',
    at_ms: T0 + i * 1_800_000,
    intensity_g_per_kwh: 40.123456789 + i * 61,
    signal: i % 3 === 0 ? 'marginal' : 'average',
    source: 'electricitymaps',
    forecast: i >= 10,
    stale: i === 5,
  }))
  return {
    requests,
    idle,
    power,
    intensities,
    budgets: [
      {
        service: 'chat',
        family: null,
        metric: 'energy_per_request',
        baseline: 120.5,
        stage: 'commit',
        target: 108.45,
        variance_pct: 5,
        max_regression_pct: 2.5,
      },
      {
        service: 'search',
        family: 'llama',
        metric: 'carbon_per_request',
        baseline: 0.02,
        stage: 'plan',
        target: 0.018,
        variance_pct: 10,
        max_regression_pct: 0,
      },
    ],
    gateDecisions: [0, 1, 2, 3].map((i) => ({
      at_ms: T0 + i * 2 * HOUR,
      service: 'chat',
      release: `r${i}`,
      passed: i !== 2,
      metric: 'energy_per_request',
      value: 100 + i,
      high: 110.5 + i,
      target: 108.45,
      reason: i === 2 ? 'energy per request above target' : 'within target',
    })),
    trainingRuns: [
      {
        id: 'ft-1',
        model: 'llama-3.1-8b-instruct',
        hardware: 'H100-SXM',
        accelerators: 8,
        zone: 'FR',
        started_ms: T0 - 48 * HOUR,
        ended_ms: T0 - 40 * HOUR,
        energy_j: 2.0736e10,
        energy_low_j: 1.9e10,
        energy_high_j: 2.2e10,
        carbon_g: 1_234.5,
        method: 'measured',
        source: 'metered: facility',
      },
    ],
    hardware: [
      {
        id: 'rack-1',
        hardware: 'H100-SXM',
        count: 8,
        zone: 'FR',
        embodied_g: 1_500_000,
        source: 'manufacturer LCA',
        lifetime_years: 4,
        in_service_from_ms: T0 - 365 * 24 * HOUR,
        allocation_share: 0.5,
      },
    ],
  }
}

/** Registers the port's contract tests for one adapter. */
export function testReportSource(
  name: string,
  make: (data: ReportSourceData) => Promise<ReportSourceFixture>,
  options: ReportSourceContractOptions = {},
): void {
  describe(`ReportSource contract: ${name}`, () => {
    const data = reportContractData()
    let fixture: ReportSourceFixture
    beforeAll(async () => {
      fixture = await make(data)
    }, 60_000)
    afterAll(async () => {
      await fixture?.close?.()
    })

    const ranges: readonly ReportTimeRange[] = [
      { fromMs: T0 - HOUR, toMs: T0 + 10 * HOUR },
      { fromMs: T0 + HOUR, toMs: T0 + 3 * HOUR },
      // ends exactly on a row (excluded), starts between rows and inside an idle interval
      { fromMs: T0 + 2 * HOUR + 1, toMs: (data.requests[30]?.at_ms ?? T0) as number },
    ]
    const inRange = (t: number, r: ReportTimeRange): boolean => t >= r.fromMs && t < r.toMs

    it('streams the requests of a range (from ≤ at_ms < to) in time order, fields as written', async () => {
      for (const r of ranges) {
        const expected = data.requests
          .filter((x) => inRange(x.at_ms, r))
          .sort((a, b) => a.at_ms - b.at_ms)
          .map(reportFields)
        expect(expected.length).toBeGreaterThan(0)
        const got = (await collect(fixture.source.requests(r))).map(reportFields)
        expect(got).toEqual(expected)
      }
    })

    it('streams the idle intervals that overlap the range, by start', async () => {
      for (const r of ranges) {
        const expected = data.idle.filter((x) => x.from_ms < r.toMs && x.to_ms > r.fromMs)
        expect(await collect(fixture.source.idleEnergy(r))).toEqual(expected)
      }
      // an interval that ends exactly where the range starts does not overlap it
      const end = data.idle[0]?.to_ms ?? 0
      const touching = await collect(fixture.source.idleEnergy({ fromMs: end, toMs: end + 1 }))
      expect(touching.map((x) => x.from_ms)).toEqual([data.idle[1]?.from_ms])
    })

    it('streams power samples and intensity values of a range, in time order, as written', async () => {
      for (const r of ranges) {
        expect(await collect(fixture.source.powerSamples(r))).toEqual(
          data.power.filter((x) => inRange(x.at_ms, r)),
        )
        expect(await collect(fixture.source.intensities(r))).toEqual(
          data.intensities.filter((x) => inRange(x.at_ms, r)),
        )
      }
    })

    it('gives a fresh stream on every call, and nothing for an empty range', async () => {
      const r = ranges[0] as ReportTimeRange
      const first = await collect(fixture.source.requests(r))
      expect(await collect(fixture.source.requests(r))).toEqual(first)
      const empty = { fromMs: T0 + HOUR, toMs: T0 + HOUR }
      expect(await collect(fixture.source.requests(empty))).toEqual([])
      expect(await collect(fixture.source.powerSamples(empty))).toEqual([])
      expect(await fixture.source.gateDecisions(empty)).toEqual([])
      // (idle intervals take overlap: an empty range inside one still meets it, in every adapter)
      const before = { fromMs: T0 - 10 * HOUR, toMs: T0 - 2 * HOUR }
      expect(await collect(fixture.source.idleEnergy(before))).toEqual([])
      expect(await collect(fixture.source.requests(before))).toEqual([])
    })

    it('reads budgets, gate decisions of a range, training runs and hardware as written', async () => {
      const key = (b: BudgetView): string => `${b.service}/${b.family ?? ''}/${b.metric}`
      const sorted = (bs: readonly BudgetView[]): BudgetView[] =>
        [...bs].sort((a, b) => key(a).localeCompare(key(b)))
      expect(sorted(await fixture.source.budgets())).toEqual(sorted(data.budgets))
      for (const r of ranges)
        expect(await fixture.source.gateDecisions(r)).toEqual(
          data.gateDecisions.filter((g) => inRange(g.at_ms, r)),
        )
      expect(await fixture.source.trainingRuns()).toEqual(data.trainingRuns)
      expect(await fixture.source.hardware()).toEqual(data.hardware)
    })

    it('names a well-formed chain head', async () => {
      const head = await fixture.source.chainHead()
      expect(head.algorithm).toBe('sha256')
      expect(Number.isInteger(head.height) && head.height >= 0).toBe(true)
      expect(head.hash === null).toBe(head.height === 0)
      expect(head.sealed_at_ms === null).toBe(head.height === 0)
      if (head.hash !== null) expect(head.hash).toMatch(/^[0-9a-f]{64}$/)
    })

    describe('a long stream', () => {
      const n = options.manyRequests ?? 1_200
      const base = data.requests[0] as RequestRecord
      // three rows per millisecond: a source reading in pages must order ties by write order
      const many = Array.from({ length: n }, (_, i) => ({
        ...base,
        id: `many-${i}`,
        at_ms: T0 + Math.floor(i / 3),
        input_tokens: i,
      }))
      let long: ReportSourceFixture
      beforeAll(async () => {
        long = await make({ ...emptyData(), requests: many })
      }, 120_000)
      afterAll(async () => {
        await long?.close?.()
      })

      it(`streams all ${n} requests once each, in time and write order`, async () => {
        const got = await collect(long.source.requests({ fromMs: T0, toMs: T0 + n }))
        expect(got.map((r) => r.input_tokens)).toEqual(many.map((r) => r.input_tokens))
        const tail = await collect(
          long.source.requests({ fromMs: T0 + Math.floor(n / 3) - 1, toMs: T0 + n }),
        )
        expect(tail.map((r) => r.input_tokens)).toEqual(
          many.filter((r) => r.at_ms >= T0 + Math.floor(n / 3) - 1).map((r) => r.input_tokens),
        )
      })
    })
  })
}

function emptyData(): ReportSourceData {
  return {
    requests: [],
    idle: [],
    power: [],
    intensities: [],
    budgets: [],
    gateDecisions: [],
    trainingRuns: [],
    hardware: [],
  }
}

/** The fields a report reads (a source may return more). */
function reportFields(r: ReportRequest): Partial<ReportRequest> {
  const out: Record<string, unknown> = {}
  for (const f of REPORT_REQUEST_FIELDS) if (r[f] !== undefined) out[f] = r[f]
  return out as Partial<ReportRequest>
}

async function collect<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const row of rows) out.push(row)
  return out
}
