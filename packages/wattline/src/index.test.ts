import { describe, expect, it } from 'vitest'

describe('the wattline package entry', () => {
  it('resolves through the package name and exposes the embedding API', async () => {
    const api = await import('wattline')
    for (const name of [
      'startLiveGateway',
      'loadConfig',
      'parseConfigText',
      'openLedger',
      'verifyLedger',
      'buildReport',
      'renderHtml',
      'renderMarkdown',
    ] as const) {
      expect(typeof api[name]).toBe('function')
    }
    expect(api.WATTLINE_VERSION).toMatch(/^\d+\.\d+\.\d+$/)
  })
})
