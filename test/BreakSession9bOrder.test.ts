/**
 * Break session 9b (issue 15): `orderByParent` after the lead's second pass (a record's rows kept
 * together, `"auto"` resolving columns from declared columns or a sample). Each test says what a
 * user loses when it fails.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import { orderedByParent, type ParentOrder, recordKeyOf } from "../packages/client/src/internal/lockRetry.js"
import { schemaColumns, schemaRenames, toStream } from "../packages/client/src/internal/rows.js"
import { collect } from "./EmulatorSupport.js"
import { withOwnTmpdir } from "./FaultsSupport.js"

const P1 = "001000000000001AAA"
const P2 = "001000000000002AAA"
const P3 = "001000000000003AAA"
const auto = (declared?: ReadonlyArray<string>): ParentOrder => ({
  _tag: "Auto",
  references: [{ name: "AccountId", relationshipName: "Account" }],
  ...(declared === undefined ? {} : { declared })
})

/** The batches `size` rows each that the rows are cut into (1.0 batches, 2.0 internal batches). */
const batches = <A>(rows: ReadonlyArray<A>, size: number): Array<Array<A>> =>
  Array.from({ length: Math.ceil(rows.length / size) }, (_, i) => rows.slice(i * size, (i + 1) * size))

/** Per batch, the Ids written more than once in it. */
const duplicatesPerBatch = (rows: ReadonlyArray<{ readonly Id: string }>, size: number) =>
  batches(rows, size).flatMap((b) => b.map((r) => r.Id).filter((id, i, all) => all.indexOf(id) !== i))

describe("a record's rows kept together (parentOrdered)", () => {
  // What a user loses: Salesforce rejects a batch's second row for a record already in that batch
  // ("Duplicate Id Specified", Salesforce Help 000384876: "if the Upsert or Update operation attempts
  // to process duplicate entries ... within the same batch of records, the operation will fail";
  // rows of one record in separate batches are each applied). An update whose two rows for a record
  // sat in different batches of the input (both applied without orderByParent) gets them adjacent,
  // in ONE batch, by orderByParent: on a real org the record's later row fails (and with it the
  // value the user meant to save). The emulator does not model the rule, so it reports success.
  it.effect("update: two rows of one record that the input sends in different batches are not put into one batch", () =>
    Effect.gen(function*() {
      const X = "003000000000001AAA"
      const rows = [
        { Id: X, AccountId: P1, Description: "older" },
        { Id: "003000000000002AAA", AccountId: P2, Description: "y" },
        { Id: "003000000000003AAA", AccountId: P3, Description: "z" },
        { Id: X, AccountId: P1, Description: "newer" }
      ]
      const size = 2
      // the input itself sends X once per batch
      expect(duplicatesPerBatch(rows, size)).toEqual([])
      const sorted = yield* collect(orderedByParent(Stream.fromIterable(rows), auto(), { recordOf: recordKeyOf("update", undefined) }))
      expect(sorted.map((r) => r.Description)).toContain("newer")
      expect(duplicatesPerBatch(sorted, size)).toEqual([])
    }))
})

describe("auto's columns from a typed Schema", () => {
  // What a user loses: with a Schema whose fields are renamed from the Salesforce columns
  // (`Schema.fromKey`: the row's `accountId` is sent as `AccountId`), "auto" resolves the parent
  // column from the Schema's ENCODED names (`AccountId`) but reads it from the TYPED rows, which
  // have `accountId`: every row's parent is "", nothing is sorted, and the journal records
  // `orderedBy: ["AccountId"]` as if it were. The load meets the lock contention orderByParent was
  // asked to avoid, silently.
  it.effect("rows are sorted by the parent of a renamed (fromKey) Schema field", () =>
    Effect.gen(function*() {
      const Row = Schema.Struct({
        lastName: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("LastName")),
        accountId: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("AccountId"))
      })
      const declared = schemaColumns(Row)
      expect(declared).toContain("AccountId")
      const rows: Array<typeof Row.Type> = [
        { lastName: "a", accountId: P3 },
        { lastName: "b", accountId: P1 },
        { lastName: "c", accountId: P2 },
        { lastName: "d", accountId: P1 }
      ]
      // as parentOrderOf builds it from the Schema: its columns, and the renamed fields
      const order: ParentOrder = {
        _tag: "Auto",
        references: [{ name: "AccountId", relationshipName: "Account" }],
        declared,
        renamed: schemaRenames(Row)
      }
      const sorted = yield* collect(orderedByParent(Stream.fromIterable(rows), order))
      expect(sorted.map((r) => r.lastName)).toEqual(["b", "d", "c", "a"])
    }))
})

