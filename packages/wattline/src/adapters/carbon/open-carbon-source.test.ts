import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BUILTIN_INTENSITY,
  builtinIntensityAt,
  hasCode,
  instant,
  type CarbonIntensitySource,
  type Clock,
} from '@wattline/core'
import { testCarbonIntensitySource, type CarbonSourceFixture } from '@wattline/core/testing'
import { carbonConfigSchema } from '../../config/carbon.ts'
import { CARBON_SPEC_KINDS, parseCarbonSpec } from './carbon-spec.ts'
import {
  FAKE_FACTS,
  H,
  NOW,
  startFakeCarbonApis,
  type FakeCarbonApis,
} from './fake-carbon-apis.test-support.ts'
import { openCarbonSource, type OpenCarbonDeps } from './open-carbon-source.ts'
import { tempFiles } from './test-helpers.ts'

const T0 = Date.UTC(2023, 0, 1)
const EM_HEADER =
  'Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO₂eq/kWh (direct),Carbon Intensity gCO₂eq/kWh (LCA),Low Carbon Percentage,Renewable Percentage,Data Source,Data Estimated,Data Estimation Method'
const files = tempFiles({
  'em/DE_2023.csv': `${EM_HEADER}\n${[300, 280, 260, 250].map((v, h) => `2023-01-01 0${h}:00:00,Germany,Germany,DE,${v},${v + 50},50,45,entsoe.eu,false,`).join('\n')}\n`,
  'wt/actual.csv':
    'time,Caiso_North\n2023-06-08 00:00:00,400\n2023-06-08 00:05:00,410\n2023-06-08 00:10:00,420\n',
  'grid.csv':
    'zone,datetime,intensity_g_per_kwh,signal,forecast\nFR,2025-01-01T00:00:00Z,40,average,false\nFR,2025-01-01T01:00:00Z,44,average,false\nFR,2025-01-01T02:00:00Z,30,average,true\n',
  'grid.json': JSON.stringify([
    { zone: 'SE-SE3', datetime: '2025-01-01T00:00:00Z', intensity_g_per_kwh: 20 },
    { zone: 'SE-SE3', datetime: '2025-01-01T01:00:00Z', intensity_g_per_kwh: 25 },
  ]),
  'notes.csv': 'hello,world\n1,2\n',
})
afterAll(files.cleanup)

let apis: FakeCarbonApis
beforeAll(async () => {
  apis = await startFakeCarbonApis()
})
afterAll(() => apis.close())

/** The fake providers' clock: "now" is their NOW. */
const clock: Clock = { now: () => instant(NOW), setTimer: () => () => undefined }
const ENV = {
  ELECTRICITYMAPS_API_KEY: 'k-123',
  WATTTIME_USERNAME: 'user',
  WATTTIME_PASSWORD: 'pass',
}
const deps = (over: Partial<OpenCarbonDeps> = {}): OpenCarbonDeps => ({
  mode: 'direct',
  clock,
  env: ENV,
  baseDir: files.dir,
  ...over,
})
const open = (spec: string, over: Partial<OpenCarbonDeps> = {}): CarbonIntensitySource =>
  openCarbonSource(spec, deps(over))

// ---- the port's contract, for every kind of source, opened from a spec ----

const builtinAt = instant(Date.UTC(2025, 0, 1, 6))
testCarbonIntensitySource('openCarbonSource builtin', {
  healthy: () => ({
    source: open('builtin'),
    zone: 'de',
    canonicalZone: 'DE',
    from: instant(Date.UTC(2025, 0, 1)),
    to: instant(Date.UTC(2025, 0, 2)),
    unknownZone: 'XX-NOWHERE',
    known: {
      at: builtinAt,
      intensity: builtinIntensityAt(BUILTIN_INTENSITY, 'DE', builtinAt).intensity,
    },
    forecastFrom: 'never',
    stale: false,
  }),
})

testCarbonIntensitySource('openCarbonSource static:FR=50,DE=300', {
  healthy: () => ({
    source: open('static:FR=50,DE=300'),
    zone: 'fr',
    canonicalZone: 'FR',
    from: instant(T0 + H / 2),
    to: instant(T0 + 30 * H),
    unknownZone: 'GB',
    known: { at: instant(T0 + 7 * H + 123), intensity: 50 },
    forecastFrom: 'never',
    stale: false,
  }),
})

