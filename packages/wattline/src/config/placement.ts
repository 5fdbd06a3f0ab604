/**
 * @module config/placement
 * Where a backend runs: `cloud` (a data centre: batching, the site's PUE) or `edge` (a Jetson-class
 * module near its users: one request at a time per device, no PUE, the module's own idle power
 * while it is on). One rule set for `wattline.yaml` backends and replay fleet backends, checked
 * against what the file actually says (before defaults), so an edge backend that asks for batching
 * or a PUE is an error rather than silently changed. See docs/methodology.md "Edge placement".
 */
import {
  EDGE_MEASUREMENTS,
  findHardware,
  findModel,
  HARDWARE,
  type Precision,
} from '@wattline/core'

export const PLACEMENTS = ['cloud', 'edge'] as const
export type Placement = (typeof PLACEMENTS)[number]

/** One placement problem: the backend field it is about and what is wrong. */
export interface PlacementIssue {
  readonly field: 'placement' | 'hardware' | 'max_concurrency' | 'pue'
  readonly message: string
}

/** What the file said about a backend (raw values, before schema defaults). */
export interface PlacementInput {
  readonly placement: Placement
  readonly hardware: string
  /** The raw backend mapping from the file (to tell a written value from a default). */
  readonly raw: unknown
}

/** Edge modules in the catalogue, for messages. */
export function edgeHardwareIds(): string[] {
  return HARDWARE.filter((h) => h.kind === 'edge').map((h) => h.id)
}

/**
 * Checks a backend's placement against its hardware and its batching / PUE fields. Unknown hardware
 * is left to the hardware check (it lists the known devices).
 */
export function checkPlacement(b: PlacementInput): PlacementIssue[] {
  const hw = findHardware(b.hardware)
  if (hw === undefined) return []
  const issues: PlacementIssue[] = []
  const raw = (typeof b.raw === 'object' && b.raw !== null ? b.raw : {}) as Record<string, unknown>
  if (b.placement === 'edge') {
    if (hw.kind !== 'edge') {
      issues.push({
        field: 'hardware',
        message: `placement edge needs an edge module, not ${hw.id} (edge modules: ${edgeHardwareIds().join(', ')})`,
      })
    }
    const mc = raw['max_concurrency']
    if (mc !== undefined && mc !== 1) {
      issues.push({
        field: 'max_concurrency',
        message: `placement edge runs one request at a time per device (no batching): max_concurrency must be 1 or left out, got ${JSON.stringify(mc)}; describe more devices as replicas or more backends`,
      })
    }
    const pue = raw['pue']
    if (pue !== undefined && pue !== 1) {
      issues.push({
        field: 'pue',
        message: `placement edge runs outside a data centre, so no PUE applies: pue must be 1 or left out, got ${JSON.stringify(pue)}`,
      })
    }
  } else if (hw.kind === 'edge') {
    issues.push({
      field: 'placement',
      message: `${hw.id} is an edge module: set placement: edge (one request at a time, no PUE)`,
    })
  }
  return issues
}

/** The batching and PUE an edge backend runs with (occupancy 1, no PUE). */
export const EDGE_RUNTIME = Object.freeze({ maxConcurrency: 1, pue: 1 })

/**
 * The precision an edge backend runs when the file names none: the measured one for its module and
 * model (int4 in the published measurements), else `fallback`.
 */
export function edgeDefaultPrecision(
  hardware: string,
  models: readonly string[],
  fallback: Precision,
): Precision {
  const hw = findHardware(hardware)
  const ids = new Set(models.map((m) => findModel(m)?.id ?? m))
  const m = EDGE_MEASUREMENTS.find((x) => x.hardware === hw?.id && ids.has(x.model))
  return m?.precision ?? fallback
}
