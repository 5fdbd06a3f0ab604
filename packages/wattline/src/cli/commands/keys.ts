/**
 * @module cli/commands/keys
 * `wattline keys hash --from-env NAME | --key-file FILE [--tenant T] [--json]`: the SHA-256 digest of
 * a tenant API key, to put in `services[].api_keys[].key_sha256` so the config holds no key. The
 * key is read from an environment variable or a file (one trailing newline dropped), never from the
 * command line where shell history and `ps` would keep it; it is never printed.
 */
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { keyDigest } from '../../config/tenants.ts'
import { EXIT, ExitError, type ExitCode } from '../exit-codes.ts'
import { writeJson, type CliIo } from '../io.ts'

interface HashOptions {
  fromEnv?: string
  keyFile?: string
  tenant?: string
  json?: boolean
}

export function register(program: Command, io: CliIo, setExit: (code: ExitCode) => void): void {
  const keys = program
    .command('keys')
    .description('Tenant API keys: hash a key for api_keys[].key_sha256')
  keys
    .command('hash')
    .description(
      'Print the SHA-256 digest of a tenant key (for api_keys[].key_sha256); the key is read from an environment variable or a file, never printed',
    )
    .option('--from-env <name>', 'environment variable holding the key')
    .option('--key-file <file>', 'file holding the key (one trailing newline is dropped)')
    .option('--tenant <name>', 'also print the api_keys entry for this tenant')
    .option('--json', 'machine-readable output')
    .action(async (opts: HashOptions) => {
      const key = await readKey(opts, io)
      const sha256 = keyDigest(key)
      if (opts.json === true) {
        writeJson(io, {
          ...(opts.tenant === undefined ? {} : { tenant: opts.tenant }),
          key_sha256: sha256,
        })
      } else if (opts.tenant === undefined) {
        io.stdout.write(`${sha256}\n`)
      } else {
        io.stdout.write(`- { tenant: ${JSON.stringify(opts.tenant)}, key_sha256: ${sha256} }\n`)
      }
      setExit(EXIT.ok)
    })
}

async function readKey(opts: HashOptions, io: CliIo): Promise<string> {
  if ((opts.fromEnv === undefined) === (opts.keyFile === undefined))
    throw new ExitError(
      EXIT.badInput,
      'give the key with exactly one of --from-env NAME or --key-file FILE',
    )
  let key: string
  if (opts.fromEnv !== undefined) {
    const value = io.env[opts.fromEnv]
    if (value === undefined)
      throw new ExitError(
        EXIT.badInput,
        `--from-env: environment variable ${opts.fromEnv} is not set`,
      )
    key = value
  } else {
    const file = resolve(io.cwd, opts.keyFile as string)
    try {
      key = (await readFile(file, 'utf8')).replace(/\r?\n$/, '')
    } catch (error) {
      throw new ExitError(
        EXIT.badInput,
        `--key-file: cannot read ${file}: ${(error as { code?: string }).code ?? String(error)}`,
      )
    }
  }
  if (key === '') throw new ExitError(EXIT.badInput, 'the key is empty')
  if (/\s/.test(key))
    throw new ExitError(
      EXIT.badInput,
      'the key contains whitespace; a bearer token cannot (Authorization: Bearer <key>)',
    )
  return key
}
