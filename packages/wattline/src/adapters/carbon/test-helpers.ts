/**
 * @module adapters/carbon/test-helpers
 * Test-only helpers for the carbon adapters: temporary files and the shared-data location.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** ../shared/data beside the repository root. */
export const SHARED_DATA: string = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../../../../shared/data',
)
export const hasSharedData: boolean = existsSync(SHARED_DATA)
if (!hasSharedData) {
  console.warn(
    `[wattline tests] ${SHARED_DATA} is absent: tests on the shared public data are skipped`,
  )
}

/** Writes `files` (relative path → content) into a fresh temporary folder; returns it and a cleanup. */
export function tempFiles(files: Record<string, string>): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'wattline-carbon-'))
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), content)
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}
