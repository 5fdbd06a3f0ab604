/**
 * @module input/read-input-text
 * Reads a user-named input file (fleet, gateway config as a fleet, latency matrix, workload) as
 * UTF-8 text; a file that cannot be read is bad input: `WL_INVALID_INPUT` naming what it is and
 * where, with `details.file`.
 */
import { readFile } from 'node:fs/promises'
import { WattlineError } from '@wattline/core'

/** How a file's text is read (tests pass an in-memory reader). */
export type ReadText = (path: string) => Promise<string>

export const readUtf8: ReadText = (path) => readFile(path, 'utf8')

/**
 * The text of `path`; throws `WL_INVALID_INPUT` "cannot read <what> <shown>: <cause>" when it cannot
 * be read. `shown` is the path as the user wrote it (default `path`).
 */
export async function readInputText(
  path: string,
  what: string,
  readText: ReadText = readUtf8,
  shown: string = path,
): Promise<string> {
  try {
    return await readText(path)
  } catch (cause) {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `cannot read ${what} ${shown}: ${(cause as Error).message}`,
      { cause, details: { file: shown } },
    )
  }
}
