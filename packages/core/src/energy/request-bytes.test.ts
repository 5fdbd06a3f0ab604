import { describe, expect, it } from 'vitest'
import { estimateRequestBytes, REQUEST_BYTES_MODEL } from './request-bytes.ts'

describe('request bytes from tokens', () => {
  it('adds 4 B per token of text to the measured JSON framing', () => {
    // 164 B request + 4 × 500 prompt tokens; 313 B JSON answer + 4 × 200 output tokens.
    expect(estimateRequestBytes(500, 200)).toBe(164 + 2000 + 313 + 800)
    expect(REQUEST_BYTES_MODEL.source).toMatch(/measure-request-bytes/)
  })

  it('charges the SSE chunk envelope per output token for streamed answers', () => {
    const json = estimateRequestBytes(100, 300, 0)
    const sse = estimateRequestBytes(100, 300, 1)
    expect(sse - json).toBe(456 - 313 + 215 * 300)
    expect(estimateRequestBytes(100, 300, 0.5)).toBeCloseTo((json + sse) / 2, 9)
    // Out-of-range shares are clamped, negative counts count as none.
    expect(estimateRequestBytes(100, 300, 7)).toBe(sse)
    expect(estimateRequestBytes(-5, -5)).toBe(164 + 313)
  })
})
