/**
 * @module report/impact-framework
 * Exports a report's period as a Green Software Foundation Impact Framework (IF) manifest, so IF
 * users can take Wattline's figures further with `if-run`.
 *
 * Shape (IF v1 manifest): `name`, `description`, `tags`, `aggregation`, `initialize.plugins` (two
 * builtins: `Sum` for carbon = carbon-operational + carbon-embodied, and `Sci` with
 * functional-unit `requests`), and `tree.children`, one component per grid zone whose `inputs` are
 * the report's time buckets as observations: `timestamp` (ISO 8601), `duration` (s), `energy`
 * (facility kWh, IF's unit), `carbon-operational` and `carbon-embodied` (gCO2e), `requests`,
 * `grid/carbon-intensity` (gCO2e/kWh, effective). Embodied M is spread over zones and buckets by
 * facility-energy share. Every observation is a figure already in the report, so summing the
 * tree reproduces the report's totals.
 */
import { stringify } from 'yaml'
import { round } from './report-figures.ts'
import type { Report } from './report-schema.ts'

/** One IF observation (input row). Keys are IF parameter names. */
export interface IfObservation {
  readonly timestamp: string
  readonly duration: number
  readonly [parameter: string]: string | number
}

/** The manifest as a plain object (what the YAML holds). */
export interface IfManifest {
  readonly name: string
  readonly description: string
  readonly tags: { readonly kind: string; readonly complexity: string; readonly category: string }
  readonly aggregation: { readonly metrics: readonly string[]; readonly type: 'both' }
  readonly initialize: {
    readonly plugins: Record<
      string,
      { readonly path: string; readonly method: string; readonly config: Record<string, unknown> }
    >
  }
  readonly tree: {
    readonly children: Record<
      string,
      {
        readonly pipeline: { readonly compute: readonly string[] }
        readonly defaults: Record<string, string>
        readonly inputs: readonly IfObservation[]
      }
    >
  }
}

const J_PER_KWH_FROM_WH = 1000

/** Builds the IF manifest object for `report`. */
export function toImpactManifest(report: Report): IfManifest {
  const scope = report.scope.service ?? 'all-services'
  const M = report.sci.embodied_g
  const totalFacilityWh = report.over_time.buckets.reduce(
    (s, b) => s + b.by_zone.reduce((t, z) => t + z.facility_energy_wh, 0),
    0,
  )
  const bucketS = (b: { from: string; to: string }): number =>
    (Date.parse(b.to) - Date.parse(b.from)) / 1000
  const children: Record<string, { zone: string; inputs: IfObservation[] }> = {}
  for (const b of report.over_time.buckets) {
    for (const z of b.by_zone) {
      const energyKwh = z.facility_energy_wh / J_PER_KWH_FROM_WH
      const embodied = totalFacilityWh > 0 ? (M * z.facility_energy_wh) / totalFacilityWh : 0
      const child = (children[`zone-${z.zone}`] ??= { zone: z.zone, inputs: [] })
      child.inputs.push({
        timestamp: b.from,
        duration: bucketS(b),
        energy: round(energyKwh),
        'carbon-operational': z.carbon_g,
        'carbon-embodied': round(embodied),
        requests: z.requests,
        'grid/carbon-intensity': energyKwh > 0 ? round(z.carbon_g / energyKwh) : 0,
      })
    }
  }
  // With no energy at all, M still belongs to the period: keep it on a component of its own.
  if (totalFacilityWh === 0 && M > 0) {
    children['embodied-only'] = {
      zone: 'none',
      inputs: [
        {
          timestamp: report.period.from,
          duration: (Date.parse(report.period.to) - Date.parse(report.period.from)) / 1000,
          energy: 0,
          'carbon-operational': 0,
          'carbon-embodied': M,
          requests: 0,
          'grid/carbon-intensity': 0,
        },
      ],
    }
  }
  const tree: IfManifest['tree']['children'] = {}
  for (const [name, c] of Object.entries(children).sort((a, b) => a[0].localeCompare(b[0]))) {
    tree[name] = {
      pipeline: { compute: ['sum-carbon', 'sci'] },
      defaults: { 'grid/zone': c.zone, 'wattline/service': scope },
      inputs: c.inputs,
    }
  }
  return {
    name: `wattline-${slug(scope)}-${report.period.from.slice(0, 10)}`,
    description:
      `Wattline transparency report for ${scope}, ${report.period.from} to ${report.period.to}. ` +
      `energy is facility energy (IT × PUE, idle included) in kWh; carbon-operational is location-based ` +
      `(${report.methodology.energy.measured_share_pct} % of IT energy measured, the rest modelled); ` +
      `carbon-embodied is SCI's M (${report.sci.embodied_g} g) spread by energy share. ` +
      `Ledger chain head ${report.chain_head.hash ?? 'none'} (${report.chain_head.height} blocks); ` +
      `check with \`${report.chain_head.verify_command}\`.`,
    tags: { kind: 'wattline-transparency-report', complexity: 'simple', category: 'ai-inference' },
    aggregation: { metrics: ['energy', 'carbon', 'requests'], type: 'both' },
    initialize: {
      plugins: {
        'sum-carbon': {
          path: 'builtin',
          method: 'Sum',
          config: {
            'input-parameters': ['carbon-operational', 'carbon-embodied'],
            'output-parameter': 'carbon',
          },
        },
        sci: { path: 'builtin', method: 'Sci', config: { 'functional-unit': 'requests' } },
      },
    },
    tree: { children: tree },
  }
}

/** Renders the manifest as YAML. */
export function renderImpactManifest(report: Report): string {
  return stringify(toImpactManifest(report), { lineWidth: 0 })
}

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'service'
  )
}
