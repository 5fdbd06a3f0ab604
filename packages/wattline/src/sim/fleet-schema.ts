/**
 * @module sim/fleet-schema
 * The fleet file of `wattline replay` (YAML): the backends to replay against, where the clients are,
 * the network latency between them, and the services with their SLOs — with the routing settings
 * the gateway has (backend weights, per-service carbon tolerance and backend lists), so a replay
 * decides as the gateway would. (`wattline replay --config wattline.yaml` builds the same fleet from
 * a gateway config instead: `sim/config-fleet.ts`.) One zod schema, shaped like
 * the file (snake_case, unit suffixes), published as `fleet.schema.json` (a test fails on drift).
 * Reference: docs/replay.md, "Fleet file".
 */
import * as z from 'zod'
import { PRECISIONS } from '@wattline/core'
import { DEFAULT_CARBON_TOLERANCE_PCT } from '../config/defaults.ts'
import { tierSchema } from '../config/schema.ts'
import { PLACEMENTS } from '../config/placement.ts'

const name = z.string().trim().min(1)

/** A latency matrix: client location → backend location → one-way-trip latency added per request, ms. */
const latencyMatrix = z.record(z.string(), z.record(z.string(), z.number().nonnegative()))

/** Network energy of the replay (docs/replay.md "Network energy"). */
export const fleetNetworkSchema = z
  .object({
    enabled: z.boolean().default(true).describe('False leaves network energy out of the replay'),
    kwh_per_gb: z
      .number()
      .positive()
      .max(10)
      .optional()
      .describe(
        'Electricity intensity of transmission, kWh/GB; default: the Aslan et al. 2018 trend for the year of the first request',
      ),
    source: name.optional().describe('Where kwh_per_gb comes from (required with it)'),
    streamed_share: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe(
        'Share of answers streamed as SSE (about 55× the bytes of a JSON answer per output token)',
      ),
    distance_km: latencyMatrix
      .optional()
      .describe(
        'Client location → backend location → km. 0 km = same premises: no access/core network crossed, no network energy; other distances are reported (GB·km) but charged per GB only',
      ),
  })
  .strict()
  .refine((n) => n.kwh_per_gb === undefined || n.source !== undefined, {
    message: 'network.kwh_per_gb needs network.source (where the coefficient comes from)',
    path: ['source'],
  })

export const fleetServiceSchema = z
  .object({
    name: name.describe('Service name (the generic JSONL trace may name it per request)'),
    model: name.describe('Model id or alias the service asks for'),
    share: z
      .number()
      .positive()
      .default(1)
      .describe('Share of trace requests assigned to this service when the trace names none'),
    slo: z
      .object({
        p95_latency_ms: z
          .number()
          .positive()
          .describe('End-to-end latency objective per request (network + queue + compute), ms'),
      })
      .strict()
      .optional(),
    expected_output_tokens: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        'Output tokens policies are told to expect (as max_tokens would); default: the true count',
      ),
    carbon_tolerance_pct: z
      .number()
      .min(0)
      .max(100)
      .default(DEFAULT_CARBON_TOLERANCE_PCT)
      .describe(
        'Carbon-aware hysteresis band, percent: the previous backend is kept while within this much of the greenest (as in wattline.yaml)',
      ),
    backends: z
      .array(name)
      .min(1)
      .optional()
      .describe('Ids of the backends this service may use; default: all (as in wattline.yaml)'),
    tiers: z
      .array(tierSchema)
      .optional()
      .describe(
        'Quality tiers (replay --tiers): model variants heaviest first, `model` among them; a lighter one serves when its `when` holds (intensity_above_g_per_kwh, opt_in; budget_pressure needs --config)',
      ),
  })
  .strict()

export const fleetClientSchema = z
  .object({
    region: name.describe('Client-region name (the generic JSONL trace may name it per request)'),
    share: z.number().positive().describe('Share of requests from this region (normalised)'),
    location: name
      .optional()
      .describe('Key of this region in the latency matrix; defaults to `region`'),
  })
  .strict()

