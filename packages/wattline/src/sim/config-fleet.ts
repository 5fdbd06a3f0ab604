/**
 * @module sim/config-fleet
 * A replay fleet built from a gateway config (`wattline replay --config wattline.yaml`, or a
 * `wattline.yaml` given to `--fleet`), so that a user replays *their* gateway: the same backends
 * (zone, hardware, models, `max_concurrency`, `pue`, `weight`, `rtt_ms`), services (SLO, carbon
 * tolerance, backend lists) and profiles as `wattline serve` resolves them. The config is read by
 * the gateway's own loader (`config/load-config.ts`): same validation, same messages.
 *
 * What a gateway config does not say, and what the replay assumes instead (docs/replay.md):
 * - clients: one region, `gateway`, whose network round trip to each backend is its `rtt_ms`;
 * - replicas: 1 per backend with `max_concurrency` batch slots (the gateway's limit is per backend);
 * - the model a service's requests ask for: its first `models` entry, else the first model of its
 *   first backend; requests are shared equally among services when the trace names none;
 * - the simulated batching of a backend serving several models uses its first model's profile
 *   (routing predictions use each model's own).
 * A service's `budget:` comes along: the replay reports each policy's value of the budget metric
 * against the budget's target and limit.
 */
import { LineCounter, parseDocument, isMap, isSeq } from 'yaml'
import {
  resolveProfile as coreResolveProfile,
  WattlineError,
  type EnergyProfile,
  type Precision,
} from '@wattline/core'
import { coreBudgetSpec } from '../config/budget.ts'
import { createConfigCatalog } from '../config/catalog.ts'
import { parseConfigText } from '../config/load-config.ts'
import type { WattlineConfig } from '../config/parse-config.ts'
import { coreTiers } from '../config/tiers.ts'
import { readInputText, readUtf8 } from '../input/read-input-text.ts'
import {
  checkFleetTiers,
  parseFleet,
  yamlLocator,
  type Fleet,
  type FleetBackend,
  type FleetService,
  type LoadFleetDeps,
} from './load-fleet.ts'

/** The client region of a fleet built from a gateway config. */
export const CONFIG_CLIENT_REGION = 'gateway'

export interface ReplayFleetDeps extends LoadFleetDeps {
  /** Environment for `*_env` fields of a gateway config (the loader checks they are set). */
  readonly env: Readonly<Record<string, string | undefined>>
}

/**
 * Reads `path` as a replay fleet: a fleet file, or a gateway config (`as: 'config'`, or detected
 * with `as: 'auto'`: a file without `clients` whose backends have a `url` is a gateway config).
 */
export async function loadReplayFleet(
  path: string,
  as: 'auto' | 'config',
  deps: ReplayFleetDeps,
): Promise<Fleet> {
  const readText = deps.readText ?? readUtf8
  const text = await readInputText(path, `${as === 'config' ? 'config' : 'fleet'} file`, readText)
  if (as === 'config' || looksLikeGatewayConfig(text)) return fleetFromConfigText(text, path, deps)
  return parseFleet(text, path, { ...deps, readText })
}

/** A gateway config, not a fleet file: no `clients`, and backends with a `url`. */
export function looksLikeGatewayConfig(text: string): boolean {
  const doc = parseDocument(text, { prettyErrors: false })
  if (doc.errors.length > 0 || !isMap(doc.contents)) return false
  if (doc.has('clients')) return false
  const backends = doc.get('backends', true)
  if (!isSeq(backends)) return false
  return backends.items.some((b) => isMap(b) && b.has('url'))
}

/** Parses a gateway config's text and builds its replay fleet. */
export function fleetFromConfigText(text: string, file: string, deps: ReplayFleetDeps): Fleet {
  const config = parseConfigText(text, file, { env: deps.env, catalog: createConfigCatalog() })
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false })
  return fleetFromConfig(config, file, yamlLocator(doc, lines), deps)
}

