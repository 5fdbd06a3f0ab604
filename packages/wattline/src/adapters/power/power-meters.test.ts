import { testProfile } from '@wattline/core/test-profile'
import { readFileSync } from 'node:fs'

import { describe, expect, it } from 'vitest'
import { createModelledMeter } from './modelled-meter.ts'
import { createNvidiaSmiMeter, NVIDIA_SMI_QUERY, parseNvidiaSmi } from './nvidia-smi-meter.ts'
import { createPrometheusMeter, sumPower } from './prometheus-meter.ts'
import { parsePrometheusText } from './prometheus-text.ts'

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')

describe('prometheus text parser', () => {
  it('reads labels with escapes, special values and timestamps', () => {
    const s = parsePrometheusText('# c\nm{a="x\\"y",b="1\\\\2"} 3.5 1700000000000\nn NaN\no +Inf\n')
    expect(s[0]).toEqual({ name: 'm', labels: { a: 'x"y', b: '1\\2' }, value: 3.5 })
    expect(Number.isNaN(s[1]?.value)).toBe(true)
    expect(s[2]?.value).toBe(Infinity)
    expect(() => parsePrometheusText('ok 1\n{bad} 2')).toThrow(/line 2/)
  })
})

describe('DCGM exporter and Kepler meters', () => {
  it('sums DCGM_FI_DEV_POWER_USAGE across a node’s GPUs, or one GPU by label', () => {
    const text = fixture('dcgm-exporter.prom')
    expect(sumPower(text, 'DCGM_FI_DEV_POWER_USAGE', { Hostname: 'gpu-node-1' }).watts).toBeCloseTo(
      510.721,
    )
    expect(sumPower(text, 'DCGM_FI_DEV_POWER_USAGE', { gpu: '1' }).watts).toBeCloseTo(98.204)
    expect(() => sumPower(text, 'DCGM_FI_DEV_POWER_USAGE', { Hostname: 'other' })).toThrow(
      /no DCGM_FI_DEV_POWER_USAGE series/,
    )
  })

  it('reads kepler_node_gpu_watts for one node', async () => {
    const meter = createPrometheusMeter({
      backend: 'warsaw',
      url: 'http://kepler:9102/metrics',
      metric: 'kepler_node_gpu_watts',
      labels: { node_name: 'gpu-node-2' },
      fetchText: async () => fixture('kepler.prom'),
      now: () => 1000,
    })
    const [sample] = await meter.read()
    expect(sample).toMatchObject({
      backend: 'warsaw',
      at: 1000,
      power: 348.75,
      method: 'measured',
      source: 'kepler:http://kepler:9102/metrics',
    })
  })
})

describe('nvidia-smi meter', () => {
  const output = '0, 412.51\n1, 98.20\n2, [N/A]\n'
  it('parses the query output and skips unsupported readings', () => {
    expect([...parseNvidiaSmi(output)]).toEqual([
      [0, 412.51],
      [1, 98.2],
    ])
    expect(() => parseNvidiaSmi('GPU 0: H100')).toThrow(/line 1/)
  })

  it('runs the fixed query and sums the backend’s GPUs', async () => {
    const calls: string[][] = []
    const meter = createNvidiaSmiMeter({
      backend: 'paris',
      command: 'nvidia-smi',
      args: ['-i', '0,1'],
      gpuIndices: [0, 1],
      run: async (cmd, args) => {
        calls.push([cmd, ...args])
        return output
      },
      now: () => 5,
    })
    const [s] = await meter.read()
    expect(s?.power).toBeCloseTo(510.71)
    expect(calls[0]).toEqual(['nvidia-smi', '-i', '0,1', ...NVIDIA_SMI_QUERY])
    const none = createNvidiaSmiMeter({
      backend: 'p',
      command: 'x',
      args: [],
      gpuIndices: [2],
      run: async () => output,
      now: () => 0,
    })
    await expect(none.read()).rejects.toThrow(/no power for GPUs 2/)
  })
})

describe('modelled meter', () => {
  it('reports profile power at the current occupancy', async () => {
    const profile = testProfile({ idlePowerW: 100, peakPowerW: 500, maxBatch: 10 })
    let n = 0
    const meter = createModelledMeter({ backend: 'b', profile, occupancy: () => n, now: () => 0 })
    expect((await meter.read())[0]?.power).toBe(100)
    n = 5
    expect((await meter.read())[0]).toMatchObject({ power: 300, method: 'modelled' })
  })
})
