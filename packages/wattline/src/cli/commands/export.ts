/**
 * @module cli/commands/export
 * `wattline export --ledger URL --from ISO --to ISO --out bundle.jsonl`: the blocks sealed in the
 * window, with their rows and the public keys, as an audit bundle `wattline verify --bundle` checks
 * offline (format in docs/ledger.md).
 */
import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { openLedgerStore } from '../../adapters/storage/open-ledger.ts'
import { exportBundle } from '../../adapters/storage/verify-ledger.ts'
import { EXIT, ExitError, type ExitCode } from '../exit-codes.ts'
import { parseIsoFlag } from '../iso-flag.ts'
import { writeJson, type CliIo } from '../io.ts'

interface ExportOptions {
  ledger: string
  from: string
  to: string
  out: string
  json?: boolean
}

export function register(program: Command, io: CliIo, setExit: (code: ExitCode) => void): void {
  program
    .command('export')
    .description('Write an audit bundle (JSON Lines) of the blocks sealed between --from and --to')
    .requiredOption('--ledger <url>', 'ledger URL (sqlite:PATH or postgres://…)')
    .requiredOption('--from <iso>', 'window start, ISO 8601 (inclusive)')
    .requiredOption('--to <iso>', 'window end, ISO 8601 (exclusive)')
    .requiredOption('--out <file>', 'bundle file to write')
    .option('--json', 'machine-readable summary')
    .action(async (opts: ExportOptions) => {
      const fromMs = parseIsoFlag('--from', opts.from)
      const toMs = parseIsoFlag('--to', opts.to)
      if (toMs <= fromMs) throw new ExitError(EXIT.badInput, '--to must be after --from')
      const store = await openLedgerStore(opts.ledger, io.cwd, { mustExist: true })
      const path = resolve(io.cwd, opts.out)
      const out = createWriteStream(path, { encoding: 'utf8' })
      try {
        await once(out, 'open') // rejects with the 'error' of a folder that does not exist, EACCES…
      } catch (error) {
        await store.close()
        throw new ExitError(EXIT.badInput, `cannot write ${opts.out}: ${(error as Error).message}`)
      }
      try {
        const summary = await exportBundle(
          store,
          { from_ms: fromMs, to_ms: toMs, created_ms: Date.now() },
          async (line) => {
            if (!out.write(line)) await once(out, 'drain')
          },
        )
        out.end()
        await once(out, 'finish')
        const report = { out: opts.out, ...summary }
        if (opts.json === true) writeJson(io, report)
        else
          io.stdout.write(`wrote ${summary.blocks} blocks (${summary.rows} rows) to ${opts.out}\n`)
        setExit(EXIT.ok)
      } finally {
        out.destroy()
        await store.close()
      }
    })
}
