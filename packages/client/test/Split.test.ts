import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import { rowDecoder } from "../src/internal/decode.js"
import { parseErrors } from "../src/internal/outcome.js"
import { lineEncoder } from "../src/internal/rows.js"
import { fileWriter, memoryWriter, split, tempDir } from "../src/internal/split.js"

const text = (u: Uint8Array) => new TextDecoder().decode(u)

const encodeAll = (rows: ReadonlyArray<Record<string, unknown>>, options: Parameters<typeof lineEncoder>[0] = {}) =>
  Effect.gen(function*() {
    const enc = yield* lineEncoder(options, rows[0])
    const lines = yield* enc.encode(rows, 0)
    return { enc, lines }
  })

describe("row encoding", () => {
  it.effect("writes a header from the first row, quotes special values, null as #N/A", () =>
    Effect.gen(function*() {
      const { enc, lines } = yield* encodeAll([
        { Name: "Acme, Inc", Note: "say \"hi\"\nthere", Count: 3, Active: true, Gone: null, Skip: undefined }
      ])
      expect(text(enc.header)).toBe("Name,Note,Count,Active,Gone,Skip\n")
      expect(text(lines[0]!)).toBe("\"Acme, Inc\",\"say \"\"hi\"\"\nthere\",3,true,#N/A,\n")
    }))

  it.effect("an unknown field in a later row is an InvalidInputError naming row and field", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(encodeAll([{ Name: "a" }, { Name: "b" }, { Name: "c", Typo__c: "x" }]))
      expect(Exit.isFailure(exit)).toBe(true)
      const err = Exit.isFailure(exit) ? (exit.cause as any).error : undefined
      expect(err._tag).toBe("InvalidInputError")
      expect(err.row).toBe(2)
      expect(err.field).toBe("Typo__c")
    }))

  it.effect("relationship objects flatten to dotted columns; other delimiters and CRLF", () =>
    Effect.gen(function*() {
      const { enc, lines } = yield* encodeAll(
        [{ LastName: "Lovelace", Account: { Ext__c: "A|1" } }],
        { columnDelimiter: "PIPE", lineEnding: "CRLF" }
      )
      expect(text(enc.header)).toBe("LastName|Account.Ext__c\r\n")
      expect(text(lines[0]!)).toBe("Lovelace|\"A|1\"\r\n")
    }))

  it.effect("a Schema fixes the columns and encodes dates, numbers, booleans and null", () =>
    Effect.gen(function*() {
      const Acc = Schema.Struct({
        Name: Schema.String,
        Founded: Schema.Date,
        Employees: Schema.NullOr(Schema.Number),
        Active: Schema.Boolean
      })
      const enc = yield* lineEncoder({ schema: Acc }, undefined)
      expect(enc.columns).toEqual(["Name", "Founded", "Employees", "Active"])
      const lines = yield* enc.encode([{ Name: "A", Founded: new Date("2020-01-02T00:00:00Z"), Employees: null, Active: false }], 0)
      expect(text(lines[0]!)).toBe("A,2020-01-02T00:00:00.000Z,#N/A,false\n")
      const bad = yield* Effect.flip(enc.encode([{ Name: "A", Founded: new Date(), Employees: "many", Active: true }], 7))
      expect(bad.row).toBe(7)
      expect(bad.field).toBe("Employees")
    }))
})

describe("split", () => {
  const lines = (n: number, width = 9) =>
    Stream.range(0, n - 1).pipe(Stream.map((i) => new TextEncoder().encode(String(i).padStart(width, "0") + "\n")))

  it.effect("1.0 style: cuts at the record limit, keeps every row, in order", () =>
    Effect.gen(function*() {
      const header = new TextEncoder().encode("Name\n")
      const pieces = yield* Stream.runCollect(split(lines(25), () => header.length, { maxBytes: 1_000_000, maxRecords: 10 }, memoryWriter(() => header)))
      const arr = Chunk.toReadonlyArray(pieces)
      expect(arr.map((p) => p.records)).toEqual([10, 10, 5])
      expect(arr.map((p) => p.firstRow)).toEqual([0, 10, 20])
      const body = arr.map((p) => text(p.body))
      expect(body.every((b) => b.startsWith("Name\n"))).toBe(true)
      const all = body.flatMap((b) => b.split("\n").slice(1, -1))
      expect(all).toEqual(Array.from({ length: 25 }, (_, i) => String(i).padStart(9, "0")))
    }))

  it.effect("cuts at the byte limit (header counted) and never exceeds it", () =>
    Effect.gen(function*() {
      const header = new TextEncoder().encode("Name\n")
      const maxBytes = 5 + 10 * 4 // header + 4 rows of 10 bytes
      const pieces = Chunk.toReadonlyArray(
        yield* Stream.runCollect(split(lines(10), () => header.length, { maxBytes, maxRecords: 10_000 }, memoryWriter(() => header)))
      )
      expect(pieces.map((p) => p.records)).toEqual([4, 4, 2])
      expect(pieces.every((p) => p.bytes <= maxBytes && p.body.length === p.bytes)).toBe(true)
    }))

  it.effect("a single row larger than a piece is an InvalidInputError naming the row", () =>
    Effect.gen(function*() {
      const header = new TextEncoder().encode("Name\n")
      const err = yield* Effect.flip(
        Stream.runDrain(split(lines(3, 30), () => header.length, { maxBytes: 20, maxRecords: 10 }, memoryWriter(() => header)))
      )
      expect(err._tag).toBe("InvalidInputError")
      expect((err as any).row).toBe(0)
    }))

  it.scoped("2.0 style: pieces spool to files that hold exactly their rows; the directory goes with the scope", () =>
    Effect.gen(function*() {
      const header = new TextEncoder().encode("Name\n")
      let dirSeen = ""
      yield* Effect.scoped(Effect.gen(function*() {
        const dir = yield* tempDir
        dirSeen = dir
        const pieces = Chunk.toReadonlyArray(
          yield* Stream.runCollect(split(lines(1000), () => header.length, { maxBytes: 5 + 10 * 300, maxRecords: 1e9 }, fileWriter(dir, () => header)))
        )
        expect(pieces.map((p) => p.records)).toEqual([300, 300, 300, 100])
        for (const p of pieces) {
          const content = Fs.readFileSync(p.path, "utf8")
          expect(Buffer.byteLength(content)).toBe(p.bytes)
          expect(content.split("\n").length - 2).toBe(p.records)
        }
      }))
      expect(Fs.existsSync(dirSeen)).toBe(false)
    }))
})

