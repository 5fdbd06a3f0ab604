/**
 * @module sim/load-fleet
 * Reads a fleet file (YAML), validates it against `fleetSchema`, and resolves everything a replay
 * needs: each backend's zone (cloud regions mapped to zones) and energy profile, normalised shares,
 * and the client × backend network latency matrix (inline and/or from a CSV file).
 *
 * Every problem points at the file, line, column and field (`eu.fleet.yaml:14:15 backends[2].hardware:
 * unknown hardware "H1OO" (did you mean H100-SXM?)`): schema problems are `WL_CONFIG_INVALID`, an
 * unknown hardware / model / region / zone keeps its own code (`WL_UNKNOWN_HARDWARE`, …) with the
 * location added to the message and to `details`.
 */
import type { CarbonConfig } from '../config/carbon.ts'
import { dirname, resolve as resolvePath } from 'node:path'
import { isMap, isNode, isScalar, LineCounter, parseDocument, type Document } from 'yaml'
import {
  checkTiers,
  resolveProfile as coreResolveProfile,
  resolveRegion as coreResolveRegion,
  WattlineError,
  type BudgetSpec,
  type EnergyProfile,
  type Precision,
  type Tier,
} from '@wattline/core'
import { coreTiers } from '../config/tiers.ts'
import { readInputText, readUtf8, type ReadText } from '../input/read-input-text.ts'
import { fleetSchema, type FleetFile } from './fleet-schema.ts'
import {
  checkPlacement,
  EDGE_RUNTIME,
  edgeDefaultPrecision,
  type Placement,
} from '../config/placement.ts'

/** A service of the fleet, resolved. */
export interface FleetService {
  readonly name: string
  readonly model: string
  /** Share of requests, normalised to sum to 1. */
  readonly share: number
  readonly sloMs?: number
  readonly expectedOutputTokens?: number
  /** Carbon-aware hysteresis band, percent. */
  readonly carbonTolerancePct: number
  /** Ids of the backends the service may use; undefined = all. */
  readonly backends?: readonly string[]
  /** The service's energy / carbon budget (from a gateway config): the replay reports each policy against it. */
  readonly budget?: BudgetSpec
  /** Quality tiers (replay --tiers): heaviest first, `model` among them. */
  readonly tiers?: readonly Tier[]
  /** The budget's production watch (from a gateway config): the window budget pressure is judged on. */
  readonly budgetWatch?: { readonly windowMs: number; readonly minRequests: number }
}

/** A client region, resolved. */
export interface FleetClient {
  readonly region: string
  /** Normalised to sum to 1. */
  readonly share: number
  readonly location: string
}

/** A backend, resolved. */
export interface FleetBackend {
  readonly id: string
  readonly zone: string
  /** The cloud region the file named, if it named one instead of a zone. */
  readonly region?: string
  readonly hardware: string
  /** The model the backend's replicas run (the simulation's batching profile is this model's). */
  readonly model: string
  /** Every name requests may use for a model it serves (ids and aliases). */
  readonly models: readonly string[]
  /** Energy profile per name in `models` (routing predictions). */
  readonly profiles: ReadonlyMap<string, EnergyProfile>
  readonly precision: Precision
  readonly replicas: number
  readonly maxConcurrency: number
  readonly pue: number
  /** Relative share for the weighted policy. */
  readonly weight: number
  readonly location: string
  readonly profile: EnergyProfile
  /** `cloud` or `edge` (one request at a time per device, no PUE; replicas are devices). */
  readonly placement: Placement
  /** Right-sizing range and cold start (replay --scaling); absent: the defaults there. */
  readonly scaling?: {
    readonly minReplicas?: number
    readonly maxReplicas?: number
    readonly coldStartMs?: number
  }
}

export interface Fleet {
  readonly file: string
  readonly name: string
  readonly services: readonly FleetService[]
  readonly clients: readonly FleetClient[]
  readonly backends: readonly FleetBackend[]
  /** Clients × backends, row-major, ms. */
  readonly networkRttMs: Float64Array
  /** Network energy settings; absent: on, with the defaults of {@link FleetNetwork}. */
  readonly network?: FleetNetwork
  /** A gateway config's `carbon:` section (replay --config): the default of `--carbon`. */
  readonly carbon?: CarbonConfig
  /** Where a field sits in the file (1-based), for errors found later (e.g. a zone no source knows). */
  locate(path: readonly (string | number)[]): { line: number; column: number } | undefined
}

