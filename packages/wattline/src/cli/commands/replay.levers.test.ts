/**
 * `wattline replay --levers`: the in-region levers on a Mooncake-style trace (prompt identity from
 * hash_ids) on the single-region example fleet, each lever's saving measured against the stage
 * before it; traces without prompt identity refuse the cache and prefix levers.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../program.ts'
import { captureIo } from '../run-cli.test-support.ts'

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url))
const FLEET = join(ROOT, 'examples/single-region.fleet.yaml')
const dir = mkdtempSync(join(tmpdir(), 'wl-levers-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** 60 conversations of 5 turns: each turn extends the previous prompt; every 7th turn repeats exactly. */
function writeTrace(): string {
  const lines: string[] = []
  let next = 0
  const rows: { t: number; blocks: number[]; out: number }[] = []
  for (let c = 0; c < 60; c++) {
    const blocks: number[] = [9_000_000] // a system prompt every conversation shares
    for (let turn = 0; turn < 5; turn++) {
      for (let k = 0; k < 3; k++) blocks.push(next++)
      rows.push({
        t: c * 1_500 + turn * 4_000,
        blocks: [...blocks],
        out: 40 + ((c * 7 + turn) % 60),
      })
      if ((c * 5 + turn) % 7 === 0)
        rows.push({
          t: c * 1_500 + turn * 4_000 + 900,
          blocks: [...blocks],
          out: 40 + ((c * 7 + turn) % 60),
        })
    }
  }
  rows.sort((a, b) => a.t - b.t)
  for (const r of rows)
    lines.push(
      JSON.stringify({
        timestamp: r.t,
        input_length: r.blocks.length * 512 - 100,
        output_length: r.out,
        hash_ids: r.blocks,
      }),
    )
  const file = join(dir, 'conversations.jsonl')
  writeFileSync(file, `${lines.join('\n')}\n`)
  return file
}

interface LeverJson {
  savings: { lever: string; energy_saved_kwh: number; basis: string; detail: string }[]
  stages: {
    levers: string[]
    energy_kwh: number
    cache_hits: number
    prefill_tokens_skipped: number
    slo_violations: number
  }[]
}

describe('wattline replay --levers', () => {
  it('measures each lever against the stage before it and beats do-nothing', async () => {
    const trace = writeTrace()
    const out = join(dir, 'r.json')
    const t = captureIo({ cwd: ROOT })
    const code = await runCli(
      [
        'replay',
        '--trace',
        trace,
        '--fleet',
        FLEET,
        '--start',
        '2023-07-15T12:00:00Z',
        '--policies',
        'do-nothing,least-loaded',
        '--levers',
        'cache,prefix,occupancy',
        '--json',
        out,
      ],
      t.io,
    )
    expect(t.err()).toBe('')
    expect(code).toBe(0)
    expect(t.out()).toMatch(/least-loaded: savings by lever \(basis: replay-counterfactual/)
    const json = JSON.parse(readFileSync(out, 'utf8')) as {
      policies: { name: string; energy_kwh: number; slo_violations: number; levers?: LeverJson }[]
    }
    const [base, levered] = json.policies
    expect(base?.levers).toBeUndefined()
    const l = levered?.levers as LeverJson
    expect(l.savings.map((s) => s.lever)).toEqual(['cache', 'prefix', 'occupancy'])
    for (const s of l.savings) expect(s.basis).toBe('replay-counterfactual')
    expect(l.stages.map((s) => s.levers)).toEqual([
      [],
      ['cache'],
      ['cache', 'prefix'],
      ['cache', 'prefix', 'occupancy'],
    ])
    const [none, cached, prefixed] = l.stages
    expect(cached?.cache_hits).toBeGreaterThan(0)
    expect(none?.cache_hits).toBe(0)
    expect(prefixed?.prefill_tokens_skipped).toBeGreaterThan(0)
    // A saving is the drop between consecutive stages.
    l.savings.forEach((s, i) => {
      expect(s.energy_saved_kwh).toBeCloseTo(
        l.stages[i]!.energy_kwh - l.stages[i + 1]!.energy_kwh,
        4,
      )
    })
    expect(cached!.energy_kwh).toBeLessThan(none!.energy_kwh)
    expect(prefixed!.energy_kwh).toBeLessThan(cached!.energy_kwh)
    expect(levered!.energy_kwh).toBeLessThan(base!.energy_kwh)
    expect(levered!.slo_violations).toBeLessThanOrEqual(base!.slo_violations)
  })

  it('refuses cache and prefix on a trace without prompt identity, naming the flag', async () => {
    const t = captureIo({ cwd: ROOT })
    const code = await runCli(
      [
        'replay',
        '--trace',
        join(ROOT, 'packages/wattline/src/sim/fixtures/azure-small.csv'),
        '--fleet',
        FLEET,
        '--policies',
        'do-nothing,round-robin',
        '--levers',
        'prefix',
      ],
      t.io,
    )
    expect(code).toBe(2)
    expect(t.err()).toMatch(/WL_INVALID_INPUT[\s\S]*hash_ids/)
    const bad = captureIo({ cwd: ROOT })
    expect(
      await runCli(['replay', '--trace', trace0(), '--fleet', FLEET, '--levers', 'cashe'], bad.io),
    ).toBe(2)
    expect(bad.err()).toMatch(/--levers/)
  })
})

function trace0(): string {
  return join(ROOT, 'packages/wattline/src/sim/fixtures/azure-small.csv')
}
