/**
 * The Bulk 1.0 outcome streams (`internal/ingest1.ts`): each batch's request rows paired with its
 * results, chunk by chunk. The server is a fake `HttpClient` whose answers arrive in chunks of
 * awkward sizes, so request and result chunks never line up; checked: every row lands in the
 * right stream with its own row, id and input position, unprocessed rows come from the tail of a
 * partly processed batch, and a request or result that does not match what was sent is a
 * `ResultMismatchError` naming the batch, never an outcome with an empty row.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as BulkClient from "../src/BulkClient.js"
import * as SalesforceAuth from "../src/SalesforceAuth.js"
import * as Transport from "../src/Transport.js"

const JOB = "7505g000000001AAAA"
const BATCH = "7515g000000001AAAA"
const v1 = "/services/async/66.0"

const xml = (root: string, fields: Record<string, string | number>) =>
  `<?xml version="1.0" encoding="UTF-8"?><${root} xmlns="http://www.force.com/2009/06/asyncapi/dataload">${
    Object.entries(fields).map(([k, v]) => `<${k}>${v}</${k}>`).join("")
  }</${root}>`
const jobXml = (state: string) =>
  xml("jobInfo", {
    id: JOB,
    operation: "insert",
    object: "Account",
    state,
    contentType: "CSV",
    concurrencyMode: "Parallel",
    apiVersion: "66.0"
  })
const batchXml = (state: string, processed: number, failed: number) =>
  xml("batchInfo", { id: BATCH, jobId: JOB, state, numberRecordsProcessed: processed, numberRecordsFailed: failed })

/** A body sent in pieces of `size` bytes (a different size per answer, so chunks never align). */
const chunked = (text: string, size: number) => {
  const bytes = new TextEncoder().encode(text)
  return new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < bytes.length; i += size) c.enqueue(bytes.slice(i, i + size))
      c.close()
    }
  })
}

/** One-batch 1.0 server: `request` and `results` are what it answers for the batch. */
const server = (o: { state: string; processed: number; failed: number; request: string; results: string }) => {
  const client = HttpClient.make((req: HttpClientRequest.HttpClientRequest) =>
    Effect.sync(() => {
      const path = new URL(req.url).pathname
      const answer = (body: string | ReadableStream<Uint8Array>, type: string) =>
        HttpClientResponse.fromWeb(req, new Response(body, { status: 200, headers: { "content-type": type } }))
      if (req.method === "POST" && path === `${v1}/job`) return answer(jobXml("Open"), "application/xml")
      if (req.method === "POST" && path === `${v1}/job/${JOB}`) return answer(jobXml("Closed"), "application/xml")
      if (req.method === "GET" && path === `${v1}/job/${JOB}`) return answer(jobXml("Closed"), "application/xml")
      if (req.method === "POST" && path === `${v1}/job/${JOB}/batch`) return answer(batchXml("Queued", 0, 0), "application/xml")
      if (req.method === "GET" && path === `${v1}/job/${JOB}/batch/${BATCH}`) {
        return answer(batchXml(o.state, o.processed, o.failed), "application/xml")
      }
      if (req.method === "GET" && path === `${v1}/job/${JOB}/batch`) {
        const info = batchXml(o.state, o.processed, o.failed).replace(/^<\?xml[^>]*>/, "").replace(/ xmlns="[^"]*"/, "")
        return answer(
          `<?xml version="1.0" encoding="UTF-8"?><batchInfoList xmlns="http://www.force.com/2009/06/asyncapi/dataload">${info}</batchInfoList>`,
          "application/xml"
        )
      }
      if (req.method === "GET" && path === `${v1}/job/${JOB}/batch/${BATCH}/request`) {
        return answer(chunked(o.request, 7), "text/csv")
      }
      if (req.method === "GET" && path === `${v1}/job/${JOB}/batch/${BATCH}/result`) return answer(chunked(o.results, 13), "text/csv")
      return HttpClientResponse.fromWeb(req, new Response(`no route ${req.method} ${path}`, { status: 404 }))
    })
  )
  return Layer.effect(BulkClient.BulkClient, BulkClient.make).pipe(
    Layer.provide(Transport.layer({ retrySchedule: Schedule.recurs(1) })),
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: "https://fake.my.salesforce.com", accessToken: "00Dfake!token" })),
    Layer.provide(Layer.succeed(HttpClient.HttpClient, client))
  )
}

const N = 60
const rows = Array.from({ length: N }, (_, i) => ({ Name: `acct ${i}`, City: i % 2 === 0 ? "Paris" : "Oslo, \"north\"" }))
const requestCsv = (n = N) =>
  "Name,City\n" + rows.slice(0, n).map((r) => `${r.Name},"${r.City.replaceAll("\"", "\"\"")}"`).join("\n") + "\n"
