/**
 * @module report/report-schema
 * The transparency report's shape, as one zod schema: the TypeScript type, the runtime validator and
 * the published JSON Schema (`docs/report-schema.json`, draft 2020-12) all come from here, and a test
 * fails if the published file drifts. Every number carries its unit in its key; aggregate figures
 * carry an interval (`low`, `high`) and the method that produced them.
 */
import { IDLE_ALLOCATION_RULES, LEVER_NAMES, SAVING_BASES } from '@wattline/core'
import * as z from 'zod'

/** Version of the report format; bumped on any incompatible change to the keys below. */
export const REPORT_SCHEMA_VERSION = '1.0.0'

/** `$id` of the published schema. */
export const REPORT_SCHEMA_ID = 'https://wattline.dev/schemas/report-1.0.0.json'

const num = z.number()
const nonNeg = z.number().min(0)
const iso = z.string().describe('ISO 8601 instant, UTC')

/** How an aggregate was produced: every part measured, every part modelled, or a mix of both. */
export const figureMethodSchema = z.enum(['measured', 'modelled', 'mixed'])

/** A figure with its interval and method; the unit is in the key that holds it. */
export const figureSchema = z
  .object({
    value: num,
    low: num,
    high: num,
    method: figureMethodSchema,
  })
  .describe('A figure with its interval (low ≤ value ≤ high) and method; unit in the parent key')

const signalSchema = z.enum(['average', 'marginal'])

const zoneRowSchema = z.object({
  zone: z.string().describe('Electricity Maps zone id'),
  region: z.string(),
  requests: z.number().int().min(0),
  share_of_requests_pct: nonNeg,
  facility_energy_wh: nonNeg,
  idle_facility_energy_wh: nonNeg,
  carbon_g: figureSchema,
  share_of_carbon_pct: nonNeg,
  mean_intensity_g_per_kwh: nonNeg.describe('energy-weighted mean of the intensities applied'),
  signals: z.array(signalSchema),
  intensity_sources: z.array(z.string()),
})

const regionRowSchema = z.object({
  region: z.string(),
  basis: z
    .enum(['zone-country'])
    .describe('zone-country: the ISO 3166 country prefix of the Electricity Maps zone id'),
  zones: z.array(z.string()),
  requests: z.number().int().min(0),
  facility_energy_wh: nonNeg,
  carbon_g: figureSchema,
  share_of_carbon_pct: nonNeg,
})

const timeBucketSchema = z.object({
  from: iso,
  to: iso,
  requests: z.number().int().min(0),
  it_energy_wh: nonNeg,
  idle_energy_wh: nonNeg,
  facility_energy_wh: nonNeg,
  carbon_g: nonNeg,
  measured_energy_wh: nonNeg,
  modelled_energy_wh: nonNeg,
  by_zone: z
    .array(
      z.object({
        zone: z.string(),
        requests: z.number().int().min(0),
        facility_energy_wh: nonNeg,
        carbon_g: nonNeg,
      }),
    )
    .describe('zones with activity in the bucket (requests or idle energy)'),
})

const backendRowSchema = z.object({
  backend: z.string(),
  zone: z.string(),
  requests: z.number().int().min(0),
  it_energy_wh: nonNeg,
  idle_energy_wh: nonNeg,
  pue: nonNeg,
  peak_power_w: nonNeg.nullable(),
  energy_per_output_token_j: nonNeg.nullable(),
  method: figureMethodSchema,
})

const budgetRowSchema = z.object({
  service: z.string(),
  model_family: z.string().nullable(),
  metric: z.string(),
  baseline: num,
  stage: z.string(),
  target: num,
  variance_pct: nonNeg,
  max_regression_pct: nonNeg.nullable(),
  actual_in_period: num
    .nullable()
    .describe('the metric over the period (same unit as the metric), null when not computable'),
  status: z.enum(['within', 'over', 'unknown']),
})

const gateRowSchema = z.object({
  at: iso,
  service: z.string(),
  release: z.string().nullable(),
  verdict: z.enum(['pass', 'fail']),
  metric: z.string(),
  value: num.nullable(),
  upper: num.nullable(),
  target: num.nullable(),
  reason: z.string(),
})

const trainingRowSchema = z.object({
  name: z.string(),
  model: z.string(),
  hardware: z.string(),
  accelerators: z.number().int().min(0),
  zone: z.string(),
  start: iso,
  end: iso,
  energy_kwh: figureSchema.describe('facility energy of the run'),
  carbon_kg: nonNeg,
  intensity_g_per_kwh: nonNeg.nullable().describe('carbon / energy, as recorded'),
  method: z.enum(['measured', 'modelled']),
  source: z.string().describe('provenance, including how the energy was obtained'),
  overlaps_period: z.boolean(),
})

