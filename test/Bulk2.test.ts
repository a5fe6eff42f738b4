/**
 * The low-level Bulk API 2.0 module end to end against the emulator: the ingest job lifecycle, an
 * aborted job's unprocessed records, job lists, and a multi-page query read page by page and in
 * parallel with identical results.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Bulk2, SalesforceAuth, Transport } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let layer: Layer.Layer<Transport.Transport>

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 5, pageSize: 700 })
  layer = Bulk2.layer().pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
    Layer.orDie
  )
})
afterAll(async () => {
  await emu?.close()
})

const wait = { schedule: Schedule.spaced("20 millis"), timeout: "30 seconds" as const }
const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)
const run = <A, E>(effect: Effect.Effect<A, E, Transport.Transport>) => Effect.runPromise(Effect.provide(effect, layer))

describe("Bulk2 against the emulator", () => {
  it("ingest lifecycle: create, stream upload, close, wait, results, list, delete", () =>
    run(Effect.gen(function*() {
      const job = yield* Bulk2.createIngestJob({ object: "Account", operation: "insert", columnDelimiter: "SEMICOLON", lineEnding: "CRLF" })
      const csv = "Name;NumberOfEmployees\r\nLow Acme;12\r\n;3\r\n\"Semi;Colon\";7\r\n"
      yield* Bulk2.uploadJobData(job.id, Stream.make(new TextEncoder().encode(csv)))
      yield* Bulk2.closeIngestJob(job.id)
      const done = yield* Bulk2.waitForIngestJob(job.id, wait)
      expect(done.state).toBe("JobComplete")
      expect(done.numberRecordsProcessed).toBe(3)
      expect(done.numberRecordsFailed).toBe(1)
      const ok = yield* collect(Bulk2.successfulResults(job.id))
      expect(ok.map((r) => r.Name).sort()).toEqual(["Low Acme", "Semi;Colon"])
      for (const r of ok) expect(emu.org.get(r.sf__Id!)?.values.Name).toBe(r.Name)
      const bad = yield* collect(Bulk2.failedResults(job.id))
      expect(bad).toHaveLength(1)
      expect(bad[0]!.sf__Error).toMatch(/^REQUIRED_FIELD_MISSING:/)
      const listed = yield* collect(Bulk2.listIngestJobs())
      expect(listed.some((j) => j.id === job.id)).toBe(true)
      yield* Bulk2.deleteIngestJob(job.id)
      const gone = yield* Effect.flip(Bulk2.getIngestJob(job.id))
      expect(gone._tag).toBe("ApiError")
      expect((gone as any).status).toBe(404)
    })))

  it("an aborted job reports its rows as unprocessed", () =>
    run(Effect.gen(function*() {
      const job = yield* Bulk2.createIngestJob({ object: "Account", operation: "insert" })
      yield* Bulk2.uploadJobData(job.id, "Name\nA1\nA2\n")
      const aborted = yield* Bulk2.abortIngestJob(job.id)
      expect(aborted.state).toBe("Aborted")
      const unprocessed = yield* collect(Bulk2.unprocessedRecords(job.id))
      expect(unprocessed.map((r) => r.Name)).toEqual(["A1", "A2"])
    })))

  it("a multi-page query reads the same rows sequentially and in parallel", () =>
    run(Effect.gen(function*() {
      const n = 5_000
      const csv = "Name,ExternalId__c,NumberOfEmployees\n" +
        Array.from({ length: n }, (_, i) => `Paged ${String(i).padStart(5, "0")},pg-${i},${i}`).join("\n") + "\n"
      const ingest = yield* Bulk2.createIngestJob({ object: "Account", operation: "insert" })
      yield* Bulk2.uploadJobData(ingest.id, csv)
      yield* Bulk2.closeIngestJob(ingest.id)
      expect((yield* Bulk2.waitForIngestJob(ingest.id, wait)).numberRecordsProcessed).toBe(n)

      const job = yield* Bulk2.createQueryJob({
        query: "SELECT Id, Name, NumberOfEmployees FROM Account WHERE Name LIKE 'Paged %' ORDER BY Name"
      })
      const info = yield* Bulk2.waitForQueryJob(job.id, wait)
      expect(info.state).toBe("JobComplete")
      expect(info.numberRecordsProcessed).toBe(n)
      const sequential = yield* collect(Bulk2.queryResults(job.id, { maxRecords: 700 }))
      const parallel = yield* collect(Bulk2.queryResultsParallel(job.id, { concurrency: 4 }))
      const pages = yield* collect(Bulk2.resultPageUrls(job.id))
      expect(pages.length).toBeGreaterThan(5)
      expect(sequential).toHaveLength(n)
      expect(sequential[0]!.Name).toBe("Paged 00000")
      expect(sequential[n - 1]!.Name).toBe("Paged 04999")
      expect(parallel).toEqual(sequential)
      yield* Bulk2.deleteQueryJob(job.id)
    })))
})
