import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { hasCode } from '@wattline/core'
import { detectTraceFormat, loadTrace, parseAzureTimestamp, readTrace } from './trace-reader.ts'

const fixture = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))
const SHARED = fileURLToPath(new URL('../../../../../shared/data', import.meta.url))
const hasSharedData = existsSync(SHARED)
if (!hasSharedData) console.warn(`[skip] trace-reader real-data tests: ${SHARED} is absent`)

async function collect(path: string, opts = {}) {
  const out = []
  for await (const r of readTrace(path, opts)) out.push(r)
  return out
}

async function rejection(
  p: Promise<unknown>,
): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try {
    await p
  } catch (e) {
    return e as { code: string; message: string; details: Record<string, unknown> }
  }
  throw new Error('expected a rejection')
}

describe('readTrace', () => {
  it('reads the Azure CSV format with sub-millisecond UTC timestamps', async () => {
    const rows = await collect(fixture('azure-small.csv'))
    expect(rows).toHaveLength(6)
    expect(rows[0]).toEqual({
      line: 2,
      at: Date.UTC(2023, 5, 1, 12),
      relative: false,
      inputTokens: 500,
      outputTokens: 40,
    })
    expect(rows[1]!.at - rows[0]!.at).toBe(250)
  })

  it('names file and line of a malformed line, or skips and counts it when lenient', async () => {
    const err = await rejection(collect(fixture('azure-malformed.csv')))
    expect(err.code).toBe('WL_TRACE_FORMAT')
    expect(err.details).toEqual({ file: fixture('azure-malformed.csv'), line: 4 })
    expect(err.message).toMatch(/azure-malformed\.csv:4: ContextTokens/)
    const skipped: number[] = []
    const rows = await collect(fixture('azure-malformed.csv'), {
      lenient: true,
      onSkip: (l: number) => skipped.push(l),
    })
    expect(rows.map((r) => r.line)).toEqual([2, 3, 6])
    // 2023-06-31 does not exist.
    expect(skipped).toEqual([4, 5])
  })

  it('reads Mooncake JSONL as offsets in milliseconds', async () => {
    const rows = await collect(fixture('mooncake-small.jsonl'))
    expect(rows.map((r) => [r.at, r.relative, r.inputTokens, r.outputTokens])).toEqual([
      [0, true, 4096, 6],
      [0, true, 1024, 40],
      [1500, true, 6000, 120],
      [2750, true, 512, 300],
    ])
  })

  it('reads the generic JSONL with its header, services and clients', async () => {
    const rows = await collect(fixture('generic-small.jsonl'))
    expect(rows).toHaveLength(4)
    expect(rows[1]).toEqual({
      line: 3,
      at: 250,
      relative: true,
      inputTokens: 2000,
      outputTokens: 20,
      service: 'code',
      client: 'eu-north',
    })
  })

  it('reports negative token counts and broken JSON on their lines', async () => {
    const err = await rejection(collect(fixture('generic-malformed.jsonl')))
    expect(err.message).toMatch(
      /generic-malformed\.jsonl:2: input_tokens: expected a non-negative integer/,
    )
    const skipped: [number, string][] = []
    const rows = await collect(fixture('generic-malformed.jsonl'), {
      lenient: true,
      onSkip: (l: number, r: string) => skipped.push([l, r]),
    })
    expect(rows).toHaveLength(2)
    expect(skipped.map((s) => s[0])).toEqual([2, 3])
    expect(skipped[1]![1]).toMatch(/invalid JSON/)
  })

  it('fails on a missing file with the path', async () => {
    const err = await rejection(collect('/nonexistent/trace.csv'))
    expect(hasCode(err, 'WL_INVALID_INPUT')).toBe(true)
    expect(err.message).toMatch(/nonexistent\/trace\.csv/)
  })

  it('detects formats from extension and first line', () => {
    expect(detectTraceFormat('x.csv', 'a,b')).toBe('azure')
    expect(
      detectTraceFormat('x.jsonl', '{"timestamp": 1, "input_length": 2, "output_length": 3}'),
    ).toBe('mooncake')
    expect(detectTraceFormat('x.jsonl', '{"t_ms": 1}')).toBe('jsonl')
  })

  it('parses Azure timestamps and rejects impossible dates', () => {
    expect(parseAzureTimestamp('2023-11-16 18:17:03.9799600')).toBeCloseTo(
      Date.UTC(2023, 10, 16, 18, 17, 3) + 979.96,
      6,
    )
    expect(parseAzureTimestamp('2023-02-30 00:00:00')).toBeNaN()
    expect(parseAzureTimestamp('yesterday')).toBeNaN()
  })
})

