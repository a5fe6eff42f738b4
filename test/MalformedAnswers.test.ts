/**
 * Malformed answers from the server (issue 7): truncated CSV, invalid XML or JSON, a missing
 * header, fewer rows than Salesforce's own counts: each becomes a typed `BulkError` (naming the
 * job where there is one), never a crash (defect) or a silently short result. The server is a
 * fake `HttpClient` answering from a route table.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import { Bulk2, BulkClient, SalesforceAuth, Transport } from "../packages/client/src/index.js"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"

const JOB = "7505g000000001AAAA"
const BATCH = "7515g000000001AAAA"
type Answer = { readonly status?: number; readonly body: string; readonly type?: string; readonly headers?: Record<string, string> }
type Routes = (method: string, path: string) => Answer | undefined

const fakeLayer = (routes: Routes) => {
  const client = HttpClient.make((req: HttpClientRequest.HttpClientRequest) =>
    Effect.sync(() => {
      const url = new URL(req.url)
      const a = routes(req.method, url.pathname) ??
        { status: 404, body: `[{"errorCode":"NOT_FOUND","message":"no route ${req.method} ${url.pathname}"}]` }
      return HttpClientResponse.fromWeb(
        req,
        new Response(a.body, { status: a.status ?? 200, headers: { "content-type": a.type ?? "application/json", ...a.headers } })
      )
    })
  )
  return Transport.layer({ retrySchedule: Schedule.recurs(1) }).pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: "https://fake.my.salesforce.com", accessToken: "00Dfake!token" })),
    Layer.provide(Layer.succeed(HttpClient.HttpClient, client))
  )
}
const clientOver = (routes: Routes) => Layer.effect(BulkClient.BulkClient, BulkClient.make).pipe(Layer.provide(fakeLayer(routes)))

const v2 = "/services/data/v66.0/jobs"
const v1 = "/services/async/66.0"
const jobJson = (extra: Record<string, unknown>) =>
  JSON.stringify({ id: JOB, operation: "query", object: "Account", state: "JobComplete", columnDelimiter: "COMMA", ...extra })
const fast = { pollSchedule: Schedule.spaced("1 millis") }

/** Runs and checks: a typed BulkError (a failure, not a defect), with the job named when given. */
const expectTyped = async (effect: Effect.Effect<unknown, unknown>, tag: string | RegExp, jobId?: string) => {
  const exit = await Effect.runPromiseExit(effect)
  expect(Exit.isFailure(exit)).toBe(true)
  if (Exit.isSuccess(exit)) return
  expect(Cause.isDie(exit.cause), Cause.pretty(exit.cause)).toBe(false)
  const failure = Cause.failureOption(exit.cause)
  expect(failure._tag).toBe("Some")
  if (failure._tag === "None") return
  const e = failure.value as { _tag: string; jobId?: string; message: string }
  expect(e._tag).toMatch(tag)
  expect(typeof e.message).toBe("string")
  if (jobId !== undefined) expect(e.jobId ?? e.message).toContain(jobId)
}

