/**
 * Bad input corpus (issue 7): each bad input gets its expected typed error naming the row and
 * field, and nothing is uploaded (the emulator sees no request at all) unless the caller opts in
 * to a partial upload. The bad row sits deep in the input (row 700 of 1,000, past the first
 * pieces), so "nothing uploaded" proves the whole input was checked first.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient, SalesforceAuth } from "../packages/client/src/index.js"
import { checkCsv } from "../packages/client/src/internal/validate.js"
import { Emulator } from "../packages/emulator/src/index.js"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let layer: Layer.Layer<BulkClient.BulkClient>

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 2 })
  layer = BulkClient.layer.pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken })),
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.orDie
  )
})
afterAll(async () => {
  await emu?.close()
})

const ID = "001000000000001AAA"
const BAD_AT = 700
const good = (i: number) => ({ Name: `bad-input ${i}`, Phone: `555-${i}` })
const withBad = (bad: Record<string, unknown>) => Array.from({ length: 1_000 }, (_, i) => (i === BAD_AT ? bad : good(i)))
const fast = { pollSchedule: Schedule.spaced("20 millis"), batchSize: 200 }

interface Case {
  readonly name: string
  readonly run: (api: "1.0" | "2.0") => Effect.Effect<unknown, unknown, BulkClient.BulkClient>
  readonly row?: number
  readonly field?: string
  readonly what: RegExp
}

const cases: Array<Case> = [
  {
    name: "duplicate columns",
    run: (api) => BulkClient.insert("Account", withBad(good(BAD_AT)), { ...fast, api, columns: ["Name", "Phone", "name"] }),
    field: "name",
    what: /appears twice/
  },
  {
    name: "an unknown column (a field outside the columns)",
    run: (api) => BulkClient.insert("Account", withBad({ Name: "x", Phone: "1", Fax__x: "2" }), { ...fast, api, columns: ["Name", "Phone"] }),
    row: BAD_AT,
    field: "Fax__x",
    what: /not one of the columns/
  },
  {
    name: "mixed record shapes",
    run: (api) => BulkClient.insert("Account", withBad({ Name: "x", Website: "y" }), { ...fast, api }),
    row: BAD_AT,
    field: "Website",
    what: /same fields/
  },
  {
    name: "a field over 131,072 characters",
    run: (api) => BulkClient.insert("Account", withBad({ Name: "x", Phone: "9".repeat(131_073) }), { ...fast, api }),
    row: BAD_AT,
    field: "Phone",
    what: /131,072/
  },
  {
    name: "a record over 400,000 characters",
    run: (api) =>
      BulkClient.insert("Account", withBad({ Name: "a".repeat(130_000), Phone: "b".repeat(130_000), Description: "c".repeat(130_000), Website: "d".repeat(20_000) }), {
        ...fast,
        api,
        columns: ["Name", "Phone", "Description", "Website"]
      }),
    row: BAD_AT,
    what: /400,000/
  },
  {
    name: "more than 5,000 fields",
    run: (api) => BulkClient.insert("Account", [Object.fromEntries(Array.from({ length: 5_001 }, (_, i) => [`F${i}__c`, "x"]))], { ...fast, api }),
    row: 0,
    what: /5,000/
  },
  {
    name: "invalid UTF-8 (a lone surrogate)",
    run: (api) => BulkClient.insert("Account", withBad({ Name: "bad \uD800 text", Phone: "1" }), { ...fast, api }),
    row: BAD_AT,
    field: "Name",
    what: /not valid Unicode/
  },
  {
    name: "a NUL character",
    run: (api) => BulkClient.insert("Account", withBad({ Name: "nul\u0000here", Phone: "1" }), { ...fast, api }),
    row: BAD_AT,
    field: "Name",
    what: /NUL/
  },
  {
    name: "an id of the wrong length",
    run: (api) =>
      BulkClient.update("Account", Array.from({ length: 1_000 }, (_, i) => ({ Id: i === BAD_AT ? "001000000001" : ID, Name: "n" })), { ...fast, api }),
    row: BAD_AT,
    field: "Id",
    what: /15 or 18/
  },
  {
    name: "upsert without the external id column",
    run: (api) => BulkClient.upsert("Account", "ExternalId__c", withBad(good(BAD_AT)), { ...fast, api }),
    row: 0,
    field: "ExternalId__c",
    what: /upsert on ExternalId__c needs/
  },
  {
    name: "upsert with an empty external id",
    run: (api) =>
      BulkClient.upsert("Account", "ExternalId__c", Array.from({ length: 1_000 }, (_, i) => ({ ExternalId__c: i === BAD_AT ? "" : `k${i}`, Name: "n" })), { ...fast, api }),
    row: BAD_AT,
    field: "ExternalId__c",
    what: /empty/
  },
  {
    name: "delete rows with columns other than Id",
    run: (api) => BulkClient.delete("Account", Array.from({ length: 1_000 }, (_, i) => (i === BAD_AT ? { Id: ID, Name: "x" } : { Id: ID })) as any, { ...fast, api }),
    row: BAD_AT,
    field: "Name",
    what: /only the Id column/
  }
]

for (const api of ["2.0", "1.0"] as const) {
  describe(`bad input on Bulk API ${api}: typed error, nothing uploaded`, () => {
    for (const c of cases) {
      it(c.name, () =>
        Effect.runPromise(Effect.gen(function*() {
          const before = emu.stats().requests
          const err = yield* Effect.flip(c.run(api))
          expect(err).toMatchObject({ _tag: "InvalidInputError" })
          const e = err as { row?: number; field?: string; what: string; message: string }
          if (c.row !== undefined) expect(e.row).toBe(c.row)
          if (c.field !== undefined) expect(e.field).toBe(c.field)
          expect(e.what).toMatch(c.what)
          expect(e.message).toContain("Invalid input")
          // nothing reached the server: not a job, not a batch
          expect(emu.stats().requests).toBe(before)
        }).pipe(Effect.provide(layer))), 20_000)
    }

    it("opting in to a partial upload sends the rows before the bad one, and still fails typed", () =>
      Effect.runPromise(Effect.gen(function*() {
        const tag = `partial${api.replace(".", "")}`
        const rows = Array.from({ length: 1_000 }, (_, i) => (i === BAD_AT ? { Name: `${tag} \uDC00`, Phone: "1" } : { Name: `${tag} ${i}`, Phone: "1" }))
        const before = emu.org.count("Account")
        const err = yield* Effect.flip(BulkClient.insert("Account", rows, { ...fast, api, allowPartialUpload: true, concurrency: 1 }))
        expect(err).toMatchObject({ _tag: "InvalidInputError", row: BAD_AT, field: "Name" })
        // with the default, the same input uploads nothing
        const none = yield* Effect.flip(BulkClient.insert("Account", rows, { ...fast, api }))
        expect(none._tag).toBe("InvalidInputError")
        yield* Effect.sleep("300 millis")
        const landed = emu.org.count("Account") - before
        // pieces of 200 rows strictly before row 700 may have been sent; never the bad row's piece
        expect(landed).toBeLessThanOrEqual(BAD_AT)
      }).pipe(Effect.provide(layer))), 20_000)

    it("a one-shot stream is checked as it flows: the error names the row and field", () =>
      Effect.runPromise(Effect.gen(function*() {
        const err = yield* Effect.flip(BulkClient.insert("Account", Stream.fromIterable(withBad({ Name: "x", Phone: "y", Extra: 1 })), { ...fast, api }))
        expect(err).toMatchObject({ _tag: "InvalidInputError", row: BAD_AT, field: "Extra" })
      }).pipe(Effect.provide(layer))), 20_000)
  })
}

describe("bad raw CSV: typed error before upload", () => {
  const ctx = { operation: "insert" as const }
  const csvCases: Array<[string, string | Uint8Array, RegExp, (number | undefined)?, string?]> = [
    ["empty input", "", /empty/],
    ["header only", "Name,Phone\n", /header but no record/],
    ["duplicate columns", "Name,Phone,NAME\na,b,c\n", /appears twice/, undefined, "NAME"],
    ["mixed record shapes", "Name,Phone\na,b\nc\n", /fields but the header has/, 1],
    ["invalid UTF-8", new Uint8Array([0x4e, 0x61, 0x6d, 0x65, 0x0a, 0x61, 0xff, 0xfe, 0x0a]), /not valid UTF-8/],
    ["a field over 131,072 characters", `Name\n${"x".repeat(131_073)}\n`, /131,072/, 0, "Name"],
    ["an id of the wrong length", "Id,Name\n001abc,x\n", /15 or 18/, 0, "Id"]
  ]
  for (const [name, data, what, row, field] of csvCases) {
    it(name, () =>
      Effect.runPromise(Effect.gen(function*() {
        const err = yield* Effect.flip(checkCsv(data, ctx))
        expect(err._tag).toBe("InvalidInputError")
        expect(err.what).toMatch(what)
        if (row !== undefined) expect(err.row).toBe(row)
        if (field !== undefined) expect(err.field).toBe(field)
      })))
  }
  it("delete CSV with a column other than Id, upsert CSV without the key", () =>
    Effect.runPromise(Effect.gen(function*() {
      expect(yield* Effect.flip(checkCsv("Id,Name\n001000000000001,x\n", { operation: "delete" }))).toMatchObject({ field: "Name" })
      expect(yield* Effect.flip(checkCsv("Name\nx\n", { operation: "upsert", externalIdFieldName: "ExternalId__c" }))).toMatchObject({ field: "ExternalId__c" })
      // and a good CSV (BOM, quotes, CRLF) passes
      yield* checkCsv("\uFEFFName,Phone\r\n\"a, \"\"b\"\"\",1\r\n", ctx)
    })))
})
