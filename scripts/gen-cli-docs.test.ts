import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { renderCliDocs } from './gen-cli-docs.ts'

describe('docs/cli.md', () => {
  it('matches the commands as built (run `npm run docs:cli` after changing a command)', async () => {
    const onDisk = readFileSync(new URL('../docs/cli.md', import.meta.url), 'utf8')
    expect(onDisk).toBe(await renderCliDocs())
  })
})