describe("auto's columns from a sample of the first chunk", () => {
  // What a user loses: rows given as an AsyncIterable (a database cursor, a generator reading an
  // API) arrive one per chunk, so the "up to 1,000 rows" sample is the first row alone. A first
  // row without the lookup (plain objects leave out a property they have no value for) resolves no
  // parent column: the whole load is sent unsorted, with no word, though every later row has one.
  it.effect("an AsyncIterable whose first row has no AccountId is still sorted by AccountId", () =>
    Effect.gen(function*() {
      const rows: Array<Record<string, string>> = [
        { LastName: "orphan" },
        { LastName: "a", AccountId: P3 },
        { LastName: "b", AccountId: P1 },
        { LastName: "c", AccountId: P2 },
        { LastName: "d", AccountId: P1 }
      ]
      async function* cursor() {
        for (const r of rows) yield r
      }
      const sorted = yield* collect(orderedByParent(toStream<Record<string, string>, never, never>(cursor()), auto()))
      // rows without a parent first (key ""), then by parent, ties in input order
      expect(sorted.map((r) => r.LastName)).toEqual(["orphan", "b", "d", "c", "a"])
    }))

  it.effect("guard: the same rows as an array (one chunk) are sorted", () =>
    Effect.gen(function*() {
      const rows: Array<Record<string, string>> = [
        { LastName: "orphan" },
        { LastName: "a", AccountId: P3 },
        { LastName: "b", AccountId: P1 }
      ]
      const sorted = yield* collect(orderedByParent(toStream<Record<string, string>, never, never>(rows), auto()))
      expect(sorted.map((r) => r.LastName)).toEqual(["orphan", "b", "a"])
    }))
})

describe("interrupting the second sort (a record's rows kept together)", () => {
  // What a user loses: the spooled runs hold the user's rows (customer data left in /tmp, a disk
  // filling up run after run) if an interruption while the second sort (by each record's first
  // parent) reads or merges its runs leaves its files or the first sort's behind.
  const n = 250_000
  const rows = Stream.map(Stream.range(0, n - 1), (i) => ({
    Id: `003${String((i * 7919) % n).padStart(12, "0")}AAA`,
    AccountId: `001${String((i * 31) % 500).padStart(12, "0")}AAA`,
    Description: `row ${i}`
  }))
  const sorted = orderedByParent(rows, auto(), { recordOf: recordKeyOf("update", undefined) })
  const entries = (dir: string) => Fs.readdirSync(dir, { recursive: true }).map(String)
  const dirs = (dir: string) => Fs.readdirSync(dir).length

  it.live("while both sorts' runs are on disk, and while the second merges: nothing left in the temp dir", () =>
    Effect.gen(function*() {
      for (const when of ["two sorts spooled", "merging"] as const) {
        yield* withOwnTmpdir(`sfbulk-b9b-${when.slice(0, 3)}-`, (tmp) =>
          Effect.gen(function*() {
            let emitted = 0
            const fiber = yield* Effect.fork(
              Stream.runForEach(sorted, () => Effect.andThen(Effect.sync(() => emitted++), Effect.sleep("1 millis")))
            )
            const reached = () => (when === "merging" ? emitted > 0 : dirs(tmp) >= 2)
            for (let i = 0; i < 6000 && !reached(); i++) yield* Effect.sleep("2 millis")
            expect(reached()).toBe(true)
            // spooled runs on disk at the interruption (the first sort's are gone once the second has read them)
            expect(dirs(tmp)).toBeGreaterThanOrEqual(1)
            yield* Fiber.interrupt(fiber)
            expect(entries(tmp)).toEqual([])
          }))
      }
    }), 60_000)
})
