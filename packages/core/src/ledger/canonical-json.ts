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
  const shape = sortedKeys(obj)
  if (isFlat(obj)) {
    // Ledger rows are flat: the native serialiser with a sorted key list writes the same bytes
    // (same string escaping and number form) in one native call, with one string of garbage.
    return JSON.stringify(obj, shape.names as string[])
  }
  let out = '{'
  let first = true
  for (const [key, quoted] of shape.entries) {
    const member = obj[key]
    if (member === undefined) continue
    out += first ? quoted : `,${quoted}`
    out += canonicalJson(member)
    first = false
  }
  return `${out}}`
}

interface KeyShape {
  /** The object's own keys in their original order (to recognise the shape again). */
  readonly keys: readonly string[]
  /** Sorted keys with their quoted form and colon. */
  readonly entries: readonly (readonly [string, string])[]
  /** The sorted keys. */
  readonly names: readonly string[]
}

/** Shapes seen, by a hint (key count, first and last key); checked key by key on a hit. */
const KEY_CACHE = new Map<string, KeyShape[]>()
const KEY_CACHE_LIMIT = 1024

function sortedKeys(obj: object): KeyShape {
  const keys = Object.keys(obj)
  const hint = `${keys.length}\u0000${keys[0] ?? ''}\u0000${keys[keys.length - 1] ?? ''}`
  const candidates = KEY_CACHE.get(hint)
  if (candidates !== undefined) {
    for (const shape of candidates) if (sameKeys(shape.keys, keys)) return shape
  }
  const names = [...keys].sort(compareUtf16)
  const shape: KeyShape = {
    keys,
    names,
    entries: names.map((k) => [k, `${JSON.stringify(k)}:`] as const),
  }
  if (KEY_CACHE.size < KEY_CACHE_LIMIT) {
    if (candidates === undefined) KEY_CACHE.set(hint, [shape])
    else if (candidates.length < 8) candidates.push(shape)
  }
  return shape
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false
  return true
}

/** True when every member is a string, boolean, null, undefined or finite number. */
function isFlat(obj: { readonly [key: string]: JsonValue | undefined }): boolean {
  for (const key in obj) {
    const v = obj[key]
    if (v === null || v === undefined) continue
    const t = typeof v
    if (t === 'object') return false
    if (t === 'number' && !Number.isFinite(v)) return false
  }
  return true
}

/** Orders strings by UTF-16 code units, as RFC 8785 §3.2.3 requires (not by locale). */
function compareUtf16(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
