/**
 * Limits preflight (`preflightLimits`): before the load, read the org's remaining daily allocations
 * (`GET /services/data/vXX.X/limits`), then count the input's rows as they are read and fail with a
 * `LimitExceededError` as soon as the load needs more Bulk API batches than `DailyBulkApiBatches`
 * has left (2.0: one per 10,000 records, Salesforce's internal batches; 1.0: one per `batchSize`
 * records). With the default all-or-nothing upload the whole input is read before the first
 * request that uploads anything, so the failure comes before any job exists.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as BulkClient from "../BulkClient.js"
import { LimitExceededError, type BulkError } from "../BulkError.js"
import { requestJson } from "./bulk2.js"
import { Transport } from "./transport.js"

const Allocation = Schema.Struct({ Max: Schema.Number, Remaining: Schema.Number })

/** The part of `/limits` the preflight reads. */
const Limits = Schema.Struct({
  DailyBulkApiBatches: Schema.optional(Allocation),
  DailyApiRequests: Schema.optional(Allocation)
})

/** Records per Bulk API 2.0 internal batch (documented). */
const BULK2_BATCH_RECORDS = 10_000

/** Records per batch the load will use. */
const recordsPerBatch = (options: BulkClient.IngestOptions<any>): number =>
  options.api === "1.0" ? Math.min(options.batchSize ?? 10_000, options.maxBatchRecords ?? 10_000) : BULK2_BATCH_RECORDS

/**
 * `rows` checked against the org's remaining batch allocation, read once when the stream starts.
 * Without `preflightLimits` the rows pass untouched.
 */
export const preflighted = <A, E, R>(
  rows: Stream.Stream<A, E, R>,
  options: BulkClient.IngestOptions<any>
): Stream.Stream<A, E | BulkError, R | Transport> => {
  if (options.preflightLimits !== true) return rows
  return Stream.unwrap(
    Effect.gen(function*() {
      const t = yield* Transport
      const path = `/services/data/v${t.apiVersion}/limits`
      const limits = yield* requestJson({ method: "GET", path, api: "2.0" }, Limits)
      const left = limits.DailyBulkApiBatches?.Remaining
      if (left === undefined) return rows
      const per = recordsPerBatch(options)
      let n = 0
      return Stream.mapChunksEffect(rows, (chunk) => {
        n += chunk.length
        const batches = Math.ceil(n / per)
        if (batches <= left) return Effect.succeed(chunk)
        return Effect.fail(
          new LimitExceededError({
            errorCode: "ExceededQuota",
            status: 0,
            method: "GET",
            path,
            description:
              `preflight: the load needs at least ${batches} Bulk API batches (${n} records so far, ${per} per batch) but the org has ${left} of its daily DailyBulkApiBatches allocation left (with the default all-or-nothing upload, nothing was sent). Load fewer records, wait for the allocation to free up, or drop preflightLimits`
          })
        )
      })
    })
  )
}
