import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCaptured, type CliRun } from '../run-cli.test-support.ts'

let dir: string
let server: Server
let target: string
let served = 0

const run = (args: string[], env: Record<string, string> = {}): Promise<CliRun> =>
  runCaptured(args, { cwd: dir, env })

const WORKLOAD = [
  '{"wattline_trace": 1, "description": "bench test"}',
  ...Array.from({ length: 40 }, (_, i) =>
    JSON.stringify({ t_ms: i * 100, input_tokens: 200 + i * 10, output_tokens: 50 + i * 5 }),
  ),
].join('\n')

function config(budget: string): string {
  return `ledger:
  url: sqlite:./ledger.db
services:
  - name: chat
    default: true
    budget:
${budget}
  - name: nobudget
backends:
  - id: paris
    url: http://127.0.0.1:9101/v1
    zone: FR
    hardware: H100-SXM
    models: [llama-3.1-8b-instruct]
`
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wl-gate-'))
  writeFileSync(join(dir, 'workload.jsonl'), WORKLOAD)
  // A small OpenAI-compatible server: echoes max_tokens as completion tokens.
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      served += 1
      const j = JSON.parse(body) as {
        model: string
        max_tokens: number
        messages: { content: string }[]
      }
      const prompt = j.messages[0]?.content.split(' ').length ?? 0
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          id: 'x',
          object: 'chat.completion',
          model: j.model,
          choices: [
            { index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' },
          ],
          usage: {
            prompt_tokens: prompt,
            completion_tokens: j.max_tokens,
            total_tokens: prompt + j.max_tokens,
          },
        }),
      )
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  target = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
})
afterAll(async () => {
  await new Promise((r) => server.close(r))
  rmSync(dir, { recursive: true, force: true })
})

describe('wattline bench', () => {
  it('drives the workload, meters modelled energy and writes a reproducible result', async () => {
    const args = [
      'bench',
      '--target',
      target,
      '--model',
      'llama-3.1-8b-instruct',
      '--hardware',
      'H100-SXM',
      '--workload',
      'workload.jsonl',
      '--requests',
      '20',
      '--concurrency',
      '4',
      '--repeat',
      '3',
      '--zone',
      'FR',
    ]
    const before = served
    const r = await run([...args, '--out', 'result.json'])
    expect(r.code, r.err).toBe(0)
    expect(served - before).toBe(60)
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8'))
    expect(result).toMatchObject({
      schema: 'wattline-bench-result/1',
      meter: { kind: 'model', method: 'modelled' },
      workload: { requests: 20, seed: 1 },
    })
    expect(result.runs).toHaveLength(3)
    const e = result.metrics.energy_per_1k_requests_wh
    expect(e.low).toBeLessThan(e.value)
    expect(e.high).toBeGreaterThan(e.value)
    expect(result.metrics.carbon_per_1k_requests_g.value).toBeGreaterThan(0)
    // the same seed samples the same requests: same tokens, same modelled energy
    await run([...args, '--out', 'again.json'])
    const again = JSON.parse(readFileSync(join(dir, 'again.json'), 'utf8'))
    expect(again.runs[0].output_tokens).toBe(result.runs[0].output_tokens)
    expect(again.metrics.energy_per_1k_requests_wh.value).toBeCloseTo(e.value, 9)
  })

  it('exits 2 on bad flags and unknown hardware', async () => {
    const base = [
      'bench',
      '--target',
      target,
      '--model',
      'llama-3.1-8b-instruct',
      '--workload',
      'workload.jsonl',
      '--out',
      'x.json',
    ]
    expect((await run(base)).err).toContain('--meter model needs --hardware')
    expect((await run([...base, '--hardware', 'H100-SXM', '--requests', '0'])).code).toBe(2)
    expect((await run([...base, '--hardware', 'Z9000'])).code).toBe(2)
    expect((await run([...base, '--hardware', 'H100-SXM', '--meter', 'joulemeter'])).code).toBe(2)
  })
})

