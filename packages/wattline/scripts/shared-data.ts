/**
 * @module scripts/shared-data
 * Where the shared public data sets live for the table-building scripts: `../shared/data` beside
 * the repository root (override with WATTLINE_SHARED_DATA).
 */
import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root (two levels above packages/wattline/scripts). */
export const REPO_ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

/** Absolute path of the shared data folder; exits with a clear message when it is absent. */
export function sharedDataDir(): string {
  const dir = process.env['WATTLINE_SHARED_DATA'] ?? resolve(REPO_ROOT, '../shared/data')
  if (!existsSync(dir)) {
    console.error(`shared data folder not found at ${dir} (set WATTLINE_SHARED_DATA)`)
    process.exit(2)
  }
  return dir
}
