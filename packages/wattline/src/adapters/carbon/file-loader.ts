/**
 * @module adapters/carbon/file-loader
 * Reads a data file, or every matching file in a folder (recursively, a few levels deep), for the
 * file-backed sources. A missing or unreadable path is `WL_CARBON_SOURCE_UNAVAILABLE`.
 */
import { readdir, readFile, stat } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { WattlineError } from '@wattline/core'

export interface LoadedFile {
  readonly path: string
  /** Path shown in messages (relative to the folder given, or as given). */
  readonly label: string
  readonly text: string
}

const MAX_DEPTH = 3
const MAX_FILES = 500

/** The text of `path`, or of every file under it whose name ends with one of `extensions`. */
export async function loadDataFiles(
  path: string,
  extensions: readonly string[],
  sourceName: string,
): Promise<readonly LoadedFile[]> {
  try {
    const info = await stat(path)
    if (!info.isDirectory()) return [{ path, label: path, text: await readFile(path, 'utf8') }]
    const files = await listFiles(path, extensions, 0)
    if (files.length === 0) {
      throw new Error(`no ${extensions.join('/')} files in folder ${path}`)
    }
    if (files.length > MAX_FILES) throw new Error(`more than ${MAX_FILES} files under ${path}`)
    return await Promise.all(
      files.sort().map(async (f) => ({
        path: f,
        label: join(path, relative(path, f)),
        text: await readFile(f, 'utf8'),
      })),
    )
  } catch (cause) {
    throw new WattlineError(
      'WL_CARBON_SOURCE_UNAVAILABLE',
      `${sourceName}: cannot read ${path}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause, details: { source: sourceName, path } },
    )
  }
}

async function listFiles(
  dir: string,
  extensions: readonly string[],
  depth: number,
): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  const out: string[] = []
  for (const e of entries) {
    const full = join(dir, e.name)
    if (e.isDirectory() && depth < MAX_DEPTH)
      out.push(...(await listFiles(full, extensions, depth + 1)))
    else if (e.isFile() && extensions.some((x) => e.name.toLowerCase().endsWith(x))) out.push(full)
  }
  return out
}
