/**
 * Bulk API 1.0 at size and under trouble, against the emulator: a 50,000-row insert in several
 * batches with per-record failures, a PK-chunked 250,000-row query read as one stream, a session
 * that expires mid-job, injected 5xx and connection resets without duplicated batches, and a poll
 * timeout that leaves the job resumable.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { NodeHttpClient } from "@effect/platform-node"
import { Bulk1, SalesforceAuth } from "../packages/client/src/index.js"
import { Emulator } from "../packages/emulator/src/index.js"

type Handle = Awaited<ReturnType<typeof Emulator.start>>
const wait = { schedule: Schedule.spaced("25 millis"), timeout: "60 seconds" } as const

const sessionLayer = (emu: Handle) =>
  Bulk1.layer().pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken })),
    Layer.orDie
  )

/** A renewable session: SOAP login with username, password and security token. */
const soapLayer = (emu: Handle) =>
  Bulk1.layer().pipe(
    Layer.provide(
      SalesforceAuth.soapLogin({
        loginUrl: emu.loginUrl,
        username: emu.username,
        password: Redacted.make(emu.password),
        securityToken: Redacted.make(emu.securityToken)
      }).pipe(Layer.provide(NodeHttpClient.layerUndici))
    )
  )

const count = <A, E, R>(s: Stream.Stream<A, E, R>) => Stream.runFold(s, 0, (n) => n + 1)

describe("Bulk1 at size", () => {
  let emu: Handle
  beforeAll(async () => {
    emu = await Emulator.start({ latencyMs: 5, resultFileRows: 40_000 })
  })
  afterAll(async () => {
    await emu?.close()
  })

  it("inserts 50,000 rows in 5 batches; every per-record failure is reported", () =>
    Effect.runPromise(
      Effect.gen(function*() {
        const before = emu.org.count("Contact")
        const job = yield* Bulk1.createInsertJob("Contact")
        const batches = []
        for (let b = 0; b < 5; b++) {
          // every 100th row lacks the required LastName
          const rows = Stream.range(b * 10_000, b * 10_000 + 9_999).pipe(
            Stream.map((i) => ({ FirstName: `F${i}`, LastName: i % 100 === 0 ? null : `L${i}` }))
          )
          batches.push(yield* Bulk1.addBatch(job, Bulk1.records(rows, { columns: ["FirstName", "LastName"] })))
        }
        yield* Bulk1.closeJob(job)
        const done = yield* Bulk1.waitForJob(job, wait)
        expect(done.every((b) => b.state === "Completed")).toBe(true)
        let ok = 0
        const failed: Array<number> = []
        let index = 0
        yield* Stream.runForEach(
          Stream.flatMap(Stream.fromIterable(batches), (b) => Bulk1.batchResults(job, b.id)),
          (r) =>
            Effect.sync(() => {
              if (r.success) ok++
              else {
                failed.push(index)
                expect(r.errors[0]!.statusCode).toBe("REQUIRED_FIELD_MISSING")
              }
              index++
            })
        )
        expect(index).toBe(50_000)
        expect(ok).toBe(49_500)
        expect(failed).toHaveLength(500)
        expect(failed.every((i) => i % 100 === 0)).toBe(true)
        expect(emu.org.count("Contact") - before).toBe(49_500)
        const info = yield* Bulk1.jobInfo(job.id)
        expect(info).toMatchObject({ numberRecordsProcessed: 50_000, numberRecordsFailed: 500, numberBatchesCompleted: 5 })
      }).pipe(Effect.provide(sessionLayer(emu)))
    ), 120_000)

  it("reads a PK-chunked query of 250,000 rows as one stream", () =>
    Effect.runPromise(
      Effect.gen(function*() {
        const start = emu.org.count("Lead")
        for (let i = 0; i < 250_000; i++) emu.org.apply("insert", "Lead", { LastName: `Lead ${i}`, Company: "Big" })
        expect(emu.org.count("Lead") - start).toBe(250_000)
        const { job } = yield* Bulk1.query("Lead", "SELECT Id, LastName FROM Lead WHERE Company = 'Big'", {
          pkChunking: { chunkSize: 60_000 }
        })
        const seen = new Set<string>()
        const n = yield* Stream.runFold(Bulk1.jobQueryResults(job, wait), 0, (acc, r) => {
          seen.add(r.Id as string)
          return acc + 1
        })
        expect(n).toBe(250_000)
        expect(seen.size).toBe(250_000)
        const batches = yield* Bulk1.listBatches(job)
        expect(batches.filter((b) => b.state === "NotProcessed")).toHaveLength(1) // the original
        expect(batches.filter((b) => b.state === "Completed").length).toBeGreaterThanOrEqual(5)
        yield* Bulk1.closeJob(job)
      }).pipe(Effect.provide(sessionLayer(emu)))
    ), 180_000)
})

