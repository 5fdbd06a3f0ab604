/**
 * @module ports/dashboard-reads.contract
 * The contract every `DashboardLedgerReader` passes (the ledger database on SQLite, and PostgreSQL
 * when PG_URL is set; the in-memory reader). `make` is handed the records to hold, in write order,
 * and returns a reader over them. Holds: half-open windows (`from ≤ t < to`; idle intervals
 * that overlap the window, as the report source reads them), time order with ties in write order, records read back exactly as written (nulls,
 * booleans, floats, optional fields), other kinds left out, and `hourlyMeans` (where offered) equal
 * to bucketing the rows by hour.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bucketMeans } from '../anomaly/detect.ts'
import type { SubjectSeries } from '../anomaly/ledger-anomalies.ts'
import type {
  IdleEnergyRecord,
  LedgerRecord,
  PowerSampleRecord,
  RequestRecord,
} from '../ledger/records.ts'
import { requestRecord } from '../ledger/test-records.ts'
import type { DashboardLedgerReader, TimeWindow } from './dashboard-reads.ts'

const HOUR = 3_600_000
/** An hour boundary; the data spans three hours from here. */
const T0 = Date.UTC(2026, 0, 5, 10)

/** A reader over records, and how to release it. */
export interface DashboardLedgerReaderFixture {
  readonly reader: DashboardLedgerReader
  readonly close?: () => Promise<void>
}

/** The records the contract writes: requests, idle intervals, power samples and an intensity value. */
export function dashboardContractRecords(): LedgerRecord[] {
  const requests: RequestRecord[] = []
  // Two services, successes and failures, in every hour; two rows share a timestamp.
  for (let i = 0; i < 36; i++) {
    const at = T0 + i * 300_000 + (i % 3) * 7
    requests.push(
      requestRecord(i, {
        at_ms: i === 13 ? (requests[12]?.at_ms ?? at) : at,
        service: i % 4 === 0 ? 'search' : 'chat',
        tenant: i % 5 === 0 ? null : `t${i % 2}`,
        status: i % 7 === 3 ? 503 : i % 11 === 5 ? 429 : 200,
        error_code: i % 7 === 3 ? 'WL_UPSTREAM_UNAVAILABLE' : null,
        energy_j: 10 + i * 1.37 + 0.1 + 0.2,
        ttft_ms: i % 6 === 0 ? null : 100 + i,
        intensity_stale: i % 4 === 1,
        streamed: i % 2 === 1,
        ...(i % 3 === 0
          ? { levers: '[{"lever":"cache"}]', network_bytes: 1200 + i, network_energy_j: 0.5 }
          : {}),
      }),
    )
  }
  const hourly: IdleEnergyRecord[] = [-1, 0, 1, 2, 3].map((h) => ({
    kind: 'idle',
    backend: h % 2 === 0 ? 'paris' : 'warsaw',
    zone: h % 2 === 0 ? 'FR' : 'PL',
    // the first starts before T0 and ends inside the hour: it starts outside any window from T0
    from_ms: T0 + h * HOUR + 1_000,
    to_ms: T0 + (h + 1) * HOUR + 1_000,
    energy_j: 36_000.25 + h,
    facility_energy_j: 43_200.3 + h,
    carbon_g: 1.5e-3 * (h + 2),
    method: h === 0 ? 'measured' : 'modelled',
    source: 'profile:idle',
  }))
  const idle: IdleEnergyRecord[] = [
    ...hourly,
    // ends exactly where the hour from T0 + 1 h starts (touches it, does not overlap it)
    { ...(hourly[1] as IdleEnergyRecord), from_ms: T0 + HOUR - 60_000, to_ms: T0 + HOUR },
    // a zero-length interval (an instant) inside the hour from T0 + 2 h
    {
      ...(hourly[2] as IdleEnergyRecord),
      from_ms: T0 + 2 * HOUR + 5_000,
      to_ms: T0 + 2 * HOUR + 5_000,
    },
  ]
  const power: PowerSampleRecord[] = []
  for (let i = 0; i < 30; i++)
    power.push({
      kind: 'power',
      backend: i % 2 === 0 ? 'paris' : 'warsaw',
      at_ms: T0 + i * 360_000,
      power_w: 250.125 + (i % 5) * 33.3,
      method: i % 3 === 0 ? 'measured' : 'modelled',
      source: i % 3 === 0 ? 'dcgm:http://127.0.0.1/metrics' : 'modelled:profile',
    })
  return [
    ...requests,
    ...idle,
    ...power,
    {
      kind: 'intensity',
      zone: 'FR',
      at_ms: T0 + 60_000,
      intensity_g_per_kwh: 42.5,
      signal: 'average',
      source: 'static',
      forecast: false,
      stale: false,
    },
  ]
}