export const fleetBackendSchema = z
  .object({
    id: name,
    zone: name.optional().describe('Electricity Maps zone id, e.g. DE, US-CAL-CISO'),
    region: name
      .optional()
      .describe('Cloud region instead of a zone, e.g. aws:eu-central-1 (mapped to its zone)'),
    hardware: name.describe('Hardware catalogue id, e.g. H100-SXM (edge: Jetson-AGX-Orin-64GB)'),
    placement: z
      .enum(PLACEMENTS)
      .default('cloud')
      .describe(
        'cloud (a data centre) or edge (a Jetson-class module: one request at a time per device, no PUE; replicas = devices; max_concurrency and pue must be 1 or left out)',
      ),
    model: name.describe('Model id or alias served'),
    precision: z.enum(PRECISIONS).optional(),
    active_params_b: z
      .number()
      .positive()
      .optional()
      .describe('Active parameters (billions) for a model the catalogue does not know'),
    replicas: z.number().int().positive().default(1).describe('Identical replicas'),
    max_concurrency: z
      .number()
      .int()
      .positive()
      .default(32)
      .describe('Concurrent requests (batch slots) per replica; more wait in the backend queue'),
    pue: z.number().min(1).max(3).default(1.2).describe('Power usage effectiveness of the site'),
    weight: z
      .number()
      .min(0)
      .default(1)
      .describe('Relative share for the weighted policy (as in wattline.yaml)'),
    latency_location: name
      .optional()
      .describe('Key of this backend in the latency matrix; defaults to its zone'),
    min_replicas: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe(
        'Right-sizing (replay --scaling): fewest replicas kept; 0 allows scale-to-zero. Default 1',
      ),
    max_replicas: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        'Right-sizing: most replicas; default: what the busiest window needs, or `replicas` if more',
      ),
    cold_start_s: z
      .number()
      .nonnegative()
      .optional()
      .describe(
        'Right-sizing: seconds from starting a replica to serving (model load), drawn at idle power. Default 60 (assumption: docs/scaling.md)',
      ),
  })
  .strict()
  .refine((b) => (b.zone === undefined) !== (b.region === undefined), {
    message: 'set exactly one of zone or region',
    path: ['zone'],
  })
  .refine(
    (b) =>
      b.min_replicas === undefined ||
      b.max_replicas === undefined ||
      b.min_replicas <= b.max_replicas,
    { message: 'min_replicas must not exceed max_replicas', path: ['min_replicas'] },
  )

export const fleetSchema = z
  .object({
    name: name.optional(),
    description: z.string().optional(),
    services: z.array(fleetServiceSchema).min(1),
    clients: z.array(fleetClientSchema).min(1),
    latency: z
      .object({
        matrix_file: z
          .string()
          .min(1)
          .optional()
          .describe(
            'CSV matrix (first row `origin,<loc>,...`, one row per origin, ms), relative to the fleet file',
          ),
        matrix: latencyMatrix.optional().describe('Inline matrix; entries override the file'),
        symmetric: z
          .boolean()
          .default(true)
          .describe('Use matrix[b][a] when matrix[a][b] is missing'),
        same_location_ms: z
          .number()
          .nonnegative()
          .default(1)
          .describe('Latency when client and backend share a location and no entry says otherwise'),
        default_ms: z
          .number()
          .nonnegative()
          .optional()
          .describe('Latency for pairs the matrix lacks; without it a missing pair is an error'),
      })
      .strict()
      .default({ symmetric: true, same_location_ms: 1 }),
    backends: z.array(fleetBackendSchema).min(1),
    network: fleetNetworkSchema
      .optional()
      .describe(
        'Network energy at the service boundary (request + answer bytes × kWh/GB), reported apart from compute; default: on, Aslan et al. 2018 trend for the trace year',
      ),
  })
  .strict()

export type FleetFile = z.infer<typeof fleetSchema>
export type FleetBackendFile = z.infer<typeof fleetBackendSchema>
export type FleetNetworkFile = z.infer<typeof fleetNetworkSchema>

/** The JSON Schema published as `fleet.schema.json` (editors get completion for fleet files). */
export function fleetJsonSchema(): unknown {
  return {
    $id: 'https://wattline.dev/fleet.schema.json',
    title: 'Wattline replay fleet',
    ...z.toJSONSchema(fleetSchema, { io: 'input' }),
  }
}