/** How the replay charges network energy (docs/replay.md "Network energy"). */
export interface FleetNetwork {
  readonly enabled: boolean
  /** kWh/GB and its source; absent: the Aslan et al. 2018 trend for the trace's year. */
  readonly kwhPerGb?: number
  readonly source?: string
  /** Share of answers streamed as SSE, 0–1. */
  readonly streamedShare: number
  /** Clients × backends, row-major, km; NaN where the file gives no distance. */
  readonly distanceKm?: Float64Array
}

/** Collaborators, injectable for tests. */
export interface LoadFleetDeps {
  readonly readText?: (path: string) => Promise<string>
  readonly resolveProfile?: (input: {
    model: string
    hardware: string
    precision?: Precision
    activeParamsB?: number
  }) => EnergyProfile
  readonly resolveRegion?: (region: string) => { zone: string }
}

/** Reads and resolves a fleet file. */
export async function loadFleet(path: string, deps: LoadFleetDeps = {}): Promise<Fleet> {
  const text = await readInputText(path, 'fleet file', deps.readText)
  return parseFleet(text, path, deps)
}

/** Parses fleet YAML text (`file` names it in messages and anchors relative paths). */
export async function parseFleet(
  text: string,
  file: string,
  deps: LoadFleetDeps = {},
): Promise<Fleet> {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false })
  if (doc.errors.length > 0) {
    const e = doc.errors[0] as (typeof doc.errors)[number]
    const at = lines.linePos(e.pos[0])
    throw new WattlineError(
      'WL_CONFIG_INVALID',
      `${file}:${at.line}:${at.col}: ${e.message.split('\n')[0]}`,
      {
        details: { file, line: at.line, column: at.col },
      },
    )
  }
  const locate = yamlLocator(doc, lines)
  const where = (path: readonly (string | number)[]): string => {
    const at = locate(path)
    return `${file}${at === undefined ? '' : `:${at.line}:${at.column}`} ${formatPath(path)}`
  }
  const rawFile = doc.toJS() as unknown
  const parsed = fleetSchema.safeParse(rawFile)
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => {
      const path = i.path.filter((p): p is string | number => typeof p !== 'symbol')
      return { path, message: i.message, at: locate(path) }
    })
    const first = issues[0] as (typeof issues)[number]
    throw new WattlineError(
      'WL_CONFIG_INVALID',
      issues.map((i) => `${where(i.path)}: ${i.message}`).join('\n'),
      {
        details: {
          file,
          line: first.at?.line,
          column: first.at?.column,
          field: formatPath(first.path),
          issues: issues.map((i) => ({
            field: formatPath(i.path),
            message: i.message,
            line: i.at?.line,
          })),
        },
      },
    )
  }
  const fleet: FleetFile = parsed.data
  const located = (
    code: WattlineError['code'],
    path: (string | number)[],
    message: string,
    cause?: unknown,
  ): WattlineError => {
    const at = locate(path)
    const extra = cause instanceof WattlineError ? cause.details : {}
    return new WattlineError(code, `${where(path)}: ${message}`, {
      cause,
      details: { ...extra, file, line: at?.line, column: at?.column, field: formatPath(path) },
    })
  }
  const resolveProfile = deps.resolveProfile ?? coreResolveProfile
  const resolveRegion = deps.resolveRegion ?? coreResolveRegion

  // 1. Uniqueness.
  uniqueOrThrow(
    fleet.backends.map((b) => b.id),
    (i) => located('WL_CONFIG_INVALID', ['backends', i, 'id'], 'duplicate backend id'),
  )
  uniqueOrThrow(
    fleet.services.map((s) => s.name),
    (i) => located('WL_CONFIG_INVALID', ['services', i, 'name'], 'duplicate service name'),
  )
  uniqueOrThrow(
    fleet.clients.map((c) => c.region),
    (i) => located('WL_CONFIG_INVALID', ['clients', i, 'region'], 'duplicate client region'),
  )

  // 2. Backends: zone (or region → zone), profile (hardware, model, precision).
  const backends: FleetBackend[] = fleet.backends.map((b, i) => {
    let zone = b.zone
    if (zone === undefined) {
      try {
        zone = resolveRegion(b.region as string).zone
      } catch (cause) {
        const code = cause instanceof WattlineError ? cause.code : 'WL_UNKNOWN_REGION'
        throw located(code, ['backends', i, 'region'], messageOf(cause), cause)
      }
    }
    const rawBackend = (rawFile as { backends?: unknown[] }).backends?.[i]
    for (const p of checkPlacement({
      placement: b.placement,
      hardware: b.hardware,
      raw: rawBackend,
    })) {
      throw located('WL_CONFIG_INVALID', ['backends', i, p.field], p.message)
    }
    const edge = b.placement === 'edge'
    const precision =
      b.precision ?? (edge ? edgeDefaultPrecision(b.hardware, [b.model], 'bf16') : undefined)
    let profile: EnergyProfile
    try {
      profile = resolveProfile({
        model: b.model,
        hardware: b.hardware,
        ...(precision === undefined ? {} : { precision }),
        ...(b.active_params_b === undefined ? {} : { activeParamsB: b.active_params_b }),
      })
    } catch (cause) {
      const code = cause instanceof WattlineError ? cause.code : 'WL_INVALID_INPUT'
      const field =
        code === 'WL_UNKNOWN_HARDWARE'
          ? 'hardware'
          : code === 'WL_UNKNOWN_MODEL'
            ? 'model'
            : 'precision'
      throw located(code, ['backends', i, field], messageOf(cause), cause)
    }
    return {
      id: b.id,
      zone,
      ...(b.region === undefined ? {} : { region: b.region }),
      hardware: profile.hardware,
      model: b.model,
      precision: profile.precision,
      models: [b.model],
      profiles: new Map([[b.model, profile]]),
      replicas: b.replicas,
      maxConcurrency: edge ? EDGE_RUNTIME.maxConcurrency : b.max_concurrency,
      pue: edge ? EDGE_RUNTIME.pue : b.pue,
      weight: b.weight,
      location: b.latency_location ?? zone,
      profile,
      placement: b.placement,
      ...(b.min_replicas === undefined &&
      b.max_replicas === undefined &&
      b.cold_start_s === undefined
        ? {}
        : {
            scaling: {
              ...(b.min_replicas === undefined ? {} : { minReplicas: b.min_replicas }),
              ...(b.max_replicas === undefined ? {} : { maxReplicas: b.max_replicas }),
              ...(b.cold_start_s === undefined ? {} : { coldStartMs: b.cold_start_s * 1000 }),
            },
          }),
    }
  })

  // 3. Services: each model must be served somewhere (aliases compare by the resolved model id).
  const servedModels = new Set(
    backends.flatMap((b) => [b.model.toLowerCase(), b.profile.model.toLowerCase()]),
  )
  const shareSum = fleet.services.reduce((s, x) => s + x.share, 0)
  const services: FleetService[] = fleet.services.map((s, i) => {
    if (!servedModels.has(s.model.toLowerCase())) {
      throw located(
        'WL_CONFIG_INVALID',
        ['services', i, 'model'],
        `no backend serves model "${s.model}"`,
      )
    }
    s.backends?.forEach((id, k) => {
      if (!backends.some((b) => b.id === id)) {
        throw located(
          'WL_CONFIG_INVALID',
          ['services', i, 'backends', k],
          `unknown backend "${id}" (backends: ${backends.map((b) => b.id).join(', ')})`,
        )
      }
    })
    const own =
      s.backends === undefined ? backends : backends.filter((b) => s.backends?.includes(b.id))
    if (!own.some((b) => servesModel(b, s.model))) {
      throw located(
        'WL_CONFIG_INVALID',
        ['services', i, 'backends'],
        `none of the service's backends serves model "${s.model}"`,
      )
    }
    return {
      name: s.name,
      model: s.model,
      share: s.share / shareSum,
      ...(s.slo === undefined ? {} : { sloMs: s.slo.p95_latency_ms }),
      ...(s.expected_output_tokens === undefined
        ? {}
        : { expectedOutputTokens: s.expected_output_tokens }),
      carbonTolerancePct: s.carbon_tolerance_pct,
      ...(s.backends === undefined ? {} : { backends: s.backends }),
      ...(s.tiers === undefined
        ? {}
        : {
            tiers: checkFleetTiers(coreTiers(s.tiers), s.model, own, (j, field, message) =>
              located('WL_CONFIG_INVALID', ['services', i, 'tiers', j, field], message),
            ),
          }),
    }
  })
  const clientSum = fleet.clients.reduce((s, c) => s + c.share, 0)
  const clients: FleetClient[] = fleet.clients.map((c) => ({
    region: c.region,
    share: c.share / clientSum,
    location: c.location ?? c.region,
  }))

  // 4. Network latency, client × backend.
  const fileMatrix =
    fleet.latency.matrix_file === undefined
      ? undefined
      : await readLatencyMatrix(
          resolvePath(dirname(file), fleet.latency.matrix_file),
          deps.readText,
        )
  const inline = fleet.latency.matrix ?? {}
  const lookup = (a: string, b: string): number | undefined =>
    inline[a]?.[b] ??
    (fleet.latency.symmetric ? inline[b]?.[a] : undefined) ??
    fileMatrix?.get(a)?.get(b) ??
    (fleet.latency.symmetric ? fileMatrix?.get(b)?.get(a) : undefined) ??
    (a === b ? fleet.latency.same_location_ms : undefined) ??
    fleet.latency.default_ms
  const networkRttMs = new Float64Array(clients.length * backends.length)
  clients.forEach((c, ci) => {
    backends.forEach((b, bi) => {
      const v = lookup(c.location, b.location)
      if (v === undefined) {
        throw located(
          'WL_CONFIG_INVALID',
          ['clients', ci],
          `no latency from "${c.location}" to backend ${b.id} at "${b.location}"; add latency.matrix.${c.location}.${b.location}, set the backend's latency_location, or latency.default_ms`,
        )
      }
      networkRttMs[ci * backends.length + bi] = v
    })
  })
  // 5. Network energy: settings, and the client × backend distances the file gives.
  const net = fleet.network
  let network: FleetNetwork | undefined
  if (net !== undefined) {
    let distanceKm: Float64Array | undefined
    if (net.distance_km !== undefined) {
      const d = net.distance_km
      const km = new Float64Array(clients.length * backends.length).fill(Number.NaN)
      clients.forEach((c, ci) => {
        backends.forEach((b, bi) => {
          const v =
            d[c.location]?.[b.location] ?? d[c.location]?.[b.id] ?? d[b.location]?.[c.location]
          if (v !== undefined) km[ci * backends.length + bi] = v
        })
      })
      distanceKm = km
    }
    network = {
      enabled: net.enabled,
      ...(net.kwh_per_gb === undefined ? {} : { kwhPerGb: net.kwh_per_gb }),
      ...(net.source === undefined ? {} : { source: net.source }),
      streamedShare: net.streamed_share,
      ...(distanceKm === undefined ? {} : { distanceKm }),
    }
  }
  return {
    file,
    name: fleet.name ?? file,
    services,
    clients,
    backends,
    networkRttMs,
    ...(network === undefined ? {} : { network }),
    locate,
  }
}

