/**
 * @module cli/read-cli-text
 * Reads a file named on the command line as UTF-8 text; one that cannot be read exits 2 (bad input)
 * with "cannot read <what>: <cause>", prefixed by the flag that named it where one did.
 */
import { readFile } from 'node:fs/promises'
import { EXIT, ExitError } from './exit-codes.ts'

/** The text of `path` (already resolved); `what` names it as the user wrote it, e.g. `result r.json`. */
export async function readCliText(path: string, what: string, flag?: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    throw new ExitError(
      EXIT.badInput,
      `${flag === undefined ? '' : `${flag}: `}cannot read ${what}: ${(error as Error).message}`,
    )
  }
}
