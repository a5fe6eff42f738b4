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
import * as Cause from "effect/Cause"
import { InvalidInputError } from "../src/BulkError.js"
import { encodeLines } from "../src/internal/ingest2.js"
import { mapChunksSync } from "../src/internal/chunkStage.js"
import { isInvalidInput, lineEncoder, ROWS_PER_CHUNK, toStream, type LineBlock } from "../src/internal/rows.js"
import { fileWriter, memoryWriter, split, tempDir } from "../src/internal/split.js"

const text = (u: Uint8Array) => new TextDecoder().decode(u)

/** The lines of a block, each as text (end of line included). */
const linesOf = (block: LineBlock): Array<string> =>
  Array.from(block.ends, (end, i) => text(block.bytes.subarray(i === 0 ? 0 : block.ends[i - 1]!, end)))

/** Lines as blocks of `per` lines each (the last block may be shorter). */
const blocksOf = (lines: ReadonlyArray<string>, per: number): Array<LineBlock> => {
  const out: Array<LineBlock> = []
  for (let i = 0; i < lines.length; i += per) {
    const group = lines.slice(i, i + per).map((l) => Buffer.from(l))
    let end = 0
    out.push({ bytes: Buffer.concat(group), ends: Int32Array.from(group, (g) => (end += g.length)) })
  }
  return out
}

const encodeAll = (rows: ReadonlyArray<Record<string, unknown>>, options: Parameters<typeof lineEncoder>[0] = {}) =>
  Effect.gen(function*() {
    const enc = yield* lineEncoder(options, rows[0])
    const lines = linesOf(yield* enc.encode(rows, 0))
    return { enc, lines }
  })

describe("row encoding", () => {
  it.effect("writes a header from the first row, quotes special values, null as #N/A", () =>
    Effect.gen(function*() {
      const { enc, lines } = yield* encodeAll([
        { Name: "Acme, Inc", Note: "say \"hi\"\nthere", Count: 3, Active: true, Gone: null, Skip: undefined }
      ])
      expect(text(enc.header)).toBe("Name,Note,Count,Active,Gone,Skip\n")
      expect(lines[0]).toBe("\"Acme, Inc\",\"say \"\"hi\"\"\nthere\",3,true,#N/A,\n")
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
      expect(lines[0]).toBe("Lovelace|\"A|1\"\r\n")
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
      const lines = linesOf(
        yield* enc.encode([{ Name: "A", Founded: new Date("2020-01-02T00:00:00Z"), Employees: null, Active: false }], 0)
      )
      expect(lines[0]).toBe("A,2020-01-02T00:00:00.000Z,#N/A,false\n")
      const bad = yield* Effect.flip(enc.encode([{ Name: "A", Founded: new Date(), Employees: "many", Active: true }], 7))
      expect(bad.row).toBe(7)
      expect(bad.field).toBe("Employees")
    }))

  it.effect("one block per chunk: line ends in UTF-8 bytes, CRLF; a one-column row with an empty value is refused (Salesforce skips it as blank)", () =>
    Effect.gen(function*() {
      const rows = [{ Name: "Zoë" }, { Name: "\r" }, { Name: "日本\u{1F600}" }, { Name: "a\"b" }, { Name: "plain" }]
      const enc = yield* lineEncoder({ lineEnding: "CRLF" }, rows[0])
      const empty = yield* Effect.flip(enc.encode([{ Name: "x" }, { Name: "" }], 4))
      expect(empty).toMatchObject({ _tag: "InvalidInputError", row: 5, field: "Name" })
      const block = yield* enc.encode(rows, 0)
      expect(linesOf(block)).toEqual(["Zoë\r\n", "\"\r\"\r\n", "日本\u{1F600}\r\n", "\"a\"\"b\"\r\n", "plain\r\n"])
      expect(block.ends[block.ends.length - 1]).toBe(block.bytes.length)
      expect(block.ends[0]).toBe(Buffer.byteLength("Zoë\r\n"))
    }))
})

