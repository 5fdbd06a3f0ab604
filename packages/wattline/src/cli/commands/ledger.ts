/**
 * @module cli/commands/ledger
 * `wattline ledger export-key [--signing-key F] [--out F]`: prints (or writes) the public key that
 * matches the ledger's Ed25519 signing key, creating the key pair if it does not exist yet.
 */
import { writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { loadOrCreateSigningKey } from '../../adapters/storage/signing-key.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'
import type { CliIo } from '../io.ts'

export function register(program: Command, io: CliIo, setExit: (code: ExitCode) => void): void {
  const ledger = program.command('ledger').description('Ledger maintenance: signing keys')
  ledger
    .command('export-key')
    .description("Print the ledger's Ed25519 public key (PEM) for auditors")
    .option(
      '--signing-key <file>',
      'private key path (ledger.signing_key_path)',
      './wattline-ledger.key',
    )
    .option('--out <file>', 'write the PEM here instead of stdout')
    .action(async (opts: { signingKey: string; out?: string }) => {
      const signer = await loadOrCreateSigningKey(resolve(io.cwd, opts.signingKey))
      if (opts.out === undefined) io.stdout.write(signer.publicKeyPem)
      else {
        await writeFile(resolve(io.cwd, opts.out), signer.publicKeyPem)
        io.stderr.write(`public key ${signer.keyId} written to ${opts.out}\n`)
      }
      setExit(EXIT.ok)
    })
  ledger.exitOverride()
}
