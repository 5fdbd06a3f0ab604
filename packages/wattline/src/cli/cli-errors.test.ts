/**
 * Every CLI error carries a catalogued `WL_` code (docs/errors.md) and a non-zero exit: each
 * command is swept with an unknown flag, and most with a bad value; commander's own usage errors,
 * typed errors, plain `ExitError`s and unexpected exceptions all come out as
 * `wattline: WL_<CODE>: …` on stderr, never a ZodError, a NaN or a stack trace.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { HARDWARE } from '@wattline/core'
import { requestRecord } from '@wattline/core/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { openLedger } from '../adapters/storage/open-ledger.ts'
import { COMMAND_NAMES, withErrorCode } from './program.ts'
import { runCaptured } from './run-cli.test-support.ts'

const REPO = resolve(import.meta.dirname, '../../../..')
const SAMPLE = join(REPO, 'examples/azure-llm-conv-sample.csv')
const dir = mkdtempSync(join(tmpdir(), 'wattline-cli-errors-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
writeFileSync(join(dir, 'not-json.json'), '{"schema":')

const CODE = /^wattline: WL_[A-Z_]+: /m

function expectCoded(run: { code: number; out: string; err: string }, what: string): void {
  expect(run.code, `${what}\n${run.err}`).not.toBe(0)
  expect(run.err, what).toMatch(CODE)
  expect(run.err, what).not.toMatch(/ZodError|NaN|\n\s+at /)
}

describe('every CLI error has a WL_ code', () => {
  it.each(COMMAND_NAMES.map((name) => [name]))(
    '%s --no-such-flag: exit 2, WL_INVALID_INPUT',
    async (name) => {
      const run = await runCaptured([name, '--no-such-flag'], { cwd: dir })
      expectCoded(run, name)
      expect(run.code).toBe(2)
      expect(run.err).toContain('WL_INVALID_INPUT')
    },
  )

  it('an unknown command: exit 2, WL_INVALID_INPUT', async () => {
    const run = await runCaptured(['estimat'], { cwd: dir })
    expectCoded(run, 'estimat')
    expect(run.code).toBe(2)
  })

  const bad: readonly (readonly string[])[] = [
    ['estimate', '--model', 'llama-3.1-8b-instruct', '--hardware', 'H100-SXM'],
    [
      'estimate',
      '--model',
      'llama-3.1-8b-instruct',
      '--hardware',
      'H100-SXM',
      '--input-tokens',
      'x',
      '--output-tokens',
      '5',
    ],
    [
      'estimate',
      '--model',
      'no-such-model',
      '--hardware',
      'H100-SXM',
      '--input-tokens',
      '5',
      '--output-tokens',
      '5',
    ],
    ['intensity', '--zone', 'XX-NOWHERE'],
    ['intensity', '--zone', 'FR', '--at', 'yesterday-ish'],
    ['serve', '--config', 'missing.yaml'],
    ['serve', '--port', 'abc'],
    ['demo', '--port', 'abc'],
    [
      'simulate-backend',
      '--model',
      'llama-3.1-8b-instruct',
      '--hardware',
      'H100XYZ',
      '--zone',
      'FR',
    ],
    [
      'simulate-backend',
      '--model',
      'llama-3.1-8b-instruct',
      '--hardware',
      'H100-SXM',
      '--zone',
      'FR',
      '--port',
      '99999',
    ],
    ['bench', '--target', 'not a url', '--model', 'm', '--workload', SAMPLE, '--out', 'r.json'],
    [
      'bench',
      '--target',
      'http://127.0.0.1:9/v1',
      '--model',
      'llama-3.1-8b-instruct',
      '--hardware',
      'H100-SXM',
      '--workload',
      SAMPLE,
      '--requests',
      'ten',
      '--out',
      'r.json',
    ],
    [
      'bench',
      '--target',
      'http://127.0.0.1:9/v1',
      '--model',
      'llama-3.1-8b-instruct',
      '--workload',
      'missing.csv',
      '--hardware',
      'H100-SXM',
      '--out',
      'r.json',
    ],
    [
      'gate',
      '--result',
      'missing.json',
      '--config',
      join(REPO, 'examples/wattline.yaml'),
      '--service',
      'chat',
    ],
    [
      'gate',
      '--result',
      'not-json.json',
      '--config',
      join(REPO, 'examples/wattline.yaml'),
      '--service',
      'chat',
    ],
    ['replay', '--trace', 'missing.csv', '--fleet', join(REPO, 'examples/eu.fleet.yaml')],
    [
      'replay',
      '--trace',
      SAMPLE,
      '--fleet',
      join(REPO, 'examples/eu.fleet.yaml'),
      '--policies',
      'no-such-policy',
    ],
    ['report', '--ledger', 'sqlite:missing.db', '--from', 'not-a-date'],
    ['lifecycle', 'add-hardware', '--no-such-flag'],
    ['profiles', 'extra-argument'],
    ['zones', 'extra-argument'],
  ]
  it.each(bad.map((args) => [args.join(' '), args]))('%s', async (_label, args) => {
    const run = await runCaptured(args, { cwd: dir })
    expectCoded(run, args.join(' '))
  })

  it('an unknown hardware name fails with the list of every known one', async () => {
    const run = await runCaptured(
      ['estimate', '--model', 'llama-3.1-8b-instruct', '--hardware', 'H100XYZ'].concat([
        '--input-tokens',
        '5',
        '--output-tokens',
        '5',
      ]),
      { cwd: dir },
    )
    expectCoded(run, 'H100XYZ')
    expect(run.code).toBe(2)
    expect(run.err).toContain('WL_UNKNOWN_HARDWARE')
    for (const h of HARDWARE) expect(run.err).toContain(h.id)
  })

  it('an unknown hardware name in a config fails with the list of every known one', async () => {
    const yaml = readFileSync(join(REPO, 'examples/wattline.yaml'), 'utf8').replace(
      'hardware: A100-80GB',
      'hardware: H100XYZ',
    )
    writeFileSync(join(dir, 'bad-hardware.yaml'), yaml)
    const run = await runCaptured(['serve', '--config', 'bad-hardware.yaml', '--port', '0'], {
      cwd: dir,
    })
    expectCoded(run, 'config H100XYZ')
    expect(run.code).toBe(2)
    expect(run.err).toMatch(
      /bad-hardware\.yaml:\d+:\d+ backends\[2\]\.hardware: unknown hardware 'H100XYZ'/,
    )
    for (const h of HARDWARE) expect(run.err).toContain(h.id)
  })

  it('bench against an unreachable target: exit 2, WL_UPSTREAM_UNAVAILABLE naming the cause', async () => {
    const run = await runCaptured(
      ['bench', '--target', 'http://127.0.0.1:9/v1', '--model', 'llama-3.1-8b-instruct'].concat([
        '--hardware',
        'H100-SXM',
        '--workload',
        SAMPLE,
        '--requests',
        '3',
        '--repeat',
        '2',
        '--out',
        'unreachable.json',
      ]),
      { cwd: dir },
    )
    expectCoded(run, 'bench unreachable')
    expect(run.code).toBe(2)
    expect(run.err).toMatch(/WL_UPSTREAM_UNAVAILABLE: .*ECONNREFUSED/)
  })

  // Node's own errors on a path or server the user named were "internal error (a bug…)", exit 3,
  // with a stack: report --out, gate --markdown, ledger export-key --out into a missing folder, and
  // serve with a PostgreSQL ledger that does not answer.
  it('a file that cannot be written where the user said: exit 2 naming it, no stack', async () => {
    const ledger = await openLedger('sqlite:ledger.db', { baseDir: dir })
    ledger.sink.append(requestRecord(1))
    await ledger.close()
    const cases: [string[], string][] = [
      [
        ['report', '--ledger', 'sqlite:ledger.db', '--from', '2020-01-01', '--format', 'md'].concat(
          ['--out', 'no-such-dir/r.md'],
        ),
        'no-such-dir/r.md',
      ],
      [
        ['ledger', 'export-key', '--ledger', 'sqlite:ledger.db', '--out', 'no-such-dir/k.pem'],
        'no-such-dir/k.pem',
      ],
      [['report', '--ledger', 'sqlite:ledger.db', '--from', '2020-01-01', '--out', '.'], dir],
    ]
    for (const [args, path] of cases) {
      const run = await runCaptured(args, { cwd: dir })
      expectCoded(run, args.join(' '))
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.err).toContain('WL_INVALID_INPUT: cannot open ')
      expect(run.err).toContain(path)
      expect(run.err).not.toContain('internal error')
    }
  })

  it('serve with a ledger database that does not answer: exit 2 naming the address, no stack', async () => {
    const yaml = readFileSync(join(REPO, 'examples/wattline.yaml'), 'utf8').replace(
      'url: sqlite:../wattline-data/wattline.db',
      'url: postgres://wattline@127.0.0.1:9/ledger',
    )
    writeFileSync(join(dir, 'pg-down.yaml'), yaml)
    const run = await runCaptured(['serve', '--config', 'pg-down.yaml', '--port', '0'], {
      cwd: dir,
    })
    expectCoded(run, 'serve pg down')
    expect(run.code).toBe(2)
    expect(run.err).toMatch(/WL_INVALID_INPUT: could not connect to 127\.0\.0\.1:9 \(ECONNREFUSED/)
    expect(run.err).not.toContain('internal error')
  })

  it('an error message without a code gets the one its exit code means', () => {
    expect(withErrorCode(2, '--port must be …')).toBe('WL_INVALID_INPUT: --port must be …')
    expect(withErrorCode(3, 'internal error')).toBe('WL_INTERNAL: internal error')
    expect(withErrorCode(2, 'WL_UNKNOWN_ZONE: x')).toBe('WL_UNKNOWN_ZONE: x')
  })
})
