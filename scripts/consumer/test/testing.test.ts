/**
 * `@sfbulk/testing` as its README shows it, run by vitest in the consumer project (installed from
 * the tarballs): `it.effect` over `BulkClientEmulator.layer()` and `BulkClientMock.layer()`, with the
 * client's default polling.
 */
import { expect, layer } from "@effect/vitest"
import { BulkClient } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import { BulkClientEmulator, BulkClientMock } from "@sfbulk/testing"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

const insertAndRead = Effect.gen(function*() {
  const outcome = yield* BulkClient.insert("Account", [{ Name: "Vitest A" }, { Name: "Vitest B" }])
  expect(outcome.summary.succeeded).toBe(2)
  const rows = yield* Stream.runCollect(BulkClient.query("SELECT Name FROM Account WHERE Name LIKE 'Vitest%'"))
  expect(Chunk.toReadonlyArray(rows).map((r) => r.Name).sort()).toEqual(["Vitest A", "Vitest B"])
})

layer(BulkClientEmulator.layer())("BulkClientEmulator.layer", (it) => {
  it.effect("inserts and reads back over HTTP", () =>
    Effect.gen(function*() {
      yield* insertAndRead
      const emulator = yield* Emulator.Emulator
      const found = emulator.org.query("SELECT Id FROM Account WHERE Name = 'Vitest A'")
      expect(found.ok && found.result.size).toBe(1)
    }))

  // it.effect's TestClock stands still; the client polls on the clock it is given
  it.effect("runs on the live clock", () =>
    Effect.gen(function*() {
      expect(Math.abs((yield* Clock.currentTimeMillis) - Date.now())).toBeLessThan(60_000)
    }))
})

layer(BulkClientMock.layer())("BulkClientMock.layer", (it) => {
  it.effect("inserts and reads back in memory", () => insertAndRead)
})
