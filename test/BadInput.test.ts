/**
 * Bad input corpus (issue 7): each bad input gets its expected typed error naming the row and
 * field, and nothing is uploaded (the emulator sees no request at all) unless the caller opts in
 * to a partial upload. The bad row sits deep in the input (row 700 of 1,000, past the first
 * pieces; row 950, in the last piece, for every kind of input: array, lazy iterable, generator,
 * Stream, AsyncIterable), so "nothing uploaded" proves the whole input was read and checked before
 * the first request. Empty input is a typed error too (unless `allowEmpty`), raw CSV given to the
 * low-level Bulk1/Bulk2 uploads is checked before it is sent, and the mock client behaves the same.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Bulk1, Bulk2, BulkClient, SalesforceAuth, Transport } from "../packages/client/src/index.js"
import { BulkClientMock } from "../packages/testing/src/index.js"
import { checkCsv, csvChecker } from "../packages/client/src/internal/validate.js"
import { Emulator, Org } from "../packages/emulator/src/index.js"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let layer: Layer.Layer<BulkClient.BulkClient>
let raw: Layer.Layer<Transport.Transport>

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 2 })
  layer = BulkClient.layer().pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken })),
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.orDie
  )
  raw = Bulk2.layer().pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken })),
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
    run: (api) =>
      BulkClient.insert("Account", withBad({ Name: "x", Phone: "1", Fax__x: "2" }), { ...fast, api, columns: ["Name", "Phone"] }),
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
      BulkClient.insert(
        "Account",
        withBad({ Name: "a".repeat(130_000), Phone: "b".repeat(130_000), Description: "c".repeat(130_000), Website: "d".repeat(20_000) }),
        {
          ...fast,
          api,
          columns: ["Name", "Phone", "Description", "Website"]
        }
      ),
    row: BAD_AT,
    what: /400,000/
  },
  {
    name: "more than 5,000 fields",
    run: (api) =>
      BulkClient.insert("Account", [Object.fromEntries(Array.from({ length: 5_001 }, (_, i) => [`F${i}__c`, "x"]))], { ...fast, api }),
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
      BulkClient.update("Account", Array.from({ length: 1_000 }, (_, i) => ({ Id: i === BAD_AT ? "001000000001" : ID, Name: "n" })), {
        ...fast,
        api
      }),
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
      BulkClient.upsert(
        "Account",
        "ExternalId__c",
        Array.from({ length: 1_000 }, (_, i) => ({ ExternalId__c: i === BAD_AT ? "" : `k${i}`, Name: "n" })),
        { ...fast, api }
      ),
    row: BAD_AT,
    field: "ExternalId__c",
    what: /empty/
  },
  {
    name: "delete rows with columns other than Id",
    run: (api) =>
      BulkClient.delete("Account", Array.from({ length: 1_000 }, (_, i) => (i === BAD_AT ? { Id: ID, Name: "x" } : { Id: ID })) as any, {
        ...fast,
        api
      }),
    row: BAD_AT,
    field: "Name",
    what: /only the Id column/
  }
]

for (const api of ["2.0", "1.0"] as const) {
  describe(`bad input on Bulk API ${api}: typed error, nothing uploaded`, () => {
    for (const c of cases) {
      it(c.name, () =>
        Effect.runPromise(
          Effect.gen(function*() {
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
          }).pipe(Effect.provide(layer))
        ), 20_000)
    }

    it(
      "opting in to a partial upload sends the rows before the bad one, and still fails typed",
      () =>
        Effect.runPromise(
          Effect.gen(function*() {
            const tag = `partial${api.replace(".", "")}`
            const rows = Array.from(
              { length: 1_000 },
              (_, i) => (i === BAD_AT ? { Name: `${tag} \uDC00`, Phone: "1" } : { Name: `${tag} ${i}`, Phone: "1" })
            )
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
          }).pipe(Effect.provide(layer))
        ),
      20_000
    )

    it("a one-shot stream is checked as it flows: the error names the row and field", () =>
      Effect.runPromise(
        Effect.gen(function*() {
          const err = yield* Effect.flip(
            BulkClient.insert("Account", Stream.fromIterable(withBad({ Name: "x", Phone: "y", Extra: 1 })), { ...fast, api })
          )
          expect(err).toMatchObject({ _tag: "InvalidInputError", row: BAD_AT, field: "Extra" })
        }).pipe(Effect.provide(layer))
      ), 20_000)
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
      expect(yield* Effect.flip(checkCsv("Name\nx\n", { operation: "upsert", externalIdFieldName: "ExternalId__c" }))).toMatchObject({
        field: "ExternalId__c"
      })
      // and a good CSV (BOM, quotes, CRLF) passes
      yield* checkCsv("\uFEFFName,Phone\r\n\"a, \"\"b\"\"\",1\r\n", ctx)
    })))
})

// ---------------------------------------------------------------------------------------------
// all or nothing, whatever the kind of input
// ---------------------------------------------------------------------------------------------

const ROWS = 2_500
const LAST = 2_450
const SLOW_AT = 2_048
type Kind = "array" | "lazy iterable" | "generator" | "Stream" | "AsyncIterable"
const KINDS: ReadonlyArray<Kind> = ["array", "lazy iterable", "generator", "Stream", "AsyncIterable"]
/**
 * The same rows as each kind of input (each read at most once by the client). The one-shot
 * streaming kinds deliver the rows in small chunks and pause before row 2,048, as a slow source
 * would: a client that uploaded pieces while reading would have sent the first ones by then.
 */
