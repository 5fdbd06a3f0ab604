import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  createNvidiaSmiMeter,
  createPrometheusMeter,
  integratePower,
  parsePowerMetrics,
} from './bench-meters.ts'

describe('integratePower', () => {
  it('integrates each series with trapezoids and adds the series', () => {
    const r = integratePower([
      { series: 'gpu0', t_ms: 0, power_w: 100 },
      { series: 'gpu0', t_ms: 1000, power_w: 300 },
      { series: 'gpu1', t_ms: 0, power_w: 50 },
      { series: 'gpu1', t_ms: 2000, power_w: 50 },
    ])
    expect(r).toEqual({ energy_j: 200 + 100, series: 2, duration_ms: 2000 })
  })
})

describe('parsePowerMetrics', () => {
  it('reads DCGM power per GPU, and Kepler when DCGM is absent', () => {
    const dcgm = [
      '# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).',
      '# TYPE DCGM_FI_DEV_POWER_USAGE gauge',
      'DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-a",Hostname="n1"} 312.5',
      'DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-b",Hostname="n1"} 298',
      'DCGM_FI_DEV_POWER_USAGE_TOTAL 1',
    ].join('\n')
    expect(parsePowerMetrics(dcgm)).toEqual({
      metric: 'DCGM_FI_DEV_POWER_USAGE',
      samples: [
        { series: '{gpu="0",UUID="GPU-a",Hostname="n1"}', power_w: 312.5 },
        { series: '{gpu="1",UUID="GPU-b",Hostname="n1"}', power_w: 298 },
      ],
    })
    const kepler = 'kepler_node_gpu_watts{index="0",mode="dynamic"} 120\n'
    expect(parsePowerMetrics(kepler).metric).toBe('kepler_node_gpu_watts')
    expect(parsePowerMetrics('up 1\n')).toEqual({ metric: null, samples: [] })
  })
})

describe('measured meters', () => {
  it('samples a (fake) nvidia-smi and integrates its readings with a ±5 W per GPU interval', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-smi-'))
    const fake = join(dir, 'nvidia-smi')
    // two GPUs at 200 W and 100 W, one sample every 20 ms, as `-lms` prints them
    writeFileSync(
      fake,
      '#!/bin/sh\nwhile true; do echo "0, 200.00"; echo "1, 100.00"; sleep 0.02; done\n',
    )
    chmodSync(fake, 0o755)
    let t = 0
    const meter = createNvidiaSmiMeter({ command: fake, now: () => (t += 10) })
    await meter.start()
    await new Promise((r) => setTimeout(r, 200))
    const e = await meter.stop()
    rmSync(dir, { recursive: true, force: true })
    expect(e.samples).toBeGreaterThan(4)
    // with the fake clock each line advances 10 ms; both series are flat, so E = P × duration
    expect(e.value).toBeGreaterThan(0)
    expect(e.high - e.value).toBeCloseTo(e.value - e.low, 6)
    expect(e.low).toBeLessThan(e.value)
  })

  it('fails with a clear message when nvidia-smi cannot run', async () => {
    const meter = createNvidiaSmiMeter({ command: '/nonexistent/nvidia-smi' })
    await expect(meter.start()).rejects.toThrow(/cannot run nvidia-smi/)
  })

  it('scrapes a DCGM exporter endpoint and integrates the power', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end('DCGM_FI_DEV_POWER_USAGE{gpu="0"} 400\n')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`
    let t = 0
    const meter = createPrometheusMeter(url, { intervalMs: 10_000, now: () => (t += 1000) })
    await meter.start()
    const e = await meter.stop()
    await new Promise((r) => server.close(r))
    // two scrapes 1 s apart at 400 W: 400 J, ±5 W × 1 s
    expect(e).toMatchObject({ value: 400, low: 395, high: 405, samples: 2 })
    expect(meter.source).toContain('DCGM_FI_DEV_POWER_USAGE')
  })
})
