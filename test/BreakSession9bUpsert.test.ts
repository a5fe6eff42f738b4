/**
 * Break session 9b (issue 15): `orderByParent: "auto"` on an upsert whose rows name one record's
 * external id in different letter case (Salesforce matches external ids case-insensitively by
 * default). Guards: what a user would lose is the OLDER row's values saved over the newer ones.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient } from "@sfbulk/client"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import { clientLayer, type Emu, fast, pacedEmulator, seedParents } from "./EmulatorSupport.js"

let emu: Emu
let layer: Layer.Layer<BulkClient.BulkClient>
const parents: Array<string> = []

beforeAll(async () => {
  emu = await pacedEmulator({ insertsPerSecond: 4_000, parallelBatches: 4 })
  for (const id of seedParents(emu, 3, "B9b ups parent")) parents.push(id)
  layer = clientLayer(emu)
})
afterAll(async () => {
  await emu?.close()
})

describe("upsert: one record's external id in two letter cases", () => {
  for (const api of ["2.0", "1.0"] as const) {
    it.live(`${api}: the later row's parent and name win, one record`, () =>
      Effect.provide(
        Effect.gen(function*() {
          const ext = `B9B-UPS-${api}`
          expect(parents[0]! < parents[1]!).toBe(true)
          const rows = [
            // the older row under the higher parent id: a sort by parent alone would send it last
            { ExternalId__c: ext, Name: "b9bups older", ParentId: parents[1]! },
            { ExternalId__c: ext.toLowerCase(), Name: "b9bups newer", ParentId: parents[0]! }
          ]
          const out = yield* BulkClient.upsert("Account", "ExternalId__c", rows, {
            ...fast,
            api,
            batchSize: 1,
            concurrency: 1,
            serial: true,
            orderByParent: "auto"
          })
          expect(out.summary).toMatchObject({ rowsRead: 2, succeeded: 2 })
          const q = emu.org.query(`SELECT Name, ParentId FROM Account WHERE ExternalId__c = '${ext}'`)
          if (!q.ok) throw new Error(q.error.message)
          expect(q.result.size).toBe(1)
          expect(q.result.row(0).map(String)).toEqual(["b9bups newer", parents[0]!])
        }),
        layer
      ))
  }
})
