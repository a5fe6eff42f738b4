/**
 * Raw CSV and records through the library, as files from Excel and other tools give them (issue
 * 12): what Salesforce would reject as a whole after the upload (a UTF-8 byte-order mark in the
 * header, CRLF records on a LF job) is mended or refused before anything is sent; a record never
 * turns into a blank line Salesforce would skip; a blank line in a one-column CSV is refused.
 *
 * The tests that talk to the emulator run with `it.live`: `it.effect` runs on a TestClock that only
 * moves when a test adjusts it, while the emulator processes jobs on real timers, so a wait whose
 * first poll found the job unfinished slept for ever (and its timeout never fired either). Which
 * poll came first was a race the emulator usually won; under load it lost, and the test hung.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Bulk1, Bulk2, BulkClient, Csv, SalesforceAuth, Transport } from "../packages/client/src/index.js"
import { Emulator } from "../packages/emulator/src/index.js"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let raw: Layer.Layer<Transport.Transport | BulkClient.BulkClient>

/** The low-level transport and `BulkClient` over an emulator. */
const clientOf = (e: typeof emu): Layer.Layer<Transport.Transport | BulkClient.BulkClient> => {
  const auth = SalesforceAuth.fromSession({ instanceUrl: e.instanceUrl, accessToken: e.accessToken })
  return Layer.merge(
    Bulk2.layer().pipe(Layer.provide(auth), Layer.orDie),
    BulkClient.layer().pipe(Layer.provide(auth), Layer.provide(NodeHttpClient.layerUndici), Layer.orDie)
  )
}

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 2 })
  raw = clientOf(emu)
})
afterAll(async () => {
  await emu?.close()
})

// every wait ends with a typed timeout well before the test's own (a stuck job names itself)
const fast = { schedule: Schedule.spaced("20 millis"), timeout: "10 seconds" } as const
const bytes = (s: string) => new TextEncoder().encode(s)
const chunked = (data: Uint8Array, size: number) =>
  Stream.fromIterable(Array.from({ length: Math.ceil(data.length / size) }, (_, i) => data.subarray(i * size, (i + 1) * size)))

/** The Accounts whose Name starts with `prefix`, as stored. */
const stored = (prefix: string) =>
  Effect.flatMap(
    BulkClient.BulkClient,
    (c) =>
      Stream.runCollect(
        c.query(`SELECT Name, Description FROM Account WHERE Name LIKE '${prefix}%'`, {
          pollSchedule: fast.schedule,
          timeout: fast.timeout
        })
      )
  ).pipe(
    Effect.map((rows) => Chunk.toReadonlyArray(rows).map((r) => ({ Name: r["Name"], Description: r["Description"] })))
  )

describe("raw CSV with a UTF-8 byte-order mark (Excel \"CSV UTF-8\")", () => {
  it.live(
    "Bulk2.uploadJobData, uploadFile and Bulk1.addBatch drop the mark: the first column is Name, not \\uFEFFName",
    () =>
      Effect.gen(function*() {
        const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-bom-"))
        const csv = (tag: string) => `\uFEFF"Name",Description\r\n"bom ${tag}",x\r\n`
        const bodies = [
          ["text", csv("text")],
          ["bytes", bytes(csv("bytes"))],
          ["stream", chunked(bytes(csv("stream")), 1)]
        ] as const
        for (const [tag, body] of bodies) {
          const job = yield* Bulk2.createIngestJob({ object: "Account", operation: "insert", lineEnding: "CRLF" })
          yield* Bulk2.uploadJobData(job, body)
          yield* Bulk2.closeIngestJob(job.id)
          expect(yield* Bulk2.waitForIngestJob(job.id, fast)).toMatchObject({ state: "JobComplete", numberRecordsFailed: 0 })
          expect(tag).toBeDefined()
        }
        const file = Path.join(dir, "bom.csv")
        Fs.writeFileSync(file, csv("file"))
        const job = yield* Bulk2.createIngestJob({ object: "Account", operation: "insert", lineEnding: "CRLF" })
        yield* Bulk2.uploadFile(job, file)
        yield* Bulk2.closeIngestJob(job.id)
        expect(yield* Bulk2.waitForIngestJob(job.id, fast)).toMatchObject({ state: "JobComplete", numberRecordsFailed: 0 })
        const job1 = yield* Bulk1.createJob({ object: "Account", operation: "insert", contentType: "CSV" })
        const batch = yield* Bulk1.addBatch(job1, bytes(csv("1.0")))
        expect(yield* Bulk1.waitForBatch(job1, batch.id, fast)).toMatchObject({
          numberRecordsFailed: 0
        })
        yield* Bulk1.closeJob(job1.id)
        const names = (yield* stored("bom ")).map((r) => r.Name).sort()
        expect(names).toEqual(["bom 1.0", "bom bytes", "bom file", "bom stream", "bom text"])
        Fs.rmSync(dir, { recursive: true, force: true })
      }).pipe(Effect.provide(raw)),
    30_000
  )
})

