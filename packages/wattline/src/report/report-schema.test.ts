import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { buildReport } from './build-report.ts'
import { checkJsonSchema } from './json-schema-check.ts'
import { createMemoryReportSource } from './memory-report-source.ts'
import { FROM_MS, fixtureData, GENERATED_MS, TO_MS } from './report-fixture.test-support.ts'
import { reportJsonSchema } from './report-schema.ts'

const SCHEMA_FILE = fileURLToPath(new URL('../../../../docs/report-schema.json', import.meta.url))
const published = (): string => `${JSON.stringify(reportJsonSchema(), null, 2)}\n`

describe('docs/report-schema.json', () => {
  it('matches the zod schema it is generated from (WATTLINE_UPDATE_SCHEMA=1 rewrites it)', () => {
    if (process.env['WATTLINE_UPDATE_SCHEMA'] === '1') writeFileSync(SCHEMA_FILE, published())
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(published())
  })

  it('is draft 2020-12 and names the keys the issue promises', () => {
    const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as {
      $schema: string
      required: string[]
    }
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema')
    for (const key of ['energy_per_1k_requests_wh', 'carbon_by_zone', 'sci', 'chain_head'])
      expect(schema.required).toContain(key)
  })

  it('accepts generated reports, fleet-wide and per service', async () => {
    const schema: unknown = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'))
    for (const service of [null, 'chat', 'nobody']) {
      const report = await buildReport(
        createMemoryReportSource(fixtureData()),
        { fromMs: FROM_MS, toMs: TO_MS, service },
        { generatedAtMs: GENERATED_MS },
      )
      expect(checkJsonSchema(schema, JSON.parse(JSON.stringify(report)))).toEqual([])
    }
  })

  it('rejects a report with a missing key, a wrong type or an unknown method', async () => {
    const schema: unknown = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'))
    const report = JSON.parse(
      JSON.stringify(
        await buildReport(
          createMemoryReportSource(fixtureData()),
          { fromMs: FROM_MS, toMs: TO_MS, service: null },
          { generatedAtMs: GENERATED_MS },
        ),
      ),
    ) as Record<string, unknown> & {
      sci: { per_request: { r: unknown } }
      totals: { carbon_g: { method: string } }
    }
    delete report['chain_head']
    report.sci.per_request.r = 'five'
    report.totals.carbon_g.method = 'guessed'
    const paths = checkJsonSchema(schema, report).map((i) => `${i.path}: ${i.message}`)
    expect(paths).toEqual(
      expect.arrayContaining([
        ': missing required property "chain_head"',
        '/sci/per_request/r: expected number, got string',
        expect.stringMatching(/^\/totals\/carbon_g\/method: expected one of/),
      ]),
    )
  })
})
