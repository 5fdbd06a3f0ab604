/**
 * Quality tiers through the gateway (docs/gateway.md "Quality tiers"): the official `openai` client
 * against two simulated model servers, one per tier. What is asserted: which server the request
 * reached and with which `model`, the `x-wattline-model-served` header, the ledger row's
 * `model_requested` and `tier` saving, the metrics, and that bad settings fail with WL_ codes.
 */
import { testProfile } from '@wattline/core/test-profile'
import {
  decodeLeverSavings,
  estimateRequest,
  type EnergyProfile,
  type RequestRecord,
} from '@wattline/core'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { parseConfigText } from '../config/load-config.ts'
import {
  startGateway,
  startStub,
  TEST_CATALOG,
  type Harness,
  type StubBackend,
} from './harness.test-support.ts'

const BIG = 'llama-3.1-70b-instruct'
const SMALL = 'llama-3.1-8b-instruct'
/** The 70B profile spends 10× the 8B's energy per token (synthetic, for the test). */
const bigProfile: EnergyProfile = testProfile({ joulesPerTokenAt1: 20, joulesPerTokenAtMax: 2 })
const smallProfile: EnergyProfile = testProfile()
const messages = [{ role: 'user' as const, content: 'hi' }]

describe('quality tiers through the gateway', () => {
  let big: StubBackend
  let small: StubBackend
  let gw: Harness
  let client: OpenAI
  const intensity = { PL: 200, SE: 30 }
  let pressure = false

  beforeAll(async () => {
    big = await startStub()
    small = await startStub()
    gw = await startGateway(
      {
        services: [
          {
            name: 'chat',
            default: true,
            budget: { metric: 'energy_per_1k_requests_wh', baseline: 10, watch: {} },
            tiers: [
              { model: BIG },
              {
                model: SMALL,
                when: { intensity_above_g_per_kwh: 300, budget_pressure: true, opt_in: true },
              },
            ],
          },
        ],
        backends: [
          { id: 'big', url: big.url, zone: 'PL', hardware: 'H100-SXM', models: [BIG] },
          { id: 'small', url: small.url, zone: 'SE', hardware: 'H100-SXM', models: [SMALL] },
        ],
      },
      intensity,
      {},
      undefined,
      {
        profileFor: (_b, model) => (model === BIG ? bigProfile : smallProfile),
        budgetPressure: (service) => service === 'chat' && pressure,
      },
    )
    client = new OpenAI({ baseURL: gw.baseUrl, apiKey: 'k', maxRetries: 0, timeout: 10_000 })
  })
  afterAll(async () => {
    await gw.close()
    await big.close()
    await small.close()
  })
  beforeEach(async () => {
    intensity.PL = 200
    pressure = false
    await gw.intensity.refresh()
    big.received.length = 0
    small.received.length = 0
  })

  const lastRow = async (): Promise<RequestRecord> => {
    await gw.ledger.flush()
    const rows = gw.ledger.records.filter((r): r is RequestRecord => r.kind === 'request')
    return rows[rows.length - 1] as RequestRecord
  }
  const metric = async (name: string): Promise<string> =>
    (await gw.metrics.registry.getSingleMetricAsString(name))
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n')

  it('serves the requested model when no condition holds, and says so', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: BIG, messages })
      .withResponse()
    expect(response.headers.get('x-wattline-model-served')).toBe(BIG)
    expect(data.model).toBe(BIG)
    expect(big.received.map((r) => r.body['model'])).toEqual([BIG])
    expect(small.received).toHaveLength(0)
    const row = await lastRow()
    expect(row.model).toBe(BIG)
    expect(row.model_requested).toBeUndefined()
    expect(row.levers).toBeUndefined()
  })

  it('sends an eco opt-in to the lighter tier, rewrites the upstream model and records the saving', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: BIG, messages }, { headers: { 'x-wattline-tier': 'eco' } })
      .withResponse()
    expect(response.headers.get('x-wattline-model-served')).toBe(SMALL)
    expect(response.headers.get('x-wattline-backend')).toBe('small')
    // The upstream was asked for the served model; the response's model is what it says.
    expect(small.received.map((r) => r.body['model'])).toEqual([SMALL])
    expect(big.received).toHaveLength(0)
    expect(data.model).toBe(SMALL)
    const row = await lastRow()
    expect(row.model).toBe(SMALL)
    expect(row.model_requested).toBe(BIG)
    expect(row.backend).toBe('small')
    const [saving] = decodeLeverSavings(row.levers as string)
    // The stub's usage: 7 prompt + 3 completion tokens; alone on its backend (occupancy 1).
    const cf = estimateRequest(bigProfile, { inputTokens: 7, outputTokens: 3, batch: 1 })
    expect(saving).toMatchObject({ lever: 'tier', basis: 'estimated-counterfactual' })
    expect(saving!.energy_saved_j).toBeCloseTo(cf.value - row.energy_j, 6)
    expect(saving!.energy_saved_j).toBeGreaterThan(0)
    expect(saving!.energy_saved_low_j).toBeLessThanOrEqual(saving!.energy_saved_j)
    expect(saving!.energy_saved_high_j).toBeGreaterThanOrEqual(saving!.energy_saved_j)
    expect(saving!.carbon_saved_g).toBeCloseTo(
      (saving!.energy_saved_j * row.pue * row.intensity_g_per_kwh) / 3_600_000,
      9,
    )
    expect(await metric('wattline_tier_downgrades_total')).toContain(
      `wattline_tier_downgrades_total{service="chat",from="${BIG}",to="${SMALL}",reason="opt-in"} 1`,
    )
    expect(await metric('wattline_energy_saved_joules_total')).toMatch(
      /wattline_energy_saved_joules_total\{lever="tier",service="chat"\} \d/,
    )
  })

  it('downgrades when the cleanest backend of the requested model is above the threshold', async () => {
    intensity.PL = 450
    await gw.intensity.refresh()
    const { response } = await client.chat.completions
      .create({ model: BIG, messages })
      .withResponse()
    expect(response.headers.get('x-wattline-model-served')).toBe(SMALL)
    expect(small.received).toHaveLength(1)
    const row = await lastRow()
    expect(row.model_requested).toBe(BIG)
    expect(await metric('wattline_tier_downgrades_total')).toContain('reason="intensity"} 1')
  })

  it('downgrades under budget pressure, streams included', async () => {
    pressure = true
    const stream = await client.chat.completions
      .create({ model: BIG, messages, stream: true })
      .withResponse()
    expect(stream.response.headers.get('x-wattline-model-served')).toBe(SMALL)
    const models: string[] = []
    for await (const chunk of stream.data) models.push(chunk.model)
    expect(new Set(models)).toEqual(new Set([SMALL]))
    const row = await lastRow()
    expect(row).toMatchObject({ model: SMALL, model_requested: BIG, streamed: true })
    expect(decodeLeverSavings(row.levers as string)[0]?.lever).toBe('tier')
    expect(await metric('wattline_tier_downgrades_total')).toContain('reason="budget-pressure"} 1')
  })

  it('keeps the exact model for a client that asks for it, and refuses unknown tier values', async () => {
    intensity.PL = 900
    await gw.intensity.refresh()
    const { response } = await client.chat.completions
      .create({ model: BIG, messages }, { headers: { 'x-wattline-tier': 'exact' } })
      .withResponse()
    expect(response.headers.get('x-wattline-model-served')).toBe(BIG)
    expect(big.received).toHaveLength(1)
    const err = await client.chat.completions
      .create({ model: BIG, messages }, { headers: { 'x-wattline-tier': 'cheapest' } })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect(err).toMatchObject({ code: 'WL_INVALID_INPUT', param: 'x-wattline-tier' })
    expect((err as Error).message).toMatch(/eco, exact/)
  })

  it('asks for the lighter model directly without any downgrade', async () => {
    const { response } = await client.chat.completions
      .create({ model: SMALL, messages }, { headers: { 'x-wattline-tier': 'eco' } })
      .withResponse()
    expect(response.headers.get('x-wattline-model-served')).toBe(SMALL)
    expect((await lastRow()).model_requested).toBeUndefined()
  })
})

