/**
 * @module cli/commands/verify
 * `wattline verify --ledger URL [--public-key F]` and `wattline verify --bundle F --public-key F`:
 * exit 0 when the chain is intact, 1 naming the first bad block and row, 2 on bad input.
 * Without `--public-key`, a ledger's signatures are checked against the keys it stores itself
 * (self-attested: an attacker with write access could replace them), and the output says so.
 * The unsealed tail (rows after the last sealed block) is reported explicitly: how many rows, since
 * when, and whether the writer's signed checkpoints vouch for them (exit 0) or not (exit 1, naming
 * the rows); rows a writer quarantined on resume are named too (exit 1).
 */
import { resolve } from 'node:path'
import type { Command } from 'commander'
import type { TailProblem, TailVerdict, VerifySignature } from '@wattline/core'
import { openLedgerStore } from '../../adapters/storage/open-ledger.ts'
import { createSignatureVerifier, parsePublicKey } from '../../adapters/storage/signing-key.ts'
import {
  verifyBundle,
  verifyLedger,
  type LedgerVerification,
  type QuarantinedRows,
} from '../../adapters/storage/verify-ledger.ts'
import { EXIT, ExitError, type ExitCode } from '../exit-codes.ts'
import { readCliText } from '../read-cli-text.ts'
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
  /** The first problem (the chain's, else the tail's, else the first quarantined one). */
  readonly failure: { kind: string; block: number; row: number | null; message: string } | null
  /** Rows after the last sealed block; null for bundles (they hold sealed blocks only). */
  readonly unsealed: UnsealedReport | null
  /** Rows a writer found tampered in an unsealed tail and left out of every signed block. */
  readonly quarantined: readonly QuarantineReport[]
}

/** The unsealed tail in `--json`. */
export interface UnsealedReport {
  readonly rows: number
  readonly block: number
  /** When its first row was written (ISO 8601), null when empty. */
  readonly since: string | null
  /** The writer's newest checkpoint (ISO 8601), null when none. */
  readonly last_checkpoint: string | null
  /** Rows the writer's signed checkpoints vouch for. */
  readonly vouched_rows: number
  /** What does not verify (each names a row range of a block); empty when the tail is honest. */
  readonly problems: readonly TailProblem[]
}

/** A writer's quarantine in `--json`. */
export interface QuarantineReport {
  /** When the writer quarantined the rows (ISO 8601). */
  readonly at: string
  readonly block: number
  readonly kept_rows: number
  readonly rows: number
  readonly problems: readonly TailProblem[]
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
    const text = await readCliText(path, `bundle ${opts.bundle}`)
    const { verdict } = verifyBundle(text, opts.bundle, keyVerifier)
    return toReport(
      { verdict, unsealed_rows: 0, tail: null, quarantined: [] },
      opts.bundle,
      'public-key',
    )
  }
  const store = await openLedgerStore(opts.ledger as string, io.cwd, { mustExist: true })
  try {
    let verifier: VerifySignature | null = keyVerifier
    let mode: VerifyReport['signatures'] = 'public-key'
    if (verifier === null) {
      const range = await store.blockRange()
      const keys = []
      const ids = new Set(((await store.chainTail()).checkpoints ?? []).map((c) => c.key_id))
      if (range !== null) {
        for (const b of await store.readBlocks(range.first, range.last)) ids.add(b.key_id)
      }
      {
        for (const id of ids) {
          const pem = await store.getMeta(`public_key:${id}`)
          if (pem !== null) keys.push(parsePublicKey(pem, `ledger key ${id}`))
        }
      }
      verifier = createSignatureVerifier(keys)
      mode = 'self-attested'
    }
    const result = await verifyLedger(store, verifier)
    return toReport(result, opts.ledger as string, mode)
  } finally {
    await store.close()
  }
}

async function readKey(path: string, io: CliIo): Promise<VerifySignature> {
  const pem = await readCliText(resolve(io.cwd, path), `public key ${path}`)
  return createSignatureVerifier([parsePublicKey(pem, path)])
}

