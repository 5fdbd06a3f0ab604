/**
 * @module adapters/carbon/carbon-spec
 * The carbon source spec of the command line (`wattline replay --carbon`, `wattline intensity
 * --source`), parsed into the `carbon:` config section's shape so `openCarbonSource` has one input:
 *
 * ```text
 * spec    := source ('+' source)*                 sources tried in order, per zone
 * source  := builtin | static                     the built-in table
 *          | static:ZONE=G[,ZONE=G…]              fixed gCO2e/kWh per zone
 *          | csv:PATH                             file/folder, format detected from its header
 *          | json:PATH | electricitymaps-csv:PATH | watttime-csv:PATH
 *          | electricitymaps[:BASE_URL]           key from $ELECTRICITYMAPS_API_KEY
 *          | watttime[:BASE_URL]                  $WATTTIME_USERNAME, $WATTTIME_PASSWORD
 *          | uk-carbon-intensity[:BASE_URL]
 *          | carbon-aware-sdk:BASE_URL
 *          | PATH[,PATH…]                         existing files/folders: csv:PATH each
 * ```
 *
 * The signal is the one the sources give (marginal for `watttime`/`watttime-csv`, else average);
 * mixing signals is `WL_INVALID_INPUT`, as any malformed spec, with the valid kinds listed.
 */
import { WattlineError, type Signal } from '@wattline/core'
import {
  carbonConfigSchema,
  FIXED_SIGNAL,
  type CarbonConfig,
  type CarbonSourceConfig,
} from '../../config/carbon.ts'

/** Every kind a spec (and `carbon.sources[].type`) may name, in the order the docs list them. */
export const CARBON_SPEC_KINDS = [
  'builtin',
  'static',
  'csv',
  'json',
  'electricitymaps-csv',
  'watttime-csv',
  'electricitymaps',
  'watttime',
  'uk-carbon-intensity',
  'carbon-aware-sdk',
] as const satisfies readonly CarbonSourceConfig['type'][]
export type CarbonSpecKind = (typeof CARBON_SPEC_KINDS)[number]

/** The grammar in one line, for messages and `--help`. */
export const CARBON_SPEC_SYNTAX =
  'builtin | static[:ZONE=G,…] | csv:PATH | json:PATH | electricitymaps-csv:PATH | watttime-csv:PATH | electricitymaps[:URL] | watttime[:URL] | uk-carbon-intensity[:URL] | carbon-aware-sdk:URL, several joined with +'

/** Environment variables the API kinds read their secrets from. */
export const SPEC_SECRET_ENV = {
  electricitymaps: { api_key_env: 'ELECTRICITYMAPS_API_KEY' },
  watttime: { username_env: 'WATTTIME_USERNAME', password_env: 'WATTTIME_PASSWORD' },
} as const

export interface ParseSpecOptions {
  /** The flag named in errors, e.g. `--carbon`. */
  readonly flag: string
  /** True when `text` names an existing file or folder (bare paths are `csv:`). */
  readonly isPath: (text: string) => boolean
}

/** Parses a spec into a validated `carbon:` section (defaults filled in). */
export function parseCarbonSpec(spec: string, options: ParseSpecOptions): CarbonConfig {
  const { flag } = options
  const text = spec.trim()
  if (text === '') throw badSpec(flag, spec, 'it is empty')
  const sources = text.split('+').flatMap((part) => parseSource(part.trim(), spec, options))
  const fixed = [
    ...new Set(
      sources.map((s): Signal | undefined =>
        s.type === 'watttime' ? 'marginal' : FIXED_SIGNAL[s.type],
      ),
    ),
  ].filter((s) => s !== undefined)
  if (fixed.length > 1)
    throw badSpec(flag, spec, 'it mixes average and marginal sources; replay one signal at a time')
  const parsed = carbonConfigSchema.safeParse({ signal: fixed[0] ?? 'average', sources })
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw badSpec(flag, spec, `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`)
  }
  return parsed.data
}

function parseSource(part: string, spec: string, options: ParseSpecOptions): CarbonSourceConfig[] {
  const { flag } = options
  const m = /^([a-z][a-z-]*)(?::(.*))?$/s.exec(part)
  const kind = m?.[1]
  const arg = m?.[2]
  if (kind === undefined || !(CARBON_SPEC_KINDS as readonly string[]).includes(kind)) {
    const paths = part.split(',').map((p) => p.trim())
    if (part !== '' && paths.every((p) => p !== '' && options.isPath(p)))
      return paths.map((path) => ({ type: 'csv', path }))
    throw badSpec(flag, spec, `"${part}" is neither a source kind nor an existing file or folder`)
  }
  const need = (what: string): string => {
    if (arg === undefined || arg.trim() === '')
      throw badSpec(
        flag,
        spec,
        `${kind} needs ${what} (${kind}:${what.toUpperCase().replace(/ .*/, '')})`,
      )
    return arg.trim()
  }
  const url = (): { base_url?: string } =>
    arg === undefined ? {} : { base_url: need('a base URL') }
  switch (kind as CarbonSpecKind) {
    case 'builtin':
      if (arg !== undefined) throw badSpec(flag, spec, 'builtin takes no argument')
      return [{ type: 'builtin' }]
    case 'static':
      return [
        arg === undefined
          ? { type: 'static' }
          : { type: 'static', values: zoneValues(need('zone values'), spec, flag) },
      ]
    case 'csv':
    case 'json':
    case 'electricitymaps-csv':
    case 'watttime-csv':
      return [{ type: kind as 'csv', path: need('a path') }]
    case 'electricitymaps':
      return [{ type: 'electricitymaps', ...SPEC_SECRET_ENV.electricitymaps, ...url() }]
    case 'watttime':
      return [{ type: 'watttime', ...SPEC_SECRET_ENV.watttime, ...url() }]
    case 'uk-carbon-intensity':
      return [{ type: 'uk-carbon-intensity', ...url() }]
    case 'carbon-aware-sdk':
      return [{ type: 'carbon-aware-sdk', base_url: need('a base URL') }]
  }
}

/** `FR=50,DE=300` → `{FR: 50, DE: 300}` (gCO2e/kWh). */
function zoneValues(text: string, spec: string, flag: string): Record<string, number> {
  const values: Record<string, number> = {}
  for (const pair of text.split(',')) {
    const m = /^\s*([A-Za-z][A-Za-z0-9-]*)\s*=\s*([0-9]+(?:\.[0-9]+)?)\s*$/.exec(pair)
    if (m === null)
      throw badSpec(
        flag,
        spec,
        `static values are ZONE=gCO2e/kWh pairs (static:FR=50,DE=300), got "${pair}"`,
      )
    const zone = (m[1] as string).toUpperCase()
    if (zone in values) throw badSpec(flag, spec, `zone ${zone} is given twice`)
    values[zone] = Number(m[2])
  }
  return values
}

function badSpec(flag: string, spec: string, problem: string): WattlineError {
  return new WattlineError(
    'WL_INVALID_INPUT',
    `${flag} ${spec}: ${problem}; valid kinds: ${CARBON_SPEC_KINDS.join(', ')} (${CARBON_SPEC_SYNTAX})`,
    { details: { field: flag, kinds: [...CARBON_SPEC_KINDS] } },
  )
}