const emFacts = {
  zone: 'DE',
  from: instant(T0 + H / 2),
  to: instant(T0 + 3 * H),
  unknownZone: 'FR',
  known: { at: instant(T0 + H + 1), intensity: 280 },
  forecastFrom: 'never',
  stale: false,
} as const
for (const spec of ['csv:em', 'em', 'electricitymaps-csv:em']) {
  testCarbonIntensitySource(`openCarbonSource ${spec}`, {
    healthy: () => ({ source: open(spec), ...emFacts }),
    unavailable: () => ({ source: open(`csv:missing-folder`), ...emFacts }),
  })
}

for (const spec of ['csv:wt', 'watttime-csv:wt']) {
  testCarbonIntensitySource(`openCarbonSource ${spec}`, {
    healthy: () => ({
      source: open(spec),
      zone: 'US-CAL-CISO',
      from: instant(Date.UTC(2023, 5, 8)),
      to: instant(Date.UTC(2023, 5, 8, 0, 15)),
      known: { at: instant(Date.UTC(2023, 5, 8, 0, 7)), intensity: 410 },
      forecastFrom: 'never',
      stale: false,
    }),
  })
}

testCarbonIntensitySource('openCarbonSource csv:grid.csv (generic)', {
  healthy: () => ({
    source: open('csv:grid.csv'),
    zone: 'FR',
    from: instant(Date.UTC(2025, 0, 1)),
    to: instant(Date.UTC(2025, 0, 1, 3)),
    unknownZone: 'DE',
    known: { at: instant(Date.UTC(2025, 0, 1, 1, 30)), intensity: 44 },
    forecastFrom: instant(Date.UTC(2025, 0, 1, 2)),
    stale: false,
  }),
})

testCarbonIntensitySource('openCarbonSource json:grid.json', {
  healthy: () => ({
    source: open('json:grid.json'),
    zone: 'se-se3',
    canonicalZone: 'SE-SE3',
    from: instant(Date.UTC(2025, 0, 1)),
    to: instant(Date.UTC(2025, 0, 1, 2)),
    known: { at: instant(Date.UTC(2025, 0, 1, 1)), intensity: 25 },
    forecastFrom: 'never',
    stale: false,
  }),
  unavailable: () => ({
    source: open('json:absent.json'),
    zone: 'SE-SE3',
    from: instant(0),
    to: instant(1),
  }),
})

const API_SPECS = {
  electricitymaps: 'electricitymaps:',
  watttime: 'watttime:',
  'uk-carbon-intensity': 'uk-carbon-intensity:',
  'carbon-aware-sdk': 'carbon-aware-sdk:',
} as const
for (const [kind, prefix] of Object.entries(API_SPECS) as [keyof typeof API_SPECS, string][]) {
  const facts = FAKE_FACTS[kind]
  testCarbonIntensitySource(`openCarbonSource ${kind} (local server in its API shape)`, {
    healthy: () => {
      apis.mode = 'ok'
      return { source: open(prefix + apis.base), ...facts }
    },
    // a window at the providers' "now": an outage stays WL_CARBON_SOURCE_UNAVAILABLE
    unavailable: () => {
      apis.mode = 'error'
      return {
        source: open(prefix + apis.base),
        zone: facts.zone,
        from: instant(NOW - H / 2),
        to: instant(NOW + H),
      }
    },
  })
}

// The gateway's chain (live mode) keeps the contract too: fresh data is not stale...
testCarbonIntensitySource('openCarbonSource live chain over a csv folder', {
  healthy: () => ({
    source: openCarbonSource(carbonConfigSchema.parse({ sources: [{ type: 'csv', path: 'em' }] }), {
      ...deps({ mode: 'live' }),
    }),
    ...emFacts,
    unknownZone: 'XX-NOWHERE',
  }),
})
// ...and a provider outage is served from the built-in table, flagged stale.
testCarbonIntensitySource('openCarbonSource live chain, provider down', {
  healthy: (): CarbonSourceFixture => {
    apis.mode = 'error'
    return {
      source: openCarbonSource(
        carbonConfigSchema.parse({
          sources: [{ type: 'electricitymaps', api_key_env: 'EM', base_url: apis.base }],
        }),
        deps({ mode: 'live', env: { EM: 'k' } }),
      ),
      zone: 'DE',
      from: instant(NOW - 2 * H),
      to: instant(NOW + 2 * H),
      known: {
        at: instant(NOW),
        intensity: builtinIntensityAt(BUILTIN_INTENSITY, 'DE', instant(NOW)).intensity,
      },
      forecastFrom: 'never',
      stale: true,
    }
  },
})

