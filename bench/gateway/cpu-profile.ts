/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function, the hot spots a
 * profile reader looks at first.
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  readonly id: number
  readonly callFrame: {
    readonly functionName: string
    readonly url: string
    readonly lineNumber: number
  }
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

export interface HotSpot {
  readonly name: string
  /** Share of all samples (%). */
  readonly selfPct: number
  readonly selfMs: number
}

/** The `top` functions by self time. */
export function hotSpots(file: string, top = 15): HotSpot[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const self = new Map<string, number>()
  let total = 0
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0
    total += dt
    const f = byId.get(id)?.callFrame
    if (!f) return
    const where = f.url
      ? `${f.url.replace(/^file:\/\/.*?\/(node_modules|packages)\//, '$1/')}:${String(f.lineNumber + 1)}`
      : ''
    const name = `${f.functionName || '(anonymous)'} ${where}`.trim()
    self.set(name, (self.get(name) ?? 0) + dt)
  })
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, selfMs: us / 1000, selfPct: total ? (100 * us) / total : 0 }))
}

/** Self time grouped by where the code lives: an npm package, a Wattline source folder, or Node. */
export function hotAreas(file: string, top = 12): HotSpot[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const self = new Map<string, number>()
  let total = 0
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0
    total += dt
    const f = byId.get(id)?.callFrame
    if (!f) return
    const name = areaOf(f.url, f.functionName)
    self.set(name, (self.get(name) ?? 0) + dt)
  })
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, selfMs: us / 1000, selfPct: total ? (100 * us) / total : 0 }))
}

function areaOf(url: string, fn: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
  if (pkg?.[1]) return `npm:${pkg[1]}`
  const src = /packages\/([^/]+)\/src\/(?:([^/]+)\/)?/.exec(url)
  if (src?.[1]) return `wattline:${src[1]}/${src[2] ?? ''}`
  if (url.startsWith('node:')) return 'node internals'
  if (url === '') return fn.startsWith('(') ? fn : 'native'
  return 'other'
}