const asKind = <A>(kind: Kind, make: () => ReadonlyArray<A>): BulkClient.Rows<A> => {
  switch (kind) {
    case "array":
      return make()
    case "lazy iterable":
      return { [Symbol.iterator]: () => make()[Symbol.iterator]() }
    case "generator":
      return (function*() {
        yield* make()
      })()
    case "Stream": {
      const rows = make()
      return Stream.concat(
        Stream.rechunk(Stream.fromIterable(rows.slice(0, SLOW_AT)), 64),
        Stream.unwrap(Effect.as(Effect.sleep(rows.length > SLOW_AT ? "400 millis" : 0), Stream.fromIterable(rows.slice(SLOW_AT))))
      )
    }
    case "AsyncIterable":
      return (async function*() {
        const rows = make()
        for (let i = 0; i < rows.length; i++) {
          if (i === SLOW_AT) await new Promise((r) => setTimeout(r, 400))
          yield rows[i]!
        }
      })()
  }
}

for (const api of ["2.0", "1.0"] as const) {
  describe(`all or nothing on Bulk API ${api}: a bad row in the last piece uploads nothing`, () => {
    for (const kind of KINDS) {
      it(
        `${kind}: typed error naming row ${LAST} (last piece), no request sent, no record created; the good input lands whole`,
        () =>
          Effect.runPromise(
            Effect.gen(function*() {
              const tag = `aon${api.replace(".", "")}-${kind.replace(/ /g, "")}`
              const rows = (bad: boolean) => () =>
                Array.from({ length: ROWS }, (_, i) => ({ Name: bad && i === LAST ? `${tag} \uD800` : `${tag} ${i}`, Phone: "1" }))
              const requests = emu.stats().requests
              const accounts = emu.org.count("Account")
              const options = { ...fast, batchSize: 500, api }
              const err = yield* Effect.flip(BulkClient.insert("Account", asKind(kind, rows(true)), options))
              expect(err).toMatchObject({ _tag: "InvalidInputError", row: LAST, field: "Name" })
              expect((err as { what: string }).what).toMatch(/not valid Unicode/)
              // not a job, not a batch, not a login: nothing at all reached the emulator
              expect(emu.stats().requests).toBe(requests)
              expect(emu.org.count("Account")).toBe(accounts)
              // the same kind of input without the bad row: every row lands exactly once
              const outcome = yield* BulkClient.insert("Account", asKind(kind, rows(false)), options)
              expect(outcome.summary).toMatchObject({ rowsRead: ROWS, succeeded: ROWS, failed: 0, unprocessed: 0 })
              expect(api === "1.0" ? outcome.summary.batchIds.length : outcome.summary.jobIds.length).toBe(5)
              expect(emu.org.count("Account") - accounts).toBe(ROWS)
            }).pipe(Effect.provide(layer))
          ),
        30_000
      )
    }

    it(
      "a bad row in the last piece of a Stream with allowPartialUpload: the pieces before it are uploaded, the error still typed",
      () =>
        Effect.runPromise(
          Effect.gen(function*() {
            const tag = `aonpartial${api.replace(".", "")}`
            const rows = Array.from({ length: 3_000 }, (_, i) => ({ Name: i === 2_950 ? `${tag} \u0000` : `${tag} ${i}`, Phone: "1" }))
            const requests = emu.stats().requests
            const accounts = emu.org.count("Account")
            // the rows after the first 2,048 come a second later: by then the first pieces are out
            const input = Stream.concat(
              Stream.fromIterable(rows.slice(0, 2_048)),
              Stream.unwrap(Effect.as(Effect.sleep("1 second"), Stream.fromIterable(rows.slice(2_048))))
            )
            const err = yield* Effect.flip(BulkClient.insert("Account", input, { ...fast, api, allowPartialUpload: true, concurrency: 1 }))
            expect(err).toMatchObject({ _tag: "InvalidInputError", row: 2_950, field: "Name" })
            // the mode streams: pieces went out before the bad row was read (never the bad row's)
            expect(emu.stats().requests).toBeGreaterThan(requests)
            yield* Effect.sleep("300 millis")
            expect(emu.org.count("Account") - accounts).toBeLessThanOrEqual(2_800)
          }).pipe(Effect.provide(layer))
        ),
      30_000
    )
  })

  describe(`spool files on Bulk API ${api}`, () => {
    it(
      "the temp dir is removed whatever the exit: a bad last row, an interrupted read, a success",
      () =>
        Effect.runPromise(
          Effect.gen(function*() {
            const tmp = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-h4-tmp-"))
            const saved = process.env.TMPDIR
            // os.tmpdir() reads TMPDIR at each call: this test's spool dirs go to `tmp`
            process.env.TMPDIR = tmp
            const left = () => Fs.readdirSync(tmp)
            try {
              const rows = (n: number, bad?: number) =>
                Array.from({ length: n }, (_, i) => ({ Name: i === bad ? "x\u0000" : `spool${api} ${i}`, Phone: "1" }))
              const options = { ...fast, batchSize: 500, api }
              yield* Effect.flip(BulkClient.insert("Account", Stream.rechunk(Stream.fromIterable(rows(2_500, 2_450)), 100), options))
              expect(left()).toEqual([])
              // a source that stalls after 1,200 rows, interrupted while pieces sit in the spool
              const stalled = Stream.concat(Stream.rechunk(Stream.fromIterable(rows(1_200)), 100), Stream.never)
              const fiber = yield* Effect.fork(BulkClient.insert("Account", stalled, options))
              yield* Effect.sleep("300 millis")
              expect(left().length).toBe(1)
              yield* Fiber.interrupt(fiber)
              expect(left()).toEqual([])
              yield* BulkClient.insert("Account", rows(1_200), options)
              expect(left()).toEqual([])
            } finally {
              if (saved === undefined) delete process.env.TMPDIR
              else process.env.TMPDIR = saved
              Fs.rmSync(tmp, { recursive: true, force: true })
            }
          }).pipe(Effect.provide(layer))
        ),
      30_000
    )
  })

  describe(`empty input on Bulk API ${api}`, () => {
    for (const kind of KINDS) {
      it(
        `${kind}: no rows is a typed error before any request; allowEmpty gives the all-zero outcome, no job`,
        () =>
          Effect.runPromise(
            Effect.gen(function*() {
              const requests = emu.stats().requests
              const err = yield* Effect.flip(BulkClient.insert("Account", asKind(kind, () => []), { ...fast, api }))
              expect(err).toMatchObject({ _tag: "InvalidInputError" })
              expect((err as { what: string }).what).toMatch(/the input has no rows: nothing to upload/)
              const ok = yield* BulkClient.insert("Account", asKind(kind, () => []), { ...fast, api, allowEmpty: true })
              expect(ok.summary).toMatchObject({
                rowsRead: 0,
                processed: 0,
                succeeded: 0,
                failed: 0,
                unprocessed: 0,
                jobIds: [],
                batchIds: []
              })
              expect(emu.stats().requests).toBe(requests)
            }).pipe(Effect.provide(layer))
          ),
        20_000
      )
    }
    it("delete with no ids is refused the same way", () =>
      Effect.runPromise(
        Effect.gen(function*() {
          const requests = emu.stats().requests
          expect(yield* Effect.flip(BulkClient.delete("Account", [], { ...fast, api }))).toMatchObject({ _tag: "InvalidInputError" })
          expect(emu.stats().requests).toBe(requests)
        }).pipe(Effect.provide(layer))
      ))
  })
}