/** True when `backend` serves `model` (by a name it lists or its profile's model id, any case). */
/**
 * A fleet service's tiers, checked: served by its backends, its `model` among them, no budget
 * pressure (a fleet file has no budget: replay the gateway config with --config for that).
 */
export function checkFleetTiers(
  tiers: readonly Tier[],
  model: string,
  own: readonly FleetBackend[],
  fail: (index: number, field: string, message: string) => Error,
  hasBudget = false,
): readonly Tier[] {
  const problem = checkTiers(tiers)[0]
  if (problem !== undefined) throw fail(problem.index, problem.field, problem.message)
  tiers.forEach((t, j) => {
    if (!own.some((b) => servesModel(b, t.model))) {
      const known = [...new Set(own.flatMap((b) => [...b.models, b.profile.model]))]
      throw fail(
        j,
        'model',
        `unknown model "${t.model}": no backend of this service serves it (known: ${known.join(', ')})`,
      )
    }
    if (t.when?.budgetPressure === true && !hasBudget)
      throw fail(
        j,
        'when',
        'budget_pressure needs the service budget and watch of a gateway config: replay it with --config wattline.yaml',
      )
  })
  if (!tiers.some((t) => t.model === model))
    throw fail(0, 'model', `the service's model "${model}" must be one of its tiers`)
  return tiers
}

