import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { openLedger, openLedgerStore } from '../../adapters/storage/open-ledger.ts'
import { fixtureRecords, GENERATED_MS } from '../../report/report-fixture.test-support.ts'
import type { Report } from '../../report/report-schema.ts'
import { runCaptured, type CliRun } from '../run-cli.test-support.ts'

let dir: string
let url: string
let keyFile: string
const PERIOD = ['--from', '2024-03-01T00:00:00Z', '--to', '2024-03-01T02:00:00Z']

const run = (
  args: string[],
  env: Record<string, string | undefined> = process.env,
): Promise<CliRun> => runCaptured(args, { cwd: dir, env })

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wl-report-cli-'))
  url = 'sqlite:ledger.db'
  const ledger = await openLedger(url, {
    baseDir: dir,
    signingKeyPath: join(dir, 'wattline-ledger.key'),
    blockRows: 6,
    now: () => GENERATED_MS,
  })
  await ledger.sink.writeNow(fixtureRecords())
  keyFile = join(dir, 'ledger.pub')
  writeFileSync(keyFile, ledger.signer.publicKeyPem)
  await ledger.close()
})
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe('wattline report', () => {
  it('writes the JSON report with the issue’s keys and the ledger’s chain head', async () => {
    const r = await run([
      'report',
      '--ledger',
      url,
      ...PERIOD,
      '--format',
      'json',
      '--out',
      'r.json',
      '--generated-at',
      '2024-03-02T08:00:00Z',
      '--anomaly-min-requests',
      '1',
    ])
    expect(r.err).toContain('wrote json report to r.json: 5 requests, 670 Wh per 1k requests')
    expect(r.code).toBe(0)
    const report = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as Report
    expect(report.energy_per_1k_requests_wh?.value).toBe(670)
    expect(report.carbon_by_zone.map((z) => z.zone)).toEqual(['US-CAL-CISO', 'DE', 'FR'])
    expect(report.sci.per_request.r).toBe(5)
    expect(report.generated_at).toBe('2024-03-02T08:00:00.000Z')
    expect(report.anomalies.items.map((x) => [x.subject, x.at])).toEqual([
      ['chat', '2024-03-01T00:00:00.000Z'],
    ])
    const store = await openLedgerStore(`sqlite:${join(dir, 'ledger.db')}`)
    const tail = await store.chainTail()
    await store.close()
    expect(report.chain_head.hash).toBe(tail.last?.hash)
    expect(report.chain_head.height).toBe((tail.last?.seq ?? -1) + 1)
    // What an auditor does: verify the chain and compare its head with the report's.
    const v = await run(['verify', '--ledger', url, '--public-key', keyFile, '--json'])
    expect(v.code).toBe(0)
    expect(JSON.parse(v.out)).toMatchObject({
      intact: true,
      head: report.chain_head.hash,
      blocks: report.chain_head.height,
    })
  })

  it('prints Markdown to stdout for one service, and writes the IF manifest beside it', async () => {
    const r = await run([
      'report',
      '--ledger',
      url,
      '--service',
      'chat',
      ...PERIOD,
      '--format',
      'md',
      '--impact-manifest',
      'period.if.yaml',
    ])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^## Wattline transparency report: chat/)
    expect(r.out).toContain('| Energy per 1k requests | 791 Wh |')
    const manifest = parse(readFileSync(join(dir, 'period.if.yaml'), 'utf8')) as {
      tree: { children: Record<string, unknown> }
    }
    expect(Object.keys(manifest.tree.children)).toEqual(['zone-DE', 'zone-FR', 'zone-US-CAL-CISO'])
  })

  it('writes HTML and Impact Framework formats', async () => {
    expect(
      (await run(['report', '--ledger', url, ...PERIOD, '--format', 'html', '--out', 'r.html']))
        .code,
    ).toBe(0)
    expect(readFileSync(join(dir, 'r.html'), 'utf8')).toMatch(/^<!doctype html>/)
    const r = await run(['report', '--ledger', url, ...PERIOD, '--format', 'if'])
    expect(r.code).toBe(0)
    expect(parse(r.out)).toMatchObject({ initialize: { plugins: { sci: { method: 'Sci' } } } })
  })

  it('warns when the service has no requests in the period', async () => {
    const r = await run(['report', '--ledger', url, '--service', 'nope', ...PERIOD])
    expect(r.code).toBe(0)
    expect(r.err).toContain('no requests of service "nope" in the period')
  })

  it('exits 2 with a precise message on bad input', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['report', '--ledger', url, '--from', '2024-03-02', '--to', '2024-03-01'],
        /--to must be after --from/,
      ],
      [
        ['report', '--ledger', url, '--from', 'yesterday', '--to', '2024-03-01'],
        /--from must be an ISO 8601 time/,
      ],
      [['report', '--ledger', url, ...PERIOD, '--format', 'xml'], /argument 'xml' is invalid/],
      [['report', '--ledger', 'sqlite:missing.db', ...PERIOD], /no ledger file at .*missing\.db/],
      // was: WL_INTERNAL, exit 3, with pg's stack
      [
        ['report', '--ledger', 'postgres://auditor:s3cret@127.0.0.1:1/ledger', ...PERIOD],
        /^wattline: WL_INVALID_INPUT: cannot reach the PostgreSQL ledger at postgres:\/\/auditor:\*\*\*@127\.0\.0\.1:1\/ledger: ECONNREFUSED/,
      ],
      [['report', '--ledger', url, ...PERIOD, '--format', 'pdf'], /--format pdf needs --out FILE/],
      [
        ['report', '--ledger', url, ...PERIOD, '--history-days', '-3'],
        /--history-days must be a whole number/,
      ],
    ]
    for (const [args, message] of cases) {
      const r = await run(args)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.err).toMatch(message)
    }
    expect(existsSync(join(dir, 'missing.db'))).toBe(false)
  })

  it('exits 2 naming the missing browser for PDF output', async () => {
    const r = await run(
      ['report', '--ledger', url, ...PERIOD, '--format', 'pdf', '--out', 'r.pdf'],
      { CHROMIUM_PATH: '/nonexistent/chromium' },
    )
    expect(r.code).toBe(2)
    expect(r.err).toContain('WL_BROWSER_UNAVAILABLE: PDF output needs Chromium')
  })
})

