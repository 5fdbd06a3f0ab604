/**
 * Writes `config.schema.json` at the repo root from the zod config schema (input side: what a user
 * may write, defaults applied by Wattline). Run: `npx tsx packages/wattline/scripts/build-config-schema.ts`.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as z from 'zod'
import { configSchema } from '../src/config/schema.ts'

const out = fileURLToPath(new URL('../../../config.schema.json', import.meta.url))
const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' })
writeFileSync(out, `${JSON.stringify(schema, null, 2)}\n`)
console.log(`wrote ${out}`)
