/**
 * @module cli/commands/verify
 * `wattline verify --ledger URL [--public-key F]` and `wattline verify --bundle F --public-key F`:
 * exit 0 when the chain is intact, 1 naming the first bad block and row, 2 on bad input.
 * Without `--public-key`, a ledger's signatures are checked against the keys it stores itself
 * (self-attested: an attacker with write access could replace them), and the output says so.
 */
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import type { ChainVerdict, VerifySignature } from '@wattline/core'
import { openLedgerStore } from '../../adapters/storage/open-ledger.ts'
import { createSignatureVerifier, parsePublicKey } from '../../adapters/storage/signing-key.ts'
import { verifyBundle, verifyLedger } from '../../adapters/storage/verify-ledger.ts'
import { EXIT, ExitError, type ExitCode } from '../exit-codes.ts'
import { writeJson, type CliIo } from '../io.ts'

interface VerifyOptions {
  ledger?: string
  bundle?: string
  publicKey?: string
  json?: boolean
}

/** The `--json` output of `wattline verify`. */
export interface VerifyReport {
  readonly intact: boolean
  readonly source: string
  readonly signatures: 'public-key' | 'self-attested' | 'unchecked'
  readonly blocks: number
  readonly rows: number
  readonly pruned_blocks: number
  readonly unsealed_rows: number
  readonly head: string
  readonly failure: { kind: string; block: number; row: number | null; message: string } | null
}

export function register(program: Command, io: CliIo, setExit: (code: ExitCode) => void): void {
  program
    .command('verify')
    .description(
      "Check the ledger's hash chain and signatures (exit 0 intact, 1 tampered, 2 bad input)",
    )
    .option('--ledger <url>', 'ledger URL (sqlite:PATH or postgres://…)')
    .option('--bundle <file>', 'an audit bundle written by `wattline export` (offline check)')
    .option('--public-key <file>', 'Ed25519 public key (PEM) the blocks must be signed with')
    .option('--json', 'machine-readable output')
    .action(async (opts: VerifyOptions) => {
      const report = await runVerify(opts, io)
      if (opts.json === true) writeJson(io, report)
      else io.stdout.write(renderVerify(report))
      setExit(report.intact ? EXIT.ok : EXIT.negative)
    })
}

async function runVerify(opts: VerifyOptions, io: CliIo): Promise<VerifyReport> {
  if ((opts.ledger === undefined) === (opts.bundle === undefined)) {
    throw new ExitError(EXIT.badInput, 'give exactly one of --ledger URL or --bundle FILE')
  }
  const keyVerifier = opts.publicKey === undefined ? null : await readKey(opts.publicKey, io)
  if (opts.bundle !== undefined) {
    if (keyVerifier === null) {
      throw new ExitError(
        EXIT.badInput,
        '--bundle needs --public-key FILE (the key the auditor trusts)',
      )
    }
    const path = resolve(io.cwd, opts.bundle)
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (error) {
      throw new ExitError(
        EXIT.badInput,
        `cannot read bundle ${opts.bundle}: ${(error as Error).message}`,
      )
    }
    const { verdict } = verifyBundle(text, opts.bundle, keyVerifier)
    return toReport(verdict, opts.bundle, 'public-key', 0)
  }
  const store = await openLedgerStore(opts.ledger as string, io.cwd)
  try {
    let verifier: VerifySignature | null = keyVerifier
    let mode: VerifyReport['signatures'] = 'public-key'
    if (verifier === null) {
      const range = await store.blockRange()
      const keys = []
      if (range !== null) {
        const ids = new Set((await store.readBlocks(range.first, range.last)).map((b) => b.key_id))
        for (const id of ids) {
          const pem = await store.getMeta(`public_key:${id}`)
          if (pem !== null) keys.push(parsePublicKey(pem, `ledger key ${id}`))
        }
      }
      verifier = createSignatureVerifier(keys)
      mode = 'self-attested'
    }
    const result = await verifyLedger(store, verifier)
    return toReport(result.verdict, opts.ledger as string, mode, result.unsealed_rows)
  } finally {
    await store.close()
  }
}

async function readKey(path: string, io: CliIo): Promise<VerifySignature> {
  let pem: string
  try {
    pem = await readFile(resolve(io.cwd, path), 'utf8')
  } catch (error) {
    throw new ExitError(
      EXIT.badInput,
      `cannot read public key ${path}: ${(error as Error).message}`,
    )
  }
  return createSignatureVerifier([parsePublicKey(pem, path)])
}

function toReport(
  verdict: ChainVerdict,
  source: string,
  signatures: VerifyReport['signatures'],
  unsealed: number,
): VerifyReport {
  return {
    intact: verdict.ok,
    source: source.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@'),
    signatures,
    ...verdict.summary,
    unsealed_rows: unsealed,
    failure: verdict.ok ? null : verdict.failure,
  }
}

/** Human-readable verdict. */
export function renderVerify(r: VerifyReport): string {
  const lines: string[] = []
  if (r.failure !== null) {
    const where =
      r.failure.row === null
        ? `block ${r.failure.block}`
        : `block ${r.failure.block}, row ${r.failure.row}`
    lines.push(`TAMPERED: ${where}: ${r.failure.kind}: ${r.failure.message}`)
    lines.push(`${r.blocks} blocks (${r.rows} rows) before it are intact`)
  } else {
    lines.push(`intact: ${r.blocks} blocks, ${r.rows} rows, head ${r.head}`)
    if (r.pruned_blocks > 0) {
      lines.push(
        `${r.pruned_blocks} blocks pruned by retention: header and signature checked, rows not`,
      )
    }
    if (r.unsealed_rows > 0)
      lines.push(`${r.unsealed_rows} rows not yet sealed into a block (not covered)`)
  }
  if (r.signatures === 'self-attested') {
    lines.push(
      'signatures checked against the keys stored in the ledger itself; pass --public-key for an independent check',
    )
  }
  return `${lines.join('\n')}\n`
}