describe("per-record error text", () => {
  it("parses code, message and fields", () => {
    expect(parseErrors("REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --")).toEqual([
      { code: "REQUIRED_FIELD_MISSING", message: "Required fields are missing: [Name]", fields: ["Name"] }
    ])
  })
  it("keeps colons in the message when there are no fields", () => {
    expect(parseErrors("DUPLICATE_VALUE:duplicate value found: Code__c duplicates value on record with id: 001xx000000AbCd:--")).toEqual([
      { code: "DUPLICATE_VALUE", message: "duplicate value found: Code__c duplicates value on record with id: 001xx000000AbCd", fields: [] }
    ])
  })
  it("several fields and several errors", () => {
    expect(parseErrors("REQUIRED_FIELD_MISSING:Required fields are missing: [A, B]:A,B --INVALID_EMAIL_ADDRESS:Email: invalid email address: x:Email --")).toEqual([
      { code: "REQUIRED_FIELD_MISSING", message: "Required fields are missing: [A, B]", fields: ["A", "B"] },
      { code: "INVALID_EMAIL_ADDRESS", message: "Email: invalid email address: x", fields: ["Email"] }
    ])
  })
  it("unknown text is kept, never dropped", () => {
    expect(parseErrors("something odd happened")).toEqual([{ code: "UNKNOWN", message: "something odd happened", fields: [] }])
  })
})

describe("typed query rows", () => {
  const Contact = Schema.Struct({
    Id: Schema.String,
    Age: Schema.NullOr(Schema.Number),
    Active: Schema.Boolean,
    Born: Schema.NullOr(Schema.Date),
    Account: Schema.NullOr(Schema.Struct({ Name: Schema.String, Employees: Schema.NullOr(Schema.Number) }))
  })
  const decode = rowDecoder(Contact, "750x")

  it("coerces numbers, booleans, dates, nulls and nests relationships", () => {
    const r = decode({ Id: "003", Age: "42", Active: "true", Born: "1990-05-06", "Account.Name": "Acme", "Account.Employees": "" }, 0)
    expect(Either.getOrThrow(r)).toEqual({
      Id: "003",
      Age: 42,
      Active: true,
      Born: new Date("1990-05-06"),
      Account: { Name: "Acme", Employees: null }
    })
    const empty = decode({ Id: "003", Age: "", Active: "false", Born: "", "Account.Name": "", "Account.Employees": "" }, 1)
    expect(Either.getOrThrow(empty)).toEqual({ Id: "003", Age: null, Active: false, Born: null, Account: null })
  })

  it("matches columns case-insensitively", () => {
    const r = decode({ ID: "003", age: "1", ACTIVE: "true", born: "", "account.name": "X", "ACCOUNT.EMPLOYEES": "5" }, 0)
    expect(Either.getOrThrow(r).Account).toEqual({ Name: "X", Employees: 5 })
  })

  it("a value that does not decode names the row and field", () => {
    const r = decode({ Id: "003", Age: "forty", Active: "true", Born: "", "Account.Name": "", "Account.Employees": "" }, 17)
    expect(Either.isLeft(r)).toBe(true)
    const e = Either.flip(r).pipe(Either.getOrThrow)
    expect(e._tag).toBe("RowDecodeError")
    expect(e.row).toBe(17)
    expect(e.field).toBe("Age")
    expect(e.value).toBe("forty")
    expect(e.message).toContain("row 17")
  })
})
