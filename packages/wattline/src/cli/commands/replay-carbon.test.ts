/**
 * `wattline replay --carbon SPEC` with the sources the gateway uses: an API source (a local server
 * speaking Electricity Maps v3) serves a replay of the past; a plan without history fails it
 * clearly; fixed values and the built-in table replay too; a bad spec lists the valid kinds.
 */
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  NOW,
  startFakeCarbonApis,
  type FakeCarbonApis,
} from '../../adapters/carbon/fake-carbon-apis.test-support.ts'
import { runCli } from '../program.ts'
import { captureIo } from '../run-cli.test-support.ts'

const FIXTURES = fileURLToPath(new URL('../../sim/fixtures', import.meta.url))
/** The trace placed 4 h before the fake providers' "now": last 24 h plus an hour of past-range. */
const START = new Date(NOW - 4 * 3_600_000).toISOString()
const replay = (carbon: string): string[] => [
  'replay',
  '--trace',
  'azure-small.csv',
  '--fleet',
  'tiny.fleet.yaml',
  '--start',
  START,
  '--policies',
  'round-robin,carbon-aware',
  '--carbon',
  carbon,
  '--json',
  '-',
]
const env = { ELECTRICITYMAPS_API_KEY: 'k-123' }

let apis: FakeCarbonApis
beforeAll(async () => {
  apis = await startFakeCarbonApis()
})
afterAll(() => apis.close())

describe('wattline replay --carbon <spec>', () => {
  it('replays on an API source (Electricity Maps, local server in its API shape)', async () => {
    apis.seen.length = 0
    const t = captureIo({ cwd: FIXTURES, env })
    const code = await runCli(replay(`electricitymaps:${apis.base}`), t.io)
    expect(t.err()).toBe('')
    expect(code).toBe(0)
    const json = JSON.parse(t.out()) as {
      intensity_source: string
      policies: { requests: number }[]
    }
    expect(json.policies.map((p) => p.requests)).toEqual([6, 6])
    expect(json.intensity_source).toBe('electricitymaps')
    const paths = apis.seen.map((r) => r.path)
    expect(paths).toContain('/v3/carbon-intensity/past-range')
    expect(apis.seen.every((r) => r.headers['auth-token'] === 'k-123')).toBe(true)
  })

  it('fails with WL_NO_INTENSITY_DATA naming what a plan without past-range lacks', async () => {
    apis.denied.add('/v3/carbon-intensity/past-range')
    try {
      const t = captureIo({ cwd: FIXTURES, env })
      expect(await runCli(replay(`electricitymaps:${apis.base}`), t.io)).toBe(2)
      expect(t.err()).toMatch(
        /WL_NO_INTENSITY_DATA: electricitymaps could not serve the history of zone (DE|NO) .*HTTP 403.*past-range, which needs an API plan/,
      )
    } finally {
      apis.denied.clear()
    }
  })

  it('replays on fixed values and on the built-in table', async () => {
    const fixed = captureIo({ cwd: FIXTURES })
    expect(await runCli(replay('static:DE=400,NO=20'), fixed.io)).toBe(0)
    expect(fixed.out()).toContain('static:DE=400,NO=20')
    const builtin = captureIo({ cwd: FIXTURES })
    expect(await runCli(replay('builtin'), builtin.io)).toBe(0)
  })

  it('exits 2 on a bad spec, listing the valid kinds, and on a fleet zone the values lack', async () => {
    const bad = captureIo({ cwd: FIXTURES })
    expect(await runCli(replay('electricity-maps'), bad.io)).toBe(2)
    expect(bad.err()).toMatch(
      /WL_INVALID_INPUT: --carbon electricity-maps: .*valid kinds: builtin, static, csv, json, electricitymaps-csv, watttime-csv, electricitymaps, watttime, uk-carbon-intensity, carbon-aware-sdk/,
    )
    const lacking = captureIo({ cwd: FIXTURES })
    expect(await runCli(replay('static:DE=400'), lacking.io)).toBe(2)
    expect(lacking.err()).toMatch(/WL_UNKNOWN_ZONE: .*zone "NO" has no data in static:DE=400/)
  })
})
