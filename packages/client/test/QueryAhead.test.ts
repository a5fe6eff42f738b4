/**
 * `BulkClient.query` (2.0) asks for the next result page while the reader is still on the current
 * one, so each page's request latency overlaps the reader's work; every row still arrives once, in
 * order, and no more than one page is asked ahead (parsed rows held ahead of the reader were V8
 * garbage promoted to the old generation: memory and CPU).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as BulkClient from "../src/BulkClient.js"
import { makeFake } from "./fixtures/fakeBulk2.js"

describe("2.0 query results ahead of the reader", () => {
  it.effect("the next page is fetched while the reader is still busy with the first rows, one page ahead", () => {
    const queryRows = Array.from({ length: 40 }, (_, i) => ({ Id: `001${String(i).padStart(3, "0")}`, Name: `N${i}` }))
    const fake = makeFake({ queryRows, pageSize: 10 })
    const layer = Layer.effect(BulkClient.BulkClient, BulkClient.make).pipe(Layer.provide(fake.layer))
    return Effect.gen(function*() {
      const seen: Array<Record<string, string>> = []
      const pagesWhenFirstRowRead: Array<number> = []
      const pages = () => fake.log.filter((l) => l.includes("/results")).length
      const reader = yield* Effect.fork(
        Stream.runForEach(
          BulkClient.query("SELECT Id, Name FROM Account", { pollSchedule: Schedule.spaced("1 second"), maxRecords: 10 }),
          (row) =>
            Effect.gen(function*() {
              if (seen.length === 0) {
                // a slow reader: a second on its first row
                yield* Effect.sleep("1 second")
                pagesWhenFirstRowRead.push(pages())
              }
              seen.push({ ...row })
            })
        ).pipe(Effect.provide(layer))
      )
      for (let k = 0; k < 20; k++) yield* TestClock.adjust("500 millis")
      yield* Fiber.join(reader)
      // page 2 was requested during the reader's first second (as page 1 was read), no further
      expect(pagesWhenFirstRowRead).toEqual([2])
      expect(seen).toEqual(queryRows)
      expect(pages()).toBe(4)
    })
  })

  it.effect("without maxRecords, pages of 50,000 rows are asked for (fewer round trips)", () => {
    const queryRows = Array.from({ length: 25 }, (_, i) => ({ Id: `001${String(i).padStart(3, "0")}`, Name: `N${i}` }))
    const fake = makeFake({ queryRows, pageSize: 10 })
    const layer = Layer.effect(BulkClient.BulkClient, BulkClient.make).pipe(Layer.provide(fake.layer))
    return Effect.gen(function*() {
      const reader = yield* Effect.fork(
        Stream.runCollect(BulkClient.query("SELECT Id, Name FROM Account", { pollSchedule: Schedule.spaced("1 second") })).pipe(
          Effect.provide(layer)
        )
      )
      for (let k = 0; k < 10; k++) yield* TestClock.adjust("500 millis")
      const rows = yield* Fiber.join(reader)
      expect(Array.from(rows)).toEqual(queryRows)
      const results = fake.log.filter((l) => l.includes("/results"))
      expect(results.length).toBeGreaterThan(0)
      for (const l of results) expect(l).toContain("maxRecords=50000")
    })
  })

  it.effect("a reader that stops early ends the query, the page asked ahead included", () => {
    const queryRows = Array.from({ length: 40 }, (_, i) => ({ Id: `001${String(i).padStart(3, "0")}`, Name: `N${i}` }))
    const fake = makeFake({ queryRows, pageSize: 10 })
    const layer = Layer.effect(BulkClient.BulkClient, BulkClient.make).pipe(Layer.provide(fake.layer))
    return Effect.gen(function*() {
      const reader = yield* Effect.fork(
        Stream.runCollect(
          Stream.take(BulkClient.query("SELECT Id, Name FROM Account", { pollSchedule: Schedule.spaced("1 second"), maxRecords: 10 }), 15)
        ).pipe(Effect.provide(layer))
      )
      for (let k = 0; k < 10; k++) yield* TestClock.adjust("500 millis")
      const rows = yield* Fiber.join(reader)
      expect(Array.from(rows)).toEqual(queryRows.slice(0, 15))
      // pages 1 and 2 were read, page 3 asked ahead and dropped; page 4 never asked for
      expect(fake.log.filter((l) => l.includes("/results")).length).toBe(3)
    })
  })
})
