/**
 * Lost answers on Bulk API 1.0 (issue 11, items 2, 3 and 10), against the emulator over real HTTP:
 *
 * - identical batches (the same rows in every piece) with uploads reset or answered and then cut:
 *   every row lands exactly once, no batch is handed to two pieces, nothing hangs;
 * - a state change (close, abort, 2.0 UploadComplete) whose answer is lost, or that Salesforce
 *   refuses as a repeat ("Closing already closed Job not allowed"), reads the job: its state shows
 *   the change took effect, so the load succeeds; a job aborted by someone else while its batches
 *   wait counts their rows unprocessed;
 * - a PK-chunked query finishes whether or not `numberBatchesTotal` counts the original batch.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Bulk1, Bulk2, BulkClient, SalesforceAuth, Transport } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import { mulberry32 } from "../packages/emulator/src/internal/faults.js"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"

type Handle = Awaited<ReturnType<typeof Emulator.start>>

let emu: Handle

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 5 })
})
afterAll(async () => {
  await emu?.close()
})

const fast = { pollSchedule: Schedule.spaced("20 millis") }
const wait = { schedule: Schedule.spaced("20 millis"), timeout: "60 seconds" } as const
const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)
const auth = (e: Handle) => SalesforceAuth.fromSession({ instanceUrl: e.instanceUrl, accessToken: e.accessToken, apiVersion: e.apiVersion })

/** BulkClient and the low-level transport on one HTTP client. */
const layers = (e: Handle, http: Layer.Layer<HttpClient.HttpClient> = NodeHttpClient.layerUndici) =>
  Layer.mergeAll(BulkClient.layer(), Transport.layer()).pipe(
    Layer.provide(auth(e)),
    Layer.provide(http),
    Layer.orDie
  )

/** A stalled pipeline fails here instead of never settling. */
const guard = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.timeoutFail(self, { duration: "90 seconds", onTimeout: () => new Error("hung") })

/** Accounts in the org named `name` whose AccountNumber is `number` (identical rows are told apart by run). */
const countRows = (e: Handle, name: string, number: string): number => {
  const r = e.org.query(`SELECT Id FROM Account WHERE Name = '${name}' AND AccountNumber = '${number}'`)
  if (!r.ok) throw new Error(`org query failed: ${JSON.stringify(r.error)}`)
  return r.result.size
}

/**
 * An HTTP client that lets the first request `matches` accepts reach the server, then drops its
 * answer (the server acted; the caller sees a connection error), as a proxy losing answers would.
 */
const dropFirstAnswer = (matches: (method: string, path: string, body: string) => boolean) => {
  const dropped: Array<string> = []
  const layer = Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (real) =>
      HttpClient.make((request, url) =>
        Effect.gen(function*() {
          const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
          const response = yield* real.execute(request)
          if (dropped.length > 0 || !matches(request.method, url.pathname, body)) return response
          yield* Effect.ignore(response.text)
          dropped.push(`${request.method} ${url.pathname} ${body}`)
          return yield* new HttpClientError.RequestError({
            request,
            reason: "Transport",
            cause: new Error("socket hang up (answer dropped)")
          })
        })
      ))
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))
  return { layer, dropped }
}

describe("identical 1.0 batches with lost answers", () => {
  const ROWS = 5_000
  const insertSame = (tag: string) =>
    BulkClient.insert("Account", Array.from({ length: ROWS }, () => ({ Name: "Same", AccountNumber: tag })), {
      ...fast,
      api: "1.0",
      batchSize: 500
    })

  for (const [fault, seeds] of [["reset=0.3", [4, 5, 11]], ["lost-answer=0.2", [1, 3]]] as const) {
    it(
      `BulkClient.insert, ${fault} at seeds ${seeds.join(", ")}: the org holds each row once, every batch distinct`,
      () =>
        Effect.gen(function*() {
          for (const seed of seeds) {
            const tag = `same-${fault}-${seed}`
            emu.setFaults(fault, { seed })
            const outcome = yield* guard(insertSame(tag)).pipe(Effect.ensuring(Effect.sync(() => emu.setFaults(undefined))))
            const s = outcome.summary
            expect(new Set(s.batchIds).size, `seed ${seed}: batchIds ${s.batchIds.join(",")}`).toBe(ROWS / 500)
            expect(s).toMatchObject({ rowsRead: ROWS, succeeded: ROWS, failed: 0, unprocessed: 0 })
            expect(countRows(emu, "Same", tag), `seed ${seed}`).toBe(ROWS)
            const ids = (yield* collect(outcome.successes)).map((x) => x.id)
            expect(new Set(ids).size).toBe(ROWS)
          }
          // the seeds did inject faults
          expect(emu.stats().faults[fault.startsWith("reset") ? "reset" : "lost-answer"]).toBeGreaterThan(0)
        }).pipe(Effect.provide(layers(emu)), Effect.runPromise),
      300_000
    )
  }

  it("Bulk1.addBatch: the same content added 8 times at once under lost answers makes 8 batches", () =>
    Effect.gen(function*() {
      for (const seed of [2, 7]) {
        const tag = `addBatch-${seed}`
        const job = yield* Bulk1.createInsertJob("Account")
        const body = `Name,AccountNumber\n${Array.from({ length: 50 }, () => `Same,${tag}`).join("\n")}\n`
        emu.setFaults("lost-answer=0.3,reset=0.1", { seed })
        const batches = yield* guard(Effect.forEach(Array.from({ length: 8 }), () => Bulk1.addBatch(job, body), { concurrency: 4 })).pipe(
          Effect.ensuring(Effect.sync(() => emu.setFaults(undefined)))
        )
        expect(new Set(batches.map((b) => b.id)).size, `seed ${seed}`).toBe(8)
        expect(yield* Bulk1.listBatches(job)).toHaveLength(8)
        yield* Bulk1.closeJob(job)
        yield* Bulk1.waitForJob(job, wait)
        expect(countRows(emu, "Same", tag)).toBe(8 * 50)
      }
    }).pipe(Effect.provide(layers(emu)), Effect.runPromise), 120_000)
})