describe('openCarbonSource live mode', () => {
  it('refuses csv data whose signal differs from carbon.signal, and says why', async () => {
    const warnings: string[] = []
    const chain = openCarbonSource(
      carbonConfigSchema.parse({ signal: 'average', sources: [{ type: 'csv', path: 'wt' }] }),
      deps({ mode: 'live', onWarning: (w) => warnings.push(w.message) }),
    )
    const p = await chain.intensityAt('US-CAL-CISO', instant(Date.UTC(2023, 5, 8, 0, 5)))
    expect(p).toMatchObject({ signal: 'average', provenance: 'static' })
    expect(warnings.join('\n')).toContain(
      'holds WattTime MOER data (marginal intensity) but carbon.signal is average',
    )
    // the same file under the marginal signal is served live
    const marginal = openCarbonSource(
      carbonConfigSchema.parse({ signal: 'marginal', sources: [{ type: 'csv', path: 'wt' }] }),
      deps({ mode: 'live' }),
    )
    expect(
      await marginal.intensityAt('US-CAL-CISO', instant(Date.UTC(2023, 5, 8, 0, 5))),
    ).toMatchObject({ intensity: 410, signal: 'marginal', provenance: 'live' })
  })
})

// ---- the spec grammar ----

describe('parseCarbonSpec', () => {
  const parse = (spec: string) =>
    parseCarbonSpec(spec, { flag: '--carbon', isPath: (p) => ['em', 'wt'].includes(p) })

  it('parses every kind into the carbon: section shape', () => {
    expect(parse('builtin').sources).toEqual([{ type: 'builtin' }])
    expect(parse('static').sources).toEqual([{ type: 'static' }])
    expect(parse('static:fr=50,DE=300.5').sources).toEqual([
      { type: 'static', values: { FR: 50, DE: 300.5 } },
    ])
    expect(parse('csv:grid/').sources).toEqual([{ type: 'csv', path: 'grid/' }])
    expect(parse('em,wt').sources).toEqual([
      { type: 'csv', path: 'em' },
      { type: 'csv', path: 'wt' },
    ])
    expect(parse('electricitymaps').sources).toEqual([
      { type: 'electricitymaps', api_key_env: 'ELECTRICITYMAPS_API_KEY' },
    ])
    const wt = parse('watttime:http://127.0.0.1:9/')
    expect(wt.signal).toBe('marginal')
    expect(wt.sources).toEqual([
      {
        type: 'watttime',
        username_env: 'WATTTIME_USERNAME',
        password_env: 'WATTTIME_PASSWORD',
        base_url: 'http://127.0.0.1:9/',
      },
    ])
    expect(parse('carbon-aware-sdk:http://sdk:8080').sources).toEqual([
      { type: 'carbon-aware-sdk', base_url: 'http://sdk:8080' },
    ])
    const chain = parse('uk-carbon-intensity+csv:overrides.csv+builtin')
    expect(chain.sources.map((s) => s.type)).toEqual(['uk-carbon-intensity', 'csv', 'builtin'])
    expect(chain).toMatchObject({ signal: 'average', cache_ttl_s: 300, stale_after_s: 3600 })
  })

  it('rejects a bad spec with WL_INVALID_INPUT listing the valid kinds', () => {
    for (const [spec, problem] of [
      ['nowhere', '"nowhere" is neither a source kind nor an existing file or folder'],
      ['', 'it is empty'],
      ['static:FR=fifty', 'static values are ZONE=gCO2e/kWh pairs'],
      ['static:FR=1,fr=2', 'zone FR is given twice'],
      ['carbon-aware-sdk', 'carbon-aware-sdk needs a base URL'],
      ['csv:', 'csv needs a path'],
      ['electricitymaps:ftp://x', 'base_url must be an http(s) URL'],
      ['builtin:x', 'builtin takes no argument'],
      ['watttime+electricitymaps', 'mixes average and marginal'],
    ] as const) {
      let error: unknown
      try {
        parse(spec)
      } catch (e) {
        error = e
      }
      expect(hasCode(error, 'WL_INVALID_INPUT'), spec).toBe(true)
      expect((error as Error).message).toContain(problem)
      expect((error as Error).message).toContain(`valid kinds: ${CARBON_SPEC_KINDS.join(', ')}`)
      expect((error as Error).message).toContain(`--carbon ${spec}`)
    }
  })
})

