/**
 * @module scripts/load-mlenergy
 * Reads the ML.ENERGY LLM result files from the shared data folder (never copied into the repo)
 * and returns measured rows. Used by `fit-profiles.ts` and `bench/estimate.ts`.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  parseBenchmarkV3Task,
  parseLeaderboardV2Runs,
  WattlineError,
  type MeasuredRow,
} from '@wattline/core'

/** `../shared/data` beside the repository root. */
export const SHARED_DATA_DIR = resolve(fileURLToPath(import.meta.url), '../../../../../shared/data')

/** The files read, relative to the data folder. */
export const MLENERGY_FILES = [
  'mlenergy-benchmark-v3/tasks/lm-arena-chat.json',
  'mlenergy-benchmark-v3/tasks/sourcegraph-fim.json',
  'mlenergy-leaderboard-v2/llm_and_mllm_runs.json',
] as const

/** True when every file the fit needs is present. */
export function hasMlEnergyData(dataDir: string = SHARED_DATA_DIR): boolean {
  return MLENERGY_FILES.every((f) => existsSync(join(dataDir, f)))
}

/** All LLM rows of benchmark v3 (lm-arena-chat, sourcegraph-fim) and leaderboard v2. */
export function loadMlEnergyRows(dataDir: string = SHARED_DATA_DIR): MeasuredRow[] {
  return MLENERGY_FILES.flatMap((f) => {
    const path = join(dataDir, f)
    let json: unknown
    try {
      json = JSON.parse(readFileSync(path, 'utf8'))
    } catch (cause) {
      throw new WattlineError('WL_DATA_FORMAT', `${path}: not readable JSON`, {
        cause,
        details: { file: path },
      })
    }
    return f.startsWith('mlenergy-benchmark-v3')
      ? parseBenchmarkV3Task(json, path)
      : parseLeaderboardV2Runs(json, path)
  })
}
