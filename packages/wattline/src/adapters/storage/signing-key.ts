/**
 * @module adapters/storage/signing-key
 * Ed25519 keys for block signatures (node:crypto). The private key is a PEM file created on first
 * start (mode 0600, in a folder created 0700, never overwritten); the public key is exported as SPKI
 * PEM. A key id is the first 16 hex digits of SHA-256 over the public key's DER, so signatures name
 * their key. By default the key lives beside a SQLite ledger, else in `wattline-data/`: never in
 * the config's folder (which may be a checked-in `examples/`).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  hash,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { WattlineError, type VerifySignature } from '@wattline/core'

/** File name of the default signing key. */
export const SIGNING_KEY_FILE = 'wattline-ledger.key'
/** Folder (git-ignored) for the key of a ledger that is not a SQLite file. */
export const DATA_DIR = 'wattline-data'

/**
 * Where the ledger at `url` keeps its key when `ledger.signing_key_path` is not set: beside a SQLite
 * ledger file (`<its folder>/wattline-ledger.key`), else `<baseDir>/wattline-data/wattline-ledger.key`.
 * A key created by an earlier version at `<baseDir>/wattline-ledger.key` is still used when the
 * default does not exist yet, so upgrading never changes a ledger's key.
 */
export function defaultSigningKeyPath(url: string, baseDir: string): string {
  const rest = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : null
  const path =
    rest !== null && rest !== '' && rest !== ':memory:'
      ? join(dirname(isAbsolute(rest) ? rest : resolve(baseDir, rest)), SIGNING_KEY_FILE)
      : resolve(baseDir, DATA_DIR, SIGNING_KEY_FILE)
  const legacy = resolve(baseDir, SIGNING_KEY_FILE)
  return !existsSync(path) && existsSync(legacy) ? legacy : path
}

/** Signs block hashes. */
export interface LedgerSigner {
  readonly keyId: string
  /** SPKI PEM of the public key: give it to auditors (`wattline ledger export-key`). */
  readonly publicKeyPem: string
  /** Base64 Ed25519 signature over the UTF-8 bytes of `hashHex`. */
  sign(hashHex: string): string
}

/**
 * SHA-256 of UTF-8 text as lower-case hex: the chain's hash function. `crypto.hash` (Node ≥ 20.12)
 * is the one-shot form, about twice as fast per row as `createHash(…).update(…).digest(…)`.
 */
export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex')
}

/** The key id of a public key. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16)
}

/** A signer over a private key. */
export function signerFromPrivateKey(privateKey: KeyObject): LedgerSigner {
  const publicKey = createPublicKey(privateKey)
  return {
    keyId: keyIdOf(publicKey),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign: (hashHex) => sign(null, Buffer.from(hashHex, 'utf8'), privateKey).toString('base64'),
  }
}

/** Reads the Ed25519 private key at `path`, creating it (0600) when absent unless `create: false`. */
export async function loadOrCreateSigningKey(
  path: string,
  options: { readonly create?: boolean } = {},
): Promise<LedgerSigner & { readonly created: boolean }> {
  let pem: string | null = null
  try {
    pem = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new WattlineError(
        'WL_INVALID_INPUT',
        `cannot read ledger signing key ${path}: ${(error as Error).message}`,
        { cause: error },
      )
    }
    if (options.create === false) {
      throw new WattlineError(
        'WL_INVALID_INPUT',
        `no ledger signing key at ${path} (the gateway creates it on first start; pass --signing-key FILE or --ledger URL)`,
        { details: { file: path } },
      )
    }
  }
  if (pem === null) {
    const { privateKey } = generateKeyPairSync('ed25519')
    const text = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    try {
      await writeFile(path, text, { mode: 0o600, flag: 'wx' })
      return { ...signerFromPrivateKey(privateKey), created: true }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      pem = await readFile(path, 'utf8') // another replica created it first
    }
  }
  return { ...signerFromPrivateKey(parseEd25519Pem(pem, path, 'private')), created: false }
}

/** Parses an SPKI PEM public key (Ed25519); throws `WL_INVALID_INPUT` naming `source`. */
export function parsePublicKey(pem: string, source: string): KeyObject {
  return parseEd25519Pem(pem, source, 'public')
}

const PEM_PARSERS = {
  private: { parse: createPrivateKey, ledger: 'needs' },
  public: { parse: createPublicKey, ledger: 'uses' },
} as const

/** A PEM key of `kind` that must be Ed25519; anything else is `WL_INVALID_INPUT` naming `source`. */
function parseEd25519Pem(pem: string, source: string, kind: 'private' | 'public'): KeyObject {
  const { parse, ledger } = PEM_PARSERS[kind]
  let key: KeyObject
  try {
    key = parse(pem)
  } catch (cause) {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `${source} is not a PEM ${kind} key: ${(cause as Error).message}`,
      { cause },
    )
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `${source} holds a ${String(key.asymmetricKeyType)} key; the ledger ${ledger} Ed25519`,
    )
  }
  return key
}

/**
 * A signature check over the given public keys. A block signed by a key not among them fails:
 * with an auditor's `--public-key`, a ledger re-signed with another key is caught.
 */
export function createSignatureVerifier(keys: readonly KeyObject[]): VerifySignature {
  const byId = new Map(keys.map((k) => [keyIdOf(k), k]))
  return (hashHex, signatureB64, keyId) => {
    const key = byId.get(keyId)
    if (key === undefined) return false
    try {
      return verify(null, Buffer.from(hashHex, 'utf8'), key, Buffer.from(signatureB64, 'base64'))
    } catch {
      return false // a malformed signature is a failed signature, reported by the verifier
    }
  }
}
