/**
 * Writes `fleet.schema.json` at the repository root from the zod fleet schema
 * (packages/wattline/src/sim/fleet-schema.ts). Run after changing the schema:
 *   node --import tsx packages/wattline/scripts/write-fleet-schema.ts
 * A test (sim/fleet-schema.test.ts) fails when the committed file drifts from the schema.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { fleetJsonSchema } from '../src/sim/fleet-schema.ts'

const target = fileURLToPath(new URL('../../../fleet.schema.json', import.meta.url))
writeFileSync(target, `${JSON.stringify(fleetJsonSchema(), null, 2)}\n`)
console.log(`wrote ${target}`)