describe('tier settings in wattline.yaml', () => {
  const config = (tiers: string, budget = ''): string => `
services:
  - name: chat
${budget}    tiers:
${tiers}
backends:
  - { id: big, url: "http://127.0.0.1:1/v1", zone: PL, hardware: H100-SXM, models: [${BIG}] }
  - { id: small, url: "http://127.0.0.1:2/v1", zone: SE, hardware: H100-SXM, models: [${SMALL}] }
`
  const fails = (text: string): { code?: string; message: string } => {
    try {
      parseConfigText(text, 'wattline.yaml', { env: {}, catalog: TEST_CATALOG })
    } catch (e) {
      return e as { code?: string; message: string }
    }
    throw new Error('expected the config to be refused')
  }

  it('accepts a valid tier list', () => {
    const c = parseConfigText(
      config(`      - model: ${BIG}\n      - { model: ${SMALL}, when: { opt_in: true } }`),
      'wattline.yaml',
      { env: {}, catalog: TEST_CATALOG },
    )
    expect(c.services[0]?.tiers?.map((t) => t.model)).toEqual([BIG, SMALL])
  })

  it('refuses an unknown model, naming the field and the known models', () => {
    const e = fails(
      config(`      - model: ${BIG}\n      - { model: llama-3.1-8b, when: { opt_in: true } }`),
    )
    expect(e.code).toBe('WL_CONFIG_INVALID')
    expect(e.message).toContain('services[0].tiers[1].model')
    expect(e.message).toContain(`known (served by its backends): ${BIG}, ${SMALL}`)
  })

  it('refuses an unconditional lighter tier and budget pressure without a budget watch', () => {
    const e = fails(
      config(
        `      - model: ${BIG}\n      - { model: ${SMALL} }\n      - { model: ${SMALL}, when: { budget_pressure: true } }`,
      ),
    )
    expect(e.code).toBe('WL_CONFIG_INVALID')
    expect(e.message).toContain('services[0].tiers[1].when')
    expect(e.message).toMatch(/at least one condition/)
    expect(e.message).toContain('services[0].tiers[2].when.budget_pressure')
    expect(e.message).toContain('services[0].tiers[2].model')
  })

  it('refuses unknown condition fields', () => {
    const e = fails(
      config(`      - model: ${BIG}\n      - { model: ${SMALL}, when: { intensity_above: 300 } }`),
    )
    expect(e.code).toBe('WL_CONFIG_INVALID')
    expect(e.message).toMatch(/services\[0\]\.tiers\[1\]\.when.*intensity_above/)
  })
})

