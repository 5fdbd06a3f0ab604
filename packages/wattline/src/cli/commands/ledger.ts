/**
 * @module cli/commands/ledger
 * `wattline ledger export-key [--signing-key F | --ledger URL] [--out F]`: prints (or writes) the
 * public key that matches the ledger's Ed25519 signing key. The key is found where the gateway keeps
 * it (beside a SQLite ledger, else `wattline-data/`) unless `--signing-key` names it; it is never
 * created here (a typo must not mint a key auditors would then trust).
 */
import { writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import {
  defaultSigningKeyPath,
  loadOrCreateSigningKey,
} from '../../adapters/storage/signing-key.ts'
import { DEFAULT_LEDGER_URL } from '../../config/budget.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'
import type { CliIo } from '../io.ts'

export function register(program: Command, io: CliIo, setExit: (code: ExitCode) => void): void {
  const ledger = program.command('ledger').description('Ledger maintenance: signing keys')
  ledger
    .command('export-key')
    .description("Print the ledger's Ed25519 public key (PEM) for auditors")
    .option(
      '--signing-key <file>',
      'private key path (ledger.signing_key_path; default: the key beside the --ledger file)',
    )
    .option('--ledger <url>', 'ledger whose default key to read', DEFAULT_LEDGER_URL)
    .option('--out <file>', 'write the PEM here instead of stdout')
    .action(async (opts: { signingKey?: string; ledger: string; out?: string }) => {
      const path =
        opts.signingKey === undefined
          ? defaultSigningKeyPath(opts.ledger, io.cwd)
          : resolve(io.cwd, opts.signingKey)
      const signer = await loadOrCreateSigningKey(path, { create: false })
      if (opts.out === undefined) io.stdout.write(signer.publicKeyPem)
      else {
        await writeFile(resolve(io.cwd, opts.out), signer.publicKeyPem)
        io.stderr.write(`public key ${signer.keyId} written to ${opts.out}\n`)
      }
      setExit(EXIT.ok)
    })
  ledger.exitOverride()
}
