import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { fleetFromConfigText, loadReplayFleet, looksLikeGatewayConfig } from './config-fleet.ts'

const EXAMPLE = fileURLToPath(new URL('../../../../examples/wattline.yaml', import.meta.url))
const TINY = fileURLToPath(new URL('./fixtures/tiny.fleet.yaml', import.meta.url))

const CONFIG = `services:
  - name: chat
    default: true
    routing: weighted
    slo: { p95_latency_ms: 3000 }
    carbon_tolerance_pct: 20
    backends: [paris, warsaw]
  - name: small
    models: [llama-3.2-1b-instruct]
backends:
  - id: paris
    url: http://127.0.0.1:9101/v1
    zone: FR
    hardware: H100-SXM
    models: [llama-3.1-8b-instruct, llama-3.2-1b-instruct]
    max_concurrency: 16
    pue: 1.1
    weight: 3
    rtt_ms: 12
  - id: warsaw
    url: http://127.0.0.1:9103/v1
    zone: PL
    hardware: A100-80GB
    models: [llama-3.1-8b-instruct]
`

describe('a replay fleet from a gateway config', () => {
  it('replays examples/wattline.yaml: its backends, zones (region mapped), PUE, services and SLO', async () => {
    const fleet = await loadReplayFleet(EXAMPLE, 'config', { env: {} })
    expect(
      fleet.backends.map((b) => [b.id, b.zone, b.hardware, b.maxConcurrency, b.pue, b.weight]),
    ).toEqual([
      ['paris', 'FR', 'H100-SXM', 32, 1.2, 1],
      ['frankfurt', 'DE', 'H100-SXM', 32, 1.58, 1],
      ['warsaw', 'PL', 'A100-80GB', 32, 1.58, 1],
    ])
    expect(fleet.backends[1]!.region).toBe('aws:eu-central-1')
    expect(fleet.backends.every((b) => b.replicas === 1)).toBe(true)
    expect(fleet.services).toEqual([
      {
        name: 'chat',
        model: 'llama-3.1-8b-instruct',
        share: 1,
        sloMs: 4000,
        carbonTolerancePct: 5,
        budget: {
          metric: 'energy_per_1k_requests_wh',
          baseline: 120,
          stage: 'pilot',
          stage_reductions_pct: { pilot: 20, production: 40 },
          target: undefined,
          variance_pct: 5,
          max_regression_pct: 10,
        },
      },
    ])
    expect(fleet.clients).toEqual([{ region: 'gateway', share: 1, location: 'gateway' }])
    expect(Array.from(fleet.networkRttMs)).toEqual([0, 0, 0])
    // Detected from --fleet too: the same fleet.
    const auto = await loadReplayFleet(EXAMPLE, 'auto', { env: {} })
    expect(auto.backends.map((b) => b.id)).toEqual(fleet.backends.map((b) => b.id))
    expect(auto.services).toEqual(fleet.services)
    expect(fleet.backends.map((b) => b.models)).toEqual(
      fleet.backends.map(() => ['llama-3.1-8b-instruct']),
    )
  })

  it('carries weights, tolerances, service backend lists, round trips and per-model profiles', () => {
    const fleet = fleetFromConfigText(CONFIG, 'w.yaml', { env: {} })
    const [paris, warsaw] = fleet.backends
    expect(paris).toMatchObject({ weight: 3, pue: 1.1, maxConcurrency: 16 })
    expect(paris!.model).toBe('llama-3.1-8b-instruct')
    expect(paris!.models).toEqual(['llama-3.1-8b-instruct', 'llama-3.2-1b-instruct'])
    // Each model its own profile (routing predictions); the batching profile is the first model's.
    const big = paris!.profiles.get('llama-3.1-8b-instruct')!
    const small = paris!.profiles.get('llama-3.2-1b-instruct')!
    expect(paris!.profile).toBe(big)
    expect(small.energyPerOutputToken(8).value).toBeLessThan(big.energyPerOutputToken(8).value)
    expect(warsaw).toMatchObject({ weight: 1, zone: 'PL', hardware: 'A100-80GB' })
    expect(Array.from(fleet.networkRttMs)).toEqual([12, 0])
    expect(fleet.services).toEqual([
      {
        name: 'chat',
        model: 'llama-3.1-8b-instruct',
        share: 0.5,
        sloMs: 3000,
        carbonTolerancePct: 20,
        backends: ['paris', 'warsaw'],
      },
      { name: 'small', model: 'llama-3.2-1b-instruct', share: 0.5, carbonTolerancePct: 5 },
    ])
  })

  it('tells a gateway config from a fleet file', () => {
    expect(looksLikeGatewayConfig(readFileSync(EXAMPLE, 'utf8'))).toBe(true)
    expect(looksLikeGatewayConfig(CONFIG)).toBe(true)
    expect(looksLikeGatewayConfig(readFileSync(TINY, 'utf8'))).toBe(false)
    expect(looksLikeGatewayConfig('backends: [')).toBe(false)
  })

  it("refuses an invalid config with the gateway loader's messages (file, line, field)", () => {
    const bad = CONFIG.replace('hardware: A100-80GB', 'hardware: A1OO')
    expect(() => fleetFromConfigText(bad, 'w.yaml', { env: {} })).toThrow(
      expect.objectContaining({
        code: 'WL_CONFIG_INVALID',
        message: expect.stringMatching(/w\.yaml:\d+:\d+ backends\[1\]\.hardware/),
      }),
    )
    // A config naming an env var that is not set fails as `wattline serve` would.
    const keyed = CONFIG.replace('    rtt_ms: 12\n', '    rtt_ms: 12\n    api_key_env: PARIS_KEY\n')
    expect(() => fleetFromConfigText(keyed, 'w.yaml', { env: {} })).toThrow(/PARIS_KEY is not set/)
    expect(fleetFromConfigText(keyed, 'w.yaml', { env: { PARIS_KEY: 'k' } }).backends).toHaveLength(
      2,
    )
  })
})
