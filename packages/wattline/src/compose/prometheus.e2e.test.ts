/**
 * End-to-end: a real Prometheus (PROMETHEUS_BIN) scrapes the live gateway (startLiveGateway, a stub
 * OpenAI upstream, a SQLite ledger, two services with production budget watches) every second, with
 * the shipped recording and alerting rules (deploy/prometheus/wattline.rules.yml) loaded. Requests go
 * through the official `openai` client; then PromQL through the HTTP API checks the scraped figures
 * against the gateway's own /metrics, evaluates every query docs/metrics.md and docs/deploy.md
 * document, the Argo Rollouts AnalysisTemplate's query and the rules. The shipped Prometheus configs
 * and rules are checked with promtool (`check config`, `check rules`, `test rules`).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import OpenAI from 'openai'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml, parseAllDocuments } from 'yaml'
import { startStub, type StubBackend } from '../http/harness.test-support.ts'
import { startLiveGateway, type LiveGateway } from './live.ts'
import {
  fencedBlocks,
  parseExposition,
  pollUntil,
  promqlQueries,
  startPrometheus,
  sumOf,
  type ExposedSample,
  type PrometheusServer,
} from './prometheus.test-support.ts'

/** The part of a KEDA ScaledObject the test reads. */
interface ScaledObjectDoc {
  readonly kind?: string
  readonly spec?: { triggers?: { type?: string; metadata?: { query?: string } }[] }
}

const REPO = fileURLToPath(new URL('../../../../', import.meta.url))
const DEPLOY = join(REPO, 'deploy/prometheus')
const RULES_FILE = join(DEPLOY, 'wattline.rules.yml')
const MODEL = 'llama-3.1-8b-instruct'

const PROMETHEUS_BIN = process.env['PROMETHEUS_BIN'] ?? ''
const hasPrometheus = PROMETHEUS_BIN !== '' && existsSync(PROMETHEUS_BIN)
if (!hasPrometheus) {
  console.warn(
    `[prometheus e2e] SKIPPED: ${PROMETHEUS_BIN === '' ? 'PROMETHEUS_BIN is unset' : `no Prometheus at ${PROMETHEUS_BIN}`} (.ci/run sets it; Debian: apt-get install prometheus, then PROMETHEUS_BIN=/usr/bin/prometheus)`,
  )
}
const PROMTOOL_BIN =
  process.env['PROMTOOL_BIN'] ??
  (PROMETHEUS_BIN === '' ? '' : join(dirname(PROMETHEUS_BIN), 'promtool'))
const hasPromtool = PROMTOOL_BIN !== '' && existsSync(PROMTOOL_BIN)
if (!hasPromtool) {
  console.warn(
    `[prometheus e2e] promtool checks SKIPPED: no promtool (set PROMTOOL_BIN, or PROMETHEUS_BIN with promtool beside it)`,
  )
}

/** Requests per service after the first scrape. */
const CHAT_REQUESTS = 6
const TIGHT_REQUESTS = 2
/**
 * Requests per service before Prometheus starts (so that the series exist at the first scrape).
 * Three times the later ones for `chat`: a counter's `increase()` then extrapolates the start of its
 * history by half a scrape interval for carbon and requests alike (Prometheus limits start
 * extrapolation to the counter's zero point only when that is closer than 1.1 intervals away), so
 * per-1k ratios equal the exact ratio of the scraped deltas.
 */
const WARM_UP = { chat: 3 * CHAT_REQUESTS, tight: 1 }
const TOTAL = WARM_UP.chat + WARM_UP.tight + CHAT_REQUESTS + TIGHT_REQUESTS
/** The budget metric of both services; `tight` has a baseline it cannot meet. */
const budget = (baseline: number): string[] => [
  '    budget:',
  '      metric: energy_per_1k_requests_wh',
  `      baseline: ${baseline}`,
  '      watch: { window_s: 300, min_requests: 1 }',
]