/** Registers the port's contract tests for one adapter. */
export function testDashboardLedgerReader(
  name: string,
  make: (records: readonly LedgerRecord[]) => Promise<DashboardLedgerReaderFixture>,
): void {
  describe(`DashboardLedgerReader contract: ${name}`, () => {
    const records = dashboardContractRecords()
    const requests = records.filter((r): r is RequestRecord => r.kind === 'request')
    const idle = records.filter((r): r is IdleEnergyRecord => r.kind === 'idle')
    const power = records.filter((r): r is PowerSampleRecord => r.kind === 'power')
    let fixture: DashboardLedgerReaderFixture
    beforeAll(async () => {
      fixture = await make(records)
    }, 60_000)
    afterAll(async () => {
      await fixture?.close?.()
    })

    /** Windows: all of it, one aligned hour, and one that cuts rows and buckets at both ends. */
    const windows: readonly TimeWindow[] = [
      { from_ms: T0 - 2 * HOUR, to_ms: T0 + 5 * HOUR },
      { from_ms: T0 + HOUR, to_ms: T0 + 2 * HOUR },
      { from_ms: T0 + 1_800_000 + 7, to_ms: (requests[30]?.at_ms ?? T0) as number },
    ]
    const inWindow = (t: number, w: TimeWindow): boolean => t >= w.from_ms && t < w.to_ms

    it('reads the requests of a window (from ≤ at_ms < to) exactly as written, in time order', async () => {
      for (const w of windows) {
        const expected = requests
          .filter((r) => inWindow(r.at_ms, w))
          .sort((a, b) => a.at_ms - b.at_ms)
        expect(expected.length).toBeGreaterThan(0)
        expect(await fixture.reader.requests(w)).toEqual(expected)
      }
    })

    it('reads the idle intervals that overlap the window, whole and by start, and only those', async () => {
      const overlaps = (r: IdleEnergyRecord, w: TimeWindow): boolean =>
        r.from_ms < w.to_ms && r.to_ms > w.from_ms
      for (const w of windows) {
        const expected = idle.filter((r) => overlaps(r, w)).sort((a, b) => a.from_ms - b.from_ms)
        expect(expected.length).toBeGreaterThan(0)
        expect(await fixture.reader.idleEnergy(w)).toEqual(expected)
      }
      // the interval that started before T0 overlaps [T0, T0 + 1 h) by 1 s: it is read, unclipped
      const first = await fixture.reader.idleEnergy({ from_ms: T0, to_ms: T0 + HOUR })
      expect(first.map((r) => [r.from_ms, r.to_ms])).toEqual([
        [T0 - HOUR + 1_000, T0 + 1_000],
        [T0 + 1_000, T0 + HOUR + 1_000],
        [T0 + HOUR - 60_000, T0 + HOUR],
      ])
      // one ending exactly at the window's start only touches it; the instant at + 2 h 5 s is in
      const second = await fixture.reader.idleEnergy({ from_ms: T0 + HOUR, to_ms: T0 + 2 * HOUR })
      expect(second.map((r) => r.from_ms)).toEqual([T0 + 1_000, T0 + HOUR + 1_000])
      const third = await fixture.reader.idleEnergy({
        from_ms: T0 + 2 * HOUR,
        to_ms: T0 + 3 * HOUR,
      })
      expect(third.map((r) => r.from_ms)).toEqual([
        T0 + HOUR + 1_000,
        T0 + 2 * HOUR + 1_000,
        T0 + 2 * HOUR + 5_000,
      ])
    })

    it('reads the power samples of a window, in time order', async () => {
      for (const w of windows) {
        const expected = power.filter((r) => inWindow(r.at_ms, w))
        expect(await fixture.reader.powerSamples(w)).toEqual(expected)
      }
    })

    it('answers an empty window, or one with no rows, with nothing', async () => {
      for (const w of [
        { from_ms: T0 + HOUR, to_ms: T0 + HOUR },
        { from_ms: T0 + 10 * HOUR, to_ms: T0 + 11 * HOUR },
      ]) {
        expect(await fixture.reader.requests(w)).toEqual([])
        expect(await fixture.reader.powerSamples(w)).toEqual([])
      }
      // idle intervals take overlap, as the report source's do: an empty window inside one still
      // meets it (prorated, it counts 0), one with no rows meets none
      expect(
        await fixture.reader.idleEnergy({ from_ms: T0 + 10 * HOUR, to_ms: T0 + 11 * HOUR }),
      ).toEqual([])
      const empty = await fixture.reader.idleEnergy({ from_ms: T0 + HOUR, to_ms: T0 + HOUR })
      expect(empty.map((r) => r.from_ms)).toEqual([T0 + 1_000])
    })

    it('gives hourly means equal to bucketing the rows by hour, where it offers them', async () => {
      const hourlyMeans = fixture.reader.hourlyMeans?.bind(fixture.reader)
      if (hourlyMeans === undefined) return
      for (const w of windows) {
        const got = normalise(await hourlyMeans(w))
        expect(got.map((s) => [s.kind, s.subject])).toEqual(
          expectedMeans(requests, power, w).map((s) => [s.kind, s.subject]),
        )
        for (const [i, s] of expectedMeans(requests, power, w).entries()) {
          const g = got[i] as SubjectSeries
          expect(g.series.map((p) => [p.at_ms, p.count])).toEqual(
            s.series.map((p) => [p.at_ms, p.count]),
          )
          for (const [j, p] of s.series.entries())
            expect(g.series[j]?.value).toBeCloseTo(p.value, 9)
        }
      }
    })
  })
}

