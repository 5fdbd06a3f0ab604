import { describe, expect, it } from 'vitest'
import { canonicalJson } from './canonical-json.ts'

describe('canonicalJson', () => {
  it('sorts keys by UTF-16 code units and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], A: { z: 0, y: -0 } })).toBe(
      '{"A":{"y":0,"z":0},"a":[true,null,"x"],"b":1}',
    )
    // RFC 8785 §3.2.3: U+1F600 is the surrogate pair 0xD83D 0xDE00, so it sorts before U+FB33
    expect(canonicalJson({ '\uFB33': 2, '\u{1F600}': 1, '\u20AC': 3 })).toBe(
      '{"\u20AC":3,"\u{1F600}":1,"\uFB33":2}',
    )
  })

  it('writes numbers in shortest round-trip form', () => {
    expect(canonicalJson([1e21, 1e-7, 0.1 + 0.2, 333333333.3333333, 5.0])).toBe(
      '[1e+21,1e-7,0.30000000000000004,333333333.3333333,5]',
    )
  })

  it('omits undefined members and rejects non-finite numbers', () => {
    expect(canonicalJson({ a: undefined, b: 'q"\n' })).toBe('{"b":"q\\"\\n"}')
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(/NaN/)
    expect(() => canonicalJson([Infinity])).toThrow(/Infinity/)
  })
})