describe('a lighter tier whose backends are down', () => {
  it('is not offered: the requested model serves once its breaker is open', async () => {
    const big = await startStub()
    const small = await startStub({ mode: '500' })
    const gw = await startGateway(
      {
        gateway: { breaker: { failure_threshold: 1, cooldown_ms: 600_000 } },
        services: [
          {
            name: 'chat',
            tiers: [{ model: BIG }, { model: SMALL, when: { opt_in: true } }],
          },
        ],
        backends: [
          { id: 'big', url: big.url, zone: 'PL', hardware: 'H100-SXM', models: [BIG] },
          { id: 'small', url: small.url, zone: 'SE', hardware: 'H100-SXM', models: [SMALL] },
        ],
      },
      { PL: 200, SE: 30 },
    )
    try {
      const client = new OpenAI({ baseURL: gw.baseUrl, apiKey: 'k', maxRetries: 0 })
      const eco = { headers: { 'x-wattline-tier': 'eco' } }
      // The 8B server fails (500): its breaker opens on that first failure.
      const first = await client.chat.completions
        .create({ model: BIG, messages }, eco)
        .catch((e: unknown) => e)
      expect(first).toBeInstanceOf(OpenAI.APIError)
      expect(small.received).toHaveLength(1)
      expect(gw.gateway.backends.get('small')?.breaker.kind).toBe('open')
      const { response } = await client.chat.completions
        .create({ model: BIG, messages }, eco)
        .withResponse()
      expect(response.headers.get('x-wattline-model-served')).toBe(BIG)
      expect(big.received).toHaveLength(1)
      expect(small.received).toHaveLength(1)
    } finally {
      await gw.close()
      await big.close()
      await small.close()
    }
  })
})