function toReport(
  result: LedgerVerification,
  source: string,
  signatures: VerifyReport['signatures'],
): VerifyReport {
  const { verdict, tail } = result
  const quarantined = result.quarantined.map(toQuarantineReport)
  const tailProblem = tail?.problems[0]
  const quarantineProblem = quarantined[0]?.problems[0]
  const failure = !verdict.ok
    ? verdict.failure
    : tailProblem !== undefined
      ? asFailure(tailProblem, 'unsealed tail')
      : quarantineProblem !== undefined
        ? asFailure(quarantineProblem, 'quarantined by the writer')
        : null
  return {
    intact: failure === null,
    source: source.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@'),
    signatures,
    ...verdict.summary,
    unsealed_rows: result.unsealed_rows,
    failure,
    unsealed: tail === null ? null : toUnsealed(tail),
    quarantined,
  }
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())

function toUnsealed(tail: TailVerdict): UnsealedReport {
  return {
    rows: tail.rows,
    block: tail.block,
    since: iso(tail.since_ms),
    last_checkpoint: iso(tail.last_ms),
    vouched_rows: tail.authenticated_rows,
    problems: tail.problems,
  }
}

function toQuarantineReport(q: QuarantinedRows): QuarantineReport {
  return {
    at: iso(q.at_ms) as string,
    block: q.block_seq,
    kept_rows: q.kept_rows,
    rows: q.rows,
    problems: q.problems,
  }
}

function asFailure(p: TailProblem, where: string): NonNullable<VerifyReport['failure']> {
  return { kind: p.kind, block: p.block, row: p.first_row, message: `${where}: ${p.message}` }
}

/** `block 3, rows 5-7` (or one row, or the block alone). */
function rowsOf(p: TailProblem): string {
  if (p.first_row === null) return `block ${p.block}`
  return p.first_row === p.last_row || p.last_row === null
    ? `block ${p.block}, row ${p.first_row}`
    : `block ${p.block}, rows ${p.first_row}-${p.last_row}`
}

/** Human-readable verdict. */
export function renderVerify(r: VerifyReport): string {
  const lines: string[] = []
  const tailProblems = r.unsealed?.problems ?? []
  // the sealed chain verified (the tail was checked) but the tail or a quarantine failed
  if (r.failure !== null && r.unsealed !== null) {
    for (const p of tailProblems) {
      lines.push(`TAMPERED: unsealed tail, ${rowsOf(p)}: ${p.kind}: ${p.message}`)
    }
    for (const q of r.quarantined) {
      for (const p of q.problems) {
        lines.push(
          `TAMPERED: ${rowsOf(p)}: ${p.kind}: ${p.message} (quarantined by the writer at ${q.at}: left out of every signed block)`,
        )
      }
    }
    lines.push(`the sealed chain verifies: ${r.blocks} blocks, ${r.rows} rows, head ${r.head}`)
  } else if (r.failure !== null) {
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
  }
  if (r.unsealed !== null && r.unsealed.rows > 0 && r.unsealed.problems.length === 0) {
    lines.push(
      `${r.unsealed.rows} unsealed rows since ${r.unsealed.since ?? '?'} (block ${r.unsealed.block}): the writer's signed checkpoints vouch for all of them (last ${r.unsealed.last_checkpoint ?? '?'}); a block signature covers them once sealed`,
    )
  } else if (r.unsealed !== null && r.unsealed.rows > 0) {
    lines.push(
      `${r.unsealed.rows} unsealed rows since ${r.unsealed.since ?? '?'} (block ${r.unsealed.block}), ${r.unsealed.vouched_rows} vouched for by the writer's checkpoints`,
    )
  }
  if (r.signatures === 'self-attested') {
    lines.push(
      'signatures checked against the keys stored in the ledger itself; pass --public-key for an independent check',
    )
  }
  return `${lines.join('\n')}\n`
}