export function servesModel(backend: FleetBackend, model: string): boolean {
  const m = model.toLowerCase()
  return (
    backend.models.some((n) => n.toLowerCase() === m) || backend.profile.model.toLowerCase() === m
  )
}

/**
 * Reads a latency matrix CSV: header `origin,<loc1>,<loc2>,…`, then one row per origin location with
 * latencies in ms (as `../shared/data/cloud-region-latency-and-zones/gcp_latency_matrix.csv`).
 * A repeated column keeps its first occurrence.
 */
export async function readLatencyMatrix(
  path: string,
  readText: ReadText = readUtf8,
): Promise<Map<string, Map<string, number>>> {
  const text = await readInputText(path, 'latency matrix', readText)
  const rows = text.split(/\r?\n/)
  const header = (rows[0] ?? '').split(',').map((c) => c.trim())
  const matrix = new Map<string, Map<string, number>>()
  for (let r = 1; r < rows.length; r++) {
    const line = rows[r] as string
    if (line.trim() === '') continue
    const cells = line.split(',')
    const origin = (cells[0] ?? '').trim()
    const row = matrix.get(origin) ?? new Map<string, number>()
    for (let c = 1; c < header.length; c++) {
      const dest = header[c] as string
      if (row.has(dest) && header.indexOf(dest) !== c) continue
      const cell = (cells[c] ?? '').trim()
      const v = Number(cell)
      if (cell === '' || !Number.isFinite(v) || v < 0) {
        const column = cells.slice(0, c).join(',').length + 2
        throw new WattlineError(
          'WL_DATA_FORMAT',
          `${path}:${r + 1}:${column}: invalid latency "${cell}" (ms)`,
          {
            details: { file: path, line: r + 1, column },
          },
        )
      }
      if (!row.has(dest)) row.set(dest, v)
    }
    matrix.set(origin, row)
  }
  return matrix
}