/** What `hourlyMeans` must give: successful requests' energy per service, power per backend. */
function expectedMeans(
  requests: readonly RequestRecord[],
  power: readonly PowerSampleRecord[],
  w: TimeWindow,
): SubjectSeries[] {
  const inW = (t: number): boolean => t >= w.from_ms && t < w.to_ms
  const out: SubjectSeries[] = []
  const ok = requests.filter((r) => inW(r.at_ms) && r.status < 400)
  for (const service of new Set(ok.map((r) => r.service)))
    out.push({
      kind: 'energy_per_request',
      subject: service,
      series: bucketMeans(
        ok.filter((r) => r.service === service).map((r) => ({ at_ms: r.at_ms, value: r.energy_j })),
        HOUR,
      ),
    })
  const p = power.filter((s) => inW(s.at_ms))
  for (const backend of new Set(p.map((s) => s.backend)))
    out.push({
      kind: 'backend_power',
      subject: backend,
      series: bucketMeans(
        p.filter((s) => s.backend === backend).map((s) => ({ at_ms: s.at_ms, value: s.power_w })),
        HOUR,
      ),
    })
  return normalise(out)
}

function normalise(series: readonly SubjectSeries[]): SubjectSeries[] {
  return [...series].sort(
    (a, b) => a.kind.localeCompare(b.kind) || a.subject.localeCompare(b.subject),
  )
}