describe("Bulk API 2.0 answers", () => {
  const queryRoutes = (results: Answer, info: Record<string, unknown> = { numberRecordsProcessed: 3 }): Routes => (method, path) => {
    if (method === "POST" && path === `${v2}/query`) return { body: jobJson({ state: "UploadComplete" }) }
    if (method === "GET" && path === `${v2}/query/${JOB}`) return { body: jobJson(info) }
    if (method === "GET" && path === `${v2}/query/${JOB}/results`) return results
    return undefined
  }
  const query = (routes: Routes) =>
    Stream.runCollect(BulkClient.query("SELECT Id, Name FROM Account", fast)).pipe(Effect.provide(clientOver(routes)))

  it("a well-formed answer reads fine (the fake is faithful)", async () => {
    const rows = await Effect.runPromise(query(queryRoutes({ body: "Id,Name\n001A,a\n001B,b\n001C,c\n", type: "text/csv" })))
    expect(Chunk.toReadonlyArray(rows).map((r) => r.Name)).toEqual(["a", "b", "c"])
  })
  it("CSV truncated inside a quoted value", () =>
    expectTyped(
      query(queryRoutes({ body: "Id,Name\n001A,a\n001B,\"b, and then", type: "text/csv" })),
      /TransportError|ResultMismatchError/,
      JOB
    ))
  it("CSV truncated at a line boundary: fewer rows than processed is never silently short", () =>
    expectTyped(query(queryRoutes({ body: "Id,Name\n001A,a\n", type: "text/csv" })), "ResultMismatchError", JOB))
  it("a missing header (empty body) while 3 rows were processed", () =>
    expectTyped(query(queryRoutes({ body: "", type: "text/csv" })), "ResultMismatchError", JOB))
  it("a row with more fields than the header", () =>
    expectTyped(
      query(queryRoutes({ body: "Id,Name\n001A,a,extra\n001B,b\n001C,c\n", type: "text/csv" })),
      /TransportError|ResultMismatchError/,
      JOB
    ))
  it("a CSV answer that arrived whole but cannot be parsed is not fetched again", async () => {
    let gets = 0
    const routes = queryRoutes({ body: "Id,Name\n001A,a,extra\n001B,b\n001C,c\n", type: "text/csv" })
    await expectTyped(
      query((m, p) => {
        if (m === "GET" && p === `${v2}/query/${JOB}/results`) gets++
        return routes(m, p)
      }),
      "TransportError",
      JOB
    )
    expect(gets).toBe(1)
  })
  it("invalid JSON job info", () =>
    expectTyped(query((m, p) => (m === "POST" && p === `${v2}/query` ? { body: "{\"id\": \"750" } : undefined)), "TransportError"))
  it("JSON job info without a state", () =>
    expectTyped(
      query((
        m,
        p
      ) => (m === "POST" && p === `${v2}/query`
        ? { body: JSON.stringify({ id: JOB, object: "Account", operation: "query" }) }
        : undefined)
      ),
      "TransportError"
    ))
  it("HTML instead of JSON (a proxy's error page)", () =>
    expectTyped(
      query((
        m,
        p
      ) => (m === "POST" && p === `${v2}/query` ? { body: "<html><body>Bad gateway</body></html>", type: "text/html" } : undefined)),
      "TransportError"
    ))
  it("an error answer with an unparseable body is still typed with its status", () =>
    expectTyped(query((m, p) => (m === "POST" && p === `${v2}/query` ? { status: 400, body: "<<<garbage" } : undefined)), "ApiError"))

  it("ingest: success results shorter than the job's counts", () => {
    const routes: Routes = (method, path) => {
      if (method === "POST" && path === `${v2}/ingest`) return { body: jobJson({ operation: "insert", state: "Open" }) }
      if (method === "PUT" && path === `${v2}/ingest/${JOB}/batches`) return { status: 201, body: "" }
      if (method === "PATCH" && path === `${v2}/ingest/${JOB}`) return { body: jobJson({ operation: "insert", state: "UploadComplete" }) }
      if (method === "GET" && path === `${v2}/ingest/${JOB}`) {
        return { body: jobJson({ operation: "insert", numberRecordsProcessed: 3, numberRecordsFailed: 0 }) }
      }
      if (method === "GET" && path === `${v2}/ingest/${JOB}/successfulResults`) {
        return { body: "\"sf__Id\",\"sf__Created\",\"Name\"\n\"001A\",\"true\",\"a\"\n", type: "text/csv" }
      }
      if (method === "GET" && path === `${v2}/ingest/${JOB}/failedResults`) {
        return { body: "\"sf__Id\",\"sf__Error\",\"Name\"\n", type: "text/csv" }
      }
      return undefined
    }
    const rows = [{ Name: "a" }, { Name: "b" }, { Name: "c" }]
    return Promise.all([
      // verifyResults: the operation itself counts the results and fails
      expectTyped(
        BulkClient.insert("Account", rows, { ...fast, verifyResults: true }).pipe(Effect.provide(clientOver(routes))),
        "ResultMismatchError",
        JOB
      ),
      // default: the summary trusts the counters; the successes stream fails at the job's end
      expectTyped(
        BulkClient.insert("Account", rows, fast).pipe(
          Effect.flatMap((o) => Stream.runCollect(o.successes)),
          Effect.provide(clientOver(routes))
        ),
        "ResultMismatchError",
        JOB
      )
    ])
  })

  it("low-level Bulk2: a JSON job list that is not a list", () =>
    expectTyped(
      Stream.runCollect(Bulk2.listIngestJobs()).pipe(
        Effect.provide(fakeLayer((m, p) => (m === "GET" && p === `${v2}/ingest` ? { body: "{\"done\":true,\"records\":{}}" } : undefined)))
      ),
      "TransportError"
    ))
})

