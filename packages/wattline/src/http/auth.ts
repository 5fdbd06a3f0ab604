/**
 * @module http/auth
 * Who is calling and for which service: a tenant's bearer key (its SHA-256 digest compared in
 * constant time with the configured digests; never logged), the `x-wattline-service` header, or the default service. Also guards `/metrics` and the
 * admin routes with their own tokens.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { WattlineError } from '@wattline/core'
import type { WattlineConfig } from '../config/parse-config.ts'
import type { ServiceConfig } from '../config/schema.ts'
import { clipInput, invalidInput } from './openai-errors.ts'

export interface Caller {
  readonly service: ServiceConfig
  readonly tenant: string | null
}

type Headers = Readonly<Record<string, string | string[] | undefined>>

/** Resolves the caller of a request; throws 401/403/400-shaped typed errors. */
export function resolveCaller(headers: Headers, config: WattlineConfig): Caller {
  const keys = config.secrets.tenantKeys
  const token = bearer(headers['authorization'])
  let tenant: (typeof keys)[number] | undefined
  if (keys.length > 0) {
    tenant = token === undefined ? undefined : findKey(token, keys)
    if (tenant === undefined) {
      throw new WattlineError(
        'WL_UNAUTHORIZED',
        'missing or invalid API key (send Authorization: Bearer <key>)',
      )
    }
  }
  const named = single(headers['x-wattline-service'])
  if (named !== undefined) {
    const service = config.services.find((s) => s.name === named)
    if (service === undefined)
      throw invalidInput(
        `unknown service '${clipInput(named)}' in x-wattline-service`,
        'x-wattline-service',
      )
    if (tenant !== undefined && tenant.service !== service.name) {
      throw new WattlineError(
        'WL_FORBIDDEN',
        `this API key may not use service '${clipInput(named)}'`,
      )
    }
    return { service, tenant: tenant?.tenant ?? null }
  }
  const name = tenant?.service ?? config.defaultService
  const service = config.services.find((s) => s.name === name) as ServiceConfig
  return { service, tenant: tenant?.tenant ?? null }
}

/** Checks a bearer token against `expected` in constant time; `expected` undefined = open. */
export function checkToken(
  header: string | string[] | undefined,
  expected: string | undefined,
): boolean {
  if (expected === undefined) return true
  const token = bearer(header)
  return token !== undefined && safeEqual(token, expected)
}

/** Constant-time string equality (both sides hashed first, so lengths do not leak). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b))
}

/** The configured digests as bytes, built once per (frozen) key list. */
const digestBytes = new WeakMap<readonly { sha256: string }[], readonly Buffer[]>()

/**
 * The tenant key whose SHA-256 digest is the token's: the token is hashed once and compared with
 * every configured digest in constant time (no early exit, so the time does not tell which key or
 * how many matched). Only digests are compared; `key_sha256` entries have no key at all.
 */
function findKey<K extends { sha256: string }>(token: string, keys: readonly K[]): K | undefined {
  let bytes = digestBytes.get(keys)
  if (bytes === undefined) {
    bytes = keys.map((k) => Buffer.from(k.sha256, 'hex'))
    digestBytes.set(keys, bytes)
  }
  const d = digest(token)
  let found: K | undefined
  keys.forEach((k, i) => {
    if (timingSafeEqual(d, bytes[i] as Buffer) && found === undefined) found = k
  })
  return found
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest()
}

function bearer(header: string | string[] | undefined): string | undefined {
  const value = single(header)
  const m = value === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(value)
  return m?.[1]
}

function single(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h
}