// ---------------------------------------------------------------------------------------------
// raw CSV through the low-level modules: checked before it is sent
// ---------------------------------------------------------------------------------------------

const enc = (s: string) => new TextEncoder().encode(s)
/** Raw CSV cases: data, the error's text, and where it is. */
const rawCases: Array<{ name: string; data: string | Uint8Array; what: RegExp; row?: number; field?: string; operation?: "delete" }> = [
  { name: "empty input", data: "", what: /empty/ },
  { name: "blank lines only", data: "\n\r\n\n", what: /empty/ },
  { name: "header only", data: "Name,Phone\n", what: /header but no record/ },
  { name: "duplicate columns", data: "Name,Phone,NAME\na,b,c\n", what: /appears twice/, field: "NAME" },
  { name: "mixed record shapes", data: "Name,Phone\na,b\nc\n", what: /fields but the header has/, row: 1 },
  {
    name: "invalid UTF-8",
    data: new Uint8Array([...enc("Name\nok\n"), 0x61, 0xff, 0xfe, 0x0a]),
    what: /not valid UTF-8 \(bad byte near offset 9\)/
  },
  { name: "a field over 131,072 characters", data: `Name,Phone\nok,1\n${"x".repeat(131_073)},1\n`, what: /131,072/, row: 1, field: "Name" },
  {
    name: "a record over 400,000 characters",
    data: `A__c,B__c,C__c,D__c\n${["a", "b", "c", "d"].map((c) => c.repeat(100_001)).join(",")}\n`,
    what: /400,000/,
    row: 0
  },
  {
    name: "more than 5,000 columns",
    data: `${Array.from({ length: 5_001 }, (_, i) => `F${i}__c`).join(",")}\n${"x,".repeat(5_000)}x\n`,
    what: /5,000/
  },
  { name: "an id of the wrong length", data: "Id,Name\n001000000000001AAA,x\n001abc,y\n", what: /15 or 18/, row: 1, field: "Id" },
  { name: "a NUL in a value", data: "Name\nok\n\"a\u0000b\"\n", what: /NUL/, row: 1, field: "Name" },
  { name: "an unclosed quote", data: "Name,Phone\n\"open,1\n", what: /closing quote/ },
  {
    name: "delete rows with columns other than Id",
    data: "Id,Name\n001000000000001AAA,x\n",
    what: /only the Id column/,
    field: "Name",
    operation: "delete"
  }
]

