import { describe, expect, it } from 'vitest'
import { loadDemoTrace, parseTraceSample } from './trace-sample.ts'

describe('loadDemoTrace', () => {
  it('reads the shipped 1-in-10 sample of the Azure conversation trace', () => {
    const t = loadDemoTrace()
    expect(t.requests.length).toBe(1937)
    expect(t.licence).toMatch(/CC-BY 4\.0/)
    // The source trace spans ~58 minutes; its output tokens average 211, inputs 1155 (SOURCE.md).
    expect(t.spanMs).toBeGreaterThan(55 * 60_000)
    expect(t.spanMs).toBeLessThan(60 * 60_000)
    const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length
    expect(mean(t.requests.map((r) => r.outputTokens))).toBeGreaterThan(190)
    expect(mean(t.requests.map((r) => r.outputTokens))).toBeLessThan(232)
    expect(mean(t.requests.map((r) => r.inputTokens))).toBeGreaterThan(1040)
    expect(mean(t.requests.map((r) => r.inputTokens))).toBeLessThan(1270)
  })
})

describe('parseTraceSample', () => {
  const doc = (rows: unknown) => JSON.stringify({ format: 'wattline-trace-sample/1', rows })

  it('names the file and the row at fault', () => {
    expect(() =>
      parseTraceSample(
        doc([
          [0, 1, 2],
          [5, -1, 2],
        ]),
        't.json',
      ),
    ).toThrow(/t\.json: rows\[1\] must be/)
    expect(() =>
      parseTraceSample(
        doc([
          [10, 1, 2],
          [5, 1, 2],
        ]),
        't.json',
      ),
    ).toThrow(/rows\[1\] arrives at 5 ms, before the previous row/)
    expect(() => parseTraceSample('{', 't.json')).toThrow(/t\.json: not valid JSON/)
    expect(() => parseTraceSample('{"format":"x","rows":[]}', 't.json')).toThrow(/format/)
    expect(() => parseTraceSample(doc([]), 't.json')).toThrow(/non-empty/)
  })

  it('keeps rows in order with their span', () => {
    const t = parseTraceSample(
      doc([
        [0, 10, 20],
        [250, 30, 40],
      ]),
      't.json',
    )
    expect(t.requests).toEqual([
      { arrivalOffsetMs: 0, inputTokens: 10, outputTokens: 20 },
      { arrivalOffsetMs: 250, inputTokens: 30, outputTokens: 40 },
    ])
    expect(t.spanMs).toBe(250)
  })
})