const failedRows = new Set([3, 17, 41])
const idOf = (i: number) => `001000000000${String(i).padStart(3, "0")}AAA`
const resultsCsv = (n: number) =>
  "\"Id\",\"Success\",\"Created\",\"Error\"\n" +
  Array.from({ length: n }, (_, i) =>
    failedRows.has(i)
      ? `"","false","false","REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"\n`
      : `"${idOf(i)}","true","true",""\n`).join("")
const opts = { api: "1.0" as const, pollSchedule: Schedule.spaced("1 millis") }

const read = (o: BulkClient.Outcome) =>
  Effect.all({
    successes: Effect.map(Stream.runCollect(o.successes), Chunk.toReadonlyArray),
    failures: Effect.map(Stream.runCollect(o.failures), Chunk.toReadonlyArray),
    unprocessed: Effect.map(Stream.runCollect(o.unprocessed), Chunk.toReadonlyArray)
  })

describe("Bulk 1.0 outcome streams (request rows paired with results)", () => {
  it.effect("every row lands in one stream with its own row, id and position when chunks do not line up", () =>
    Effect.gen(function*() {
      const o = yield* BulkClient.insert("Account", rows, opts)
      expect(o.summary).toMatchObject({ succeeded: N - 3, failed: 3, unprocessed: 0 })
      const { failures, successes, unprocessed } = yield* read(o)
      expect(successes.map((s) => s.position)).toEqual(rows.map((_, i) => i).filter((i) => !failedRows.has(i)))
      for (const s of successes) {
        expect(s.row).toEqual(rows[s.position ?? -1])
        expect(s.id).toBe(idOf(s.position ?? -1))
        expect(s).toMatchObject({ jobId: JOB, batchId: BATCH, created: true })
      }
      expect(failures.map((f) => f.position)).toEqual([...failedRows])
      for (const f of failures) {
        expect(f.row).toEqual(rows[f.position ?? -1])
        expect(f).toMatchObject({ code: "REQUIRED_FIELD_MISSING", fields: ["Name"] })
        expect(f.id).toBeUndefined()
      }
      expect(unprocessed).toEqual([])
    }).pipe(Effect.provide(server({ state: "Completed", processed: N, failed: 3, request: requestCsv(), results: resultsCsv(N) }))))

  it.effect("a partly processed batch: the rows past its results are unprocessed, with their rows and positions", () =>
    Effect.gen(function*() {
      const o = yield* BulkClient.insert("Account", rows, opts)
      expect(o.summary).toMatchObject({ succeeded: 22, failed: 3, unprocessed: N - 25 })
      const { failures, successes, unprocessed } = yield* read(o)
      expect(successes.length).toBe(22)
      expect(failures.map((f) => [f.position, f.code])).toEqual([[3, "REQUIRED_FIELD_MISSING"], [17, "REQUIRED_FIELD_MISSING"], [24, "X"]])
      expect(unprocessed.map((u) => u.position)).toEqual(rows.map((_, i) => i).slice(25))
      for (const u of unprocessed) expect(u.row).toEqual(rows[u.position ?? -1])
    }).pipe(
      Effect.provide(
        server({
          state: "Failed",
          processed: 25,
          failed: 3,
          request: requestCsv(),
          results: resultsCsv(25).replace(`"${idOf(24)}","true","true",""`, `"","false","false","X:y --"`)
        })
      )
    ))

  it.effect("a result without a request row is a ResultMismatchError naming the batch, not an outcome with an empty row", () =>
    Effect.gen(function*() {
      const o = yield* BulkClient.insert("Account", rows, opts)
      const emitted: Array<BulkClient.Success> = []
      const err = yield* Effect.flip(Stream.runForEach(o.successes, (s) => Effect.sync(() => emitted.push(s))))
      expect(err).toMatchObject({ _tag: "ResultMismatchError", jobId: JOB, batchId: BATCH })
      for (const s of emitted) expect(s.row).toEqual(rows[s.position ?? -1])
    }).pipe(
      // the request lost its last row; the results (and counters) still cover every row sent
      Effect.provide(server({ state: "Completed", processed: N, failed: 3, request: requestCsv(N - 1), results: resultsCsv(N) }))
    ))

  it.effect("a request longer than what was sent is a ResultMismatchError naming the batch", () =>
    Effect.gen(function*() {
      const o = yield* BulkClient.insert("Account", rows, opts)
      const err = yield* Effect.flip(Stream.runDrain(o.unprocessed))
      expect(err).toMatchObject({ _tag: "ResultMismatchError", jobId: JOB, batchId: BATCH, expected: N, got: N + 1 })
    }).pipe(
      Effect.provide(
        server({ state: "Failed", processed: 25, failed: 3, request: requestCsv() + "extra,\"Lyon\"\n", results: resultsCsv(25) })
      )
    ))

  it.effect("results that disagree with the batch's counters are a ResultMismatchError at the batch's end", () =>
    Effect.gen(function*() {
      const o = yield* BulkClient.insert("Account", rows, opts)
      const err = yield* Effect.flip(Stream.runDrain(o.successes))
      expect(err).toMatchObject({ _tag: "ResultMismatchError", jobId: JOB, batchId: BATCH, expected: N - 2, got: N - 3 })
    }).pipe(Effect.provide(server({ state: "Completed", processed: N, failed: 2, request: requestCsv(), results: resultsCsv(N) }))))
})

