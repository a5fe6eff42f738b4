/**
 * Property-based tests of the CSV path (issue 7): any record of Unicode strings (quotes, commas,
 * CR, LF, CRLF, tabs, a BOM, NUL, emoji, very long values) with every supported delimiter either
 * survives encode -> decode, and encode -> upload -> query against the emulator, unchanged, or is
 * refused before upload with an `InvalidInputError` naming the row and field.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Emulator } from "@sfbulk/emulator"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BulkClient, Csv, SalesforceAuth } from "../src/index.js"

/** Characters that break naive CSV writers and readers. */
const nasty = ["\"", ",", "\r", "\n", "\r\n", "\t", "\uFEFF", "😀", "👩‍👩‍👧", "|", ";", "^", "`", " ", "'", "\\", "#N/A", "é", "中"]
const unit = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...nasty) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom("a", "Z", "0") }
)
const text = (maxLength: number) => fc.string({ unit, maxLength })
/** Sometimes a value Salesforce cannot store: a NUL or a lone surrogate. */
const maybeBad = fc.oneof(
  { weight: 12, arbitrary: text(40) },
  { weight: 1, arbitrary: fc.tuple(text(10), fc.constantFrom("\u0000", "\uD800", "\uDFFF"), text(10)).map(([a, b, c]) => a + b + c) }
)
const delimiters = ["COMMA", "TAB", "PIPE", "SEMICOLON", "CARET", "BACKQUOTE"] as const
const delimiterChar = { COMMA: ",", TAB: "\t", PIPE: "|", SEMICOLON: ";", CARET: "^", BACKQUOTE: "`" } as const

let inputsTried = 0

const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)
const bytesOf = (chunks: ReadonlyArray<Uint8Array>) => Stream.fromIterable(chunks)

describe("Csv.encode -> Csv.decode (pure)", () => {
  it("any records survive unchanged with every delimiter", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...delimiters),
        fc.integer({ min: 1, max: 4 }).chain((cols) =>
          fc.array(fc.array(text(30), { minLength: cols, maxLength: cols }), { minLength: 1, maxLength: 8 })
        ),
        async (delimiter, table) => {
          inputsTried++
          const columns = table[0]!.map((_, i) => `F${i}`)
          const records = table.map((cells) => Object.fromEntries(cells.map((c, i) => [columns[i]!, c])))
          const sep = delimiterChar[delimiter]
          // a one-column record with an empty value is refused (Salesforce skips a blank record)
          if (columns.length === 1 && table.some((cells) => cells[0] === "")) return
          const bytes = await Effect.runPromise(collect(Csv.encode(Stream.fromIterable(records), { columns, delimiter: sep })))
          const back = await Effect.runPromise(collect(Csv.decode({ delimiter: sep })(bytesOf(bytes))))
          expect(back).toEqual(records)
        }
      ),
      { numRuns: 400, seed: 20261129 }
    )
  })

  it("very long values (up to 131,072 characters) survive", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...nasty), fc.integer({ min: 10_000, max: 131_072 }), async (c, n) => {
        inputsTried++
        // cut at a code point boundary (slicing inside an emoji would make a lone surrogate)
        const value = Array.from(c.repeat(Math.ceil(n / c.length))).slice(0, n).join("")
        const bytes = await Effect.runPromise(collect(Csv.encode(Stream.make({ A: value, B: "x" }))))
        const back = await Effect.runPromise(collect(Csv.decode()(bytesOf(bytes))))
        expect(back).toEqual([{ A: value, B: "x" }])
      }),
      { numRuns: 20, seed: 7 }
    )
  })
})

describe("encode -> upload -> query against the emulator", () => {
  let emu: Awaited<ReturnType<typeof Emulator.start>>
  let layer: Layer.Layer<BulkClient.BulkClient>
  beforeAll(async () => {
    emu = await Emulator.start({ latencyMs: 1 })
    layer = BulkClient.layer().pipe(
      Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken })),
      Layer.provide(NodeHttpClient.layerUndici),
      Layer.orDie
    )
  })
  afterAll(async () => {
    await emu?.close()
    console.log(`[csv-property] inputs tried: ${inputsTried}`)
  })

  const fast = { pollSchedule: Schedule.spaced("10 millis") }
  let run = 0

  for (const api of ["2.0", "1.0"] as const) {
    it(`Bulk API ${api}: values come back unchanged, or are refused naming row and field`, async () => {
      await fc.assert(
        fc.asyncProperty(
          api === "2.0" ? fc.constantFrom(...delimiters) : fc.constant("COMMA" as const),
          api === "2.0" ? fc.constantFrom("LF" as const, "CRLF" as const) : fc.constant("LF" as const),
          fc.array(fc.record({ name: maybeBad, description: fc.oneof(maybeBad, text(2_000)) }), { minLength: 1, maxLength: 6 }),
          async (columnDelimiter, lineEnding, values) => {
            inputsTried++
            const tag = `prop${api.replace(".", "")}-${++run}`
            const rows = values.map((v, i) => ({ ExternalId__c: `${tag}-${i}`, Name: `N${v.name}`, Description: v.description }))
            const isBad = (s: string) =>
              s === "#N/A" || /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)
            const firstBad = rows.findIndex((r) => isBad(r.Name) || isBad(r.Description))
            const exit = await Effect.runPromiseExit(
              BulkClient.insert("Account", rows, { ...fast, api, columnDelimiter, lineEnding }).pipe(Effect.provide(layer))
            )
            if (firstBad >= 0) {
              expect(Exit.isFailure(exit)).toBe(true)
              if (Exit.isFailure(exit)) {
                const err = exit.cause._tag === "Fail" ? exit.cause.error : undefined
                expect(err).toMatchObject({ _tag: "InvalidInputError", row: firstBad })
                expect(["Name", "Description"]).toContain((err as { field: string }).field)
              }
              // refused before upload: nothing of this input reached the org
              const stored = emu.org.query(`SELECT Id FROM Account WHERE ExternalId__c LIKE '${tag}-%'`)
              expect(stored.ok && stored.result.size).toBe(0)
              return
            }
            expect(Exit.isSuccess(exit) ? exit.value.summary : exit).toMatchObject({ succeeded: rows.length, failed: 0 })
            const back = await Effect.runPromise(
              collect(
                BulkClient.query(
                  `SELECT ExternalId__c, Name, Description FROM Account WHERE ExternalId__c LIKE '${tag}-%' ORDER BY ExternalId__c`,
                  {
                    ...fast,
                    api,
                    columnDelimiter,
                    lineEnding
                  }
                )
              ).pipe(Effect.provide(layer))
            )
            // an empty Description is stored as null and read back as ""
            expect(back).toEqual(rows.map((r) => ({ ExternalId__c: r.ExternalId__c, Name: r.Name, Description: r.Description })))
          }
        ),
        { numRuns: 40, seed: api === "2.0" ? 4242 : 2424 }
      )
    }, 60_000)
  }
})
