/**
 * The ready layer: a test gets `BulkClient` over a started emulator, and the emulator itself, from
 * one line, and the records it writes land in the emulator's org.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { BulkClient, BulkError } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { BulkClientEmulator } from "../src/index.js"

const fast = { pollSchedule: Schedule.spaced("20 millis") }

layer(BulkClientEmulator.layer({ latencyMs: 5 }))("BulkClientEmulator.layer", (it) => {
  it.effect("provides BulkClient over the emulator it started", () =>
    Effect.gen(function*() {
      const outcome = yield* BulkClient.insert("Account", [{ Name: "Layer A" }, { Name: "Layer B" }], fast)
      expect(outcome.summary.succeeded).toBe(2)
      const emulator = yield* Emulator.Emulator
      const landed = emulator.org.query("SELECT Id FROM Account WHERE Name = 'Layer A'")
      expect(landed.ok && landed.result.size).toBe(1)
      const rows = yield* Stream.runCollect(BulkClient.query("SELECT Name FROM Account WHERE Name LIKE 'Layer%'", fast))
      expect(Chunk.toReadonlyArray(rows).map((r) => r.Name).sort()).toEqual(["Layer A", "Layer B"])
    }))

  // it.effect's TestClock stands still: on it, the client's polling waited forever whenever a job
  // was not complete at the first look (a test written as the README shows hung at random)
  it.effect("runs its effects on the live clock, so the client's polling advances under it.effect", () =>
    Effect.gen(function*() {
      expect(Math.abs((yield* Clock.currentTimeMillis) - Date.now())).toBeLessThan(60_000)
      yield* Effect.sleep("20 millis")
      const outcome = yield* BulkClient.insert("Account", [{ Name: "Clock A" }])
      expect(outcome.summary.succeeded).toBe(1)
    }))

  it.effect("fails with the client's typed errors", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Stream.runCollect(BulkClient.query("SELECT Nope FROM NoSuchObject__c", fast)))
      expect(error).toBeInstanceOf(BulkError.ApiError)
    }))
})

// `it.effect` runs on a `TestClock` that only moves when a test adjusts it, while the emulator
// processes jobs on real timers: before the layer set the live clock, a poll that had to wait
// slept forever and the insert never settled (nor did a timeout around it).
describe("BulkClientEmulator.layer under it.effect (TestClock)", () => {
  for (const api of ["1.0", "2.0"] as const) {
    it.effect(`an insert whose job is still queued at the first poll finishes (Bulk API ${api})`, () =>
      Effect.gen(function*() {
        const outcome = yield* BulkClient.insert("Account", [{ Name: "Clock A" }], { ...fast, api }).pipe(
          // a guard, not a timing assertion: on a TestClock neither it nor the polls would fire
          Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => "hung" })
        )
        expect(outcome.summary.succeeded).toBe(1)
      }).pipe(Effect.provide(BulkClientEmulator.layer({ latencyMs: 300 }))), 40_000)
  }
})