describe("raw CSV line endings against the 2.0 job's lineEnding", () => {
  it.live(
    "CRLF records on a LF job (and LF on a CRLF job) are refused before the upload, naming the job and what to do",
    () =>
      Effect.gen(function*() {
        for (const [jobEnding, data, found] of [["LF", "Name\r\nx\r\n", "CRLF"], ["CRLF", "Name\nx\n", "LF"]] as const) {
          const job = yield* Bulk2.createIngestJob({ object: "Account", operation: "insert", lineEnding: jobEnding })
          const requests = emu.stats().requests
          const e = yield* Effect.flip(Bulk2.uploadJobData(job, data))
          expect(e).toMatchObject({ _tag: "InvalidInputError" })
          expect((e as { what: string }).what).toContain(`end with ${found} but job ${job.id} was created with lineEnding ${jobEnding}`)
          expect(emu.stats().requests).toBe(requests)
          yield* Bulk2.abortIngestJob(job.id)
        }
      }).pipe(Effect.provide(raw)),
    20_000
  )

  it.live(
    "a CSV mixing LF and CRLF outside quotes, or ending lines with a bare CR, is refused (a value would keep the CR)",
    () =>
      Effect.gen(function*() {
        for (const data of ["Name,AccountNumber\nM4,m4\r\nM5,m5\n", "Name\rx\r"]) {
          const job = yield* Bulk2.createIngestJob({ object: "Account", operation: "insert" })
          const e = yield* Effect.flip(Bulk2.uploadJobData(job, data))
          expect((e as { what: string }).what).toMatch(/ends with (CRLF|a bare CR)/)
          const job1 = yield* Bulk1.createJob({ object: "Account", operation: "insert", contentType: "CSV" })
          expect((yield* Effect.flip(Bulk1.addBatch(job1, data)))._tag).toBe("InvalidInputError")
          yield* Bulk2.abortIngestJob(job.id)
          yield* Bulk1.abortJob(job1.id)
        }
      }).pipe(Effect.provide(raw)),
    20_000
  )

  it.live("CRLF inside quoted values is content, on LF and CRLF jobs alike", () =>
    Effect.gen(function*() {
      const job = yield* Bulk2.createIngestJob({ object: "Account", operation: "insert" })
      yield* Bulk2.uploadJobData(job, "Name,Description\n\"crlf in value\",\"a\r\nb\"\n")
      yield* Bulk2.closeIngestJob(job.id)
      expect(yield* Bulk2.waitForIngestJob(job.id, fast)).toMatchObject({ state: "JobComplete", numberRecordsFailed: 0 })
      expect(yield* stored("crlf in value")).toEqual([{ Name: "crlf in value", Description: "a\r\nb" }])
    }).pipe(Effect.provide(raw)), 20_000)
})