describe("rows read as they are encoded", () => {
  // Memory: rows pulled far ahead of their encoding outlive young-generation GCs and V8 then
  // allocates every row of the caller's generator in the old generation (see ROWS_PER_CHUNK)
  it.effect("a generator is read ROWS_PER_CHUNK rows at a time, each group encoded before the next is read; every row once", () =>
    Effect.gen(function*() {
      let pulled = 0
      function* rows() {
        for (let i = 0; i < 1000; i++) {
          pulled++
          yield { Name: `n${i}` }
        }
      }
      const seen: Array<number> = []
      const lines: Array<string> = []
      yield* Stream.runForEach(
        encodeLines(toStream<{ Name: string }, never, never>(rows()), {}, () => undefined).lines,
        (block) =>
          Effect.sync(() => {
            seen.push(pulled)
            lines.push(...linesOf(block))
          })
      )
      expect(lines).toEqual(Array.from({ length: 1000 }, (_, i) => `n${i}\n`))
      // the first block is encoded once its rows are read, not thousands of rows later
      expect(seen[0]).toBeLessThanOrEqual(ROWS_PER_CHUNK + 1)
      expect(seen.length).toBe(Math.ceil(1000 / ROWS_PER_CHUNK))
    }))

  it.effect("an array given as rows can be read again (a fresh iterator each run)", () =>
    Effect.gen(function*() {
      const stream = toStream<{ Name: string }, never, never>([{ Name: "a" }, { Name: "b" }])
      const first = yield* Stream.runCollect(stream)
      const second = yield* Stream.runCollect(stream)
      expect(Chunk.toReadonlyArray(second)).toEqual(Chunk.toReadonlyArray(first))
      expect(first.length).toBe(2)
    }))
})