const hardwareRowSchema = z.object({
  id: z.string(),
  hardware: z.string(),
  count: z.number().int().min(1),
  zone: z.string(),
  embodied_kg_per_unit: nonNeg,
  embodied_source: z.string(),
  lifetime_years: z.number().positive(),
  in_service_from: iso,
  allocation_share: z.number().min(0).max(1),
  time_in_period_h: nonNeg.describe('hours of the period inside the hardware’s service life (TiR)'),
  time_share: z.number().min(0).max(1).describe('TiR / EL'),
  scope_share: z
    .number()
    .min(0)
    .max(1)
    .describe(
      'for a service report, the service’s share of IT energy in the hardware’s zone; 1 otherwise',
    ),
  amortised_g: nonNeg.describe('M for this item over the period'),
})

const anomalySchema = z.object({
  at: iso.describe('start of the flagged bucket'),
  kind: z.enum(['energy_per_request', 'backend_power']),
  subject: z.string().describe('service (energy per request) or backend (power)'),
  unit: z.string().describe('unit of value/expected: J/request or W'),
  value: num,
  expected: num.describe('median of the same-hour history'),
  expected_low: num,
  expected_high: num,
  score: num.describe('robust z-score (deviation / scaled MAD)'),
  direction: z.enum(['high', 'low']),
  history: z.number().int().min(0),
  reason: z.string(),
})

const sciUnitSchema = z.object({
  functional_unit: z.enum(['request', '1k_output_tokens']),
  r: nonNeg.describe('number of functional units in the period'),
  sci_g: figureSchema.nullable().describe('gCO2e per functional unit; null when R = 0'),
})

/** The transparency report. */
const leverRowSchema = z.object({
  lever: z.enum(LEVER_NAMES),
  basis: z.enum(SAVING_BASES),
  requests: z.number().int().min(0).describe('requests the lever acted on'),
  energy_saved_wh: figureSchema.describe('IT energy not spent (counterfactual, modelled)'),
  carbon_saved_g: nonNeg,
  share_of_energy_without_it_pct: nonNeg.describe(
    'saved / (IT energy of the requests + saved): how much larger the figure would have been',
  ),
})

const leverSavingsSchema = z.object({
  basis_note: z.string(),
  levers: z.array(leverRowSchema),
  total_energy_saved_wh: figureSchema,
  total_carbon_saved_g: nonNeg,
})

const networkSchema = z
  .object({
    method: z.literal('modelled'),
    requests_counted: z.number().int().min(0),
    bytes: z.number().int().min(0).describe('request + response bytes at the service boundary'),
    energy_wh: nonNeg,
    carbon_g: nonNeg,
    share_of_compute_energy_pct: nonNeg,
    sources: z.array(z.string()).describe('each coefficient used (kWh/GB) and its source'),
    note: z.string(),
  })
  .describe('network energy, apart from compute: not included in the totals')

const tenantRowSchema = z.object({
  tenant: z.string().nullable().describe('the tenant of the API key; null: requests without one'),
  requests: z.number().int().min(0),
  failed_requests: z.number().int().min(0),
  it_energy_wh: figureSchema.describe('IT energy attributed to its requests (before PUE)'),
  carbon_g: figureSchema,
  share_of_it_energy_pct: nonNeg.describe("share of the scope's request IT energy"),
  share_of_requests_pct: nonNeg,
  idle_allocated_it_energy_wh: nonNeg.describe('shared-pool idle IT energy allocated by the rule'),
  idle_allocated_carbon_g: nonNeg,
  it_energy_with_idle_wh: nonNeg.describe('it_energy_wh.value + idle_allocated_it_energy_wh'),
})

const tenantSectionSchema = z
  .object({
    idle_allocation: z.enum(IDLE_ALLOCATION_RULES),
    idle_allocation_basis: z.string(),
    pool_idle_it_energy_wh: nonNeg.describe("the scope's idle IT energy in the period"),
    unallocated_idle_it_energy_wh: nonNeg.describe(
      'idle IT energy of backends no request used in the period (no tenant to charge)',
    ),
    tenants: z.array(tenantRowSchema),
  })
  .describe(
    'per-tenant energy, carbon and requests; allocated + unallocated idle = pool_idle_it_energy_wh',
  )

