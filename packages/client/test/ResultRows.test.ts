import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { parseRecords, parseRows } from "../src/internal/csvParse.js"
import { resultColumns } from "../src/internal/ingest2.js"
import { ownId } from "../src/internal/outcome.js"
import { toText } from "../src/internal/query1.js"

const bytes = (text: string, cut = 7) => {
  const all = new TextEncoder().encode(text)
  const parts: Array<Uint8Array> = []
  for (let i = 0; i < all.length; i += cut) parts.push(all.slice(i, i + cut))
  return Stream.fromIterable(parts)
}

/** The uploaded columns of each data row, as the 2.0 outcome streams build them. */
const rows = (text: string) =>
  Stream.runCollect(parseRows(bytes(text), ",", (h) => {
    const c = resultColumns(h)
    return (f) => ({ id: c.id < 0 ? undefined : f[c.id], created: c.created >= 0 ? f[c.created] : undefined, row: c.row(f) })
  })).pipe(Effect.map(Chunk.toArray))

describe("2.0 result rows built from parsed fields", () => {
  it.effect("sf__ columns are read by position; the row holds only the uploaded columns, keyed like the records", () =>
    Effect.gen(function*() {
      const text =
        "\uFEFFsf__Id,sf__Created,Name,Note,Name,__proto__\n001000000000001AAA,true,a,\"x,\"\"y\"\"\",b,p\n001000000000002AAA,false,c,,d,q\n"
      const out = yield* rows(text)
      expect(out).toEqual([
        { id: "001000000000001AAA", created: "true", row: { Name: "b", Note: "x,\"y\"" } },
        { id: "001000000000002AAA", created: "false", row: { Name: "d", Note: "" } }
      ])
      // same keys, order and values as the public records minus the sf__ columns
      const records = Chunk.toArray(yield* Stream.runCollect(parseRecords(bytes(text), ",")))
      expect(out.map((r) => Object.entries(r.row))).toEqual(
        records.map((r) => Object.entries(r).filter(([k]) => !k.startsWith("sf__")))
      )
    }))

  it.effect("an unprocessed file has no sf__ columns", () =>
    Effect.gen(function*() {
      expect(yield* rows("Name,Phone\nAcme,1\n")).toEqual([{ id: undefined, created: undefined, row: { Name: "Acme", Phone: "1" } }])
    }))

  it.effect("malformed CSV fails with the same message as the record parser", () =>
    Effect.gen(function*() {
      for (
        const text of ["sf__Id,Name\n001,a\n002\n", "sf__Id,Name\n001,a\"b\n", "sf__Id,Name\n001,\"open\n", "sf__Id,Name\n001,x \"q\"\n"]
      ) {
        const a = yield* Effect.either(rows(text))
        const b = yield* Effect.either(Stream.runCollect(parseRecords(bytes(text), ",")))
        expect(Either.isLeft(a)).toBe(true)
        expect(Either.getLeft(a)).toEqual(Either.getLeft(b))
      }
    }))
})

describe("ownId", () => {
  it("returns the same id as a string of its own; other values as they are", () => {
    const page = "x".repeat(100) + "001000000000001AAA,0010000000000AB,a-b-c-d-e-f-g-h,abcdefghijklmnopqrstuvwxyz0123"
    for (const v of ["001000000000001AAA", "0010000000000AB", "a-b-c-d-e-f-g-h", "abcdefghijklmnopqrstuvwxyz0123"]) {
      const slice = page.slice(page.indexOf(v), page.indexOf(v) + v.length)
      expect(ownId(slice)).toBe(v)
    }
    expect(ownId("")).toBe("")
    expect(ownId("short")).toBe("short")
    expect(ownId("001000000000001AA\u00e9")).toBe("001000000000001AA\u00e9")
  })
})

describe("1.0 query rows", () => {
  it("a CSV record (all strings) is handed over as parsed; other values are rendered as CSV would show them", () => {
    const csv = { Id: "001000000000001AAA", Name: "Acme, Inc." }
    expect(toText(csv)).toBe(csv)
    expect(toText({ Id: "001000000000001AAA", NumberOfEmployees: 12, Parent: null, Flag: true })).toEqual({
      Id: "001000000000001AAA",
      NumberOfEmployees: "12",
      Parent: "",
      Flag: "true"
    })
  })
})