describe("split", () => {
  // blocks of 7 lines: the limits below fall inside blocks
  const lines = (n: number, width = 9, per = 7) =>
    Stream.fromIterable(blocksOf(Array.from({ length: n }, (_, i) => String(i).padStart(width, "0") + "\n"), per))

  it.effect("1.0 style: cuts at the record limit, keeps every row, in order", () =>
    Effect.gen(function*() {
      const header = new TextEncoder().encode("Name\n")
      const pieces = yield* Stream.runCollect(
        split(lines(25), () => header.length, { maxBytes: 1_000_000, maxRecords: 10 }, memoryWriter(() => header))
      )
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
      // a later row, inside a block, is named by its position in the whole input
      const rows = Array.from({ length: 20 }, (_, i) => (i === 13 ? "x".repeat(40) : "y") + "\n")
      const late = yield* Effect.flip(
        Stream.runDrain(
          split(Stream.fromIterable(blocksOf(rows, 6)), () => header.length, { maxBytes: 30, maxRecords: 10 }, memoryWriter(() => header))
        )
      )
      expect((late as any).row).toBe(13)
    }))

  it.effect("piece boundaries inside blocks: every row once, in order, within both limits", () =>
    Effect.gen(function*() {
      const header = new TextEncoder().encode("Name\n")
      // rows of varied width (1..19 bytes with the newline, some multibyte)
      const rows = Array.from({ length: 500 }, (_, i) => (i % 5 === 0 ? "é" : "r") + String(i).repeat(1 + (i % 4)) + "\n")
      for (const per of [1, 3, 64, 1024]) {
        for (
          const limits of [{ maxBytes: 1_000_000, maxRecords: 37 }, { maxBytes: 5 + 100, maxRecords: 1e9 }, {
            maxBytes: 5 + 60,
            maxRecords: 4
          }]
        ) {
          const pieces = Chunk.toReadonlyArray(
            yield* Stream.runCollect(
              split(Stream.fromIterable(blocksOf(rows, per)), () => header.length, limits, memoryWriter(() => header))
            )
          )
          let next = 0
          for (const p of pieces) {
            expect(p.firstRow).toBe(next)
            expect(p.records).toBeGreaterThan(0)
            expect(p.records).toBeLessThanOrEqual(limits.maxRecords)
            expect(p.bytes).toBeLessThanOrEqual(limits.maxBytes)
            expect(p.body.length).toBe(p.bytes)
            expect(text(p.body)).toBe("Name\n" + rows.slice(p.firstRow, p.firstRow + p.records).join(""))
            // the piece was closed only because the next row would not fit
            if (p.firstRow + p.records < rows.length) {
              const nextRow = Buffer.byteLength(rows[p.firstRow + p.records]!)
              expect(p.records === limits.maxRecords || p.bytes + nextRow > limits.maxBytes).toBe(true)
            }
            next += p.records
          }
          expect(next).toBe(rows.length)
        }
      }
    }))

  it.scoped("2.0 style: pieces spool to files that hold exactly their rows; the directory goes with the scope", () =>
    Effect.gen(function*() {
      const header = new TextEncoder().encode("Name\n")
      let dirSeen = ""
      yield* Effect.scoped(Effect.gen(function*() {
        const dir = yield* tempDir
        dirSeen = dir
        const pieces = Chunk.toReadonlyArray(
          yield* Stream.runCollect(
            split(lines(1000), () => header.length, { maxBytes: 5 + 10 * 300, maxRecords: 1e9 }, fileWriter(dir, () => header))
          )
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

  it.scoped("a spool file that cannot be written is an InvalidInputError naming the file", () =>
    Effect.gen(function*() {
      const header = new TextEncoder().encode("Name\n")
      const dir = yield* tempDir
      // the spool directory is gone before the first piece opens its file
      Fs.rmSync(dir, { recursive: true, force: true })
      const exit = yield* Effect.exit(
        Stream.runDrain(split(lines(10), () => header.length, { maxBytes: 1e6, maxRecords: 1e9 }, fileWriter(dir, () => header)))
      )
      expect(Exit.isFailure(exit)).toBe(true)
      const err = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : undefined
      expect(err?._tag).toBe("Some")
      const e = (err as any).value
      expect(e._tag).toBe("InvalidInputError")
      expect(e.what).toContain("cannot write the spool file")
      expect(e.what).toContain("piece-0.csv")
    }))

  it.scoped("a long spool gives the event loop turns (timers, signals and other jobs' sockets are not held up)", () =>
    Effect.gen(function*() {
      const header = new TextEncoder().encode("Name\n")
      const dir = yield* tempDir
      let blocksSeen = 0
      let blocksAtTurn = -1
      setImmediate(() => (blocksAtTurn = blocksSeen))
      // one block per chunk, as the encoder emits them
      const blocks = Stream.map(Stream.rechunk(Stream.range(1, 200), 1), (i) => {
        blocksSeen = i
        return blocksOf([`row ${i}\n`], 1)[0]!
      })
      const pieces = Chunk.toReadonlyArray(
        yield* Stream.runCollect(split(blocks, () => header.length, { maxBytes: 1e6, maxRecords: 1e9 }, fileWriter(dir, () => header)))
      )
      expect(pieces.map((p) => p.records)).toEqual([200])
      // the immediate ran while blocks were still being cut, not once the spool was over
      expect(blocksAtTurn).toBeGreaterThan(0)
      expect(blocksAtTurn).toBeLessThan(200)
    }))
})

describe("synchronous chunk stages (mapChunksSync)", () => {
  it.effect("a thrown typed failure fails the stream with it and stops reading the input; other throws are defects", () =>
    Effect.gen(function*() {
      let pulled = 0
      const input = Stream.map(Stream.rechunk(Stream.range(1, 100), 10), (i) => {
        pulled = i
        return i
      })
      const exit = yield* Effect.exit(Stream.runCollect(mapChunksSync(input, (chunk) => {
        if (Chunk.some(chunk, (i) => i === 25)) throw new InvalidInputError({ what: "bad row", row: 24 })
        return Chunk.map(chunk, (i) => i * 2)
      }, isInvalidInput)))
      expect(Exit.isFailure(exit)).toBe(true)
      const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : undefined
      expect((failure as any)?.value?._tag).toBe("InvalidInputError")
      expect((failure as any)?.value?.row).toBe(24)
      expect(pulled).toBeLessThan(100)

      const ok = yield* Stream.runCollect(mapChunksSync(Stream.range(1, 5), (c) => Chunk.map(c, (i) => i + 1), isInvalidInput))
      expect(Chunk.toReadonlyArray(ok)).toEqual([2, 3, 4, 5, 6])

      const defect = yield* Effect.exit(Stream.runDrain(mapChunksSync(Stream.range(1, 5), () => {
        throw new TypeError("a bug")
      }, isInvalidInput)))
      expect(Exit.isFailure(defect) && Cause.isDie(defect.cause)).toBe(true)
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
    expect(
      parseErrors(
        "REQUIRED_FIELD_MISSING:Required fields are missing: [A, B]:A,B --INVALID_EMAIL_ADDRESS:Email: invalid email address: x:Email --"
      )
    ).toEqual([
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