/** The data as a stream of small chunks (so every check works across chunk boundaries). */
const chunked = (data: string | Uint8Array, size = 7): Stream.Stream<Uint8Array> => {
  const bytes = typeof data === "string" ? enc(data) : data
  return Stream.fromIterable(Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size)))
}

const expectBad = (err: unknown, c: (typeof rawCases)[number]) => {
  expect(err).toMatchObject({ _tag: "InvalidInputError" })
  const e = err as { what: string; row?: number; field?: string }
  expect(e.what).toMatch(c.what)
  if (c.row !== undefined) expect(e.row).toBe(c.row)
  if (c.field !== undefined) expect(e.field).toBe(c.field)
}

describe("bad raw CSV given to Bulk2.uploadJobData / uploadFile: typed error, nothing sent", () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-badinput-"))
  afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))
  for (const c of rawCases) {
    it(c.name, () =>
      Effect.runPromise(
        Effect.gen(function*() {
          const job = yield* Bulk2.createIngestJob({ object: "Account", operation: c.operation ?? "insert" })
          const file = Path.join(dir, `${job.id}.csv`)
          Fs.writeFileSync(file, c.data)
          const requests = emu.stats().requests
          // in memory, as a stream of small chunks (checked while spooled), and from a file
          expectBad(yield* Effect.flip(Bulk2.uploadJobData(job, c.data)), c)
          expectBad(yield* Effect.flip(Bulk2.uploadJobData(job, chunked(c.data))), c)
          expectBad(yield* Effect.flip(Bulk2.uploadFile(job, file)), c)
          expect(emu.stats().requests).toBe(requests)
          // the job never got data: it is still open, and can be aborted
          expect((yield* Bulk2.getIngestJob(job.id)).state).toBe("Open")
          yield* Bulk2.abortIngestJob(job.id)
        }).pipe(Effect.provide(raw))
      ), 20_000)
  }
  it(
    "good CSV (a BOM, quotes, CRLF, a multi-byte character split across chunks) is checked and uploaded from a stream",
    () =>
      Effect.runPromise(
        Effect.gen(function*() {
          const job = yield* Bulk2.createIngestJob({
            object: "Account",
            operation: "insert",
            columnDelimiter: "SEMICOLON",
            lineEnding: "CRLF"
          })
          yield* Bulk2.uploadJobData(job, chunked("\uFEFFName;Phone\r\n\"raw; \"\"q\"\"\";1\r\nraw é 😀;2\r\n", 3))
          yield* Bulk2.closeIngestJob(job.id)
          const done = yield* Bulk2.waitForIngestJob(job.id, { schedule: Schedule.spaced("20 millis"), timeout: "20 seconds" })
          expect(done, JSON.stringify(done)).toMatchObject({ state: "JobComplete", numberRecordsProcessed: 2, numberRecordsFailed: 0 })
        }).pipe(Effect.provide(raw))
      ),
    20_000
  )
})

