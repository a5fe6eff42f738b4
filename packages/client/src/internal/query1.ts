/**
 * Bulk API 1.0 queries for the high-level client: a query job with one SOQL batch (or PK-chunked
 * batches), waited on, then every result file of every completed batch streamed in batch order.
 */
import * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Bulk1 from "../Bulk1.js"
import type * as BulkClient from "../BulkClient.js"
import { InvalidInputError, type BulkError } from "../BulkError.js"
import { tracker } from "./progress.js"
import { checkCount } from "./query2.js"
import type { Transport } from "./transport.js"

/** The object of a SOQL statement's (outer) FROM clause. */
export const objectOf = (soql: string): string | undefined => {
  const m = /\bfrom\s+([A-Za-z][A-Za-z0-9_]*)/i.exec(soql.replace(/'(?:\\.|[^'\\])*'/g, "''"))
  return m?.[1]
}

/** CSV query records hold strings already; anything else is rendered as CSV would show it. */
export const toText = (r: Bulk1.QueryRecord): BulkClient.QueryRow => {
  // a CSV record (every value a string) is handed over as it is: no second object per row
  let text = true
  for (const k in r) {
    if (typeof r[k] !== "string") {
      text = false
      break
    }
  }
  if (text) return r as BulkClient.QueryRow
  const out: Record<string, string> = {}
  for (const k of Object.keys(r)) {
    const v = r[k]
    out[k] = v === null || v === undefined ? "" : typeof v === "string" ? v : String(v)
  }
  return out
}

/** A 1.0 query as a stream of untyped rows. */
export const query1 = (
  soql: string,
  all: boolean,
  options: BulkClient.QueryOptions<any>
): Stream.Stream<BulkClient.QueryRow, BulkError, Transport> =>
  Stream.unwrap(Effect.gen(function*() {
    const object = objectOf(soql)
    if (!object) return yield* new InvalidInputError({ what: `cannot find the object in the query's FROM clause: ${soql}` })
    const progress = tracker(options.onProgress)
    const context = yield* Effect.context<Transport>()
    const pk = options.pkChunking
    const job = yield* Bulk1.createJob({
      object,
      operation: all ? "queryAll" : "query",
      contentType: "CSV",
      ...(pk === undefined || pk === false ? {} : { pkChunking: pk === true ? true : { chunkSize: pk } })
    })
    const wait = {
      ...(options.pollSchedule ? { schedule: options.pollSchedule as Schedule.Schedule<unknown> } : {}),
      ...(options.timeout !== undefined ? { timeout: options.timeout } : {})
    }
    const batch = yield* Bulk1.addQueryBatch(job, soql)
    progress.uploaded(job.id, 0, batch.id)
    const batches = yield* (pk === undefined || pk === false
      ? Effect.map(Bulk1.waitForBatch(job, batch.id, wait), (b) => [b])
      : Effect.map(Bulk1.waitForJob(job, wait), (bs) => bs.filter((b) => b.id !== batch.id))).pipe(
        Effect.tapError(() => Effect.ignore(Bulk1.abortJob(job)))
      )
    for (const b of batches) progress.polled(job.id, b.state, { processed: b.numberRecordsProcessed, failed: 0 }, b.id)
    const completed = batches.filter((b) => b.state === "Completed")
    const expected = completed.reduce((n, b) => n + b.numberRecordsProcessed, 0)
    const rows = Stream.fromIterable(completed).pipe(
      Stream.flatMap((b) => Bulk1.queryResults(job, b.id)),
      Stream.map(toText)
    )
    return checkCount(rows, job.id, expected, progress.read).pipe(
      // the finalizer may run outside the stream's provided context, so it carries its own
      Stream.ensuring(Effect.ignore(Effect.provide(Bulk1.closeJob(job), context)))
    )
  })).pipe(Stream.withSpan("BulkClient.query", { attributes: { "sfbulk.api": "1.0" } }))