describe("1.0 results parsed in slices (memory: parsed records die young)", () => {
  it.effect("a result cut into slices, inside rows and inside multi-byte characters, parses to the same results", () =>
    Effect.gen(function*() {
      const { parseBatchResults } = yield* Effect.promise(() => import("../src/internal/bulk1.js"))
      let text = `"Id","Success","Created","Error"\n`
      for (let i = 0; i < 3000; i++) {
        text += i % 7 === 0
          ? `"","false","false","FIELD_INTEGRITY_EXCEPTION:Valeur refusée « ${i} » 🚫:Name --"\n`
          : `"001${String(i).padStart(15, "0")}","true","${i % 2 === 0}",""\n`
      }
      const bytes = new TextEncoder().encode(text)
      // pieces of odd sizes, as downloaded; then the slices parsed one at a time
      const pieces = Chunk.fromIterable([bytes.subarray(0, 40_001), bytes.subarray(40_001, 40_003), bytes.subarray(40_003)])
      // cut into 16 KB views, as the ids-only read feeds a result to the parser
      const slices: Array<Chunk.Chunk<Uint8Array>> = []
      for (const piece of pieces) {
        for (let at = 0; at < piece.length; at += 16 * 1024) slices.push(Chunk.of(piece.subarray(at, at + 16 * 1024)))
      }
      expect(slices.length).toBeGreaterThan(3)
      expect(slices.every((c) => Chunk.unsafeHead(c).length <= 16 * 1024)).toBe(true)
      const whole = yield* Stream.runCollect(parseBatchResults("CSV", Stream.make(bytes)))
      const sliced = yield* Stream.runCollect(parseBatchResults("CSV", Stream.fromChunks(...slices)))
      expect(sliced.length).toBe(3000)
      expect(Chunk.toReadonlyArray(sliced)).toEqual(Chunk.toReadonlyArray(whole))
      expect(Chunk.unsafeGet(sliced, 7).errors[0]?.message).toBe("Valeur refusée « 7 » 🚫")
    }))
})

describe("1.0 ids only (successRows: false): each result file parsed, counted and made into outcomes in one stage", () => {
  const lean = { ...opts, successRows: false }

  it.effect("every success and failure at its position with its id, from a result file that arrives in odd pieces", () =>
    Effect.gen(function*() {
      const o = yield* BulkClient.insert("Account", rows, lean)
      const { failures, successes } = yield* read(o)
      expect(successes.map((s) => [s.position, s.id])).toEqual(
        rows.map((_, i) => i).filter((i) => !failedRows.has(i)).map((i) => [i, idOf(i)])
      )
      for (const s of successes) expect(s).toMatchObject({ jobId: JOB, batchId: BATCH, created: true, row: {} })
      expect(failures.map((f) => [f.position, f.code])).toEqual([...failedRows].map((i) => [i, "REQUIRED_FIELD_MISSING"]))
    }).pipe(Effect.provide(server({ state: "Completed", processed: N, failed: 3, request: requestCsv(), results: resultsCsv(N) }))))

  it.effect("a malformed result file is a TransportError naming the batch, after the outcomes before it", () =>
    Effect.gen(function*() {
      const o = yield* BulkClient.insert("Account", rows, lean)
      const err = yield* Effect.flip(Stream.runDrain(o.successes))
      expect(err).toMatchObject({ _tag: "TransportError", jobId: JOB, batchId: BATCH, unparseable: true })
    }).pipe(
      Effect.provide(
        server({ state: "Completed", processed: N, failed: 3, request: requestCsv(), results: resultsCsv(N) + "\"unterminated,\"true\n" })
      )
    ))

  it.effect("results that disagree with the batch's counters are a ResultMismatchError at the batch's end", () =>
    Effect.gen(function*() {
      const o = yield* BulkClient.insert("Account", rows, lean)
      const err = yield* Effect.flip(Stream.runDrain(o.successes))
      expect(err).toMatchObject({ _tag: "ResultMismatchError", jobId: JOB, batchId: BATCH, expected: N - 2, got: N - 3 })
    }).pipe(Effect.provide(server({ state: "Completed", processed: N, failed: 2, request: requestCsv(), results: resultsCsv(N) }))))
})