describe.skipIf(!hasPrometheus)('a real Prometheus scraping the live gateway', () => {
  let dir = ''
  let stub: StubBackend | undefined
  let live: LiveGateway | undefined
  let prom: PrometheusServer | undefined
  /** The gateway's /metrics once every request is accounted. */
  let exposed: ExposedSample[] = []
  /** The gateway's /metrics after the warm-up requests (the first samples Prometheus has). */
  let warmUp: ExposedSample[] = []

  const gatewayMetrics = async (): Promise<ExposedSample[]> =>
    parseExposition(await (await fetch(`${live?.url}/metrics`)).text())
  const p = (): PrometheusServer => {
    if (prom === undefined) throw new Error('Prometheus did not start')
    return prom
  }
  /**
   * The gateway's /metrics once it has counted `requests` (a stream is accounted when it ends,
   * just after the client has read it).
   */
  const accounted = (requests: number): Promise<ExposedSample[]> =>
    pollUntil(
      `the gateway to account ${requests} requests`,
      async () => {
        const m = await gatewayMetrics()
        return sumOf(m, 'wattline_requests_total') === requests ? m : undefined
      },
      { timeoutMs: 5000, intervalMs: 20 },
    )
  /** What the gateway counted for service `chat` between the warm-up and the end. */
  const chatDelta = (name: string): number =>
    sumOf(exposed, name, { service: 'chat' }) - sumOf(warmUp, name, { service: 'chat' })
  /** The single sample of a query that must return exactly one. */
  const one = async (expr: string, time?: number): Promise<{ value: number; at: number }> => {
    const result = await p().query(expr, time)
    if (result.length !== 1) throw new Error(`${expr}: ${result.length} samples, expected 1`)
    return result[0] as { value: number; at: number }
  }

  beforeAll(async () => {
    stub = await startStub({ model: MODEL })
    dir = mkdtempSync(join(tmpdir(), 'wl-prom-e2e-'))
    writeFileSync(
      join(dir, 'wattline.yaml'),
      [
        'gateway:',
        '  log_level: silent',
        'ledger:',
        '  url: sqlite:./ledger.db',
        'services:',
        '  - name: chat',
        '    default: true',
        ...budget(100),
        '  - name: tight',
        ...budget(0.01),
        'backends:',
        '  - id: paris',
        `    url: ${stub.url}`,
        '    zone: FR',
        '    hardware: H100-SXM',
        `    models: [${MODEL}]`,
        '',
      ].join('\n'),
    )
    live = await startLiveGateway({
      configPath: 'wattline.yaml',
      cwd: dir,
      env: {},
      host: '127.0.0.1',
      port: 0,
      logger: pino({ level: 'silent' }),
    })
    const client = new OpenAI({ baseURL: `${live.url}/v1`, apiKey: 'sk-local', maxRetries: 0 })
    const tight = { headers: { 'x-wattline-service': 'tight' } }
    const ask = { model: MODEL, messages: [{ role: 'user' as const, content: 'hello' }] }
    // Requests before Prometheus starts, so that the counter series exist at the first scrape;
    // the watch evaluated, so that wattline_budget_ratio has a value there too.
    for (let i = 0; i < WARM_UP.chat; i += 1) await client.chat.completions.create(ask)
    for (let i = 0; i < WARM_UP.tight; i += 1) await client.chat.completions.create(ask, tight)
    await live.budgetWatch.evaluate()
    warmUp = await accounted(WARM_UP.chat + WARM_UP.tight)

    const addr = new URL(live.url).host
    const shipped = parseYaml(readFileSync(join(DEPLOY, 'prometheus.static.yml'), 'utf8')) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[]
    }
    const job = shipped.scrape_configs.find((j) => j.job_name === 'wattline')
    if (job === undefined) throw new Error('prometheus.static.yml has no job "wattline"')
    const config = {
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: [RULES_FILE],
      scrape_configs: [{ ...job, static_configs: [{ targets: [addr] }] }],
    }
    prom = await startPrometheus({
      bin: PROMETHEUS_BIN,
      dir,
      config: JSON.stringify(config, null, 2),
      readyTimeoutMs: 10_000,
    })
    const server = prom
    // The first scrape comes ~5–6 s after start (stack.md §14).
    await pollUntil(
      'up{job="wattline"} == 1',
      async () => ((await server.query('up{job="wattline"} == 1')).length === 1 ? true : undefined),
      { timeoutMs: 15_000, intervalMs: 200, describe: server.log },
    )

    for (let i = 0; i < CHAT_REQUESTS - 2; i += 1) await client.chat.completions.create(ask)
    const stream = await client.chat.completions.create({ ...ask, stream: true })
    for await (const chunk of stream) void chunk
    await client.completions.create({ model: MODEL, prompt: 'hello' })
    for (let i = 0; i < TIGHT_REQUESTS; i += 1) await client.chat.completions.create(ask, tight)
    await accounted(TOTAL)
    await live.budgetWatch.evaluate()
    exposed = await gatewayMetrics()

    await pollUntil(
      `Prometheus to scrape ${TOTAL} requests`,
      async () => ((await one('sum(wattline_requests_total)')).value === TOTAL ? true : undefined),
      { timeoutMs: 10_000, intervalMs: 100, describe: server.log },
    )
    // Every rule group evaluated after that scrape sees it.
    const scraped = Date.now()
    await pollUntil(
      'every rule group to evaluate after the last scrape',
      async () => {
        const { lastEvaluationsMs } = await server.rules()
        return lastEvaluationsMs.length > 0 && lastEvaluationsMs.every((t) => t > scraped)
          ? true
          : undefined
      },
      { timeoutMs: 10_000, intervalMs: 100, describe: server.log },
    )
  }, 40_000)

  afterAll(async () => {
    await prom?.stop()
    await live?.close()
    await stub?.close()
    if (dir !== '') rmSync(dir, { recursive: true, force: true })
  })

  it('scrapes the same requests, energy and carbon the gateway counted', async () => {
    expect((await one('sum(wattline_requests_total)')).value).toBe(TOTAL)
    const perService = await p().query('sum by (service) (wattline_requests_total)')
    expect(Object.fromEntries(perService.map((s) => [s.metric['service'], s.value]))).toEqual({
      chat: WARM_UP.chat + CHAT_REQUESTS,
      tight: WARM_UP.tight + TIGHT_REQUESTS,
    })
    const energy = (await one('sum(wattline_energy_joules_total)')).value
    expect(energy).toBeGreaterThan(0)
    expect(energy).toBeCloseTo(sumOf(exposed, 'wattline_energy_joules_total'), 9)
    const carbon = (await one('sum(wattline_carbon_grams_total)')).value
    expect(carbon).toBeGreaterThan(0)
    expect(carbon).toBeCloseTo(sumOf(exposed, 'wattline_carbon_grams_total'), 12)
    // one method per series: no power meter here, so every joule is modelled
    const methods = await p().query('sum by (method) (wattline_energy_joules_total)')
    expect(methods.map((s) => s.metric['method'])).toEqual(['modelled'])
  })

  it('has the grid intensity of zone FR the gateway routes and accounts with', async () => {
    const [sample, ...more] = await p().query('wattline_grid_intensity_grams_per_kwh{zone="FR"}')
    expect(more).toHaveLength(0)
    expect(sample?.metric).toMatchObject({ zone: 'FR', signal: 'average', job: 'wattline' })
    const atGateway = sumOf(exposed, 'wattline_grid_intensity_grams_per_kwh', { zone: 'FR' })
    // gCO2e/kWh: a real grid is between 0 and ~1,500; FR's static-table value is far below
    expect(sample?.value).toBe(atGateway)
    expect(sample?.value).toBeGreaterThan(0)
    expect(sample?.value).toBeLessThan(1500)
  })

  it("has each service's budget ratio as the gateway's watch computed it", async () => {
    const watch = new Map(live?.budgetWatch.budgets().map((b) => [b.service, b.ratio]))
    const chat = (await one('wattline_budget_ratio{service="chat"}')).value
    const tight = (await one('wattline_budget_ratio{service="tight"}')).value
    expect(chat).toBeCloseTo(watch.get('chat') ?? Number.NaN, 12)
    expect(tight).toBeCloseTo(watch.get('tight') ?? Number.NaN, 9)
    expect(chat).toBeGreaterThan(0)
    expect(chat).toBeLessThan(1)
    expect(tight).toBeGreaterThan(1)
  })

  it('evaluates every query of docs/metrics.md and docs/deploy.md', async () => {
    const docs = ['docs/metrics.md', 'docs/deploy.md'].flatMap((file) =>
      promqlQueries(readFileSync(join(REPO, file), 'utf8'), file).map((q) => ({ ...q, file })),
    )
    expect(docs.length).toBeGreaterThanOrEqual(5)
    for (const q of docs) {
      await expect(p().query(q.expr), `${q.file}:${q.line} ${q.title}`).resolves.toBeInstanceOf(
        Array,
      )
    }
    // gCO2e per 1,000 requests: carbon and requests extrapolate alike (see WARM_UP), so the value
    // is the exact ratio of what the gateway counted after the first scrape.
    const per1k = docs.find((q) => q.title.startsWith('gCO2e per 1,000 requests'))
    if (per1k === undefined)
      throw new Error('docs/metrics.md lost its gCO2e per 1,000 requests query')
    const result = await p().query(per1k.expr)
    const chat = result.find((s) => s.metric['service'] === 'chat')?.value ?? Number.NaN
    const expected = (1000 * chatDelta('wattline_carbon_grams_total')) / CHAT_REQUESTS
    expect(chat).toBeGreaterThan(0)
    expect(chat / expected).toBeCloseTo(1, 9)
  })

  it("runs the queries of docs/deploy.md's KEDA ScaledObject: one number each", async () => {
    const queries = fencedBlocks(readFileSync(join(REPO, 'docs/deploy.md'), 'utf8'), 'yaml')
      .map((text) => parseYaml(text) as ScaledObjectDoc)
      .filter((d) => d.kind === 'ScaledObject')
      .flatMap((d) => d.spec?.triggers ?? [])
      .filter((t) => t.type === 'prometheus')
      .map((t) => t.metadata?.query ?? '')
    expect(queries.length).toBeGreaterThan(0)
    for (const q of queries) {
      // KEDA's prometheus scaler needs a single-element answer
      const result = await p().query(q)
      expect(result, q).toHaveLength(1)
      expect(Number.isFinite(result[0]?.value), q).toBe(true)
    }
  })

  it('runs the Argo Rollouts AnalysisTemplate query: a number per service, above 1 only for the breached one', async () => {
    const dirArgo = join(REPO, 'deploy/argo-rollouts')
    const queries: string[] = []
    for (const file of readdirSync(dirArgo).filter((f) => /\.ya?ml$/.test(f))) {
      for (const doc of parseAllDocuments(readFileSync(join(dirArgo, file), 'utf8'))) {
        const t = doc.toJS() as {
          kind?: string
          spec?: { metrics?: { provider?: { prometheus?: { query?: string } } }[] }
        }
        if (t.kind !== 'AnalysisTemplate') continue
        for (const m of t.spec?.metrics ?? []) {
          const q = m.provider?.prometheus?.query
          if (q !== undefined) queries.push(q)
        }
      }
    }
    expect(queries.length).toBeGreaterThan(0)
    for (const q of queries) {
      const forService = (s: string): string => q.replaceAll('{{args.service}}', s)
      expect(forService('chat')).not.toMatch(/\{\{/)
      const chat = await p().query(forService('chat'))
      const tight = await p().query(forService('tight'))
      // Argo's Prometheus provider judges result[0]: one finite number
      expect(chat).toHaveLength(1)
      expect(tight).toHaveLength(1)
      expect(Number.isFinite(chat[0]?.value)).toBe(true)
      expect(chat[0]?.value).toBeLessThanOrEqual(1) // successCondition holds
      expect(tight[0]?.value).toBeGreaterThan(1) // failureCondition holds: the rollout aborts
    }
  })

  it('loads the shipped rules; every rule evaluates, the recording rules match the documented queries', async () => {
    const { rules } = await p().rules()
    const shipped = (
      parseYaml(readFileSync(RULES_FILE, 'utf8')) as {
        groups: { rules: { record?: string; alert?: string }[] }[]
      }
    ).groups.flatMap((g) => g.rules.map((r) => r.record ?? r.alert))
    expect(rules.map((r) => r.name).sort()).toEqual([...shipped].sort())
    for (const r of rules)
      expect({ rule: r.name, health: r.health, err: r.lastError }).toEqual({
        rule: r.name,
        health: 'ok',
        err: undefined,
      })

    // the recording rule is the documented query: same value at the rule's own evaluation time
    const per1k = promqlQueries(
      readFileSync(join(REPO, 'docs/metrics.md'), 'utf8'),
      'docs/metrics.md',
    ).find((q) => q.title.startsWith('gCO2e per 1,000 requests'))
    const series = 'service:wattline_carbon_grams_per_1k_requests:1h{service="chat"}'
    const recorded = await one(series)
    // an instant query answers at its own time: the sample's own timestamp is timestamp()
    const evaluatedAt = (await one(`timestamp(${series})`)).value
    const documented = (await p().query(per1k?.expr ?? '', evaluatedAt)).find(
      (s) => s.metric['service'] === 'chat',
    )
    expect(recorded.value).toBeGreaterThan(0)
    expect(recorded.value).toBeCloseTo(documented?.value ?? Number.NaN, 9)

    // Wh per 1k requests: exactly the scraped deltas in Wh; the same unit as the budget watch's
    // energy_per_1k_requests_wh, which over all of chat's requests is the lifetime ratio
    const wh = (await one('service:wattline_energy_wh_per_1k_requests:1h{service="chat"}')).value
    const exactWh = (1000 * chatDelta('wattline_energy_joules_total')) / 3600 / CHAT_REQUESTS
    expect(wh / exactWh).toBeCloseTo(1, 9)
    const watched = live?.budgetWatch.budgets().find((b) => b.service === 'chat')?.value ?? 0
    const lifetimeWh =
      (1000 * sumOf(exposed, 'wattline_energy_joules_total', { service: 'chat' })) /
      3600 /
      sumOf(exposed, 'wattline_requests_total', { service: 'chat' })
    expect(watched / lifetimeWh).toBeCloseTo(1, 6)
    expect((await one('service:wattline_budget_ratio:max{service="tight"}')).value).toBeGreaterThan(
      1,
    )
    expect((await one('zone:wattline_grid_intensity_grams_per_kwh:max{zone="FR"}')).value).toBe(
      sumOf(exposed, 'wattline_grid_intensity_grams_per_kwh', { zone: 'FR' }),
    )
    // no meter: the measured share is 0, not missing
    expect((await one('service:wattline_energy_measured:ratio_rate5m{service="chat"}')).value).toBe(
      0,
    )
  })

  it('has the budget breach alert pending for the breached service only, and no other alert', async () => {
    const alerts = await p().alerts()
    expect(
      alerts.map((a) => ({
        name: a.labels['alertname'],
        service: a.labels['service'],
        state: a.state,
      })),
    ).toEqual([{ name: 'WattlineEnergyBudgetBreached', service: 'tight', state: 'pending' }])
  })
})

describe.skipIf(!hasPromtool)('promtool on deploy/prometheus', () => {
  const promtool = (...args: string[]): { code: number | null; out: string } => {
    const r = spawnSync(PROMTOOL_BIN, args, { cwd: DEPLOY, encoding: 'utf8', timeout: 20_000 })
    return { code: r.status, out: `${r.stdout}${r.stderr}` }
  }

  it('accepts the rules and passes their unit tests', () => {
    const check = promtool('check', 'rules', 'wattline.rules.yml')
    expect(check.out).toMatch(/SUCCESS: \d+ rules found/)
    expect(check.code).toBe(0)
    const tests = promtool('test', 'rules', 'wattline.rules.test.yml')
    expect(tests.out).toMatch(/SUCCESS/)
    expect(tests.code).toBe(0)
  })

  it('accepts the static scrape config', () => {
    const r = promtool('check', 'config', 'prometheus.static.yml')
    expect(r.out).toMatch(/is valid prometheus config file syntax/)
    expect(r.code).toBe(0)
  })

  it('accepts the Kubernetes scrape config (or, on a build without Kubernetes discovery, the rest of it)', () => {
    const file = 'prometheus.kubernetes.yml'
    const r = promtool('check', 'config', file)
    if (r.code === 0) {
      expect(r.out).toMatch(/is valid prometheus config file syntax/)
      return
    }
    // Debian's prometheus is built without Kubernetes service discovery.
    expect(r.out).toMatch(/field kubernetes_sd_configs not found/)
    console.warn(
      `[prometheus e2e] ${PROMTOOL_BIN} has no Kubernetes service discovery: checking ${file} with its kubernetes_sd_configs replaced by a static target`,
    )
    const config = parseYaml(readFileSync(join(DEPLOY, file), 'utf8')) as {
      scrape_configs: Record<string, unknown>[]
    }
    for (const job of config.scrape_configs) {
      expect(job['kubernetes_sd_configs']).toBeInstanceOf(Array)
      delete job['kubernetes_sd_configs']
      job['static_configs'] = [{ targets: ['127.0.0.1:8080'] }]
    }
    const tmp = mkdtempSync(join(tmpdir(), 'wl-promtool-'))
    try {
      writeFileSync(join(tmp, 'wattline.rules.yml'), readFileSync(RULES_FILE))
      writeFileSync(join(tmp, file), JSON.stringify(config))
      const again = spawnSync(PROMTOOL_BIN, ['check', 'config', file], {
        cwd: tmp,
        encoding: 'utf8',
        timeout: 20_000,
      })
      expect(`${again.stdout}${again.stderr}`).toMatch(/is valid prometheus config file syntax/)
      expect(again.status).toBe(0)
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
  })
})