const isStateChange1 = (state: string) => (method: string, path: string, body: string) =>
  method === "POST" && /\/job\/\w+$/.test(path) && body.includes(`<state>${state}</state>`)
const isStateChange2 = (state: string) => (method: string, _path: string, body: string) =>
  method === "PATCH" && body.includes(`"state":"${state}"`)

describe("state changes whose answer is lost", () => {
  it("1.0 import whose close answer is lost: the job is read, found Closed, and the load succeeds", () => {
    const drop = dropFirstAnswer(isStateChange1("Closed"))
    return Effect.gen(function*() {
      const rows = Array.from({ length: 300 }, (_, i) => ({ Name: `close-lost-${i}`, AccountNumber: "close-lost" }))
      const outcome = yield* guard(BulkClient.insert("Account", rows, { ...fast, api: "1.0", batchSize: 100 }))
      expect(drop.dropped).toHaveLength(1)
      expect(outcome.summary).toMatchObject({ rowsRead: 300, succeeded: 300, failed: 0, unprocessed: 0 })
      expect(yield* collect(outcome.successes)).toHaveLength(300)
      const job = yield* Bulk1.jobInfo(outcome.summary.jobIds[0]!)
      expect(job.state).toBe("Closed")
    }).pipe(Effect.provide(layers(emu, drop.layer)), Effect.runPromise)
  }, 60_000)

  it("1.0 close under the emulator's lost-answer fault: the job is read, found Closed, closeJob succeeds", () =>
    Effect.gen(function*() {
      const job = yield* Bulk1.createInsertJob("Account")
      yield* Bulk1.addBatch(job, "Name,AccountNumber\nclose-fault,close-fault\n")
      // a seed whose first draw cuts the answer (the close) and whose next two do not (the re-send, the read)
      let seed = 1
      for (; seed < 10_000; seed++) {
        const rng = mulberry32(seed)
        if (rng() < 0.5 && rng() >= 0.5 && rng() >= 0.5) break
      }
      const before = emu.stats().faults["lost-answer"]
      emu.setFaults("lost-answer=0.5", { seed })
      const closed = yield* Bulk1.closeJob(job).pipe(Effect.ensuring(Effect.sync(() => emu.setFaults(undefined))))
      expect(emu.stats().faults["lost-answer"]).toBe(before + 1)
      expect(closed.state).toBe("Closed")
      yield* Bulk1.waitForJob(job, wait)
      expect(countRows(emu, "close-fault", "close-fault")).toBe(1)
    }).pipe(Effect.provide(layers(emu)), Effect.runPromise), 60_000)

  it("1.0 abort whose answer is lost: accepted; closing a job someone else aborted stays a typed refusal", () => {
    const drop = dropFirstAnswer(isStateChange1("Aborted"))
    return Effect.gen(function*() {
      const job = yield* Bulk1.createInsertJob("Account")
      const aborted = yield* Bulk1.abortJob(job)
      expect(drop.dropped).toHaveLength(1)
      expect(aborted.state).toBe("Aborted")
      const refused = yield* Effect.flip(Bulk1.closeJob(job))
      expect(refused).toMatchObject({ _tag: "ApiError", errorCode: "InvalidJobState" })
    }).pipe(Effect.provide(layers(emu, drop.layer)), Effect.runPromise)
  }, 60_000)

  it("2.0 UploadComplete whose answer is lost, the job already moved on: accepted, every row loads", () => {
    const drop = dropFirstAnswer(isStateChange2("UploadComplete"))
    return Effect.gen(function*() {
      const job = yield* Bulk2.createIngestJob({ object: "Account", operation: "insert" })
      yield* Bulk2.uploadJobData(job.id, "Name,AccountNumber\nuc-lost-a,uc-lost\nuc-lost-b,uc-lost\n")
      const closed = yield* Bulk2.closeIngestJob(job.id)
      expect(drop.dropped).toHaveLength(1)
      expect(["UploadComplete", "InProgress", "JobComplete"]).toContain(closed.state)
      expect((yield* Bulk2.waitForIngestJob(job.id, wait)).state).toBe("JobComplete")
      expect(countRows(emu, "uc-lost-a", "uc-lost")).toBe(1)
    }).pipe(Effect.provide(layers(emu, drop.layer)), Effect.runPromise)
  }, 60_000)

  it("2.0 abort whose answer is lost: accepted", () => {
    const drop = dropFirstAnswer(isStateChange2("Aborted"))
    return Effect.gen(function*() {
      const job = yield* Bulk2.createIngestJob({ object: "Account", operation: "insert" })
      const aborted = yield* Bulk2.abortIngestJob(job.id)
      expect(drop.dropped).toHaveLength(1)
      expect(aborted.state).toBe("Aborted")
    }).pipe(Effect.provide(layers(emu, drop.layer)), Effect.runPromise)
  }, 60_000)

  it("a repeated close is refused by Salesforce, then accepted from the job's state (both APIs)", () =>
    Effect.gen(function*() {
      const job = yield* Bulk1.createInsertJob("Account")
      yield* Bulk1.closeJob(job)
      expect((yield* Bulk1.closeJob(job)).state).toBe("Closed")
      const job2 = yield* Bulk2.createIngestJob({ object: "Account", operation: "insert" })
      yield* Bulk2.uploadJobData(job2.id, "Name,AccountNumber\nrepeat-close,repeat-close\n")
      yield* Bulk2.closeIngestJob(job2.id)
      yield* Bulk2.waitForIngestJob(job2.id, wait)
      expect((yield* Bulk2.closeIngestJob(job2.id)).state).toBe("JobComplete")
      // a refusal the job's state does not explain stays typed
      const refused = yield* Effect.flip(Bulk2.abortIngestJob(job2.id))
      expect(refused).toMatchObject({ _tag: "ApiError", errorCode: "INVALIDJOBSTATE" })
    }).pipe(Effect.provide(layers(emu)), Effect.runPromise), 60_000)

  it("1.0 import whose job someone else aborts while its batches wait: their rows are unprocessed, not an error", async () => {
    const slow = await Emulator.start({ latencyMs: 60_000 })
    try {
      let aborting: Promise<Response> | undefined
      const rows = Array.from({ length: 250 }, (_, i) => ({ Name: `aborted-${i}`, AccountNumber: "aborted" }))
      // the outcome's streams are read while the layer is up
      const { outcome, unprocessed } = await Effect.gen(function*() {
        const outcome = yield* guard(BulkClient.insert("Account", rows, {
          ...fast,
          api: "1.0",
          batchSize: 100,
          onProgress: (p) => {
            if (aborting === undefined && p.rowsUploaded === rows.length && p.last !== undefined) {
              aborting = fetch(`${slow.instanceUrl}/services/async/${slow.apiVersion}/job/${p.last.jobId}`, {
                method: "POST",
                headers: { "X-SFDC-Session": slow.accessToken, "Content-Type": "application/xml" },
                body: `<jobInfo xmlns="http://www.force.com/2009/06/asyncapi/dataload"><state>Aborted</state></jobInfo>`
              })
            }
          }
        }))
        return { outcome, unprocessed: yield* collect(outcome.unprocessed) }
      }).pipe(Effect.provide(layers(slow)), Effect.runPromise)
      expect((await aborting!).status).toBe(200)
      expect(outcome.summary).toMatchObject({ rowsRead: 250, succeeded: 0, failed: 0, unprocessed: 250 })
      expect(unprocessed.map((u) => u.row.Name).sort()).toEqual(rows.map((r) => r.Name).sort())
      expect(slow.org.count("Account")).toBe(0)
    } finally {
      await slow.close()
    }
  }, 60_000)
})

