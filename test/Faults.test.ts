/**
 * Faults end to end (issue 7): for each seeded fault scenario, on both APIs, an insert where every
 * input row ends exactly once as a success, failure or unprocessed record and the store holds no
 * duplicate, then a query that returns every row once, in order. Seeds are fixed: a failure
 * replays with the same seed.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient } from "../packages/client/src/index.js"
import * as Effect from "effect/Effect"
import {
  accounts,
  clientLayer,
  collect,
  type Emu,
  figures,
  injected,
  poll,
  SCENARIOS,
  type Scenario,
  startEmulator,
  storedByKey
} from "./FaultsSupport.js"

const N = 2_000
const SEED = 7
let emu: Emu
const total = figures()

beforeAll(async () => {
  emu = await startEmulator(SEED)
})
afterAll(async () => {
  await emu?.close()
  console.log(`[faults] figures ${JSON.stringify(total)}`)
})

const scenarios = Object.keys(SCENARIOS) as Array<Scenario>

for (const api of ["1.0", "2.0"] as const) {
  describe(`faults on Bulk API ${api}`, () => {
    for (const scenario of scenarios) {
      it(`${scenario}: insert then query; every row once, nothing duplicated, in order`, () =>
        Effect.runPromise(Effect.gen(function*() {
          const tag = `f${api.replace(".", "")}${scenario}`
          const rows = accounts(tag, N)
          emu.setFaults(SCENARIOS[scenario], { seed: SEED })
          const before = injected(emu)
          const outcome = yield* BulkClient.insert("Account", rows, {
            ...poll,
            api,
            concurrency: 4,
            batchSize: api === "1.0" ? 250 : 500
          })
          const s = outcome.summary
          expect(s.rowsRead).toBe(N)
          expect(s.succeeded + s.failed + s.unprocessed).toBe(N)
          // every input row ends exactly once across the three outcome streams
          const ends = new Map<string, number>()
          for (const o of [...yield* collect(outcome.successes), ...yield* collect(outcome.failures), ...yield* collect(outcome.unprocessed)]) {
            ends.set(o.row.Name!, (ends.get(o.row.Name!) ?? 0) + 1)
          }
          expect(ends.size).toBe(N)
          expect([...ends.values()].every((n) => n === 1)).toBe(true)
          // transport faults are all survivable: everything lands, exactly once
          expect(s.succeeded).toBe(N)
          const stored = storedByKey(emu, tag)
          expect(stored.size).toBe(N)
          const dups = [...stored.values()].filter((n) => n > 1).length
          expect(dups).toBe(0)

          const queried = yield* collect(BulkClient.query(
            `SELECT Name, ExternalId__c FROM Account WHERE Name LIKE '${tag} %' ORDER BY ExternalId__c`,
            { ...poll, api }
          ))
          expect(queried.map((r) => r.ExternalId__c)).toEqual(rows.map((r) => r.ExternalId__c))
          const after = injected(emu)
          emu.setFaults(undefined)
          total.runs += 1
          total.rowsMoved += N + queried.length
          total.retries += after.retries - before.retries
          total.renewals += after.renewals - before.renewals
          total.rowsDuplicated += dups
          total.rowsLost += N - stored.size
          if (scenario !== "expiry") expect(after.retries - before.retries).toBeGreaterThan(0)
          else expect(after.renewals - before.renewals).toBeGreaterThan(0)
        }).pipe(Effect.provide(clientLayer(emu)), Effect.ensuring(Effect.sync(() => emu.setFaults(undefined))))), 45_000)
    }
  })
}
