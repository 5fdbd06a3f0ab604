import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { TEST_CATALOG } from '../http/harness.test-support.ts'
import { formatPath, parseConfig } from './parse-config.ts'

const HEX = createHash('sha256').update('sk-a').digest('hex')
const backends = [
  {
    id: 'x',
    url: 'http://127.0.0.1:1/v1',
    zone: 'FR',
    hardware: 'H100-SXM',
    models: ['llama-3.1-8b-instruct'],
  },
]

function issues(service: Record<string, unknown>, env: Record<string, string> = {}): string[] {
  const r = parseConfig(
    { services: [{ name: 'chat', ...service }], backends },
    { catalog: TEST_CATALOG, env },
  )
  return r.ok ? [] : r.issues.map((i) => `${formatPath(i.path)}: ${i.message}`)
}

describe('tenant config', () => {
  it('accepts a key as key_sha256 and keeps only its lower-case digest', () => {
    const r = parseConfig(
      {
        services: [{ name: 'chat', api_keys: [{ tenant: 'a', key_sha256: HEX.toUpperCase() }] }],
        backends,
      },
      { catalog: TEST_CATALOG, env: {} },
    )
    expect(r.ok && r.value.secrets.tenantKeys).toEqual([
      { service: 'chat', tenant: 'a', sha256: HEX },
    ])
  })

  it('names the field of each bad key entry', () => {
    expect(issues({ api_keys: [{ tenant: 'a' }] })).toEqual([
      'services[0].api_keys[0].key_env: give the key as key_env (an environment variable) or key_sha256 (its SHA-256 digest)',
    ])
    expect(
      issues({ api_keys: [{ tenant: 'a', key_env: 'K', key_sha256: HEX }] }, { K: 'x' }),
    ).toEqual(['services[0].api_keys[0].key_sha256: give key_env or key_sha256, not both'])
    expect(issues({ api_keys: [{ tenant: 'a', key_sha256: 'abc123' }] })).toEqual([
      'services[0].api_keys[0].key_sha256: key_sha256 must be 64 hex digits (the SHA-256 of the key; see `wattline keys hash`)',
    ])
  })

  it('refuses the same key twice, as env value or as digest, without printing it', () => {
    const out = issues(
      {
        api_keys: [
          { tenant: 'a', key_env: 'KEY_A' },
          { tenant: 'b', key_sha256: HEX },
        ],
      },
      { KEY_A: 'sk-a' },
    )
    expect(out).toEqual(['services[0].api_keys[1]: this key is already used by another tenant'])
    expect(out.join()).not.toContain('sk-a')
  })

  it('names the field of each bad tenant budget', () => {
    const keys = { api_keys: [{ tenant: 'a', key_sha256: HEX }] }
    expect(issues({ ...keys, tenants: [{ name: 'a', budget: { period: 'day' } }] })).toEqual([
      'services[0].tenants[0].budget: a tenant budget needs energy_j (J) or carbon_g (g), or both',
    ])
    expect(
      issues({
        ...keys,
        tenants: [{ name: 'a', budget: { period: 'fortnight', energy_j: -1, mode: 'block' } }],
      }),
    ).toEqual(
      expect.arrayContaining([
        'services[0].tenants[0].budget.period: period must be one of hour, day, week, month',
        'services[0].tenants[0].budget.energy_j: energy_j must be > 0 (J)',
        'services[0].tenants[0].budget.mode: mode must be warn or enforce',
      ]),
    )
    expect(
      issues({
        ...keys,
        tenants: [{ name: 'a', budget: { period: 'day', carbon_g: 5, warn_at_pct: 120 } }],
      }),
    ).toEqual(['services[0].tenants[0].budget.warn_at_pct: warn_at_pct must be ≤ 100 (percent)'])
  })

  it('reserves the tenant name "other" (the metric label of unconfigured tenants)', () => {
    expect(issues({ api_keys: [{ tenant: 'other', key_sha256: HEX }] })).toEqual([
      "services[0].api_keys[0].tenant: tenant name 'other' is reserved (the metric label of tenants not in the config)",
    ])
  })

  it('refuses a budget for a tenant no key maps to, and a tenant listed twice', () => {
    const keys = { api_keys: [{ tenant: 'a', key_sha256: HEX }] }
    const budget = { period: 'day', energy_j: 10 }
    expect(issues({ ...keys, tenants: [{ name: 'b', budget }] })).toEqual([
      "services[0].tenants[0].name: unknown tenant 'b'; tenants of this service's api_keys: a",
    ])
    expect(issues({ tenants: [{ name: 'b', budget }] })).toEqual([
      "services[0].tenants[0].name: unknown tenant 'b': this service has no api_keys, so no request is ever this tenant's",
    ])
    expect(
      issues({
        ...keys,
        tenants: [
          { name: 'a', budget },
          { name: 'a', budget },
        ],
      }),
    ).toEqual(["services[0].tenants[1].name: tenant 'a' is listed twice"])
  })
})
