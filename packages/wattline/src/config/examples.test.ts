import { readdir, readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { createConfigCatalog } from './catalog.ts'
import { loadConfig } from './load-config.ts'

const examples = new URL('../../../../examples/', import.meta.url)

describe('examples/*.yaml gateway configs', () => {
  it('every gateway example loads with the real catalogue', async () => {
    const names = (await readdir(examples)).filter(
      (n) => n.endsWith('.yaml') && !n.endsWith('.fleet.yaml'),
    )
    expect(names).toContain('wattline.yaml')
    for (const name of names) {
      const path = new URL(name, examples).pathname
      const config = await loadConfig(path, { readFile, env: {}, catalog: createConfigCatalog() })
      expect(config.backends.length).toBeGreaterThan(0)
    }
  })

  it('maps the cloud region of the example to its grid zone', async () => {
    const config = await loadConfig(new URL('wattline.yaml', examples).pathname, {
      readFile,
      env: {},
      catalog: createConfigCatalog(),
    })
    expect(config.backends.find((b) => b.id === 'frankfurt')?.zone).toBe('DE')
  })
})
