import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { WATTLINE_VERSION } from './version.ts'

describe('WATTLINE_VERSION', () => {
  it('is the version in packages/wattline/package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string
    }
    expect(WATTLINE_VERSION).toBe(pkg.version)
  })
})