describe("Bulk1 under trouble", () => {
  it("a session that expires mid-job is renewed (SOAP login) and the job completes", async () => {
    const emu = await Emulator.start({ latencyMs: 5, faults: { "expire-after": 4 } })
    try {
      await Effect.runPromise(
        Effect.gen(function*() {
          const job = yield* Bulk1.createInsertJob("Account")
          const batches = yield* Effect.forEach(
            [0, 1, 2, 3, 4, 5],
            (b) => Bulk1.addBatch(job, [{ Name: `Renewed ${b}-a` }, { Name: `Renewed ${b}-b` }]),
            { concurrency: 3 }
          )
          yield* Bulk1.closeJob(job)
          yield* Bulk1.waitForJob(job, wait)
          const results = yield* Stream.runCollect(Stream.flatMap(Stream.fromIterable(batches), (b) => Bulk1.batchResults(job, b.id)))
          expect([...results].every((r) => r.success)).toBe(true)
        }).pipe(Effect.provide(soapLayer(emu)))
      )
      expect(emu.org.count("Account")).toBe(12)
      expect(emu.stats().faults["expire-after"]).toBeGreaterThan(0)
      expect(emu.stats().sessions.issued).toBeGreaterThan(2)
    } finally {
      await emu.close()
    }
  })

  it("injected 5xx and connection resets are retried without a duplicated batch", async () => {
    const emu = await Emulator.start({ latencyMs: 5 })
    try {
      const layer = sessionLayer(emu)
      const job = await Effect.runPromise(Bulk1.createInsertJob("Account").pipe(Effect.provide(layer)))
      emu.setFaults({ "5xx": 0.2, reset: 0.15 }, { seed: 7 })
      const ids = await Effect.runPromise(
        Effect.forEach(
          Array.from({ length: 20 }, (_, b) => b),
          (b) =>
            Effect.map(
              Bulk1.addBatch(job, `Name,ExternalId__c\nFault ${b},fault-${b}\n`, {
                resendSchedule: Schedule.spaced("10 millis").pipe(Schedule.intersect(Schedule.recurs(10)))
              }),
              (info) => info.id
            ),
          { concurrency: 1 }
        ).pipe(
          Effect.tap(() => Effect.sync(() => emu.setFaults(undefined))),
          Effect.provide(layer)
        )
      )
      emu.setFaults(undefined)
      const faults = emu.stats().faults
      expect(faults["5xx"] + faults.reset).toBeGreaterThan(3)
      const batches = await Effect.runPromise(
        Effect.gen(function*() {
          yield* Bulk1.closeJob(job)
          return yield* Bulk1.waitForJob(job, wait)
        }).pipe(Effect.provide(layer))
      )
      expect(new Set(ids).size).toBe(20)
      expect(batches).toHaveLength(20) // no batch was posted twice
      expect(emu.org.count("Account")).toBe(20)
    } finally {
      await emu.close()
    }
  })

  it("a poll timeout names the job and leaves it resumable", async () => {
    const emu = await Emulator.start({ latencyMs: 1_500 })
    try {
      await Effect.runPromise(
        Effect.gen(function*() {
          const job = yield* Bulk1.createInsertJob("Account")
          const batch = yield* Bulk1.addBatch(job, "Name\nPatient\n")
          const timeout = yield* Effect.flip(Bulk1.waitForBatch(job, batch.id, { timeout: "100 millis" }))
          expect(timeout).toMatchObject({ _tag: "PollTimeoutError", jobId: job.id, batchId: batch.id })
          expect(timeout.message).toContain(job.id)
          // a schedule that runs out is a timeout too
          const exhausted = yield* Effect.flip(Bulk1.waitForJob(job.id, { schedule: Schedule.recurs(0) }))
          expect(exhausted._tag).toBe("PollTimeoutError")
          // resume from the ids alone
          const done = yield* Bulk1.waitForBatch(job.id, batch.id, wait)
          expect(done.state).toBe("Completed")
          expect(yield* count(Bulk1.batchResults(job.id, batch.id))).toBe(1)
          yield* Bulk1.closeJob(job.id)
        }).pipe(Effect.provide(sessionLayer(emu)))
      )
    } finally {
      await emu.close()
    }
  })
})
