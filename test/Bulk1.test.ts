/**
 * Bulk API 1.0 end to end against the emulator over real HTTP: one test per row of the parity table
 * with the Python `salesforce-bulk` seed, plus every content type.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Bulk1, Csv, SalesforceAuth, Transport } from "../packages/client/src/index.js"
import { Emulator } from "../packages/emulator/src/index.js"
import { NodeHttpClient } from "@effect/platform-node"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let layer: Layer.Layer<Transport.Transport>

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 5 })
  layer = Bulk1.layer().pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken })),
    Layer.orDie
  )
})
afterAll(async () => {
  await emu?.close()
})

const wait = { schedule: Schedule.spaced("20 millis"), timeout: "30 seconds" } as const
const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)
const run = <A, E>(effect: Effect.Effect<A, E, Transport.Transport>) => Effect.runPromise(Effect.provide(effect, layer))
const runExit = <A, E>(effect: Effect.Effect<A, E, Transport.Transport>) => Effect.runPromiseExit(Effect.provide(effect, layer))
const text = <E, R>(s: Stream.Stream<Uint8Array, E, R>) => Stream.runFold(s, "", (a, b) => a + new TextDecoder().decode(b))
let tag = 0
const unique = (prefix: string) => `${prefix}-${Date.now()}-${++tag}`

describe("Bulk1 against the emulator (parity with salesforce-bulk)", () => {
  it("job constructors: every operation, concurrency mode, external id, PK chunking", () =>
    run(Effect.gen(function*() {
      const jobs = [
        yield* Bulk1.createInsertJob("Account", { concurrencyMode: "Serial" }),
        yield* Bulk1.createUpdateJob("Account"),
        yield* Bulk1.createUpsertJob("Account", "ExternalId__c"),
        yield* Bulk1.createDeleteJob("Account"),
        yield* Bulk1.createHardDeleteJob("Account"),
        yield* Bulk1.createQueryJob("Account", { pkChunking: { chunkSize: 1000 } }),
        yield* Bulk1.createQueryAllJob("Account", { pkChunking: true })
      ]
      expect(jobs.map((j) => j.operation)).toEqual(["insert", "update", "upsert", "delete", "hardDelete", "query", "queryAll"])
      expect(jobs[0]!.concurrencyMode).toBe("Serial")
      expect(jobs[1]!.concurrencyMode).toBe("Parallel")
      expect(jobs[2]!.externalIdFieldName).toBe("ExternalId__c")
      expect(jobs.every((j) => j.state === "Open" && j.contentType === "CSV" && j.apiVersion === "66.0")).toBe(true)
      const info = yield* Bulk1.jobInfo(jobs[0]!.id)
      expect(info).toMatchObject({ id: jobs[0]!.id, object: "Account", state: "Open" })
      for (const j of jobs) yield* Bulk1.abortJob(j)
      // bad input is refused before any request
      const bad = yield* Effect.flip(Bulk1.createUpsertJob("Account", undefined as unknown as string))
      expect(bad._tag).toBe("InvalidInputError")
      const unknown = yield* Effect.flip(Bulk1.createInsertJob("NoSuchObject__c"))
      expect(unknown).toMatchObject({ _tag: "ApiError", errorCode: "InvalidJob", status: 400 })
    })))

  it("add batch: a string, a byte Stream, records (Iterable and Stream via Csv); close; results", () =>
    run(Effect.gen(function*() {
      const n = unique("seed")
      const job = yield* Bulk1.createInsertJob("Account")
      const b1 = yield* Bulk1.addBatch(job, `Name,ExternalId__c\n${n}-a,${n}-a\n`)
      const b2 = yield* Bulk1.addBatch(job, Stream.make(new TextEncoder().encode(`Name,ExternalId__c\n${n}-b,${n}-b\n`)))
      const b3 = yield* Bulk1.addBatch(job, [{ Name: `${n}-c`, ExternalId__c: `${n}-c` }])
      const b4 = yield* Bulk1.addBatch(
        job,
        Bulk1.records(Stream.make({ Name: `${n}-d`, ExternalId__c: `${n}-d` }, { Name: null, ExternalId__c: `${n}-e` }), {
          columns: ["Name", "ExternalId__c"]
        })
      )
      expect(yield* Bulk1.listBatches(job)).toHaveLength(4)
      for (const b of [b1, b2, b3, b4]) yield* Bulk1.waitForBatch(job, b.id, wait)
      const closed = yield* Bulk1.closeJob(job)
      expect(closed.state).toBe("Closed")
      const results = yield* collect(Stream.flatMap(Stream.make(b1, b2, b3, b4), (b) => Bulk1.batchResults(job, b.id)))
      expect(results.map((r) => r.success)).toEqual([true, true, true, true, false])
      expect(results[4]!.errors[0]!.statusCode).toBe("REQUIRED_FIELD_MISSING")
      for (const r of results.slice(0, 4)) {
        expect(r.created).toBe(true)
        expect(emu.org.get(r.id!)?.values.Name).toMatch(new RegExp(`^${n}-[a-d]$`))
      }
      // the original payload comes back as bytes
      expect(yield* text(Bulk1.batchRequest(job, b1.id))).toBe(`Name,ExternalId__c\n${n}-a,${n}-a\n`)
      // a record with a field that is not a column fails with the row and field, nothing sent
      const before = (yield* Bulk1.jobInfo(job.id)).numberBatchesTotal
      const job2 = yield* Bulk1.createInsertJob("Account")
      const err = yield* Effect.flip(Bulk1.addBatch(job2, Bulk1.records([{ Name: "x" }, { Name: "y", Bogus: 1 }], { columns: ["Name"] })))
      expect(err).toMatchObject({ _tag: "InvalidInputError", row: 2, field: "Bogus" })
      expect((yield* Bulk1.listBatches(job2)).length).toBe(0)
      expect(before).toBe(4)
      yield* Bulk1.abortJob(job2)
    })))

  it("addBatches splits a record stream into batches of batchSize, in order", () =>
    run(Effect.gen(function*() {
      const n = unique("split")
      const job = yield* Bulk1.createInsertJob("Account")
      const rows = Stream.range(0, 24).pipe(Stream.map((i) => ({ Name: `${n}-${i}` })))
      const batches = yield* Bulk1.addBatches(job, rows, { batchSize: 10, concurrency: 2 })
      expect(batches).toHaveLength(3)
      yield* Bulk1.closeJob(job)
      yield* Bulk1.waitForJob(job, wait)
      const results = yield* collect(Stream.flatMap(Stream.fromIterable(batches), (b) => Bulk1.batchResults(job, b.id)))
      expect(results).toHaveLength(25)
      expect(results.map((r) => emu.org.get(r.id!)?.values.Name)).toEqual(Array.from({ length: 25 }, (_, i) => `${n}-${i}`))
      const bad = yield* Effect.flip(Bulk1.addBatches(job, [], { batchSize: 20_000 }))
      expect(bad._tag).toBe("InvalidInputError")
    })))

  it("Csv encoder (CsvDictsAdapter) feeds an upsert with created/updated results", () =>
    run(Effect.gen(function*() {
      const n = unique("ups")
      const rows = [{ ExternalId__c: `${n}-1`, Name: "One" }, { ExternalId__c: `${n}-2`, Name: "Two" }]
      const job = yield* Bulk1.createUpsertJob("Account", "ExternalId__c")
      const first = yield* Bulk1.addBatch(job, Csv.encode(Stream.fromIterable(rows), { columns: ["ExternalId__c", "Name"] }))
      yield* Bulk1.waitForBatch(job, first.id, wait)
      const second = yield* Bulk1.addBatch(job, Csv.encode(Stream.make({ ExternalId__c: `${n}-1`, Name: "Uno" })))
      yield* Bulk1.waitForBatch(job, second.id, wait)
      yield* Bulk1.closeJob(job)
      const r1 = yield* collect(Bulk1.batchResults(job, first.id))
      const r2 = yield* collect(Bulk1.batchResults(job, second.id))
      expect(r1.map((r) => r.created)).toEqual([true, true])
      expect(r2).toMatchObject([{ success: true, created: false, id: r1[0]!.id }])
      expect(emu.org.get(r1[0]!.id!)?.values.Name).toBe("Uno")
    })))

  it("status and waits: isBatchDone, batchInfo, jobInfo, waitForJob; a failed batch is typed", () =>
    run(Effect.gen(function*() {
      const job = yield* Bulk1.createInsertJob("Account")
      const good = yield* Bulk1.addBatch(job, `Name\n${unique("w")}\n`)
      const bad = yield* Bulk1.addBatch(job, `Nope__c\nx\n`)
      const batches = yield* Effect.either(Bulk1.waitForJob(job, wait))
      expect(batches._tag).toBe("Left")
      if (batches._tag === "Left") {
        expect(batches.left).toMatchObject({ _tag: "BatchFailedError", jobId: job.id, batchId: bad.id })
        expect(batches.left.message).toContain("Nope__c")
      }
      expect(yield* Bulk1.isBatchDone(job, good.id)).toBe(true)
      const failed = yield* Effect.flip(Bulk1.isBatchDone(job, bad.id))
      expect(failed._tag).toBe("BatchFailedError")
      const info = yield* Bulk1.batchInfo(job, good.id)
      expect(info).toMatchObject({ state: "Completed", numberRecordsProcessed: 1, jobId: job.id })
      const jobInfo = yield* Bulk1.jobInfo(job.id)
      expect(jobInfo).toMatchObject({ numberBatchesCompleted: 1, numberBatchesFailed: 1, numberBatchesTotal: 2 })
      yield* Bulk1.closeJob(job)
    })))

  it("abort: queued batches end NotProcessed and count as done", () =>
    Effect.runPromise(Effect.gen(function*() {
      const slow = yield* Effect.promise(() => Emulator.start({ latencyMs: 2_000 }))
      const slowLayer = Bulk1.layer().pipe(
        Layer.provide(SalesforceAuth.fromSession({ instanceUrl: slow.instanceUrl, accessToken: slow.accessToken })),
        Layer.orDie
      )
      yield* Effect.gen(function*() {
        const job = yield* Bulk1.createInsertJob("Account")
        const b = yield* Bulk1.addBatch(job, "Name\nNever\n")
        const aborted = yield* Bulk1.abortJob(job)
        expect(aborted.state).toBe("Aborted")
        const done = yield* Bulk1.waitForBatch(job, b.id, wait)
        expect(done.state).toBe("NotProcessed")
        expect(slow.org.count("Account")).toBe(0)
      }).pipe(Effect.provide(slowLayer), Effect.ensuring(Effect.promise(() => slow.close())))
    })))

  it("query with result iteration as records (query + get_all_results_for_query_batch)", () =>
    run(Effect.gen(function*() {
      const n = unique("q")
      for (let i = 0; i < 5; i++) emu.org.apply("insert", "Account", { Name: `${n}-${i}`, NumberOfEmployees: String(i) })
      const { batch, job } = yield* Bulk1.query("Account", `SELECT Id, Name, NumberOfEmployees FROM Account WHERE Name LIKE '${n}%'`)
      yield* Bulk1.waitForBatch(job, batch.id, wait)
      const ids = yield* collect(Bulk1.queryResultIds(job, batch.id))
      expect(ids.length).toBeGreaterThanOrEqual(1)
      const rows = yield* collect(Bulk1.queryResults(job, batch.id))
      expect(rows.map((r) => r.Name).sort()).toEqual([0, 1, 2, 3, 4].map((i) => `${n}-${i}`))
      expect(rows.every((r) => typeof r.Id === "string" && (r.Id as string).startsWith("001"))).toBe(true)
      yield* Bulk1.closeJob(job)
      // zero rows: "Records not found for this query" is an empty stream
      const empty = yield* Bulk1.query("Account", `SELECT Id FROM Account WHERE Name = 'no such ${n}'`)
      expect(yield* collect(Bulk1.jobQueryResults(empty.job, wait))).toEqual([])
    })))

  for (const contentType of ["CSV", "JSON", "XML"] as const) {
    it(`content type ${contentType}: insert from records, results, query back, queryAll sees deletes`, () =>
      run(Effect.gen(function*() {
        const n = unique(contentType)
        const job = yield* Bulk1.createInsertJob("Account", { contentType })
        const batch = yield* Bulk1.addBatch(job, [
          { Name: `${n} & <one>`, NumberOfEmployees: 1 },
          { Name: `${n} "two"`, NumberOfEmployees: 2 },
          { Name: null, NumberOfEmployees: 3 }
        ])
        yield* Bulk1.waitForBatch(job, batch.id, wait)
        yield* Bulk1.closeJob(job)
        const results = yield* collect(Bulk1.batchResults(job, batch.id))
        expect(results.map((r) => [r.success, r.created])).toEqual([[true, true], [true, true], [false, false]])
        expect(results[2]!.errors[0]!.statusCode).toBe("REQUIRED_FIELD_MISSING")
        expect(results[2]!.id).toBeNull()
        // delete one, then query and queryAll in the same content type
        const del = yield* Bulk1.createDeleteJob("Account", { contentType })
        const db = yield* Bulk1.addBatch(del, [{ Id: results[1]!.id! }])
        yield* Bulk1.waitForBatch(del, db.id, wait)
        yield* Bulk1.closeJob(del)
        const soql = `SELECT Id, Name, NumberOfEmployees FROM Account WHERE Name LIKE '${n}%'`
        const q = yield* Bulk1.query("Account", soql, { contentType })
        const live = yield* collect(Bulk1.jobQueryResults(q.job, wait))
        expect(live.map((r) => r.Name)).toEqual([`${n} & <one>`])
        expect(String(live[0]!.NumberOfEmployees)).toBe("1")
        const all = yield* Bulk1.query("Account", soql, { contentType, all: true })
        const everything = yield* collect(Bulk1.jobQueryResults(all.job, wait))
        expect(everything.map((r) => r.Name).sort()).toEqual([`${n} "two"`, `${n} & <one>`].sort())
      })))
  }

  it("a session given as a bare token that expires fails with SessionExpiredError", () =>
    Effect.runPromise(Effect.gen(function*() {
      const short = yield* Effect.promise(() => Emulator.start({ latencyMs: 5, faults: { "expire-after": 2 } }))
      const shortLayer = Bulk1.layer().pipe(
        Layer.provide(SalesforceAuth.fromSession({ instanceUrl: short.instanceUrl, accessToken: short.accessToken })),
        Layer.orDie
      )
      const exit = yield* Effect.exit(
        Effect.gen(function*() {
          const job = yield* Bulk1.createInsertJob("Account")
          yield* Bulk1.jobInfo(job.id)
          yield* Bulk1.jobInfo(job.id)
        }).pipe(Effect.provide(shortLayer), Effect.ensuring(Effect.promise(() => short.close())))
      )
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        expect(exit.cause.error._tag).toBe("SessionExpiredError")
        expect(exit.cause.error.message).toMatch(/cannot be renewed/)
        expect(exit.cause.error.message).not.toContain(short.accessToken)
      }
    })))

  it("invalid ids are refused with a clear error before any request", () =>
    runExit(Bulk1.jobInfo("../../etc")).then((exit) => {
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") expect(exit.cause.error._tag).toBe("InvalidInputError")
    }))
})

describe("README examples", () => {
  it("query with result iteration, and insert from records, over SOAP login", () =>
    Effect.runPromise(Effect.gen(function*() {
      const n = unique("readme")
      emu.org.apply("insert", "Contact", { LastName: n })
      const rows: Array<Bulk1.QueryRecord> = []
      const program = Effect.gen(function*() {
        const job = yield* Bulk1.createQueryJob("Contact", { contentType: "CSV" })
        const batch = yield* Bulk1.addQueryBatch(job, `SELECT Id, LastName FROM Contact WHERE LastName = '${n}'`)
        yield* Bulk1.closeJob(job)
        yield* Bulk1.waitForBatch(job, batch.id)
        yield* Stream.runForEach(Bulk1.queryResults(job, batch.id), (row) => Effect.sync(() => rows.push(row)))
      })
      const results: Array<Bulk1.BatchResult> = []
      const insert = Effect.gen(function*() {
        const job = yield* Bulk1.createInsertJob("Account", { contentType: "CSV" })
        const accounts = Stream.range(0, 4).pipe(Stream.map((i) => ({ Name: `${n}-Account${i}` })))
        const batch = yield* Bulk1.addBatch(job, Bulk1.records(accounts, { columns: ["Name"] }))
        yield* Bulk1.waitForBatch(job, batch.id)
        yield* Bulk1.closeJob(job)
        yield* Stream.runForEach(Bulk1.batchResults(job, batch.id), (result) => Effect.sync(() => results.push(result)))
      })
      const auth = SalesforceAuth.soapLogin({
        loginUrl: emu.loginUrl,
        username: emu.username,
        password: Redacted.make(emu.password),
        securityToken: Redacted.make(emu.securityToken)
      }).pipe(Layer.provide(NodeHttpClient.layerUndici))
      yield* Effect.zip(program, insert).pipe(Effect.provide(Bulk1.layer().pipe(Layer.provide(auth))))
      expect(rows).toEqual([{ Id: expect.stringMatching(/^003/), LastName: n }])
      expect(results).toHaveLength(5)
      expect(results.every((r) => r.success && r.created)).toBe(true)
    })))
})
