/**
 * Break session 7: a contended insert with `orderByParent` and lock rounds (the input's sort runs,
 * the round's spool and group files) interrupted at a sweep of moments, from before the first
 * request to the follow-up rounds: nothing is left in the temp directory after any of them.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient } from "@sfbulk/client"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Fs from "node:fs"
import { clientLayer, type Emu, fast, pacedEmulator, seedParents } from "./EmulatorSupport.js"
import { ownTmpdir } from "./FaultsSupport.js"

const tmp = ownTmpdir("sfbulk-break7-int-")
let emu: Emu
let layer: Layer.Layer<BulkClient.BulkClient>
const parents: Array<string> = []

beforeAll(async () => {
  emu = await pacedEmulator({ insertsPerSecond: 4_000, parallelBatches: 4 })
  for (const id of seedParents(emu, 4, "Break7 int parent")) parents.push(id)
  layer = clientLayer(emu)
})
afterAll(async () => {
  await emu?.close()
})

for (const api of ["2.0", "1.0"] as const) {
  describe(`interrupted contended insert on ${api}`, () => {
    it.live("at any moment: no temp file or directory is left", () =>
      Effect.gen(function*() {
        const left: Array<string> = []
        for (const ms of [0, 1, 3, 7, 15, 30, 60, 120, 200, 300, 450, 650, 900]) {
          const rows = Array.from({ length: 800 }, (_, i) => ({
            LastName: `b7int${api}-${ms}-${i}`,
            AccountId: parents[i % 2]!,
            Description: `😀 "q", \r\n ${i}`
          }))
          const fiber = yield* Effect.fork(
            BulkClient.insert("Contact", rows, {
              ...fast,
              api,
              batchSize: 100,
              concurrency: 4,
              orderByParent: "AccountId",
              retryLockedRows: 5
            }).pipe(Effect.provide(layer))
          )
          yield* Effect.sleep(`${ms} millis`)
          yield* Fiber.interrupt(fiber)
          const rest = Fs.readdirSync(tmp(), { recursive: true }).map(String)
          if (rest.length > 0) left.push(`${ms} ms: ${rest.join(", ")}`)
        }
        expect(left).toEqual([])
      }).pipe(Effect.provide(layer)), 120_000)
  })
}
