import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Bulk2 from "../src/Bulk2.js"
import { makeFake } from "./fixtures/fakeBulk2.js"

describe("Bulk2 ingest", () => {
  it.effect("create, upload, close, wait with the schedule, read parsed results", () => {
    const fake = makeFake({ pollsUntilDone: 3 })
    return Effect.gen(function*() {
      const job = yield* Bulk2.createIngestJob({ object: "Account", operation: "insert", columnDelimiter: "PIPE" })
      expect(job.state).toBe("Open")
      // a job given by id is checked with its own delimiter: the comma is plain text here
      yield* Bulk2.uploadJobData(job.id, "Name|City\nAcme, Inc|Bodø\n|Paris\n\"Pipe|Co\"|Rome\n")
      yield* Bulk2.closeIngestJob(job.id)
      const polled: Array<string> = []
      const fiber = yield* Effect.fork(
        Bulk2.waitForIngestJob(job.id, { schedule: Schedule.spaced("2 seconds"), onPoll: (i) => polled.push(i.state) })
      )
      yield* TestClock.adjust("10 seconds")
      const done = yield* Fiber.join(fiber)
      expect(done.state).toBe("JobComplete")
      expect(polled).toEqual(["InProgress", "InProgress", "InProgress", "JobComplete"])
      expect(done.numberRecordsProcessed).toBe(3)
      const ok = Chunk.toReadonlyArray(yield* Stream.runCollect(Bulk2.successfulResults(job.id)))
      expect(ok.map((r) => r.Name)).toEqual(["Acme, Inc", "Pipe|Co"])
      expect(ok[0]!.City).toBe("Bodø")
      expect(ok[0]!.sf__Created).toBe("true")
      const bad = Chunk.toReadonlyArray(yield* Stream.runCollect(Bulk2.failedResults(job.id, { columnDelimiter: "PIPE" })))
      expect(bad).toEqual([{
        sf__Id: "",
        sf__Error: "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
        Name: "",
        City: "Paris"
      }])
      expect(Chunk.size(yield* Stream.runCollect(Bulk2.unprocessedRecords(job.id)))).toBe(0)
      // the upload was one PUT of exactly the CSV given
      expect(fake.log.filter((l) => l.startsWith("PUT"))).toHaveLength(1)
      expect(fake.jobs.get(job.id)!.body).toBe("Name|City\nAcme, Inc|Bodø\n|Paris\n\"Pipe|Co\"|Rome\n")
      yield* Bulk2.deleteIngestJob(job.id)
      expect(fake.jobs.has(job.id)).toBe(false)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("waiting past the timeout fails with PollTimeoutError naming the job, which keeps running", () => {
    const fake = makeFake({ pollsUntilDone: 1_000 })
    return Effect.gen(function*() {
      const job = yield* Bulk2.createIngestJob({ object: "Account", operation: "insert" })
      yield* Bulk2.uploadJobData(job.id, "Name\nA\n")
      yield* Bulk2.closeIngestJob(job.id)
      const fiber = yield* Effect.fork(
        Effect.flip(Bulk2.waitForIngestJob(job.id, { schedule: Schedule.spaced("1 second"), timeout: "30 seconds" }))
      )
      yield* TestClock.adjust("31 seconds")
      const err = yield* Fiber.join(fiber)
      expect(err._tag).toBe("PollTimeoutError")
      expect((err as any).jobId).toBe(job.id)
      expect(err.message).toContain(job.id)
      expect(fake.jobs.get(job.id)!.state).toBe("InProgress")
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("upsert without an external id field is rejected before any request", () => {
    const fake = makeFake()
    return Effect.gen(function*() {
      const err = yield* Effect.flip(Bulk2.createIngestJob({ object: "Account", operation: "upsert" }))
      expect(err._tag).toBe("InvalidInputError")
      expect(fake.log).toEqual([])
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("a second upload to the same job is a typed ApiError", () => {
    const fake = makeFake()
    return Effect.gen(function*() {
      const job = yield* Bulk2.createIngestJob({ object: "Account", operation: "insert" })
      yield* Bulk2.uploadJobData(job.id, "Name\nA\n")
      const err = yield* Effect.flip(Bulk2.uploadJobData(job.id, "Name\nB\n"))
      expect(err._tag).toBe("ApiError")
      expect((err as any).errorCode).toBe("BULK_API_ERROR")
      expect((err as any).jobId).toBe(job.id)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("lists jobs across every page", () => {
    const fake = makeFake({ listPageSize: 2 })
    return Effect.gen(function*() {
      for (const object of ["Account", "Contact", "Lead", "Case", "Task"]) {
        yield* Bulk2.createIngestJob({ object, operation: "insert" })
      }
      const all = Chunk.toReadonlyArray(yield* Stream.runCollect(Bulk2.listIngestJobs()))
      expect(all.map((j) => j.object)).toEqual(["Account", "Contact", "Lead", "Case", "Task"])
      expect(fake.log.filter((l) => l.startsWith("GET ingest"))).toEqual([
        "GET ingest",
        "GET ingest?queryLocator=2",
        "GET ingest?queryLocator=4"
      ])
    }).pipe(Effect.provide(fake.layer))
  })
})

describe("Bulk2 query", () => {
  const queryRows = Array.from({ length: 11 }, (_, i) => ({ Id: `001${i}`, Name: `N, "${i}"`, "Account.Name": i % 2 ? "" : `P${i}` }))

  it.effect("reads every page in order, sequentially and in parallel, with identical rows", () => {
    // later pages answer faster: the parallel download must still keep the order
    const fake = makeFake({ queryRows, pageSize: 3, pageDelay: (p) => (5 - p) * 100 })
    return Effect.gen(function*() {
      const job = yield* Bulk2.createQueryJob({ query: "SELECT Id, Name, Account.Name FROM Account" })
      const fiber = yield* Effect.fork(Bulk2.waitForQueryJob(job.id, { schedule: Schedule.spaced("1 second") }))
      yield* TestClock.adjust("2 seconds")
      expect((yield* Fiber.join(fiber)).state).toBe("JobComplete")

      const seqFiber = yield* Effect.fork(Stream.runCollect(Bulk2.queryResults(job.id, { maxRecords: 3 })))
      yield* TestClock.adjust("10 seconds")
      const seq = Chunk.toReadonlyArray(yield* Fiber.join(seqFiber))

      const parFiber = yield* Effect.fork(Stream.runCollect(Bulk2.queryResultsParallel(job.id, { concurrency: 4 })))
      yield* TestClock.adjust("10 seconds")
      const par = Chunk.toReadonlyArray(yield* Fiber.join(parFiber))

      expect(seq).toEqual(queryRows)
      expect(par).toEqual(seq)
      expect(fake.log.filter((l) => l.includes("/results")).length).toBe(8) // 4 pages each way
      expect(fake.log.filter((l) => l.includes("/resultPages")).length).toBe(2) // followed nextRecordsUrl
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("below API 58.0 the parallel download falls back to sequential paging", () => {
    const fake = makeFake({ queryRows, pageSize: 5, apiVersion: "57.0" })
    return Effect.gen(function*() {
      const job = yield* Bulk2.createQueryJob({ query: "SELECT Id FROM Account" })
      yield* Bulk2.getQueryJob(job.id)
      const rows = Chunk.toReadonlyArray(yield* Stream.runCollect(Bulk2.queryResultsParallel(job.id, { concurrency: 3 })))
      expect(rows).toEqual(queryRows)
      expect(fake.log.some((l) => l.includes("resultPages"))).toBe(false)
    }).pipe(Effect.provide(fake.layer))
  })
})
