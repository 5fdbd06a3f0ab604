/**
 * @module report/json-schema-check
 * A small JSON Schema (draft 2020-12) validator for the keywords the published report schema uses:
 * type, properties, required, additionalProperties, items, enum, const, anyOf/oneOf/allOf, $ref to
 * local `$defs`, numeric bounds and string length/pattern. It lets a test (and an auditor with Node)
 * check a report against `docs/report-schema.json` itself, not only against the zod schema that
 * generated it. Unknown keywords are reported, so the checker never silently accepts what it cannot
 * check.
 */

/** One violation: a JSON Pointer into the instance and what is wrong there. */
export interface SchemaIssue {
  readonly path: string
  readonly message: string
}

type Schema = boolean | { readonly [k: string]: unknown }

const ANNOTATIONS = new Set([
  '$schema',
  '$id',
  'title',
  'description',
  '$defs',
  'definitions',
  'default',
  'examples',
  'format',
  'id',
])
const CHECKED = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'const',
  'anyOf',
  'oneOf',
  'allOf',
  '$ref',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
])

/** Validates `instance` against `schema`; returns every issue found (empty when valid). */
export function checkJsonSchema(schema: unknown, instance: unknown): SchemaIssue[] {
  const issues: SchemaIssue[] = []
  walk(schema as Schema, instance, '', schema as Schema, issues)
  return issues
}

function walk(s: Schema, v: unknown, path: string, root: Schema, out: SchemaIssue[]): void {
  if (s === true) return
  if (s === false) {
    out.push({ path, message: 'no value is allowed here' })
    return
  }
  for (const key of Object.keys(s)) {
    if (!ANNOTATIONS.has(key) && !CHECKED.has(key))
      out.push({ path, message: `schema keyword "${key}" is not supported by this checker` })
  }
  const ref = s['$ref']
  if (typeof ref === 'string') walk(resolveRef(root, ref), v, path, root, out)
  if (s['type'] !== undefined) {
    const types = Array.isArray(s['type']) ? (s['type'] as string[]) : [s['type'] as string]
    if (!types.some((t) => hasType(v, t))) {
      out.push({ path, message: `expected ${types.join(' or ')}, got ${typeName(v)}` })
      return
    }
  }
  if (Array.isArray(s['enum']) && !s['enum'].some((e) => deepEqual(e, v)))
    out.push({ path, message: `expected one of ${JSON.stringify(s['enum'])}` })
  if ('const' in s && !deepEqual(s['const'], v))
    out.push({ path, message: `expected ${JSON.stringify(s['const'])}` })
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = s[key]
    if (!Array.isArray(options)) continue
    const passing = options.filter((o) => checkAt(o as Schema, v, path, root).length === 0).length
    if (key === 'anyOf' ? passing === 0 : passing !== 1)
      out.push({
        path,
        message: `${key}: ${passing} of ${options.length} alternatives match`,
      })
  }
  if (Array.isArray(s['allOf'])) for (const o of s['allOf']) walk(o as Schema, v, path, root, out)
  if (typeof v === 'number') checkNumber(s, v, path, out)
  if (typeof v === 'string') checkString(s, v, path, out)
  if (Array.isArray(v)) {
    if (typeof s['minItems'] === 'number' && v.length < s['minItems'])
      out.push({ path, message: `fewer than ${s['minItems']} items` })
    if (typeof s['maxItems'] === 'number' && v.length > s['maxItems'])
      out.push({ path, message: `more than ${s['maxItems']} items` })
    if (s['items'] !== undefined)
      v.forEach((item, i) => {
        walk(s['items'] as Schema, item, `${path}/${i}`, root, out)
      })
  }
  if (isObject(v)) checkObject(s, v, path, root, out)
}

function checkAt(s: Schema, v: unknown, path: string, root: Schema): SchemaIssue[] {
  const out: SchemaIssue[] = []
  walk(s, v, path, root, out)
  return out
}

function checkObject(
  s: { readonly [k: string]: unknown },
  v: Record<string, unknown>,
  path: string,
  root: Schema,
  out: SchemaIssue[],
): void {
  const props = (s['properties'] ?? {}) as Record<string, Schema>
  if (Array.isArray(s['required']))
    for (const key of s['required'] as string[])
      if (!(key in v)) out.push({ path, message: `missing required property "${key}"` })
  for (const [key, value] of Object.entries(v)) {
    const child = `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`
    const ps = props[key]
    if (ps !== undefined) walk(ps, value, child, root, out)
    else if (s['additionalProperties'] === false)
      out.push({ path: child, message: `property "${key}" is not allowed` })
    else if (s['additionalProperties'] !== undefined)
      walk(s['additionalProperties'] as Schema, value, child, root, out)
  }
}

function checkNumber(
  s: { readonly [k: string]: unknown },
  v: number,
  path: string,
  out: SchemaIssue[],
): void {
  const n = (k: string): number | undefined => (typeof s[k] === 'number' ? s[k] : undefined)
  const min = n('minimum')
  const max = n('maximum')
  const xmin = n('exclusiveMinimum')
  const xmax = n('exclusiveMaximum')
  if (min !== undefined && v < min) out.push({ path, message: `${v} < minimum ${min}` })
  if (max !== undefined && v > max) out.push({ path, message: `${v} > maximum ${max}` })
  if (xmin !== undefined && v <= xmin)
    out.push({ path, message: `${v} ≤ exclusive minimum ${xmin}` })
  if (xmax !== undefined && v >= xmax)
    out.push({ path, message: `${v} ≥ exclusive maximum ${xmax}` })
}

function checkString(
  s: { readonly [k: string]: unknown },
  v: string,
  path: string,
  out: SchemaIssue[],
): void {
  if (typeof s['minLength'] === 'number' && [...v].length < s['minLength'])
    out.push({ path, message: `shorter than ${s['minLength']} characters` })
  if (typeof s['maxLength'] === 'number' && [...v].length > s['maxLength'])
    out.push({ path, message: `longer than ${s['maxLength']} characters` })
  if (typeof s['pattern'] === 'string' && !new RegExp(s['pattern'], 'u').test(v))
    out.push({ path, message: `does not match /${s['pattern']}/` })
}

function resolveRef(root: Schema, ref: string): Schema {
  if (!ref.startsWith('#')) throw new Error(`only local $ref is supported, got ${ref}`)
  let node: unknown = root
  for (const raw of ref.slice(1).split('/').filter(Boolean)) {
    const part = raw.replaceAll('~1', '/').replaceAll('~0', '~')
    node = isObject(node) ? node[part] : undefined
  }
  if (node === undefined) throw new Error(`unresolvable $ref ${ref}`)
  return node as Schema
}

function hasType(v: unknown, t: string): boolean {
  switch (t) {
    case 'null':
      return v === null
    case 'boolean':
      return typeof v === 'boolean'
    case 'string':
      return typeof v === 'string'
    case 'number':
      return typeof v === 'number' && Number.isFinite(v)
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v)
    case 'array':
      return Array.isArray(v)
    case 'object':
      return isObject(v)
    default:
      return false
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  return typeof v
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}
