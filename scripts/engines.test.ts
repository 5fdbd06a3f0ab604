/**
 * The Node versions the project promises (root `package.json` `engines.node`, repeated in the
 * README) must be ones every installed dependency accepts: a dependency whose own `engines.node`
 * excludes them makes `npm ci` warn EBADENGINE and may fail at run time (cookie@2 and
 * content-disposition@3 need Node >= 22; see the pins in package.json `overrides` and
 * packages/wattline/package.json).
 *
 * Checked at two points of the promised range: its lowest version and the Node running the test.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import semver from 'semver'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '..')

interface Manifest {
  readonly name?: string
  readonly version?: string
  readonly engines?: { readonly node?: string }
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T

const root = readJson<Manifest>(join(ROOT, 'package.json'))
const range = root.engines?.node ?? ''

describe('Node engines', () => {
  it('the root package.json states a Node range', () => {
    expect(semver.validRange(range)).not.toBeNull()
  })

  it('every installed dependency accepts the lowest promised Node and the running one', () => {
    const lowest = semver.minVersion(range)?.version ?? ''
    const probes = [lowest, process.versions.node]
    const lock = readJson<{ packages: Record<string, unknown> }>(join(ROOT, 'package-lock.json'))
    const excluded: string[] = []
    let checked = 0
    for (const path of Object.keys(lock.packages)) {
      if (!path.includes('node_modules/')) continue // the root and the workspaces
      const manifestPath = join(ROOT, path, 'package.json')
      if (!existsSync(manifestPath)) continue // an optional dependency for another platform
      const manifest = readJson<Manifest>(manifestPath)
      checked += 1
      const wants = manifest.engines?.node
      if (wants === undefined) continue
      for (const node of probes) {
        if (!semver.satisfies(node, wants)) {
          excluded.push(`${path}@${manifest.version ?? '?'} wants node ${wants}; ${node} is not`)
        }
      }
    }
    expect(checked).toBeGreaterThan(100)
    expect(excluded).toEqual([])
  })

  it('the README states the same minimum Node as package.json engines', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const lowest = semver.minVersion(range)
    expect(lowest).not.toBeNull()
    const short = `${String(lowest?.major)}.${String(lowest?.minor)}`
    expect(readme).toContain(`Node ${short} or later`)
  })
})
