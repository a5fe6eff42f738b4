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
import { defaultPageRows, selectColumns } from "../src/internal/query2.js"
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

  // A page's bytes follow its cells: narrow queries get pages of 100,000 rows (half the requests
  // and round trips of 50,000), queries of 10 columns or more keep 50,000.
  const wide = Array.from({ length: 12 }, (_, i) => (i === 0 ? "Id" : i === 1 ? "Name" : `F${i}__c`)).join(", ")
  for (
    const [soql, want] of [
      ["SELECT Id, Name FROM Account", 100_000],
      ["SELECT Id, toLabel(Industry), FORMAT(AnnualRevenue), Name, Phone FROM Account", 100_000],
      [`SELECT ${wide} FROM Account`, 50_000]
    ] as const
  ) {
    it.effect(`without maxRecords, pages of ${want} rows are asked for: ${soql.slice(0, 40)}…`, () => {
      const queryRows = Array.from({ length: 25 }, (_, i) => ({ Id: `001${String(i).padStart(3, "0")}`, Name: `N${i}` }))
      const fake = makeFake({ queryRows, pageSize: 10 })
      const layer = Layer.effect(BulkClient.BulkClient, BulkClient.make).pipe(Layer.provide(fake.layer))
      return Effect.gen(function*() {
        const reader = yield* Effect.fork(
          Stream.runCollect(BulkClient.query(soql, { pollSchedule: Schedule.spaced("1 second") })).pipe(Effect.provide(layer))
        )
        for (let k = 0; k < 10; k++) yield* TestClock.adjust("500 millis")
        const rows = yield* Fiber.join(reader)
        expect(Array.from(rows)).toEqual(queryRows)
        const results = fake.log.filter((l) => l.includes("/results"))
        expect(results.length).toBeGreaterThan(0)
        for (const l of results) expect(l).toContain(`maxRecords=${want}`)
      })
    })
  }

  it("counts a SELECT list's columns, functions once; text that is not SELECT … FROM gets the 50,000 default", () => {
    expect(selectColumns("SELECT Id FROM Account")).toBe(1)
    expect(selectColumns("select Id,Name,\n Owner.Email from Contact where Name = 'a, b'")).toBe(3)
    expect(selectColumns("SELECT Id, toLabel(Status), convertCurrency(Amount) FROM Opportunity")).toBe(3)
    expect(selectColumns("FIND {x}")).toBeUndefined()
    expect(defaultPageRows("FIND {x}")).toBe(50_000)
    expect(defaultPageRows("SELECT Id, Name FROM Account")).toBe(100_000)
    expect(defaultPageRows("SELECT A, B, C, D, E, F, G, H FROM Account")).toBe(62_500)
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