describe("Bulk API 1.0 answers", () => {
  const xml = (root: string, fields: Record<string, string | number>) =>
    `<?xml version="1.0" encoding="UTF-8"?><${root} xmlns="http://www.force.com/2009/06/asyncapi/dataload">${
      Object.entries(fields).map(([k, v]) => `<${k}>${v}</${k}>`).join("")
    }</${root}>`
  const job = (state = "Open") =>
    xml("jobInfo", {
      id: JOB,
      operation: "query",
      object: "Account",
      state,
      contentType: "CSV",
      concurrencyMode: "Parallel",
      apiVersion: "66.0"
    })
  const batch = (state = "Completed", n = 3) =>
    xml("batchInfo", { id: BATCH, jobId: JOB, state, numberRecordsProcessed: n, numberRecordsFailed: 0 })
  const routes = (over: Partial<Record<"job" | "batch" | "resultIds" | "result", Answer>>): Routes => (method, path) => {
    if (method === "POST" && path === `${v1}/job`) return over.job ?? { body: job(), type: "application/xml" }
    if (method === "POST" && path === `${v1}/job/${JOB}`) return { body: job("Closed"), type: "application/xml" }
    if (method === "GET" && path === `${v1}/job/${JOB}`) return { body: job(), type: "application/xml" }
    if (method === "GET" && path === `${v1}/job/${JOB}/batch`) return { body: xml("batchInfoList", {}), type: "application/xml" }
    if (method === "POST" && path === `${v1}/job/${JOB}/batch`) return { body: batch("Queued", 0), type: "application/xml" }
    if (method === "GET" && path === `${v1}/job/${JOB}/batch/${BATCH}`) return over.batch ?? { body: batch(), type: "application/xml" }
    if (method === "GET" && path === `${v1}/job/${JOB}/batch/${BATCH}/result`) {
      return over.resultIds ??
        {
          body: `<result-list xmlns="http://www.force.com/2009/06/asyncapi/dataload"><result>7525g000000001A</result></result-list>`,
          type: "application/xml"
        }
    }
    if (method === "GET" && path === `${v1}/job/${JOB}/batch/${BATCH}/result/7525g000000001A`) {
      return over.result ?? { body: "\"Id\",\"Name\"\n\"001A\",\"a\"\n\"001B\",\"b\"\n\"001C\",\"c\"\n", type: "text/csv" }
    }
    return undefined
  }
  const query = (r: Routes) =>
    Stream.runCollect(BulkClient.query("SELECT Id, Name FROM Account", { ...fast, api: "1.0" })).pipe(Effect.provide(clientOver(r)))

  it("ingest: a batch's results shorter than its counters fail the outcome stream (or verifyResults)", () => {
    const insertJob = (state: string) =>
      xml("jobInfo", {
        id: JOB,
        operation: "insert",
        object: "Account",
        state,
        contentType: "CSV",
        concurrencyMode: "Parallel",
        apiVersion: "66.0"
      })
    const r: Routes = (method, path) => {
      if (method === "POST" && path === `${v1}/job`) return { body: insertJob("Open"), type: "application/xml" }
      if (method === "POST" && path === `${v1}/job/${JOB}`) return { body: insertJob("Closed"), type: "application/xml" }
      if (method === "GET" && path === `${v1}/job/${JOB}`) return { body: insertJob("Open"), type: "application/xml" }
      if (method === "GET" && path === `${v1}/job/${JOB}/batch`) return { body: xml("batchInfoList", {}), type: "application/xml" }
      if (method === "POST" && path === `${v1}/job/${JOB}/batch`) return { body: batch("Queued", 0), type: "application/xml" }
      if (method === "GET" && path === `${v1}/job/${JOB}/batch/${BATCH}`) return { body: batch(), type: "application/xml" }
      if (method === "GET" && path === `${v1}/job/${JOB}/batch/${BATCH}/request`) return { body: "Name\na\nb\nc\n", type: "text/csv" }
      if (method === "GET" && path === `${v1}/job/${JOB}/batch/${BATCH}/result`) {
        return { body: "\"Id\",\"Success\",\"Created\",\"Error\"\n\"001A\",\"true\",\"true\",\"\"\n", type: "text/csv" }
      }
      return undefined
    }
    const rows = [{ Name: "a" }, { Name: "b" }, { Name: "c" }]
    return Promise.all([
      expectTyped(
        BulkClient.insert("Account", rows, { ...fast, api: "1.0", verifyResults: true }).pipe(Effect.provide(clientOver(r))),
        "ResultMismatchError",
        JOB
      ),
      expectTyped(
        BulkClient.insert("Account", rows, { ...fast, api: "1.0" }).pipe(
          Effect.flatMap((o) => Stream.runCollect(o.successes)),
          Effect.provide(clientOver(r))
        ),
        "ResultMismatchError",
        JOB
      ),
      // the operation itself succeeds from the counters, without reading the results
      Effect.runPromise(BulkClient.insert("Account", rows, { ...fast, api: "1.0" }).pipe(Effect.provide(clientOver(r)))).then((o) =>
        expect(o.summary).toMatchObject({ rowsRead: 3, succeeded: 3, created: 3, failed: 0, unprocessed: 0 })
      )
    ])
  })

  it("a well-formed answer reads fine (the fake is faithful)", async () => {
    const rows = await Effect.runPromise(query(routes({})))
    expect(Chunk.toReadonlyArray(rows).map((r) => r.Name)).toEqual(["a", "b", "c"])
  })
  it("invalid XML job info", () =>
    expectTyped(query(routes({ job: { body: "<jobInfo><id>750", type: "application/xml" } })), "TransportError"))
  it("XML job info without an id", () =>
    expectTyped(
      query(routes({ job: { body: xml("jobInfo", { state: "Open" }), type: "application/xml" } })),
      /TransportError|ApiError|InvalidInputError/
    ))
  it("batch info that is JSON garbage", () =>
    expectTyped(query(routes({ batch: { body: "{\"state\":", type: "application/json" } })), "TransportError"))
  it("a result id list that is not XML", () =>
    expectTyped(query(routes({ resultIds: { body: "not xml at all", type: "application/xml" } })), "TransportError"))
  it("CSV truncated inside a quoted value", () =>
    expectTyped(
      query(routes({ result: { body: "\"Id\",\"Name\"\n\"001A\",\"a\"\n\"001B\",\"b", type: "text/csv" } })),
      /TransportError|ResultMismatchError/,
      JOB
    ))
  it("CSV shorter than the batch's processed count", () =>
    expectTyped(query(routes({ result: { body: "\"Id\",\"Name\"\n\"001A\",\"a\"\n", type: "text/csv" } })), "ResultMismatchError", JOB))
  it("a missing header (empty result file)", () =>
    expectTyped(query(routes({ result: { body: "", type: "text/csv" } })), "ResultMismatchError", JOB))
})

