/**
 * @module report/lifecycle-input
 * Lifecycle inputs (training runs, hardware inventory) as typed, validated data, and their
 * translation into the ledger's `training_run` and `hardware` records. The CLI flags and the YAML
 * file use the same snake_case keys and the same validation, so a message names the same field
 * either way.
 *
 * Training energy is facility energy: a metered `energy_kwh` (× `pue`, default 1, when the meter
 * reads IT energy), or `gpu_hours` × the hardware's TDP × `utilisation` × `pue`, modelled, with the
 * interval from idle power to TDP. Carbon is `carbon_kg` as given, else energy × `intensity_g_per_kwh`,
 * else energy × the mean of the built-in hourly intensity of the zone over the run.
 */
import * as z from 'zod'
import {
  getHardware,
  JOULES_PER_KWH,
  resolveRegion,
  WattlineError,
  type HardwareRecord,
  type TrainingRunRecord,
} from '@wattline/core'

/** One validation problem: where (key path) and what. */
export interface LifecycleIssue {
  readonly path: readonly (string | number)[]
  readonly message: string
}

const iso = z.string().refine((s) => /^\d{4}-\d{2}-\d{2}/.test(s) && !Number.isNaN(Date.parse(s)), {
  message: 'must be an ISO 8601 time, e.g. 2024-03-01T00:00:00Z',
})
const positive = z.number().positive()

/** A training or fine-tuning run, as given on the command line or in YAML. */
export const trainingInputSchema = z
  .strictObject({
    name: z.string().min(1),
    model: z.string().min(1),
    energy_kwh: positive.optional(),
    gpu_hours: positive.optional(),
    hardware: z.string().min(1).optional(),
    accelerators: z.number().int().min(0).default(0),
    utilisation: z.number().gt(0).max(1).default(1),
    pue: z.number().min(1).default(1),
    zone: z.string().min(1).optional(),
    region: z.string().min(1).optional(),
    start: iso,
    end: iso,
    carbon_kg: z.number().min(0).optional(),
    intensity_g_per_kwh: z.number().min(0).optional(),
    method: z.enum(['measured', 'modelled']).optional(),
    source: z.string().min(1),
    energy_uncertainty_pct: z.number().min(0).max(100).default(0),
  })
  .superRefine((t, ctx) => {
    const issue = (path: string, message: string): void => {
      ctx.addIssue({ code: 'custom', path: [path], message })
    }
    if ((t.energy_kwh === undefined) === (t.gpu_hours === undefined))
      issue('energy_kwh', 'give exactly one of energy_kwh or gpu_hours (with hardware)')
    if (t.gpu_hours !== undefined && t.hardware === undefined)
      issue('hardware', 'gpu_hours needs the hardware it ran on (a catalogue id, e.g. H100-SXM)')
    if (t.gpu_hours !== undefined && t.method === 'measured')
      issue('method', 'energy derived from gpu_hours is modelled, not measured')
    if ((t.zone === undefined) === (t.region === undefined))
      issue('zone', 'give exactly one of zone or region')
    if (t.carbon_kg !== undefined && t.intensity_g_per_kwh !== undefined)
      issue('carbon_kg', 'give carbon_kg or intensity_g_per_kwh, not both')
    if (Date.parse(t.end) <= Date.parse(t.start)) issue('end', 'must be after start')
  })

/** Hardware in service, as given on the command line or in YAML. */
export const hardwareInputSchema = z
  .strictObject({
    id: z.string().min(1),
    hardware: z.string().min(1),
    count: z.number().int().min(1),
    embodied_kg: z.number().min(0).optional(),
    lifetime_years: positive,
    in_service_from: iso,
    allocation_share: z.number().gt(0).max(1).default(1),
    zone: z.string().min(1).optional(),
    region: z.string().min(1).optional(),
    source: z.string().min(1).optional(),
  })
  .superRefine((h, ctx) => {
    if ((h.zone === undefined) === (h.region === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['zone'],
        message: 'give exactly one of zone or region',
      })
    if (h.embodied_kg !== undefined && h.source === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['source'],
        message: 'embodied_kg needs a source (where the figure comes from)',
      })
  })

/** The YAML file: `training_runs:` and `hardware:` lists, either may be absent. */
export const lifecycleFileSchema = z.strictObject({
  training_runs: z.array(trainingInputSchema).default([]),
  hardware: z.array(hardwareInputSchema).default([]),
})

export type TrainingInput = z.infer<typeof trainingInputSchema>
export type HardwareInput = z.infer<typeof hardwareInputSchema>
export type LifecycleFile = z.infer<typeof lifecycleFileSchema>