describe('wattline lifecycle', () => {
  const ledgerArgs = (): string[] => ['--ledger', url, '--signing-key', 'wattline-ledger.key']

  it('records hardware with the catalogue’s embodied figure and keeps the chain verifiable', async () => {
    const r = await run([
      'lifecycle',
      'add-hardware',
      ...ledgerArgs(),
      '--id',
      'rack-2',
      '--hardware',
      'H100-SXM',
      '--count',
      '4',
      '--lifetime-years',
      '4',
      '--in-service-from',
      '2023-06-01',
      '--allocation-share',
      '0.25',
      '--zone',
      'FR',
    ])
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    expect(r.out).toContain(
      'recorded hardware rack-2: 4 × H100-SXM, 150 kgCO2e each, 4 years, share 0.25',
    )
    const v = await run(['verify', '--ledger', url, '--public-key', keyFile])
    expect(v.code).toBe(0)
    const rep = await run(['report', '--ledger', url, ...PERIOD])
    const report = JSON.parse(rep.out) as Report
    const item = report.lifecycle.hardware.find((h) => h.id === 'rack-2')
    expect(item?.allocation_share).toBe(0.25)
    expect(item?.embodied_source).toContain('CCF coefficients-aws-embodied.csv')
    expect(item?.amortised_g).toBeCloseTo((4 * 150_000 * 2 * 0.25) / (4 * 8766), 9)
  })

  it('models training energy from GPU-hours × TDP and carbon from the given intensity', async () => {
    const r = await run([
      'lifecycle',
      'add-training',
      ...ledgerArgs(),
      '--name',
      'pretrain-1',
      '--model',
      'llama-3.1-8b-instruct',
      '--gpu-hours',
      '1000',
      '--hardware',
      'H100-SXM',
      '--pue',
      '1.2',
      '--zone',
      'DE',
      '--intensity-g-per-kwh',
      '300',
      '--start',
      '2024-01-01T00:00:00Z',
      '--end',
      '2024-01-05T00:00:00Z',
      '--source',
      'scheduler accounting',
      '--json',
    ])
    expect(r.code).toBe(0)
    const [rec] = JSON.parse(r.out) as { energy_j: number; carbon_g: number; method: string }[]
    // 1000 h × 700 W × 1.2 = 840 kWh; × 300 g/kWh = 252 kg.
    expect(rec?.energy_j).toBeCloseTo(840 * 3_600_000, 3)
    expect(rec?.carbon_g).toBeCloseTo(252_000, 6)
    expect(rec?.method).toBe('modelled')
  })

  it('exits 2 naming the flag when the input is wrong, and writes nothing', async () => {
    const base = ['lifecycle', 'add-training', ...ledgerArgs(), '--name', 'x', '--model', 'm']
    const when = ['--start', '2024-01-02', '--end', '2024-01-01', '--source', 's', '--zone', 'DE']
    let r = await run([...base, ...when, '--energy-kwh', '10'])
    expect(r.code).toBe(2)
    expect(r.err).toContain('--end: must be after start')
    r = await run([
      ...base,
      '--start',
      '2024-01-01',
      '--end',
      '2024-01-02',
      '--source',
      's',
      '--zone',
      'DE',
      '--gpu-hours',
      'lots',
    ])
    expect(r.code).toBe(2)
    expect(r.err).toContain('--gpu-hours: expected a number, got "lots"')
    r = await run([
      ...base,
      '--start',
      '2024-01-01',
      '--end',
      '2024-01-02',
      '--source',
      's',
      '--zone',
      'DE',
    ])
    expect(r.err).toContain('--energy-kwh: give exactly one of energy_kwh or gpu_hours')
    r = await run([
      'lifecycle',
      'add-hardware',
      ...ledgerArgs(),
      '--id',
      'h',
      '--hardware',
      'H999',
      '--count',
      '1',
      '--lifetime-years',
      '4',
      '--in-service-from',
      '2024-01-01',
      '--zone',
      'DE',
    ])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/WL_UNKNOWN_HARDWARE: unknown hardware "H999"/)
    r = await run([
      'lifecycle',
      'add-hardware',
      ...ledgerArgs(),
      '--id',
      'h',
      '--hardware',
      'custom-asic',
      '--count',
      '1',
      '--embodied-kg',
      '90',
      '--lifetime-years',
      '4',
      '--in-service-from',
      '2024-01-01',
      '--zone',
      'DE',
    ])
    expect(r.err).toContain('--source: embodied_kg needs a source')
  })

  it('reproduces an earlier report with --at-height after the ledger has grown', async () => {
    const args = ['report', '--ledger', url, ...PERIOD, '--generated-at', '2024-03-02T08:00:00Z']
    const before = await run(args)
    const height = (JSON.parse(before.out) as Report).chain_head.height
    const added = await run([
      'lifecycle',
      'add-hardware',
      ...ledgerArgs(),
      '--id',
      'late-rack',
      '--hardware',
      'A100-80GB',
      '--count',
      '2',
      '--lifetime-years',
      '5',
      '--in-service-from',
      '2024-01-01',
      '--zone',
      'DE',
    ])
    expect(added.code).toBe(0)
    const now = await run(args)
    expect(now.out).not.toBe(before.out)
    const again = await run([...args, '--at-height', String(height)])
    expect(again.code).toBe(0)
    expect(again.out).toBe(before.out)
  })

  it('imports a YAML file, and points at file:line:column on a bad entry', async () => {
    writeFileSync(
      join(dir, 'lifecycle.yaml'),
      [
        'training_runs:',
        '  - name: ft-yaml',
        '    model: llama-3.1-8b-instruct',
        '    energy_kwh: 50',
        '    zone: DE',
        '    carbon_kg: 20',
        '    start: 2024-02-01T00:00:00Z',
        '    end: 2024-02-01T10:00:00Z',
        '    source: cluster meter',
        'hardware:',
        '  - id: rack-yaml',
        '    hardware: A100-80GB',
        '    count: 8',
        '    lifetime_years: 5',
        '    in_service_from: 2022-01-01',
        '    zone: DE',
        '',
      ].join('\n'),
    )
    let r = await run(['lifecycle', 'import', ...ledgerArgs(), '--file', 'lifecycle.yaml'])
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    expect(r.out).toContain('recorded training run ft-yaml: 50 kWh, 20 kgCO2e (measured)')
    expect(r.out).toContain('recorded hardware rack-yaml: 8 × A100-80GB')

    writeFileSync(
      join(dir, 'bad.yaml'),
      [
        'hardware:',
        '  - id: r',
        '    hardware: A100-80GB',
        '    count: 0',
        '    lifetime_years: 5',
        '    in_service_from: 2022-01-01',
        '    zone: DE',
        '',
      ].join('\n'),
    )
    r = await run(['lifecycle', 'import', ...ledgerArgs(), '--file', 'bad.yaml'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/bad\.yaml:4:12: hardware\[0\]\.count: /)
    writeFileSync(join(dir, 'broken.yaml'), 'hardware: [\n')
    r = await run(['lifecycle', 'import', ...ledgerArgs(), '--file', 'broken.yaml'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/broken\.yaml:\d+:\d+: invalid YAML/)
  })
})
