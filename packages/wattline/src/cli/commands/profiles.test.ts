import { describe, expect, it } from 'vitest'
import { runCaptured, type CliRun } from '../run-cli.test-support.ts'

const run = (args: string[]): Promise<CliRun> => runCaptured(args)

describe('wattline profiles', () => {
  it('lists fitted profiles as JSON with energy per token at batch 1 and at max batch', async () => {
    const r = await run(['profiles', '--json'])
    expect(r.code).toBe(0)
    const rows = JSON.parse(r.out) as {
      model: string
      hardware: string
      precision: string
      energy_per_output_token_j_batch_1: number
      energy_per_output_token_j_max_batch: number
      source: string
    }[]
    expect(rows.length).toBeGreaterThan(50)
    const llama = rows.find(
      (x) => x.model === 'meta-llama/Llama-3.1-8B-Instruct' && x.hardware === 'H100-SXM',
    )
    expect(llama).toBeDefined()
    for (const row of rows) {
      expect(row.energy_per_output_token_j_max_batch).toBeLessThanOrEqual(
        row.energy_per_output_token_j_batch_1,
      )
      expect(row.source).toMatch(/^mlenergy-(benchmark-v3|leaderboard-v2) /)
    }
  })

  it('prints a table with units in the header', async () => {
    const r = await run(['profiles'])
    expect(r.code).toBe(0)
    expect(r.out.split('\n')[0]).toMatch(
      /^model\s+hardware\s+prec\s+gpus\s+J\/tok @1\s+J\/tok @max/,
    )
    expect(r.out).toContain('fitted profiles; energy per output token in J')
  })
})
