/**
 * The import rule that keeps adapters at the rim (eslint.config.js, docs/architecture.md "The rim"),
 * run through ESLint itself on source text placed at real paths: a module outside the rim that
 * imports an adapter (value, type or dynamic import) fails; the rim itself, tests and imports of
 * core's ports pass. Only the two rules that carry it run (no type information needed).
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const eslint = new ESLint({
  cwd: root,
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  ruleFilter: ({ ruleId }) =>
    ruleId === 'no-restricted-imports' || ruleId === 'no-restricted-syntax',
})
const src = 'packages/wattline/src'

async function messages(path: string, text: string): Promise<string[]> {
  const [result] = await eslint.lintText(text, { filePath: join(root, src, path) })
  return (result?.messages ?? []).map((m) => `${m.line}:${m.ruleId ?? m.message}`)
}

const ADAPTER_IMPORTS = [
  "import { openDatabase } from '../adapters/storage/open-database.ts'",
  "import type { OpenedDatabase } from '../adapters/storage/open-database.ts'",
  "export { counterIn } from '../adapters/metrics/registry-metrics.ts'",
  "export const load = () => import('../adapters/clock/system-clock.ts')",
].join('\n')

describe('adapters stay at the rim', () => {
  it('refuses an adapter import of any kind outside the rim', async () => {
    for (const path of ['scaling/x.ts', 'http/x.ts', 'budget-watch/x.ts', 'tenant-usage/x.ts'])
      expect(await messages(path, ADAPTER_IMPORTS), path).toEqual([
        '1:no-restricted-imports',
        '2:no-restricted-imports',
        '3:no-restricted-imports',
        '4:no-restricted-syntax',
      ])
    expect(
      await messages(
        'http/api/x.ts',
        "import { fromRow } from '../../adapters/storage/ledger-tables.ts'",
      ),
    ).toEqual(['1:no-restricted-imports'])
  })

  it('lets the rim, adapters and tests import adapters', async () => {
    for (const path of ['compose/x.ts', 'cli/commands/x.ts', 'index.ts', 'http/x.test.ts'])
      expect(await messages(path, ADAPTER_IMPORTS), path).toEqual([])
    const inAdapters = ADAPTER_IMPORTS.replaceAll('../adapters/', '../')
    expect(await messages('adapters/storage/x.ts', inAdapters)).toEqual([])
  })

  it('lets any module take the ports from @wattline/core', async () => {
    const ports = "import type { CacheStore, Upstream, ReportSource } from '@wattline/core'"
    expect(await messages('http/x.ts', ports)).toEqual([])
  })
})
