/**
 * The live scaler end to end, read the way KEDA reads it: a gateway with `scaling:` on its backend
 * (a stub upstream on loopback), real HTTP requests, and a client that speaks KEDA's `metrics-api`
 * contract — HTTP GET with a bearer token, JSON, the value at `valueLocation`, and the replicas the
 * HPA derives for an `AverageValue` target: ceil(value / targetValue), within the ScaledObject's
 * min/max replica counts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { parseAllDocuments } from 'yaml'
import { afterEach, describe, expect, it } from 'vitest'
import { startStub } from '../http/harness.test-support.ts'
import { startLiveGateway, type LiveGateway } from '../compose/live.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** KEDA's metrics-api scaler and the HPA's AverageValue arithmetic. */
interface ScaledObjectTrigger {
  readonly url: string
  readonly valueLocation: string
  readonly targetValue: number
  readonly bearer: string
  readonly minReplicaCount: number
  readonly maxReplicaCount: number
}
/** The trigger of deploy/keda/scaledobject.yaml, pointed at the test's gateway. */
function exampleTrigger(gatewayUrl: string, bearer: string): ScaledObjectTrigger {
  const file = fileURLToPath(new URL('../../../../deploy/keda/scaledobject.yaml', import.meta.url))
  const [so] = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS()) as {
    spec: {
      minReplicaCount: number
      maxReplicaCount: number
      triggers: { type: string; metricType: string; metadata: Record<string, string> }[]
    }
  }[]
  const t = so!.spec.triggers[0]!
  expect(t).toMatchObject({ type: 'metrics-api', metricType: 'AverageValue' })
  const url = new URL(t.metadata['url']!)
  return {
    url: `${gatewayUrl}${url.pathname}`,
    valueLocation: t.metadata['valueLocation']!,
    targetValue: Number(t.metadata['targetValue']),
    bearer,
    minReplicaCount: so!.spec.minReplicaCount,
    maxReplicaCount: so!.spec.maxReplicaCount,
  }
}

async function kedaDesiredReplicas(t: ScaledObjectTrigger): Promise<number> {
  const res = await fetch(t.url, { headers: { authorization: `Bearer ${t.bearer}` } })
  if (res.status !== 200) throw new Error(`metrics-api: HTTP ${res.status}`)
  // valueLocation is a GJSON path; a dotted path of object keys covers this endpoint.
  let v: unknown = await res.json()
  for (const key of t.valueLocation.split('.')) v = (v as Record<string, unknown>)[key]
  const value = Number(v)
  if (!Number.isFinite(value)) throw new Error(`metrics-api: no number at ${t.valueLocation}`)
  const desired = Math.ceil(value / t.targetValue)
  return Math.min(t.maxReplicaCount, Math.max(t.minReplicaCount, desired))
}

async function until<T>(f: () => Promise<T>, ok: (x: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms
  let last = await f()
  while (!ok(last) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100))
    last = await f()
  }
  return last
}