/** Validates `raw` against `schema`, returning every issue with its key path. */
export function parseLifecycle<S extends z.ZodType>(
  schema: S,
  raw: unknown,
): { ok: true; value: z.infer<S> } | { ok: false; issues: LifecycleIssue[] } {
  const r = schema.safeParse(raw)
  if (r.success) return { ok: true, value: r.data }
  return {
    ok: false,
    issues: r.error.issues.map((i) => ({
      path: i.path.filter((p): p is string | number => typeof p !== 'symbol'),
      message: i.message,
    })),
  }
}

/** Mean grid intensity of a zone over a window, with its source (the built-in table in the CLI). */
export type MeanIntensity = (
  zone: string,
  fromMs: number,
  toMs: number,
) => Promise<{ readonly value: number; readonly source: string }>

/** Builds the ledger record of a validated training run. */
export async function toTrainingRecord(
  t: TrainingInput,
  meanIntensity: MeanIntensity,
): Promise<TrainingRunRecord> {
  const startMs = Date.parse(t.start)
  const endMs = Date.parse(t.end)
  const zone = t.region !== undefined ? resolveRegion(t.region).zone : (t.zone ?? '')
  const where = t.region !== undefined ? ` (region ${t.region} → zone ${zone})` : ''

  let kwh: number
  let lowKwh: number
  let highKwh: number
  let basis: string
  let hardware = t.hardware ?? 'unspecified'
  if (t.gpu_hours !== undefined) {
    const spec = getHardware(t.hardware ?? '')
    hardware = spec.id
    kwh = (t.gpu_hours * spec.tdpW * t.utilisation * t.pue) / 1000
    lowKwh = (t.gpu_hours * spec.idleW * t.pue) / 1000
    highKwh = (t.gpu_hours * spec.tdpW * t.pue) / 1000
    basis = `energy modelled: ${t.gpu_hours} GPU-h × ${spec.tdpW} W TDP × utilisation ${t.utilisation} × PUE ${t.pue}, interval idle ${spec.idleW} W to TDP (TDP: ${spec.sources.tdp})`
  } else {
    const e = (t.energy_kwh ?? 0) * t.pue
    const u = t.energy_uncertainty_pct / 100
    kwh = e
    lowKwh = e * (1 - u)
    highKwh = e * (1 + u)
    basis = `energy ${t.method ?? 'measured'}: ${t.energy_kwh} kWh × PUE ${t.pue} ± ${t.energy_uncertainty_pct} %`
  }

  let carbonG: number
  let carbonBasis: string
  if (t.carbon_kg !== undefined) {
    carbonG = t.carbon_kg * 1000
    carbonBasis = 'carbon as given'
  } else if (t.intensity_g_per_kwh !== undefined) {
    carbonG = kwh * t.intensity_g_per_kwh
    carbonBasis = `carbon = energy × ${t.intensity_g_per_kwh} gCO2e/kWh as given`
  } else {
    const mean = await meanIntensity(zone, startMs, endMs)
    carbonG = kwh * mean.value
    carbonBasis = `carbon = energy × ${round(mean.value)} gCO2e/kWh, mean over the run of ${mean.source}`
  }
  return {
    kind: 'training_run',
    id: t.name,
    model: t.model,
    started_ms: startMs,
    ended_ms: endMs,
    hardware,
    accelerators: t.accelerators,
    zone,
    energy_j: kwh * JOULES_PER_KWH,
    energy_low_j: lowKwh * JOULES_PER_KWH,
    energy_high_j: highKwh * JOULES_PER_KWH,
    carbon_g: carbonG,
    method: t.gpu_hours !== undefined ? 'modelled' : (t.method ?? 'measured'),
    source: `${t.source}; ${basis}; ${carbonBasis}${where}`,
  }
}

/** Builds the ledger record of validated hardware; the embodied figure defaults to the catalogue's. */
export function toHardwareRecord(h: HardwareInput): HardwareRecord {
  const zone = h.region !== undefined ? resolveRegion(h.region).zone : (h.zone ?? '')
  let embodiedKg = h.embodied_kg
  let source = h.source
  let hardware = h.hardware
  if (embodiedKg === undefined) {
    const spec = getHardware(h.hardware)
    hardware = spec.id
    if (spec.embodiedKgCo2e === undefined)
      throw new WattlineError(
        'WL_INVALID_INPUT',
        `the catalogue has no embodied-emissions figure for ${spec.id}; give embodied_kg (--embodied-kg) and its source`,
        { details: { hardware: spec.id } },
      )
    embodiedKg = spec.embodiedKgCo2e
    source = `${h.source === undefined ? '' : `${h.source}; `}embodied from the Wattline catalogue: ${spec.sources.embodied ?? 'unsourced'}`
  }
  return {
    kind: 'hardware',
    id: h.id,
    at_ms: Date.parse(h.in_service_from),
    hardware,
    count: h.count,
    zone,
    embodied_g: embodiedKg * 1000,
    lifetime_years: h.lifetime_years,
    source: source ?? '',
    allocation_share: h.allocation_share,
  }
}

function round(x: number): number {
  return Number(x.toPrecision(6))
}
