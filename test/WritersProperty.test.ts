/**
 * Every CSV writer and reader of sfbulk agree on every value (issue 12): random values of any
 * Unicode, with CR, LF and CRLF, quotes, every Salesforce delimiter and leading `= + - @`, written
 * by each writer (the `@sfbulk/csv` writer, `Csv.encode`, the upload line encoder, the CLI's result
 * and export writer) and read back by each reader (the strict `@sfbulk/csv` reader in any chunking,
 * `Csv.decode`, the result-page parser, the CLI's input reader) come back exactly; one-column files
 * with empty values keep every record.
 */
import { CsvReader, CsvWriter } from "@sfbulk/csv"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import fc from "fast-check"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { openCsv } from "../packages/cli/src/internal/input.js"
import { csvText, guardFormula } from "../packages/cli/src/internal/output.js"
import { Csv } from "../packages/client/src/index.js"
import { parseRows } from "../packages/client/src/internal/csvParse.js"
import { type ColumnDelimiter, delimiterChar, lineEncoder } from "../packages/client/src/internal/rows.js"

const SPECIAL = ["\r", "\n", "\r\n", "\"", "\"\"", ",", ";", "\t", "|", "^", "`", "=", "+", "-", "@", " ", "é€😀", "\uFEFF"]
const value = fc.array(fc.oneof(fc.constantFrom(...SPECIAL), fc.string({ unit: "binary", maxLength: 6 })), { maxLength: 6 }).map((p) =>
  p.join("")
)
const names = ["Name", "Description", "City__c"]
const table = fc.record({
  width: fc.integer({ min: 1, max: 3 }),
  rows: fc.array(fc.array(value, { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 8 }),
  delimiter: fc.constantFrom<ColumnDelimiter>("COMMA", "SEMICOLON", "TAB", "PIPE", "CARET", "BACKQUOTE"),
  crlf: fc.boolean(),
  cut: fc.integer({ min: 1, max: 17 })
}).map((t) => ({ ...t, columns: names.slice(0, t.width), rows: t.rows.map((r) => r.slice(0, t.width)) }))

type Table = typeof table extends fc.Arbitrary<infer T> ? T : never

const records = (t: Table): Array<Record<string, string>> => t.rows.map((r) => Object.fromEntries(t.columns.map((c, i) => [c, r[i]!])))
const utf8 = (s: string) => new TextEncoder().encode(s)
/** A one-column record with an empty value: Salesforce skips it as blank, so uploads refuse it. */
const blankRecord = (t: Table) => t.width === 1 && t.rows.some((r) => r[0] === "")
const join = (chunks: Chunk.Chunk<Uint8Array>) => Buffer.concat(Chunk.toReadonlyArray(chunks))
const pieces = (b: Uint8Array, n: number) => Array.from({ length: Math.ceil(b.length / n) }, (_, i) => b.subarray(i * n, (i + 1) * n))

/** The strict reader (the CLI's settings) on bytes cut every `cut` bytes. */
const strictRows = (bytes: Uint8Array, delimiter: string, cut: number): Array<Array<string>> => {
  const out: Array<Array<string>> = []
  const reader = CsvReader.make({
    delimiter,
    encoding: "utf-8",
    consistentLineEndings: true,
    skipEmptyLines: true,
    onEmptyLine: (l) => {
      throw new Error(`blank line ${l}`)
    }
  })
  for (const p of pieces(bytes, cut)) reader.push(p, (f) => void out.push(f))
  reader.end((f) => void out.push(f))
  return out
}

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-writers-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

describe("every writer, every reader: values come back exactly", () => {
  it("@sfbulk/csv writer -> strict reader (any chunking), and -> Csv.decode", () =>
    fc.assert(
      fc.property(table, (t) => {
        const d = delimiterChar[t.delimiter]
        const text = CsvWriter.make({ delimiter: d, eol: t.crlf ? "\r\n" : "\n" }).rows([t.columns, ...t.rows])
        // no record is ever a blank line, and a CR never stands outside quotes
        expect(strictRows(utf8(text), d, t.cut)).toEqual([t.columns, ...t.rows])
        const decoded = Effect.runSync(Stream.runCollect(Csv.decode({ delimiter: d })(Stream.make(utf8(text)))))
        expect(Chunk.toReadonlyArray(decoded)).toEqual(records(t))
      }),
      { numRuns: 300 }
    ))

  it("Csv.encode -> strict reader and Csv.decode (a one-column record with an empty value is refused: Salesforce would skip it)", () =>
    fc.assert(
      fc.property(table, (t) => {
        const d = delimiterChar[t.delimiter]
        const encoded = Effect.runSync(
          Effect.either(
            Stream.runCollect(Csv.encode(Stream.fromIterable(records(t)), { delimiter: d, lineEnding: t.crlf ? "CRLF" : "LF" }))
          )
        )
        if (blankRecord(t)) {
          expect(encoded._tag === "Left" && encoded.left._tag).toBe("InvalidInputError")
          return
        }
        if (encoded._tag === "Left") throw encoded.left
        const bytes = join(encoded.right)
        expect(strictRows(bytes, d, t.cut)).toEqual([t.columns, ...t.rows])
        expect(Chunk.toReadonlyArray(Effect.runSync(Stream.runCollect(Csv.decode({ delimiter: d })(Stream.make(bytes)))))).toEqual(
          records(t)
        )
      }),
      { numRuns: 300 }
    ))

  it("the upload line encoder (BulkClient, Bulk1.records) -> result-page parser and strict reader", () =>
    fc.assert(
      fc.property(table, (t) => {
        const d = delimiterChar[t.delimiter]
        const rs = records(t)
        const enc = Effect.runSync(
          lineEncoder({ columns: t.columns, columnDelimiter: t.delimiter, lineEnding: t.crlf ? "CRLF" : "LF" }, rs[0])
        )
        const encoded = Effect.runSync(Effect.either(enc.encode(rs, 0)))
        if (blankRecord(t)) {
          expect(encoded._tag === "Left" && encoded.left._tag).toBe("InvalidInputError")
          return
        }
        if (encoded._tag === "Left") throw encoded.left
        const block = encoded.right
        expect(block.ends.length).toBe(rs.length)
        const bytes = Buffer.concat([enc.header, block.bytes])
        expect(strictRows(bytes, d, t.cut)).toEqual([t.columns, ...t.rows])
        const parsed = Effect.runSync(Stream.runCollect(parseRows(Stream.fromIterable(pieces(bytes, t.cut)), d, () => (f) => f)))
        expect(Chunk.toReadonlyArray(parsed)).toEqual(t.rows)
      }),
      { numRuns: 300 }
    ))

  it("the CLI's result/export writer -> the CLI's input reader (a file); with the formula guard, each cell reads back guarded and whole", async () => {
    let n = 0
    await fc.assert(
      fc.asyncProperty(table, fc.boolean(), async (t, guard) => {
        const d = delimiterChar[t.delimiter]
        const text = Effect.runSync(
          Stream.runCollect(csvText(Stream.fromIterable(records(t)), { formulaGuard: guard, delimiter: d, columns: t.columns }))
        )
        const file = Path.join(dir, `${n++}.csv`)
        Fs.writeFileSync(file, Chunk.join(text, ""))
        const read = await Effect.runPromise(
          Effect.either(Stream.runCollect(openCsv(file, { delimiter: d }).records).pipe(Effect.map(Chunk.toReadonlyArray)))
        )
        // the writer writes a lone empty value as "" (a spreadsheet reads it back); as upload input it is refused
        if (blankRecord(t)) {
          expect(read._tag === "Left" && read.left.what).toContain("holds an empty value, the only column")
          return
        }
        if (read._tag === "Left") throw read.left
        expect(read.right).toEqual(
          records(t).map((r) => guard ? Object.fromEntries(Object.entries(r).map(([k, v]) => [k, guardFormula(v)])) : r)
        )
      }),
      { numRuns: 150 }
    )
  })
})