describe('loadTrace', () => {
  it('keeps absolute times by default and places the trace at --start when given', async () => {
    const own = await loadTrace(fixture('azure-small.csv'))
    expect(own.arrival[0]).toBe(Date.UTC(2023, 5, 1, 12))
    expect(own.timeBase).toBe('absolute')
    const start = Date.UTC(2023, 0, 15, 3)
    const placed = await loadTrace(fixture('azure-small.csv'), { start })
    expect(placed.arrival[0]).toBe(start)
    expect(placed.arrival[5]! - placed.arrival[0]!).toBeCloseTo(3500, 6)
  })

  it('requires a start for relative traces', async () => {
    const err = await rejection(loadTrace(fixture('mooncake-small.jsonl')))
    expect(err.code).toBe('WL_INVALID_INPUT')
    expect(err.message).toMatch(/--start/)
  })

  it('time-scales, loops and sorts', async () => {
    const start = Date.UTC(2023, 3, 1)
    const t = await loadTrace(fixture('generic-small.jsonl'), { start, timeScale: 0.5, loop: 3 })
    expect(t.count).toBe(12)
    // Sorted: 0, 250, 400, 900 ms scaled by 0.5.
    expect(Array.from(t.arrival.subarray(0, 4), (a) => a - start)).toEqual([0, 125, 200, 450])
    // Next loop starts one mean gap (450 / 3 = 150 ms) after the last arrival.
    expect(t.arrival[4]! - start).toBe(600)
    for (let i = 1; i < t.count; i++)
      expect(t.arrival[i]!).toBeGreaterThanOrEqual(t.arrival[i - 1]!)
    expect(t.serviceNames).toEqual(['chat', 'code'])
    expect(Array.from(t.service.subarray(0, 4))).toEqual([0, 1, 0, 0])
    expect(t.clientNames).toEqual(['eu-west', 'eu-north'])
  })

  it('samples the same subset for the same seed', async () => {
    const start = Date.UTC(2023, 3, 1)
    const a = await loadTrace(fixture('azure-small.csv'), { sample: 0.5, seed: 7, start })
    const b = await loadTrace(fixture('azure-small.csv'), { sample: 0.5, seed: 7, start })
    const c = await loadTrace(fixture('azure-small.csv'), { sample: 0.5, seed: 8, start })
    expect(Array.from(a.inputTokens)).toEqual(Array.from(b.inputTokens))
    expect(a.count).toBeLessThan(6)
    expect(Array.from(a.inputTokens).join()).not.toBe(Array.from(c.inputTokens).join())
  })

  it('validates its options', async () => {
    await expect(loadTrace(fixture('azure-small.csv'), { sample: 0 })).rejects.toThrow(/sample/)
    await expect(loadTrace(fixture('azure-small.csv'), { loop: 1.5 })).rejects.toThrow(/loop/)
    await expect(loadTrace(fixture('azure-small.csv'), { timeScale: -1 })).rejects.toThrow(
      /time scale/,
    )
  })

  describe.skipIf(!hasSharedData)('on the real shared traces', () => {
    it('reads the whole Azure conversation trace (19,366 requests, ~1 h on 2023-11-16)', async () => {
      const t = await loadTrace(
        `${SHARED}/azure-llm-inference-2023/AzureLLMInferenceTrace_conv.csv`,
      )
      expect(t.count).toBe(19_366)
      expect(t.skipped).toBe(0)
      expect(new Date(t.arrival[0]!).toISOString()).toBe('2023-11-16T18:15:46.680Z')
      const span = t.arrival[t.count - 1]! - t.arrival[0]!
      expect(span).toBeGreaterThan(55 * 60_000)
      expect(span).toBeLessThan(60 * 60_000)
    })

    it('reads the Azure code trace and the Mooncake trace', async () => {
      const code = await loadTrace(
        `${SHARED}/azure-llm-inference-2023/AzureLLMInferenceTrace_code.csv`,
      )
      expect(code.count).toBe(8_819)
      const moon = await loadTrace(`${SHARED}/mooncake-fast25/synthetic_trace.jsonl`, {
        start: Date.UTC(2023, 0, 1),
      })
      expect(moon.format).toBe('mooncake')
      expect(moon.count).toBe(3_993)
      expect(moon.arrival[moon.count - 1]! - moon.arrival[0]!).toBe(1_022_025)
    })
  })
})