describe("blank lines and one-column files", () => {
  it.live(
    "a blank line, or a lone \"\", in raw one-column CSV is refused on both APIs (Salesforce skips it: one record fewer)",
    () =>
      Effect.gen(function*() {
        for (
          const [data, what] of [["Name\nfirst\n\nthird\n", "blank line in a one-column CSV"], [
            "Name\nfirst\n\"\"\nthird\n",
            "only value is empty"
          ]]
        ) {
          const job = yield* Bulk2.createIngestJob({ object: "Account", operation: "insert" })
          const requests = emu.stats().requests
          const e = yield* Effect.flip(Bulk2.uploadJobData(job, data))
          expect(e).toMatchObject({ _tag: "InvalidInputError", row: 1 })
          expect((e as { what: string }).what).toContain(what)
          const job1 = yield* Bulk1.createJob({ object: "Account", operation: "insert", contentType: "CSV" })
          const requests1 = emu.stats().requests
          expect((yield* Effect.flip(Bulk1.addBatch(job1, data)))._tag).toBe("InvalidInputError")
          expect(emu.stats().requests).toBe(requests1)
          expect(requests1).toBe(requests + 1)
          yield* Bulk2.abortIngestJob(job.id)
          yield* Bulk1.abortJob(job1.id)
        }
      }).pipe(Effect.provide(raw)),
    20_000
  )

  it.live(
    "Csv.encode, Bulk1.records and BulkClient refuse a one-column record with an empty value (it would vanish); null is sent as #N/A",
    () =>
      Effect.gen(function*() {
        const encoded = yield* Effect.flip(
          Stream.runDrain(Csv.encode(Stream.make({ Description: "a" }, { Description: "" }, { Description: "c" })))
        )
        expect(encoded).toMatchObject({ _tag: "InvalidInputError", row: 2, field: "Description" })
        const job = yield* Bulk1.createJob({ object: "Account", operation: "insert", contentType: "CSV" })
        const requests = emu.stats().requests
        const e = yield* Effect.flip(Bulk1.addBatch(job, Bulk1.records([{ Name: "one col a" }, { Name: "" }, { Name: "one col c" }])))
        expect(e).toMatchObject({ _tag: "InvalidInputError", row: 2, field: "Name" })
        expect(emu.stats().requests).toBe(requests)
        for (const api of ["1.0", "2.0"] as const) {
          const client = yield* BulkClient.BulkClient
          const bad = yield* Effect.flip(client.insert("Account", [{ Name: "one col x" }, { Name: "" }], { api }))
          expect(bad).toMatchObject({ _tag: "InvalidInputError", row: 1, field: "Name" })
        }
        expect(emu.stats().requests).toBe(requests)
        // null is a value (#N/A): the record is sent, and fails on Salesforce (Name is required), not skipped
        const batch = yield* Bulk1.addBatch(job, Bulk1.records([{ Name: "one col a" }, { Name: null }]))
        const done = yield* Bulk1.waitForBatch(job, batch.id, fast)
        expect(done).toMatchObject({ numberRecordsProcessed: 2, numberRecordsFailed: 1 })
        yield* Bulk1.closeJob(job.id)
      }).pipe(Effect.provide(raw)),
    20_000
  )
})