async function start(scalingLines: readonly string[] = []): Promise<LiveGateway> {
  const stub = await startStub({ model: 'llama-3.1-8b-instruct', delayMs: 20 })
  cleanups.push(() => stub.close())
  const dir = mkdtempSync(join(tmpdir(), 'wl-scaling-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(
    join(dir, 'wattline.yaml'),
    [
      'gateway:',
      '  log_level: silent',
      '  metrics_token_env: WL_METRICS',
      'ledger:',
      '  url: sqlite:./ledger.db',
      'services:',
      '  - name: chat',
      '    default: true',
      '    slo:',
      '      p95_latency_ms: 20000',
      'backends:',
      '  - id: paris',
      `    url: ${stub.url}`,
      '    zone: FR',
      '    hardware: H100-SXM',
      '    models: [llama-3.1-8b-instruct]',
      '    max_concurrency: 256',
      '    scaling:',
      '      policy: predictive',
      '      min_replicas: 0',
      '      max_replicas: 50',
      '      slots_per_replica: 1',
      '      window_s: 1',
      '      cold_start_s: 1',
      ...scalingLines.map((l) => `      ${l}`),
      '',
    ].join('\n'),
  )
  const live = await startLiveGateway({
    configPath: 'wattline.yaml',
    cwd: dir,
    env: { WL_METRICS: 'keda-secret' },
    host: '127.0.0.1',
    port: 0,
    logger: pino({ level: 'silent' }),
  })
  cleanups.push(() => live.close())
  return live
}

describe('live scaler: GET /scaling/{pool} for KEDA’s metrics-api scaler', () => {
  it('recommends replicas from the observed load, scales to zero when idle, and KEDA reads it', async () => {
    const live = await start()
    // KEDA configured as the example ScaledObject says (its URL's path names the pool).
    const trigger = exampleTrigger(live.url, 'keda-secret')
    expect(trigger.url).toBe(`${live.url}/scaling/paris`)
    // No load yet: scale-to-zero is allowed, so nothing is recommended.
    expect(await kedaDesiredReplicas(trigger)).toBe(0)
    const body = (await (
      await fetch(trigger.url, { headers: { authorization: 'Bearer keda-secret' } })
    ).json()) as Record<string, unknown>
    expect(body).toMatchObject({
      pool: 'paris',
      zone: 'FR',
      policy: 'predictive',
      min_replicas: 0,
      max_replicas: 50,
      window_s: 1,
      slo_p95_ms: 20000,
      basis: 'modelled',
    })

    // A sustained load: one request in flight per replica slot → several replicas recommended.
    let stop = false
    const load = (async () => {
      while (!stop) {
        await Promise.all(
          Array.from({ length: 40 }, () =>
            fetch(`${live.url}/v1/chat/completions`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({
                model: 'llama-3.1-8b-instruct',
                messages: [{ role: 'user', content: 'hi' }],
              }),
            }).then((r) => r.arrayBuffer()),
          ),
        )
      }
    })()
    const busy = await until(
      () => kedaDesiredReplicas(trigger),
      (n) => n >= 2,
      15_000,
    )
    stop = true
    await load
    expect(busy).toBeGreaterThanOrEqual(2)
    const during = (await (
      await fetch(trigger.url, { headers: { authorization: 'Bearer keda-secret' } })
    ).json()) as { observed_requests_per_s: number; updated_at: string | null }
    expect(during.updated_at).not.toBeNull()

    // The gauge carries the same recommendation.
    const metrics = await (
      await fetch(`${live.url}/metrics`, { headers: { authorization: 'Bearer keda-secret' } })
    ).text()
    expect(metrics).toMatch(
      /wattline_scaling_recommended_replicas\{pool="paris",policy="predictive"\} \d+/,
    )

    // Load gone: after the forecast's recent windows pass, back to zero.
    const idle = await until(
      () => kedaDesiredReplicas(trigger),
      (n) => n === 0,
      20_000,
    )
    expect(idle).toBe(0)
  }, 60_000)

  it('is guarded like /metrics and answers unknown pools with an OpenAI-shaped 404', async () => {
    const live = await start()
    const open = await fetch(`${live.url}/scaling/paris`)
    expect(open.status).toBe(401)
    expect(((await open.json()) as { error: { code: string } }).error.code).toBe('WL_UNAUTHORIZED')
    const missing = await fetch(`${live.url}/scaling/pari`, {
      headers: { authorization: 'Bearer keda-secret' },
    })
    expect(missing.status).toBe(404)
    const err = (await missing.json()) as {
      error: { message: string; type: string; param: unknown; code: string }
    }
    expect(err.error.code).toBe('WL_NOT_FOUND')
    expect(err.error.message).toMatch(/no pool "pari" \(pools: paris\)/)
    // The dashboard's read API lists every pool.
    const api = await fetch(`${live.url}/api/scaling`)
    expect(api.status).toBe(200)
    const list = (await api.json()) as { pools: { pool: string }[] }
    expect(list.pools.map((p) => p.pool)).toEqual(['paris'])
  })

  it('shows the actual replicas read from kube-state-metrics beside the recommendation', async () => {
    let available = 3
    const ksm = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
      res.end(
        [
          '# HELP kube_deployment_status_replicas_available The number of available replicas per deployment.',
          '# TYPE kube_deployment_status_replicas_available gauge',
          `kube_deployment_status_replicas_available{namespace="ai-serving",deployment="vllm-paris"} ${available}`,
          'kube_deployment_status_replicas_available{namespace="ai-serving",deployment="other"} 9',
          '',
        ].join('\n'),
      )
    })
    await new Promise<void>((r) => ksm.listen(0, '127.0.0.1', r))
    cleanups.push(() => new Promise<void>((r) => ksm.close(() => r())))
    const { port } = ksm.address() as AddressInfo
    const live = await start([
      'actual_replicas:',
      `  url: http://127.0.0.1:${port}/metrics`,
      '  labels: { deployment: vllm-paris }',
    ])
    const read = () =>
      fetch(`${live.url}/scaling/paris`, { headers: { authorization: 'Bearer keda-secret' } }).then(
        (r) => r.json() as Promise<{ actual_replicas: number | null; actual_replicas_at: string }>,
      )
    expect((await until(read, (b) => b.actual_replicas === 3, 10_000)).actual_replicas).toBe(3)
    available = 5
    const later = await until(read, (b) => b.actual_replicas === 5, 10_000)
    expect(later.actual_replicas).toBe(5)
    expect(Date.parse(later.actual_replicas_at)).toBeGreaterThan(0)
  })
})