/** Throws `WL_UNKNOWN_ZONE` at the backend's line when a zone is not in `known`. */
export function checkFleetZones(fleet: Fleet, known: readonly string[], sourceName: string): void {
  const set = new Set(known)
  fleet.backends.forEach((b, i) => {
    if (set.has(b.zone)) return
    const field = b.region === undefined ? 'zone' : 'region'
    const at = fleet.locate(['backends', i, field])
    const matches = closest(b.zone, known)
    throw new WattlineError(
      'WL_UNKNOWN_ZONE',
      `${fleet.file}${at === undefined ? '' : `:${at.line}:${at.column}`} backends[${i}].${field}: zone "${b.zone}" has no data in ${sourceName}${matches.length > 0 ? ` (close: ${matches.join(', ')})` : ''}`,
      {
        details: {
          file: fleet.file,
          line: at?.line,
          column: at?.column,
          field: `backends[${i}].${field}`,
          zone: b.zone,
          matches,
        },
      },
    )
  })
}

function closest(zone: string, known: readonly string[]): string[] {
  const z = zone.toUpperCase()
  return known
    .map((k) => ({ k, d: distance(z, k.toUpperCase()) }))
    .filter(
      (x) =>
        x.d <= Math.max(2, Math.floor(z.length / 3)) ||
        x.k.toUpperCase().startsWith(z.split('-')[0] ?? z),
    )
    .sort((a, b) => a.d - b.d || a.k.localeCompare(b.k))
    .slice(0, 5)
    .map((x) => x.k)
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0] as number
    dp[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j] as number
      dp[j] = Math.min(
        (dp[j] as number) + 1,
        (dp[j - 1] as number) + 1,
        prev + (a[i - 1] === b[j - 1] ? 0 : 1),
      )
      prev = tmp
    }
  }
  return dp[b.length] as number
}

function uniqueOrThrow(values: readonly string[], error: (index: number) => WattlineError): void {
  const seen = new Set<string>()
  values.forEach((v, i) => {
    if (seen.has(v)) throw error(i)
    seen.add(v)
  })
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

/** `backends[2].hardware` */
export function formatPath(path: readonly (string | number)[]): string {
  return (
    path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') ||
    '(root)'
  )
}

/**
 * Finds where a field sits in a parsed YAML file (1-based line and column): the deepest node on
 * `path` that exists (a missing field points at its parent); keys rather than values.
 */
export function yamlLocator(
  doc: Document,
  lines: LineCounter,
): (path: readonly (string | number)[]) => { line: number; column: number } | undefined {
  return (path) => {
    for (let n = path.length; n >= 0; n--) {
      const offset = offsetOf(doc, path.slice(0, n))
      if (offset !== undefined) {
        const p = lines.linePos(offset)
        return { line: p.line, column: p.col }
      }
    }
    return undefined
  }
}

/** Offset of the value at `path` (or of its key, which reads better in messages). */
function offsetOf(doc: Document, path: readonly (string | number)[]): number | undefined {
  if (path.length === 0)
    return doc.contents !== null && isNode(doc.contents) ? doc.contents.range?.[0] : undefined
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true)
  const last = path[path.length - 1]
  if (isMap(parent)) {
    for (const pair of parent.items) {
      if (isScalar(pair.key) && pair.key.value === last && pair.key.range) return pair.key.range[0]
    }
  }
  const node = doc.getIn(path, true)
  return isNode(node) && node.range ? node.range[0] : undefined
}