describe("raw CSV in another encoding", () => {
  it.live(
    "encoding: windows-1252 re-encodes the bytes as UTF-8 (é, €) on both APIs; without it the bytes are refused as invalid UTF-8",
    () =>
      Effect.gen(function*() {
        const data = Buffer.from("Name,Description\r\nCaf\xe9 1252,12 \x80\r\n", "latin1")
        const job = yield* Bulk2.createIngestJob({ object: "Account", operation: "insert", lineEnding: "CRLF" })
        expect((yield* Effect.flip(Bulk2.uploadJobData(job, data)))._tag).toBe("InvalidInputError")
        yield* Bulk2.uploadJobData(job, chunked(data, 3), { encoding: "windows-1252" })
        yield* Bulk2.closeIngestJob(job.id)
        expect(yield* Bulk2.waitForIngestJob(job.id, fast)).toMatchObject({ state: "JobComplete", numberRecordsFailed: 0 })
        const job1 = yield* Bulk1.createJob({ object: "Account", operation: "insert", contentType: "CSV" })
        const b = yield* Bulk1.addBatch(job1, Buffer.from("Name,Description\r\nCaf\xe9 1252 v1,12 \x80\r\n", "latin1"), {
          encoding: "windows-1252"
        })
        yield* Bulk1.waitForBatch(job1, b.id, fast)
        yield* Bulk1.closeJob(job1.id)
        expect(yield* stored("Café 1252")).toEqual(expect.arrayContaining([
          { Name: "Café 1252", Description: "12 €" },
          { Name: "Café 1252 v1", Description: "12 €" }
        ]))
      }).pipe(Effect.provide(raw)),
    20_000
  )

  // The emulator above usually finishes a one-row job before the first poll reads it, so no wait
  // slept. Paced at 4 records a second, every job, batch and query is still unfinished at the first
  // poll: each wait sleeps between polls, as the windows-1252 test's did when it lost that race
  // under load (on it.effect's TestClock the sleep never ended and the test hung).
  describe("when every wait has to poll again", () => {
    let paced: typeof emu
    beforeAll(async () => {
      paced = await Emulator.start({ latencyMs: 2, processing: { recordsPerSecond: { insert: 4, query: 4 } } })
    })
    afterAll(async () => {
      await paced?.close()
    })

    it.live("windows-1252 data lands through both APIs, and the query returns it", () =>
      Effect.gen(function*() {
        const data = Buffer.from("Name,Description\r\nCaf\xe9 paced,12 \x80\r\n", "latin1")
        const job = yield* Bulk2.createIngestJob({ object: "Account", operation: "insert", lineEnding: "CRLF" })
        yield* Bulk2.uploadJobData(job, chunked(data, 3), { encoding: "windows-1252" })
        yield* Bulk2.closeIngestJob(job.id)
        const seen: Array<string> = []
        const done = yield* Bulk2.waitForIngestJob(job.id, { ...fast, onPoll: (info) => void seen.push(info.state) })
        expect(done).toMatchObject({ state: "JobComplete", numberRecordsProcessed: 1, numberRecordsFailed: 0 })
        // the precondition: the first poll found the job unfinished, so the wait slept
        expect(seen[0]).not.toBe("JobComplete")
        const job1 = yield* Bulk1.createJob({ object: "Account", operation: "insert", contentType: "CSV" })
        const b = yield* Bulk1.addBatch(job1, Buffer.from("Name,Description\r\nCaf\xe9 paced v1,12 \x80\r\n", "latin1"), {
          encoding: "windows-1252"
        })
        expect(yield* Bulk1.waitForBatch(job1, b.id, fast)).toMatchObject({ numberRecordsProcessed: 1, numberRecordsFailed: 0 })
        yield* Bulk1.closeJob(job1.id)
        expect(yield* stored("Café paced")).toEqual(expect.arrayContaining([
          { Name: "Café paced", Description: "12 €" },
          { Name: "Café paced v1", Description: "12 €" }
        ]))
      }).pipe(Effect.provide(Layer.suspend(() => clientOf(paced)))), 20_000)
  })

  it.effect("Csv.decode reads bytes in the encoding given (a byte-order mark decides over it), strictly", () =>
    Effect.gen(function*() {
      const decode = (data: Uint8Array, encoding?: string) =>
        Stream.runCollect(Csv.decode(encoding === undefined ? { delimiter: "\t" } : { delimiter: "\t", encoding })(chunked(data, 1))).pipe(
          Effect.map(Chunk.toReadonlyArray)
        )
      expect(yield* decode(Buffer.from("Name\tCity\r\nCaf\xe9\t\x80\r\n", "latin1"), "windows-1252")).toEqual([{ Name: "Café", City: "€" }])
      const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("Name\tCity\r\nCafé\t€\r\n", "utf16le")])
      expect(yield* decode(utf16, "utf-8")).toEqual([{ Name: "Café", City: "€" }])
      const bad = yield* Effect.flip(decode(Buffer.from("Name\nCaf\xe9\n", "latin1"), "utf-8"))
      expect(bad).toMatchObject({ _tag: "InvalidInputError" })
      expect((bad as { what: string }).what).toContain("offset 8 (line 2)")
      expect((yield* Effect.flip(decode(utf16, "latin9x")))._tag).toBe("InvalidInputError")
    }), 20_000)
})
