import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as z from 'zod'
import { describe, expect, it } from 'vitest'
import { createConfigCatalog } from './catalog.ts'
import { loadConfig, parseConfigText } from './load-config.ts'
import { parseConfig } from './parse-config.ts'
import { configSchema, meterStaleAfterMs } from './schema.ts'

/** The config of issue 3, verbatim. */
export const ISSUE_YAML = `carbon:
  signal: average
  sources:
    - type: static
services:
  - name: chat
    default: true
    routing: carbon-aware
    slo:
      p95_latency_ms: 4000
backends:
  - id: paris
    url: http://127.0.0.1:9101/v1
    zone: FR
    hardware: H100-SXM
    precision: bf16
    models: [llama-3.1-8b-instruct]
    max_concurrency: 32
    pue: 1.2
  - id: frankfurt
    url: http://127.0.0.1:9102/v1
    zone: DE
    hardware: H100-SXM
    models: [llama-3.1-8b-instruct]
    max_concurrency: 32
  - id: warsaw
    url: http://127.0.0.1:9103/v1
    zone: PL
    hardware: A100-80GB
    models: [llama-3.1-8b-instruct]
    max_concurrency: 32
`

const catalog = createConfigCatalog()
const deps = { catalog, env: {} }

describe('config', () => {
  it('loads the exact YAML of the issue, with defaults filled in', async () => {
    const config = await loadConfig('wattline.yaml', { ...deps, readFile: async () => ISSUE_YAML })
    expect(config.defaultService).toBe('chat')
    expect(config.backends.map((b) => [b.id, b.zone, b.hardware, b.pue])).toEqual([
      ['paris', 'FR', 'H100-SXM', 1.2],
      ['frankfurt', 'DE', 'H100-SXM', 1.58],
      ['warsaw', 'PL', 'A100-80GB', 1.58],
    ])
    expect(config.backends[0]?.canonical_models['llama-3.1-8b-instruct']).toBe(
      'meta-llama/Llama-3.1-8B-Instruct',
    )
    expect(config.services[0]).toMatchObject({
      routing: 'carbon-aware',
      slo: { p95_latency_ms: 4000 },
      queue: { max_size: 256 },
    })
    expect(config.gateway).toMatchObject({ host: '127.0.0.1', port: 8080, max_attempts: 3 })
    expect(config.backends[1]?.timeouts).toEqual({
      connect_ms: 5000,
      headers_ms: 600_000,
      body_ms: 600_000,
    })
    expect(Object.isFrozen(config.backends[0])).toBe(true)
  })

  it('names file, line and column, path and close matches for an unknown zone', () => {
    const yaml = ISSUE_YAML.replace('zone: DE', 'zone: XX')
    expect(() => parseConfigText(yaml, 'wattline.yaml', deps)).toThrow(
      /wattline\.yaml:22:5 backends\[1\]\.zone: unknown zone 'XX'/,
    )
  })

  it('collects every issue: duplicate ids, two defaults, unknown hardware, missing env secret', () => {
    const raw = {
      services: [
        { name: 'a', default: true },
        { name: 'b', default: true, api_keys: [{ tenant: 't', key_env: 'MISSING_KEY' }] },
      ],
      backends: [
        {
          id: 'x',
          url: 'http://127.0.0.1:1/v1',
          zone: 'FR',
          hardware: 'H100-SMX',
          models: ['llama-3.1-8b-instruct'],
        },
        {
          id: 'x',
          url: 'http://127.0.0.1:2/v1',
          region: 'aws:eu-central-1',
          hardware: 'L4',
          models: ['no-such-model'],
        },
      ],
    }
    const r = parseConfig(raw, deps)
    expect(r.ok).toBe(false)
    if (r.ok) return
    const text = r.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
    expect(text).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^backends\.0\.hardware: unknown hardware 'H100-SMX' \(did you mean 'H100-SXM'/,
        ),
        expect.stringMatching(/^backends\.1\.models\.0: unknown model 'no-such-model'/),
        expect.stringMatching(/^backends\.1\.id: duplicate backend id 'x'/),
        expect.stringMatching(/^services\.1\.default: only one service/),
        expect.stringMatching(
          /^services\.1\.api_keys\.0\.key_env: environment variable MISSING_KEY is not set/,
        ),
      ]),
    )
  })

  it('maps a cloud region to its zone and reads secrets from the environment', () => {
    const r = parseConfig(
      {
        services: [{ name: 'a', api_keys: [{ tenant: 'acme', key_env: 'ACME_KEY' }] }],
        backends: [
          {
            id: 'x',
            url: 'http://h:1/v1',
            region: 'aws:eu-central-1',
            hardware: 'L4',
            models: ['llama-3.1-8b-instruct'],
            api_key_env: 'UP_KEY',
          },
        ],
      },
      { catalog, env: { ACME_KEY: 'sk-acme', UP_KEY: 'sk-up' } },
    )
    expect(r.ok && r.value.backends[0]?.zone).toBe('DE')
    expect(r.ok && r.value.secrets.tenantKeys).toEqual([
      {
        service: 'a',
        tenant: 'acme',
        key: 'sk-acme',
        sha256: createHash('sha256').update('sk-acme').digest('hex'),
      },
    ])
    expect(r.ok && r.value.secrets.backendKeys.get('x')).toBe('sk-up')
  })

  it('reports YAML syntax errors with their position and unknown fields by name', () => {
    expect(() => parseConfigText('services:\n  - name: a\n   bad', 'w.yaml', deps)).toThrow(
      /w\.yaml:\d+:\d+/,
    )
    expect(() =>
      parseConfigText(
        ISSUE_YAML.replace('    pue: 1.2', '    pue: 1.2\n    puee: 2'),
        'w.yaml',
        deps,
      ),
    ).toThrow(/backends\[0\]: unknown field\(s\) "puee"/)
  })

  it('defaults a meter staleness window to 3 polls and refuses one shorter than a poll', () => {
    const meterYaml = (meter: string): string =>
      ISSUE_YAML.replace('    pue: 1.2\n', `    pue: 1.2\n    meter: ${meter}\n`)
    const ok = parseConfigText(
      meterYaml('{type: nvidia-smi, interval_ms: 2000}'),
      'wattline.yaml',
      deps,
    )
    expect(meterStaleAfterMs(ok.backends[0]!.meter)).toBe(6000)
    expect(meterStaleAfterMs(ok.backends[1]!.meter)).toBeUndefined()
    const set = parseConfigText(
      meterYaml('{type: prometheus, url: "http://n:9400/metrics", stale_after_ms: 10000}'),
      'wattline.yaml',
      deps,
    )
    expect(meterStaleAfterMs(set.backends[0]!.meter)).toBe(10_000)
    expect(() =>
      parseConfigText(
        meterYaml('{type: nvidia-smi, interval_ms: 2000, stale_after_ms: 500}'),
        'wattline.yaml',
        deps,
      ),
    ).toThrow(/wattline\.yaml:\d+:\d+ backends\[0\]\.meter\.stale_after_ms: .*at least interval_ms/)
  })

  it('takes a network coefficient only with its source; the default is the trend (none set)', () => {
    expect(parseConfigText(ISSUE_YAML, 'wattline.yaml', deps).network).toEqual({ enabled: true })
    const withSource = parseConfigText(
      `${ISSUE_YAML}\nnetwork:\n  kwh_per_gb: 0.005\n  source: "our carrier's 2026 report"\n`,
      'wattline.yaml',
      deps,
    )
    expect(withSource.network).toMatchObject({ kwh_per_gb: 0.005 })
    expect(() =>
      parseConfigText(`${ISSUE_YAML}\nnetwork:\n  kwh_per_gb: 0.005\n`, 'wattline.yaml', deps),
    ).toThrow(/wattline\.yaml:\d+:\d+ network\.source: .*where the coefficient comes from/)
  })

  it('config.schema.json at the repo root matches the zod schema (refresh: npx tsx packages/wattline/scripts/build-config-schema.ts)', () => {
    const path = fileURLToPath(new URL('../../../../config.schema.json', import.meta.url))
    const committed = JSON.parse(readFileSync(path, 'utf8')) as unknown
    expect(committed).toEqual(
      JSON.parse(
        JSON.stringify(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' })),
      ),
    )
  })
})
