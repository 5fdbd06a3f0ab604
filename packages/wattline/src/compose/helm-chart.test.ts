/**
 * deploy/helm/wattline renders and lints: the manifests parse, selectors match their pods, probes
 * and ports point at the gateway, the env vars the config names are set, and the wattline.yaml the
 * chart writes passes Wattline's own config validation. Rendering uses the real `helm template`
 * (and `helm lint`) when HELM_BIN is set; otherwise Go's text/template, Helm's engine, through
 * `helm-render/main.go` (needs `go`; skipped with a notice without it).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml, parseAllDocuments } from 'yaml'
import { createConfigCatalog } from '../config/catalog.ts'
import { parseConfigText } from '../config/load-config.ts'

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url))
const CHART = join(ROOT, 'deploy/helm/wattline')
const RENDERER = fileURLToPath(new URL('./helm-render/main.go', import.meta.url))
const HELM_BIN = process.env['HELM_BIN'] ?? ''
const GO_BIN = process.env['GO_BIN'] ?? '/usr/bin/go'
const hasHelm = HELM_BIN !== '' && existsSync(HELM_BIN)
const hasGo = existsSync(GO_BIN)
if (!hasHelm)
  console.warn(
    `[helm chart] helm template/lint SKIPPED: no HELM_BIN; ${hasGo ? 'rendering with Go text/template instead' : 'and no go: chart rendering SKIPPED'}`,
  )

type Values = Record<string, unknown>
interface Manifest {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> }
  readonly spec?: Record<string, unknown>
  readonly stringData?: Record<string, string>
}

const RELEASE = 'prod'

function merge(base: Values, over: Values): Values {
  const out: Values = { ...base }
  for (const [k, v] of Object.entries(over)) {
    const b = out[k]
    out[k] =
      v !== null &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      b !== null &&
      typeof b === 'object' &&
      !Array.isArray(b)
        ? merge(b as Values, v as Values)
        : v
  }
  return out
}

/** Renders the chart with `overrides` on top of values.yaml; `{ error }` when rendering fails. */
function render(overrides: Values): { manifests: Manifest[] } | { error: string } {
  const chart = parseYaml(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as Values
  const values = merge(
    parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Values,
    overrides,
  )
  let out: ReturnType<typeof spawnSync>
  if (hasHelm) {
    const tmp = mkdtempSync(join(tmpdir(), 'wl-helm-'))
    try {
      writeFileSync(join(tmp, 'values.json'), JSON.stringify(overrides))
      out = spawnSync(HELM_BIN, ['template', RELEASE, CHART, '-f', join(tmp, 'values.json')], {
        encoding: 'utf8',
        timeout: 60_000,
      })
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
  } else {
    out = spawnSync(GO_BIN, ['run', RENDERER], {
      input: JSON.stringify({
        chartDir: CHART,
        values,
        chart: { Name: chart['name'], Version: chart['version'], AppVersion: chart['appVersion'] },
        release: { Name: RELEASE, Namespace: 'default', Service: 'Helm' },
      }),
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, GOFLAGS: '-mod=mod', GOCACHE: join(tmpdir(), 'wl-go-cache') },
    })
  }
  if (out.status !== 0) return { error: `${String(out.stderr)}${String(out.stdout)}` }
  const docs = parseAllDocuments(String(out.stdout))
  const manifests: Manifest[] = []
  for (const doc of docs) {
    expect(doc.errors, String(doc)).toEqual([])
    const m = doc.toJS() as Manifest | null
    if (m !== null) manifests.push(m)
  }
  return { manifests }
}

function ok(overrides: Values): Manifest[] {
  const r = render(overrides)
  if ('error' in r) throw new Error(r.error)
  return r.manifests
}

const find = (ms: readonly Manifest[], kind: string, name: string): Manifest => {
  const m = ms.find((x) => x.kind === kind && x.metadata.name === name)
  if (m === undefined)
    throw new Error(
      `no ${kind} ${name} in ${ms.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`,
    )
  return m
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- manifests are free-form YAML
type Any = any

describe.skipIf(!hasHelm && !hasGo)('deploy/helm/wattline', () => {
  const withPassword = { postgresql: { password: 's3cret' } }

  it('renders gateway replicas, Redis and PostgreSQL whose selectors, ports and probes agree', () => {
    const ms = ok(withPassword)
    expect(ms.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual(
      [
        'Deployment/prod-wattline',
        'Deployment/prod-wattline-redis',
        'PodDisruptionBudget/prod-wattline',
        'Secret/prod-wattline-config',
        'Secret/prod-wattline-postgresql',
        'Service/prod-wattline',
        'Service/prod-wattline-postgresql',
        'Service/prod-wattline-redis',
        'StatefulSet/prod-wattline-postgresql',
      ].sort(),
    )
    for (const m of ms) {
      expect(m.apiVersion).toMatch(/^(v1|apps\/v1|policy\/v1)$/)
      expect(m.metadata.name.length).toBeLessThanOrEqual(63)
      const spec = m.spec as Any
      if (spec?.selector?.matchLabels !== undefined && spec.template !== undefined)
        expect(spec.template.metadata.labels).toMatchObject(spec.selector.matchLabels)
    }
    const gw = find(ms, 'Deployment', 'prod-wattline').spec as Any
    expect(gw.replicas).toBe(2)
    const c = gw.template.spec.containers[0]
    expect(c.args).toEqual(['serve', '--config', '/etc/wattline/wattline.yaml', '--workers', '1'])
    expect(c.ports[0].containerPort).toBe(8080)
    expect(c.readinessProbe.httpGet.path).toBe('/readyz')
    expect(c.livenessProbe.httpGet.path).toBe('/healthz')
    // Longer than the drain timeout (30 s) plus the ledger flush.
    expect(gw.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(30)
    const svc = find(ms, 'Service', 'prod-wattline').spec as Any
    expect(gw.template.metadata.labels).toMatchObject(svc.selector)
    for (const name of ['prod-wattline-redis', 'prod-wattline-postgresql']) {
      const s = find(ms, 'Service', name).spec as Any
      const kind = name.endsWith('redis') ? 'Deployment' : 'StatefulSet'
      const pods = (find(ms, kind, name).spec as Any).template
      expect(pods.metadata.labels).toMatchObject(s.selector)
      expect(pods.spec.containers[0].ports.map((p: Any) => p.name)).toContain(s.ports[0].targetPort)
    }
  })

  it('writes a wattline.yaml that Wattline itself accepts, sharing Redis and one PostgreSQL ledger', () => {
    const ms = ok(merge(withPassword, { auth: { existingSecret: 'wl-tokens' } }))
    const secret = find(ms, 'Secret', 'prod-wattline-config')
    const text = secret.stringData?.['wattline.yaml'] ?? ''
    const gw = find(ms, 'Deployment', 'prod-wattline').spec as Any
    const env: Record<string, { name: string; key: string }> = Object.fromEntries(
      (gw.template.spec.containers[0].env as Any[]).map((e) => [e.name, e.valueFrom.secretKeyRef]),
    )
    const config = parseConfigText(text, 'wattline.yaml (rendered)', {
      // Each variable holds what its Secret holds (the chart's own), or a token (the user's).
      env: Object.fromEntries(
        Object.entries(env).map(([k, ref]) => {
          const own = ms.find((m) => m.kind === 'Secret' && m.metadata.name === ref.name)
          return [k, own?.stringData?.[ref.key] ?? `token-of-${k}`]
        }),
      ),
      catalog: createConfigCatalog(),
    })
    expect(config.ledger.url).toBe(
      'postgres://wattline:s3cret@prod-wattline-postgresql:5432/wattline',
    )
    expect(config.cluster?.redis_url_env).toBe('WATTLINE_REDIS_URL')
    expect(config.gateway.host).toBe('0.0.0.0')
    expect(config.gateway.admin_token_env).toBe('WATTLINE_ADMIN_TOKEN')
    expect(env['WATTLINE_REDIS_URL']).toEqual({ name: 'prod-wattline-config', key: 'redis-url' })
    expect(secret.stringData?.['redis-url']).toBe('redis://prod-wattline-redis:6379/0')
    expect(env['WATTLINE_ADMIN_TOKEN']).toEqual({ name: 'wl-tokens', key: 'admin-token' })
  })

  it('refuses to render a bundled PostgreSQL without a password, or no ledger database at all', () => {
    const noPassword = render({})
    expect('error' in noPassword && noPassword.error).toMatch(/postgresql.password is required/)
    const external = render({ postgresql: { enabled: false } })
    expect('error' in external && external.error).toMatch(/postgresql.url is required/)
  })

  it('uses an external database and Redis when given, and deploys neither', () => {
    const ms = ok({
      postgresql: { enabled: false, url: 'postgres://u:p@db.example:5432/wl' },
      redis: { enabled: false, url: 'redis://cache.example:6379/2' },
      replicaCount: 4,
    })
    expect(ms.some((m) => m.metadata.name.endsWith('-postgresql'))).toBe(false)
    expect(ms.some((m) => m.metadata.name.endsWith('-redis'))).toBe(false)
    const secret = find(ms, 'Secret', 'prod-wattline-config')
    expect(secret.stringData?.['wattline.yaml']).toContain('postgres://u:p@db.example:5432/wl')
    expect(secret.stringData?.['redis-url']).toBe('redis://cache.example:6379/2')
    expect((find(ms, 'Deployment', 'prod-wattline').spec as Any).replicas).toBe(4)
  })

  it.skipIf(!hasHelm)('passes helm lint', () => {
    const r = spawnSync(HELM_BIN, ['lint', CHART, '--set', 'postgresql.password=x'], {
      encoding: 'utf8',
      timeout: 60_000,
    })
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0)
  })
})