/** The replay fleet of a validated gateway config. */
export function fleetFromConfig(
  config: WattlineConfig,
  file: string,
  locate: Fleet['locate'] = () => undefined,
  deps: Pick<LoadFleetDeps, 'resolveProfile'> = {},
): Fleet {
  const resolveProfile = deps.resolveProfile ?? coreResolveProfile
  const backends: FleetBackend[] = config.backends.map((b, i) => {
    const profiles = new Map<string, EnergyProfile>()
    b.models.forEach((model, k) => {
      try {
        profiles.set(
          model,
          resolveProfile({
            model: b.canonical_models[model] ?? model,
            hardware: b.hardware,
            precision: b.precision as Precision,
            ...(b.active_params_b === undefined ? {} : { activeParamsB: b.active_params_b }),
          }),
        )
      } catch (cause) {
        const at = locate(['backends', i, 'models', k])
        const code = cause instanceof WattlineError ? cause.code : 'WL_INVALID_INPUT'
        throw new WattlineError(
          code,
          `${file}${at === undefined ? '' : `:${at.line}:${at.column}`} backends[${i}].models[${k}]: ${(cause as Error).message}`,
          {
            cause,
            details: {
              file,
              line: at?.line,
              column: at?.column,
              field: `backends[${i}].models[${k}]`,
            },
          },
        )
      }
    })
    const first = b.models[0] as string
    const profile = profiles.get(first) as EnergyProfile
    return {
      id: b.id,
      zone: b.zone,
      ...(b.region === undefined ? {} : { region: b.region }),
      hardware: b.hardware,
      model: first,
      models: b.models,
      profiles,
      precision: profile.precision,
      replicas: 1,
      maxConcurrency: b.max_concurrency,
      pue: b.pue,
      weight: b.weight,
      location: b.zone,
      profile,
      placement: b.placement,
    }
  })
  const services: FleetService[] = config.services.map((s, i) => {
    const own =
      s.backends === undefined ? backends : backends.filter((b) => s.backends?.includes(b.id))
    // With quality tiers, requests ask for the first (heaviest) tier's model.
    const model = s.tiers?.[0]?.model ?? s.models?.[0] ?? (own[0]?.model as string)
    // The watch window budget pressure is judged on (replay --tiers): for services with tiers.
    const watch =
      s.tiers !== undefined && s.budget?.watch.enabled === true ? s.budget.watch : undefined
    return {
      name: s.name,
      model,
      share: 1 / config.services.length,
      ...(s.slo.p95_latency_ms === undefined ? {} : { sloMs: s.slo.p95_latency_ms }),
      carbonTolerancePct: s.carbon_tolerance_pct,
      ...(s.backends === undefined ? {} : { backends: s.backends }),
      ...(s.budget === undefined
        ? {}
        : {
            budget: coreBudgetSpec(s.budget),
          }),
      ...(watch === undefined
        ? {}
        : { budgetWatch: { windowMs: watch.window_s * 1000, minRequests: watch.min_requests } }),
      ...(s.tiers === undefined
        ? {}
        : {
            tiers: checkFleetTiers(
              coreTiers(s.tiers),
              model,
              own,
              (j, field, message) =>
                new WattlineError(
                  'WL_CONFIG_INVALID',
                  `${file}: services[${i}].tiers[${j}].${field}: ${message}`,
                  { details: { file, field: `services[${i}].tiers[${j}].${field}` } },
                ),
              watch !== undefined,
            ),
          }),
    }
  })
  return {
    file,
    name: file,
    services,
    clients: [{ region: CONFIG_CLIENT_REGION, share: 1, location: CONFIG_CLIENT_REGION }],
    backends,
    networkRttMs: Float64Array.from(config.backends, (b) => b.rtt_ms),
    network: {
      enabled: config.network.enabled,
      ...(config.network.kwh_per_gb === undefined ? {} : { kwhPerGb: config.network.kwh_per_gb }),
      ...(config.network.source === undefined ? {} : { source: config.network.source }),
      streamedShare: 0,
    },
    carbon: config.carbon,
    locate,
  }
}
