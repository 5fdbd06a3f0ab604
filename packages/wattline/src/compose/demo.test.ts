import { existsSync } from 'node:fs'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { createSystemClock } from '../adapters/clock/system-clock.ts'
import { runCaptured } from '../cli/run-cli.test-support.ts'
import { startDemo, sumMetric } from './demo.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('startDemo', () => {
  it('routes trace traffic to the greenest zone, accounts energy and carbon, and stops cleanly', async () => {
    const demo = await startDemo(
      { port: 0, speed: 3600, traffic: true, trafficRate: 8 },
      { clock: createSystemClock(), env: {}, logger: pino({ level: 'silent' }) },
    )
    let stopped = false
    try {
      expect(demo.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const models = (await (await fetch(`${demo.url}/v1/models`)).json()) as {
        data: { id: string }[]
      }
      expect(models.data.map((m) => m.id)).toEqual(['llama-3.1-8b-instruct'])
      const t0 = demo.gridClock.now()
      for (let i = 0; i < 200; i += 1) {
        await sleep(100)
        if ((await demo.summary()).answered >= 12) break
      }
      const s = await demo.summary()
      expect(s.answered).toBeGreaterThanOrEqual(12)
      expect(s.failed).toBe(0)
      expect(s.gateway.requests).toBeGreaterThanOrEqual(s.answered)
      expect(s.gateway.energyJ).toBeGreaterThan(0)
      expect(s.gateway.carbonG).toBeGreaterThan(0)
      // FR is an order of magnitude cleaner than DE and PL: Paris takes more than round-robin's
      // third (it holds 8 at a time; peaks spill over to Frankfurt), coal-heavy Warsaw the fewest.
      const paris = s.byBackend['paris'] ?? 0
      const warsaw = s.byBackend['warsaw'] ?? 0
      expect(paris).toBeGreaterThan(s.answered / 3)
      expect(warsaw).toBeLessThan(paris)
      expect(warsaw).toBeLessThanOrEqual(s.byBackend['frankfurt'] ?? 0)
      expect(s.shadow.requests).toBe(s.answered)
      expect(s.shadow.savingsPct).toBeGreaterThan(0)
      expect(s.intensity['FR']).toBeLessThan(s.intensity['PL'] ?? 0)
      // Grid time runs 3600× faster than the wall clock.
      expect(s.gridTime - t0).toBeGreaterThan(3_600_000)
      await demo.stop()
      stopped = true
      await expect(fetch(`${demo.url}/healthz`)).rejects.toThrow()
      for (const b of demo.backends) await expect(fetch(`${b.origin}/healthz`)).rejects.toThrow()
      expect(existsSync(demo.ledgerUrl.slice('sqlite:'.length))).toBe(false)
    } finally {
      if (!stopped) await demo.stop()
    }
  })
})

describe('wattline demo', () => {
  it('runs for --duration-s and prints the final summary as JSON', async () => {
    const { code, out, err } = await runCaptured([
      'demo',
      '--port',
      '0',
      '--duration-s',
      '3',
      '--traffic-rate',
      '12',
      '--speed',
      '3600',
      '--json',
    ])
    expect(err).toBe('')
    expect(code).toBe(0)
    const summary = JSON.parse(out) as {
      answered: number
      gateway: { energy_j: number; carbon_g: number; method: string }
      vs_round_robin: { savings_pct: number | null }
    }
    expect(summary.answered).toBeGreaterThan(0)
    expect(summary.gateway.energy_j).toBeGreaterThan(0)
    expect(summary.gateway.method).toBe('modelled')
  })

  it('rejects a bad flag with exit 2', async () => {
    const { code, err } = await runCaptured(['demo', '--speed', '-3'])
    expect(code).toBe(2)
    expect(err).toMatch(/--speed must be a positive number/)
  })
})

describe('sumMetric', () => {
  it('sums every series of one metric and nothing else', () => {
    const text = [
      '# TYPE wattline_energy_joules_total counter',
      'wattline_energy_joules_total{method="modelled",backend="a"} 1.5',
      'wattline_energy_joules_total{method="modelled",backend="b"} 2',
      'wattline_energy_joules_total_created 99',
      'wattline_carbon_grams_total 7',
    ].join('\n')
    expect(sumMetric(text, 'wattline_energy_joules_total')).toBe(3.5)
    expect(sumMetric(text, 'wattline_carbon_grams_total')).toBe(7)
    expect(sumMetric(text, 'wattline_energy_joules_total', (l) => l.includes('"a"'))).toBe(1.5)
  })
})