describe('wattline gate', () => {
  const bench = async (out: string) => {
    const r = await run([
      'bench',
      '--target',
      target,
      '--model',
      'llama-3.1-8b-instruct',
      '--hardware',
      'H100-SXM',
      '--workload',
      'workload.jsonl',
      '--requests',
      '10',
      '--repeat',
      '2',
      '--out',
      out,
    ])
    expect(r.code, r.err).toBe(0)
    return JSON.parse(readFileSync(join(dir, out), 'utf8')).metrics.energy_per_1k_requests_wh as {
      value: number
      high: number
    }
  }

  it('passes within budget, writes Markdown and JUnit, appends the step summary and records the decision', async () => {
    const e = await bench('pass.json')
    // baseline such that the pilot limit (0.8 × 1.05 × baseline) sits 20 % above the upper bound
    writeFileSync(
      join(dir, 'pass.yaml'),
      config(
        `      metric: energy_per_1k_requests_wh\n      baseline: ${(e.high * 1.2) / 0.84}\n      variance_pct: 5`,
      ),
    )
    writeFileSync(join(dir, 'summary.md'), '# CI\n')
    const r = await run(
      [
        'gate',
        '--result',
        'pass.json',
        '--config',
        'pass.yaml',
        '--service',
        'chat',
        '--release',
        'v1',
        '--markdown',
        'gate.md',
        '--junit',
        'gate.xml',
        '--json',
      ],
      { GITHUB_STEP_SUMMARY: join(dir, 'summary.md') },
    )
    expect(r.code, r.err).toBe(0)
    const report = JSON.parse(r.out)
    expect(report).toMatchObject({ passed: true, release: 'v1' })
    expect(report.verdict.budget_ratio).toBeCloseTo(1 / 1.2, 6)
    expect(readFileSync(join(dir, 'gate.md'), 'utf8')).toContain('✅ pass')
    expect(readFileSync(join(dir, 'summary.md'), 'utf8')).toMatch(/^# CI\n### Wattline energy gate/)
    expect(readFileSync(join(dir, 'gate.xml'), 'utf8')).toContain('failures="0"')
    const v = await run(['verify', '--ledger', 'sqlite:./ledger.db'])
    expect(v.code).toBe(0)
    expect(v.out).toContain('intact: 1 blocks, 3 rows')
  })

  it('fails over budget and on regression against the last accepted release (exit 1)', async () => {
    await bench('cand.json')
    writeFileSync(
      join(dir, 'tight.yaml'),
      config('      metric: energy_per_1k_requests_wh\n      baseline: 0.0001'),
    )
    const r = await run([
      'gate',
      '--result',
      'cand.json',
      '--config',
      'tight.yaml',
      '--service',
      'chat',
      '--junit',
      'fail.xml',
    ])
    expect(r.code).toBe(1)
    expect(r.out).toContain('✗ budget: upper bound')
    expect(readFileSync(join(dir, 'fail.xml'), 'utf8')).toContain('<failure message="upper bound')
    // v1 was accepted in the previous test: a candidate 50 % worse than it fails the regression check
    const res = JSON.parse(readFileSync(join(dir, 'pass.json'), 'utf8'))
    for (const k of ['value', 'low', 'high'] as const)
      res.metrics.energy_per_1k_requests_wh[k] *= 1.5
    writeFileSync(join(dir, 'worse.json'), JSON.stringify(res))
    const r2 = await run([
      'gate',
      '--result',
      'worse.json',
      '--config',
      'pass.yaml',
      '--service',
      'chat',
      '--release',
      'v2',
      '--json',
    ])
    expect(r2.code).toBe(1)
    const report = JSON.parse(r2.out)
    expect(report.verdict.checks[1]).toMatchObject({ name: 'regression', passed: false })
    expect(report.verdict.regression_pct).toBeCloseTo(50, 6)
  })

  it('exits 2 with a precise message on bad input', async () => {
    writeFileSync(
      join(dir, 'trunc.json'),
      readFileSync(join(dir, 'pass.json'), 'utf8').slice(0, 200),
    )
    let r = await run([
      'gate',
      '--result',
      'trunc.json',
      '--config',
      'pass.yaml',
      '--service',
      'chat',
    ])
    expect(r.code).toBe(2)
    expect(r.err).toContain('trunc.json: not valid JSON')
    const res = JSON.parse(readFileSync(join(dir, 'pass.json'), 'utf8'))
    res.metrics.energy_per_1k_requests_wh.high = -3
    writeFileSync(join(dir, 'corrupt.json'), JSON.stringify(res))
    r = await run([
      'gate',
      '--result',
      'corrupt.json',
      '--config',
      'pass.yaml',
      '--service',
      'chat',
    ])
    expect(r.code).toBe(2)
    expect(r.err).toContain('corrupt.json: metrics.energy_per_1k_requests_wh.high')
    r = await run(['gate', '--result', 'pass.json', '--config', 'pass.yaml', '--service', 'search'])
    expect(r.code).toBe(2)
    expect(r.err).toContain('unknown service "search" (services: chat, nobudget)')
    r = await run([
      'gate',
      '--result',
      'pass.json',
      '--config',
      'pass.yaml',
      '--service',
      'nobudget',
    ])
    expect(r.err).toContain('has no budget')
    writeFileSync(
      join(dir, 'neg.yaml'),
      config(
        '      metric: energy_per_1k_requests_wh\n      baseline: -5\n      variance_pct: 150',
      ),
    )
    r = await run(['gate', '--result', 'pass.json', '--config', 'neg.yaml', '--service', 'chat'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/baseline must be > 0/)
    expect(r.err).toMatch(/variance_pct must be ≤ 100/)
    writeFileSync(
      join(dir, 'carbon.yaml'),
      config('      metric: carbon_per_1k_requests_g\n      baseline: 5'),
    )
    r = await run(['gate', '--result', 'pass.json', '--config', 'carbon.yaml', '--service', 'chat'])
    expect(r.code).toBe(2)
    expect(r.err).toContain('run bench with --zone')
  })
})