// ---- direct mode: sources as given, history that an API cannot serve ----

describe('openCarbonSource direct mode', () => {
  it('asks each zone of the first source that knows it, without a silent fallback', async () => {
    const s = open('static:FR=50+em+builtin')
    expect((await s.intensityAt('FR', instant(T0))).intensity).toBe(50)
    expect((await s.intensityAt('DE', instant(T0))).intensity).toBe(300)
    expect((await s.intensityAt('GB', instant(T0))).source).toContain('static:')
    const strict = open('static:FR=50+em')
    const e = await strict.intensityAt('GB', instant(T0)).catch((x: unknown) => x)
    expect(hasCode(e, 'WL_UNKNOWN_ZONE')).toBe(true)
    expect((e as Error).message).toContain('static:FR=50 + csv:')
  })

  it('lists the zones of file sources after preload, none for an API', async () => {
    expect(await openCarbonSource('em+static:FR=1', deps()).preload()).toEqual(['DE', 'FR'])
    expect(await openCarbonSource(`uk-carbon-intensity:${apis.base}`, deps()).preload()).toEqual([
      'GB',
    ])
    expect(await openCarbonSource(`electricitymaps:${apis.base}`, deps()).preload()).toBe(undefined)
  })

  it('says what a live-only plan lacks when asked for the past: WL_NO_INTENSITY_DATA naming past-range', async () => {
    apis.mode = 'ok'
    const spec = `electricitymaps:${apis.base}`
    const lastWeek = [instant(NOW - 7 * 24 * H), instant(NOW - 6 * 24 * H)] as const
    // with past-range in the plan, last week is served
    expect((await open(spec).series('DE', ...lastWeek)).length).toBeGreaterThan(0)
    apis.denied.add('/v3/carbon-intensity/past-range')
    try {
      const e = await open(spec)
        .series('DE', ...lastWeek)
        .catch((x: unknown) => x)
      expect(hasCode(e, 'WL_NO_INTENSITY_DATA')).toBe(true)
      const message = (e as Error).message
      expect(message).toContain('could not serve the history of zone DE')
      expect(message).toContain('HTTP 403')
      expect(message).toContain('/v3/carbon-intensity/past-range, which needs an API plan')
      expect(message).toContain('csv:<folder>')
      expect((e as { details?: unknown }).details).toMatchObject({ lacks: 'history', zone: 'DE' })
      // the last 24 h need no past-range: still served
      expect((await open(spec).series('DE', instant(NOW - 2 * H), instant(NOW))).length).toBe(2)
    } finally {
      apis.denied.clear()
    }
  })

  it('reports an unrecognised data file as WL_DATA_FORMAT with the file and line', async () => {
    const e = await open('csv:notes.csv')
      .intensityAt('DE', instant(T0))
      .catch((x: unknown) => x)
    expect(hasCode(e, 'WL_DATA_FORMAT')).toBe(true)
    expect((e as Error).message).toContain(join(files.dir, 'notes.csv'))
  })

  it('reports an unset secret as WL_CONFIG_INVALID naming the variable', () => {
    let error: unknown
    try {
      openCarbonSource('electricitymaps', deps({ env: {} }))
    } catch (e) {
      error = e
    }
    expect(hasCode(error, 'WL_CONFIG_INVALID')).toBe(true)
    expect((error as Error).message).toContain('ELECTRICITYMAPS_API_KEY')
  })
})
