import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { createConfigCatalog } from './catalog.ts'
import { formatPath, parseConfig } from './parse-config.ts'

const catalog = createConfigCatalog()
const BASE = `services:
  - name: chat
backends:
  - id: paris
    url: http://127.0.0.1:9101/v1
    zone: FR
    hardware: H100-SXM
    models: [llama-3.1-8b-instruct]
`

function parse(cluster: string, env: Record<string, string> = {}): ReturnType<typeof parseConfig> {
  return parseConfig(parseYaml(`${BASE}${cluster}`), { catalog, env })
}

describe('cluster config', () => {
  it('is absent by default: no Redis URL, nothing shared', () => {
    const ok = parse('')
    if (!ok.ok) throw new Error(JSON.stringify(ok.issues))
    expect(ok.value.cluster).toBeUndefined()
    expect(ok.value.secrets.redisUrl).toBeUndefined()
  })

  it('fills the defaults and reads the URL from the named variable', () => {
    const r = parse('cluster:\n  redis_url_env: WATTLINE_REDIS_URL\n', {
      WATTLINE_REDIS_URL: 'redis://:pw@10.0.0.5:6379/2',
    })
    if (!r.ok) throw new Error(JSON.stringify(r.issues))
    expect(r.value.cluster).toEqual({
      redis_url_env: 'WATTLINE_REDIS_URL',
      key_prefix: 'wattline',
      lease_ms: 30_000,
      heartbeat_ms: 5_000,
      sync_interval_ms: 250,
      command_timeout_ms: 500,
    })
    expect(r.value.secrets.redisUrl).toBe('redis://:pw@10.0.0.5:6379/2')
  })

  it.each([
    ['', 'cluster.redis_url_env: environment variable WATTLINE_REDIS_URL is not set'],
    [
      'http://redis:6379',
      'cluster.redis_url_env: environment variable WATTLINE_REDIS_URL must hold a redis:// or rediss:// URL',
    ],
  ])('refuses a missing or non-Redis URL (%j)', (value, message) => {
    const env: Record<string, string> = value === '' ? {} : { WATTLINE_REDIS_URL: value }
    const r = parse('cluster:\n  redis_url_env: WATTLINE_REDIS_URL\n', env)
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.issues.map((i) => `${formatPath(i.path)}: ${i.message}`)).toContain(message)
  })

  it('refuses unknown fields and bad key prefixes, naming them', () => {
    const r = parse('cluster:\n  redis_url_env: R\n  key_prefix: "a b"\n  ttl: 3\n', {
      R: 'redis://127.0.0.1:6379',
    })
    expect(r.ok).toBe(false)
    if (r.ok) return
    const found = r.issues.map((i) => `${formatPath(i.path)}: ${i.message}`)
    expect(found).toContain('cluster: unknown field(s) "ttl"')
    expect(found.some((f) => f.startsWith('cluster.key_prefix: use letters'))).toBe(true)
  })

  it('names heartbeat_ms when it exceeds half of lease_ms', () => {
    const r = parse('cluster:\n  redis_url_env: R\n  lease_ms: 1000\n  heartbeat_ms: 600\n', {
      R: 'redis://127.0.0.1:6379',
    })
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.issues.map((i) => `${formatPath(i.path)}: ${i.message}`)).toEqual([
      'cluster.heartbeat_ms: heartbeat_ms must be at most half of lease_ms, or live slots could expire',
    ])
  })
})