export const reportSchema = z
  .object({
    $schema: z.string().optional(),
    schema_version: z.literal(REPORT_SCHEMA_VERSION),
    generator: z.string(),
    generated_at: iso,
    period: z.object({ from: iso, to: iso, duration_h: nonNeg }),
    scope: z.object({
      service: z.string().nullable().describe('null: every service in the ledger'),
      services: z.array(z.string()),
      models: z.array(z.string()),
      backends: z.array(z.string()),
    }),
    totals: z.object({
      requests: z.number().int().min(0),
      failed_requests: z.number().int().min(0),
      input_tokens: z.number().int().min(0),
      output_tokens: z.number().int().min(0),
      it_energy_wh: figureSchema,
      idle_it_energy_wh: figureSchema,
      facility_energy_wh: figureSchema,
      idle_share_pct: nonNeg,
      carbon_g: figureSchema,
    }),
    energy_per_1k_requests_wh: figureSchema
      .nullable()
      .describe('facility energy (requests + idle overhead, × PUE) per 1,000 requests'),
    it_energy_per_1k_requests_wh: figureSchema.nullable(),
    energy_per_1k_output_tokens_wh: figureSchema.nullable(),
    carbon_per_1k_requests_g: figureSchema.nullable(),
    peak_power_w: z.object({
      value: nonNeg.nullable(),
      at: iso.nullable(),
      method: figureMethodSchema.nullable(),
      basis: z.enum(['power-samples', 'per-minute-energy', 'none']),
      interval_s: nonNeg.describe('width of the window the peak is averaged over'),
    }),
    pue: z.object({
      energy_weighted: nonNeg.nullable(),
      min: nonNeg.nullable(),
      max: nonNeg.nullable(),
    }),
    carbon_by_zone: z.array(zoneRowSchema),
    carbon_by_region: z.array(regionRowSchema),
    by_backend: z.array(backendRowSchema),
    over_time: z.object({ bucket_s: z.number().positive(), buckets: z.array(timeBucketSchema) }),
    methodology: z.object({
      energy: z.object({
        measured_share_pct: nonNeg.describe('share of IT energy that was measured by a meter'),
        modelled_share_pct: nonNeg,
        measured_requests: z.number().int().min(0),
        modelled_requests: z.number().int().min(0),
        sources: z.array(z.string()),
        interval_basis: z.string(),
      }),
      intensity: z.object({
        accounting: z.literal('location-based'),
        signals: z.array(
          z.object({ signal: signalSchema, requests: z.number().int().min(0), share_pct: nonNeg }),
        ),
        sources: z.array(
          z.object({
            source: z.string(),
            signal: signalSchema,
            zones: z.array(z.string()),
            values_recorded: z.number().int().min(0),
            forecast_values: z.number().int().min(0),
            stale_values: z.number().int().min(0),
          }),
        ),
        stale_requests: z.number().int().min(0),
      }),
      notes: z.array(z.string()),
    }),
    savings_by_lever: leverSavingsSchema,
    tenants: tenantSectionSchema,
    network: networkSchema,
    budgets: z.array(budgetRowSchema),
    gate_decisions: z.array(gateRowSchema),
    sci: z.object({
      standard: z.literal('ISO/IEC 21031:2024'),
      formula: z.string(),
      e_kwh: figureSchema.describe('E: facility energy of the software boundary'),
      i_g_per_kwh: nonNeg
        .nullable()
        .describe('I: effective intensity (E·I / E), energy-weighted over the period'),
      operational_g: figureSchema.describe('E·I'),
      embodied_g: nonNeg.describe('M: embodied emissions amortised over the period'),
      total_g: figureSchema.describe('E·I + M'),
      per_request: sciUnitSchema,
      per_1k_output_tokens: sciUnitSchema,
      boundary: z.array(z.string()),
    }),
    lifecycle: z.object({
      training_runs: z.array(trainingRowSchema),
      training_energy_kwh: nonNeg,
      training_carbon_kg: nonNeg,
      hardware: z.array(hardwareRowSchema),
      embodied_amortised_g: nonNeg,
    }),
    anomalies: z.object({
      detector: z.string(),
      history_from: iso.describe('start of the history the detector compared against'),
      series_checked: z.number().int().min(0),
      items: z.array(anomalySchema),
    }),
    chain_head: z
      .object({
        hash: z.string().nullable().describe('hash of the newest block when the report was built'),
        height: z.number().int().min(0).describe('number of blocks in the chain'),
        at: iso.nullable(),
        algorithm: z.string(),
        verify_command: z.string(),
      })
      .describe('the ledger head the report was computed against; check it with `wattline verify`'),
  })
  .meta({
    $id: REPORT_SCHEMA_ID,
    title: 'Wattline transparency report',
    description:
      'Energy, carbon, SCI (ISO/IEC 21031) and lifecycle figures of AI services over a period, ' +
      'computed from a Wattline ledger. Units are in key names; figures carry intervals and methods.',
  })

export type Report = z.infer<typeof reportSchema>
export type Figure = z.infer<typeof figureSchema>
export type FigureMethod = z.infer<typeof figureMethodSchema>
export type ZoneRow = z.infer<typeof zoneRowSchema>
export type RegionRow = z.infer<typeof regionRowSchema>
export type BackendRow = z.infer<typeof backendRowSchema>
export type TimeBucket = z.infer<typeof timeBucketSchema>
export type BudgetRow = z.infer<typeof budgetRowSchema>
export type GateRow = z.infer<typeof gateRowSchema>
export type TrainingRow = z.infer<typeof trainingRowSchema>
export type HardwareRow = z.infer<typeof hardwareRowSchema>
export type ReportAnomaly = z.infer<typeof anomalySchema>
export type LeverSavingsSection = z.infer<typeof leverSavingsSchema>
export type NetworkSection = z.infer<typeof networkSchema>

/** The published JSON Schema (draft 2020-12), as written to `docs/report-schema.json`. */
export function reportJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(reportSchema, { target: 'draft-2020-12' }) as Record<string, unknown>
}
export type TenantSection = z.infer<typeof tenantSectionSchema>
