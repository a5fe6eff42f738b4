import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as fc from "fast-check"
import * as Csv from "../src/Csv.js"

const text = <E>(s: Stream.Stream<Uint8Array, E>) => Stream.runFold(s, "", (acc, b) => acc + new TextDecoder().decode(b))

describe("Csv", () => {
  it.effect("encodes records with declared columns, quoting as needed, null as #N/A", () =>
    Effect.gen(function*() {
      const out = yield* text(Csv.encode(
        Stream.fromIterable<Csv.Row>([
          { Name: "Acme, Inc.", Note: "say \"hi\"\nbye", Count: 3 },
          { Name: "Bolt", Note: null, Count: undefined },
          { Name: "When", Note: new Date("2026-01-02T03:04:05.000Z"), Count: true }
        ]),
        { columns: ["Name", "Note", "Count"] }
      ))
      expect(out).toBe(
        "Name,Note,Count\n\"Acme, Inc.\",\"say \"\"hi\"\"\nbye\",3\nBolt,#N/A,\n" +
          "When,2026-01-02T03:04:05.000Z,true\n"
      )
    }))

  it.effect("takes the columns from the first record when none are declared", () =>
    Effect.gen(function*() {
      const out = yield* text(Csv.encode()(Stream.make<Array<Csv.Row>>({ A: "1", B: "2" }, { B: "4", A: "3" })))
      expect(out).toBe("A,B\n1,2\n3,4\n")
    }))

  it.effect("a field that is not a column is an error naming the row and field, never dropped", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(text(Csv.encode(
        Stream.make<Array<Csv.Row>>({ Name: "a" }, { Name: "b", Extra: "x" }),
        { columns: ["Name"] }
      )))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        expect(exit.cause.error).toMatchObject({ _tag: "InvalidInputError", row: 2, field: "Extra" })
        expect(exit.cause.error.message).toContain("Extra")
      }
    }))

  it.effect("supports CRLF, other delimiters and a custom null", () =>
    Effect.gen(function*() {
      const out = yield* text(Csv.encode(Stream.make<Array<Csv.Row>>({ A: "x|y", B: null }), {
        columns: ["A", "B"],
        delimiter: "|",
        lineEnding: "CRLF",
        nullValue: ""
      }))
      expect(out).toBe("A|B\r\n\"x|y\"|\r\n")
    }))

  it.effect("columns and encoding from a Schema", () =>
    Effect.gen(function*() {
      const Account = Schema.Struct({ Name: Schema.String, Employees: Schema.NumberFromString })
      expect(Csv.columnsFromSchema(Account)).toEqual(["Name", "Employees"])
      const out = yield* text(Csv.encodeSchema(Account)(Stream.make({ Name: "Acme", Employees: 10 })))
      expect(out).toBe("Name,Employees\nAcme,10\n")
    }))

  it.effect("decodes a CSV split at awkward byte boundaries", () =>
    Effect.gen(function*() {
      const csv = "Id,Name\n001,\"Caf\u00e9, \"\"Zo\u00eb\"\"\"\n002,\"multi\nline\"\n"
      const bytes = new TextEncoder().encode(csv)
      const pieces = Array.from(bytes, (b) => new Uint8Array([b]))
      const rows = yield* Stream.runCollect(Csv.decode()(Stream.fromIterable(pieces)))
      expect(Chunk.toReadonlyArray(rows)).toEqual([
        { Id: "001", Name: "Caf\u00e9, \"Zo\u00eb\"" },
        { Id: "002", Name: "multi\nline" }
      ])
    }))

  it.effect("malformed CSV is an InvalidInputError", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Stream.runCollect(Csv.decode()(Stream.make(new TextEncoder().encode("A,B\n1,2,3\n")))))
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") expect(exit.cause.error._tag).toBe("InvalidInputError")
      else expect.fail("expected failure")
    }))

  it("round-trips arbitrary text through encode then decode", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ A: fc.string(), B: fc.string({ unit: "grapheme" }) }), { minLength: 1, maxLength: 20 }),
        async (rows) => {
          const decoded = await Effect.runPromise(
            Stream.runCollect(Csv.decode()(Csv.encode(Stream.fromIterable(rows), { columns: ["A", "B"] })))
          )
          expect(Chunk.toReadonlyArray(decoded)).toEqual(rows)
        }
      ),
      { numRuns: 100 }
    )
  })
})
