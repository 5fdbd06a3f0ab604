import { describe, expect, it } from 'vitest'
import { hasCode } from '@wattline/core'
import { parseCsv, requireColumn } from './csv.ts'

function catchError(f: () => unknown): unknown {
  try {
    f()
  } catch (e) {
    return e
  }
  throw new Error('expected a throw')
}

describe('parseCsv', () => {
  it('reads a header, rows, quoted cells and CRLF line ends with positions', () => {
    const t = parseCsv('\uFEFFa,b,c\r\n1,"x, ""y""",3\r\n\r\n4,5,6\n', 'f.csv')
    expect(t.header).toEqual(['a', 'b', 'c'])
    expect(t.rows.map((r) => r.cells)).toEqual([
      ['1', 'x, "y"', '3'],
      ['4', '5', '6'],
    ])
    expect(t.rows[0]?.line).toBe(2)
    expect(t.rows[0]?.columns).toEqual([1, 3, 14])
    expect(t.rows[1]?.line).toBe(4)
  })

  it('names file, line and column for a short row', () => {
    const e = catchError(() => parseCsv('a,b,c\n1,2,3\n4,5\n', 'grid.csv'))
    expect(hasCode(e, 'WL_DATA_FORMAT')).toBe(true)
    expect((e as { details: unknown }).details).toEqual({ file: 'grid.csv', line: 3, column: 3 })
  })

  it('names the opening position of an unterminated quote', () => {
    const e = catchError(() => parseCsv('a,b\n1,"oops\n', 'q.csv'))
    expect((e as { details: unknown }).details).toEqual({ file: 'q.csv', line: 2, column: 3 })
  })

  it('rejects an empty file and a missing column', () => {
    expect(
      hasCode(
        catchError(() => parseCsv('', 'e.csv')),
        'WL_DATA_FORMAT',
      ),
    ).toBe(true)
    const e = catchError(() => requireColumn(['a', 'b'], ['zone'], 'h.csv'))
    expect((e as Error).message).toContain('missing column "zone"')
  })
})
