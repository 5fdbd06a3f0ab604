/**
 * @module compose/paris-config.test-support
 * For the compose tests: a parsed config of one `chat` service and one backend, `paris` (FR,
 * H100-SXM) at an address nothing answers on, serving the given models.
 */
import { parseConfig } from '../config/parse-config.ts'
import { TEST_CATALOG } from '../http/harness.test-support.ts'

/** The config of `paris` serving `models`, with the further top-level `sections` and `env`. */
export function parisConfig(
  models: readonly string[],
  sections: Record<string, unknown> = {},
  env: Record<string, string> = {},
) {
  const parsed = parseConfig(
    {
      ...sections,
      services: [{ name: 'chat', default: true }],
      backends: [
        {
          id: 'paris',
          url: 'http://127.0.0.1:1/v1',
          zone: 'FR',
          hardware: 'H100-SXM',
          models,
        },
      ],
    },
    { catalog: TEST_CATALOG, env },
  )
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues))
  return parsed.value
}