describe("ambiguous answers", () => {
  it("2.0: a close whose answer is lost (500) but was applied is not uploaded again", async () => {
    let posts = 0
    let puts = 0
    let closed = false
    const routes: Routes = (method, path) => {
      if (method === "POST" && path === `${v2}/ingest`) {
        posts++
        return { body: jobJson({ operation: "insert", state: "Open" }) }
      }
      if (method === "PUT" && path === `${v2}/ingest/${JOB}/batches`) {
        puts++
        return { status: 201, body: "" }
      }
      if (method === "PATCH" && path === `${v2}/ingest/${JOB}`) {
        closed = true
        return { status: 500, body: "[{\"errorCode\":\"UNKNOWN_EXCEPTION\",\"message\":\"lost\"}]" }
      }
      if (method === "GET" && path === `${v2}/ingest/${JOB}`) {
        return {
          body: jobJson({ operation: "insert", state: closed ? "JobComplete" : "Open", numberRecordsProcessed: 1, numberRecordsFailed: 0 })
        }
      }
      if (method === "GET" && path === `${v2}/ingest/${JOB}/successfulResults`) {
        return { body: "\"sf__Id\",\"sf__Created\",\"Name\"\n\"001A\",\"true\",\"a\"\n", type: "text/csv" }
      }
      if (method === "GET" && path === `${v2}/ingest/${JOB}/failedResults`) {
        return { body: "\"sf__Id\",\"sf__Error\",\"Name\"\n", type: "text/csv" }
      }
      return undefined
    }
    const outcome = await Effect.runPromise(BulkClient.insert("Account", [{ Name: "a" }], fast).pipe(Effect.provide(clientOver(routes))))
    expect(outcome.summary).toMatchObject({ succeeded: 1, jobIds: [JOB] })
    expect(posts).toBe(1)
    expect(puts).toBe(1)
  })
})