describe("PK chunking: a query finishes whether or not numberBatchesTotal counts the original batch", () => {
  for (const countsOriginal of [false, true]) {
    it(`pkChunkingCountsOriginal: ${countsOriginal}`, async () => {
      const data = { objects: [], records: { Account: Array.from({ length: 250 }, (_, i) => ({ Name: `pk-${i}` })) } }
      const pk = await Emulator.start({ latencyMs: 2, data, pkChunkingCountsOriginal: countsOriginal })
      try {
        await Effect.gen(function*() {
          const soql = "SELECT Id, Name FROM Account WHERE Name LIKE 'pk-%'"
          const { job } = yield* Bulk1.query("Account", soql, { pkChunking: { chunkSize: 100 } })
          const records = yield* collect(Bulk1.jobQueryResults(job, wait))
          expect(records.map((r) => r.Name).sort()).toEqual(data.records.Account.map((r) => r.Name).sort())
          const batches = yield* Bulk1.listBatches(job)
          expect(batches.map((b) => b.state)).toEqual(["NotProcessed", "Completed", "Completed", "Completed"])
          const info = yield* Bulk1.jobInfo(job.id)
          expect(info.numberBatchesTotal).toBe(countsOriginal ? 4 : 3)
          // the high-level query waits the same way
          const rows = yield* collect(BulkClient.query(soql, { ...fast, api: "1.0", pkChunking: 100, timeout: "60 seconds" }))
          expect(rows).toHaveLength(250)
        }).pipe(Effect.provide(layers(pk)), Effect.runPromise)
      } finally {
        await pk.close()
      }
    }, 120_000)
  }
})
