/**
 * @module ledger/canonical-json
 * Canonical JSON in the manner of RFC 8785 (JCS): object keys sorted by UTF-16 code units, no
 * whitespace, strings escaped as ECMAScript's JSON.stringify does, numbers in ECMAScript's shortest
 * round-trip form (`-0` becomes `0`). The same value always gives the same bytes, so hashes of
 * ledger rows do not depend on the database, driver or key order they came through.
 */
import { WattlineError } from '../errors.ts'

/** A value canonical JSON can hold. `undefined` object members are omitted, as JSON does. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue | undefined }

/**
 * Serialises `value` canonically. Throws `WL_INVALID_INPUT` on NaN/Infinity, which JSON cannot hold.
 * @example canonicalJson({ b: 1, a: [true, null] }) === '{"a":[true,null],"b":1}'
 */
export function canonicalJson(value: JsonValue): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false'
    case 'string':
      return JSON.stringify(value)
    case 'number':
      if (!Number.isFinite(value)) {
        throw new WattlineError('WL_INVALID_INPUT', `canonical JSON cannot hold ${String(value)}`)
      }
      return Object.is(value, -0) ? '0' : String(value)
    case 'object':
      break
    default:
      throw new WattlineError('WL_INVALID_INPUT', `canonical JSON cannot hold a ${typeof value}`)
  }
  if (Array.isArray(value)) {
    return `[${(value as readonly JsonValue[]).map((v) => canonicalJson(v)).join(',')}]`
  }
  const obj = value as { readonly [key: string]: JsonValue | undefined }
  const keys = Object.keys(obj).sort(compareUtf16)
  const parts: string[] = []
  for (const key of keys) {
    const member = obj[key]
    if (member === undefined) continue
    parts.push(`${JSON.stringify(key)}:${canonicalJson(member)}`)
  }
  return `{${parts.join(',')}}`
}

/** Orders strings by UTF-16 code units, as RFC 8785 §3.2.3 requires (not by locale). */
function compareUtf16(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