describe("bad raw CSV given to Bulk1.addBatch: typed error, no batch", () => {
  for (const c of rawCases) {
    it(c.name, () =>
      Effect.runPromise(
        Effect.gen(function*() {
          const job = yield* Bulk1.createJob({ object: "Account", operation: c.operation ?? "insert", contentType: "CSV" })
          const requests = emu.stats().requests
          expectBad(yield* Effect.flip(Bulk1.addBatch(job, c.data)), c)
          expectBad(yield* Effect.flip(Bulk1.addBatch(job, chunked(c.data))), c)
          expect(emu.stats().requests).toBe(requests)
          expect(yield* Bulk1.listBatches(job.id)).toEqual([])
          yield* Bulk1.abortJob(job.id)
        }).pipe(Effect.provide(raw))
      ), 20_000)
  }
  it(
    "a good CSV stream is checked, spooled and added (and can be re-sent from the spool file)",
    () =>
      Effect.runPromise(
        Effect.gen(function*() {
          const job = yield* Bulk1.createJob({ object: "Account", operation: "insert", contentType: "CSV" })
          const batch = yield* Bulk1.addBatch(job, chunked("Name,Phone\nraw1 é,1\nraw2,2\n", 5))
          const done = yield* Bulk1.waitForBatch(job, batch.id, { schedule: Schedule.spaced("20 millis") })
          expect(done).toMatchObject({ numberRecordsProcessed: 2, numberRecordsFailed: 0 })
          yield* Bulk1.closeJob(job.id)
        }).pipe(Effect.provide(raw))
      ),
    20_000
  )
})

describe("the incremental CSV checker", () => {
  it("gives the same verdict whatever the chunking (one byte at a time, or whole)", () => {
    for (const c of rawCases) {
      const bytes = typeof c.data === "string" ? enc(c.data) : c.data
      const whole = csvChecker({ operation: c.operation ?? "insert" })
      const w = whole.push(bytes) ?? whole.end()
      const bytewise = csvChecker({ operation: c.operation ?? "insert" })
      let b: unknown
      for (let i = 0; i < bytes.length && b === undefined; i++) b = bytewise.push(bytes.subarray(i, i + 1))
      b = b ?? bytewise.end()
      expect(w, c.name).toBeDefined()
      expect({ what: (b as any)?.what, row: (b as any)?.row, field: (b as any)?.field }, c.name)
        .toEqual({ what: w!.what, row: w!.row, field: w!.field })
    }
  })
})

// ---------------------------------------------------------------------------------------------
// the mock client behaves the same
// ---------------------------------------------------------------------------------------------

describe("BulkClientMock: same errors, nothing applied", () => {
  for (const api of ["2.0", "1.0"] as const) {
    for (const kind of KINDS) {
      it(`${api} ${kind}: a bad last row changes nothing in the org; no rows is a typed error unless allowEmpty`, () => {
        const org = Org.make()
        return Effect.runPromise(
          Effect.gen(function*() {
            const rows = () => Array.from({ length: ROWS }, (_, i) => ({ Name: i === LAST ? "bad \uDC00" : `mock ${i}`, Phone: "1" }))
            const err = yield* Effect.flip(BulkClient.insert("Account", asKind(kind, rows), { api }))
            expect(err).toMatchObject({ _tag: "InvalidInputError", row: LAST, field: "Name" })
            expect(org.count("Account")).toBe(0)
            const empty = yield* Effect.flip(BulkClient.insert("Account", asKind(kind, () => []), { api }))
            expect((empty as { what: string }).what).toMatch(/the input has no rows/)
            const zero = yield* BulkClient.insert("Account", asKind(kind, () => []), { api, allowEmpty: true })
            expect(zero.summary).toMatchObject({ rowsRead: 0, processed: 0, jobIds: [], batchIds: [] })
            expect(org.count("Account")).toBe(0)
          }).pipe(Effect.provide(BulkClientMock.layer(org)))
        )
      })
    }
  }
})
