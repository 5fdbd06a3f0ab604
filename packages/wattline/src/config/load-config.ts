/**
 * @module config/load-config
 * Reads `wattline.yaml`, parses it with `yaml` (YAML 1.2) and validates it with `parseConfig`.
 * Errors name the file, line and column of the offending node:
 * `wattline.yaml:12:5 backends[1].zone: unknown zone 'XX' (did you mean 'DE'?)`.
 */
import { WattlineError } from '@wattline/core'
import { isNode, LineCounter, parseDocument, type Document } from 'yaml'
import {
  formatPath,
  parseConfig,
  type ConfigCatalog,
  type ConfigIssue,
  type WattlineConfig,
} from './parse-config.ts'

export interface LoadConfigDeps {
  /** The one file-system call; `fs.promises.readFile` in production. */
  readonly readFile: (path: string, encoding: 'utf8') => Promise<string>
  readonly env: Readonly<Record<string, string | undefined>>
  readonly catalog: ConfigCatalog
}

/** A config issue placed in the file. */
export interface LocatedIssue extends ConfigIssue {
  readonly line: number
  readonly column: number
}

/** Loads and validates a config file; throws `WL_CONFIG_INVALID` listing every issue. */
export async function loadConfig(path: string, deps: LoadConfigDeps): Promise<WattlineConfig> {
  let text: string
  try {
    text = await deps.readFile(path, 'utf8')
  } catch (cause) {
    throw new WattlineError(
      'WL_CONFIG_INVALID',
      `cannot read config file ${path}: ${(cause as Error).message}`,
      { cause },
    )
  }
  return parseConfigText(text, path, deps)
}

/** Like `loadConfig` for text already in memory; `name` is used in messages. */
export function parseConfigText(
  text: string,
  name: string,
  deps: Omit<LoadConfigDeps, 'readFile'>,
): WattlineConfig {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e) => {
      const at = lineCounter.linePos(e.pos[0])
      return {
        path: [],
        message: e.message.split('\n')[0] ?? e.message,
        line: at.line,
        column: at.col,
      }
    })
    throw configError(name, issues)
  }
  const result = parseConfig(doc.toJS(), deps)
  if (result.ok) return result.value
  throw configError(
    name,
    result.issues.map((i) => locate(i, doc, lineCounter)),
  )
}

function locate(issue: ConfigIssue, doc: Document, lines: LineCounter): LocatedIssue {
  // The deepest node that exists on the issue's path (a missing field points at its parent).
  for (let n = issue.path.length; n >= 0; n--) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(issue.path.slice(0, n), true)
    if (isNode(node) && node.range !== undefined && node.range !== null) {
      // For a key's value, point at the key when the path ends in a map entry (better for users).
      const at = lines.linePos(keyOffset(doc, issue.path.slice(0, n)) ?? node.range[0])
      return { ...issue, line: at.line, column: at.col }
    }
  }
  return { ...issue, line: 1, column: 1 }
}

function keyOffset(doc: Document, path: readonly (string | number)[]): number | undefined {
  const last = path[path.length - 1]
  if (typeof last !== 'string') return undefined
  const parent: unknown = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true)
  if (parent === null || typeof parent !== 'object' || !('items' in parent)) return undefined
  for (const pair of (parent as { items: unknown[] }).items) {
    const key = (pair as { key?: unknown }).key
    if (isNode(key) && (key as { value?: unknown }).value === last && key.range) return key.range[0]
  }
  return undefined
}

function configError(name: string, issues: readonly LocatedIssue[]): WattlineError {
  const lines = issues.map(
    (i) =>
      `${name}:${i.line}:${i.column} ${i.path.length > 0 ? `${formatPath(i.path)}: ` : ''}${i.message}`,
  )
  return new WattlineError(
    'WL_CONFIG_INVALID',
    `invalid config (${issues.length} issue${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
    {
      details: { file: name, issues },
    },
  )
}
