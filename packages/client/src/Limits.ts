/**
 * The org's limits: the REST API Limits resource (`GET /services/data/vXX.X/limits`, Salesforce
 * REST API Developer Guide, "Limits"), which answers, per limit, its maximum allocation (`Max`)
 * and what is left of it (`Remaining`), sometimes with per-application breakdowns as nested
 * objects of the same shape. Uses the same `Transport` (login, retries, renewal) as the Bulk APIs.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { BulkError } from "./BulkError.js"
import * as internal from "./internal/bulk2.js"
import { Transport } from "./internal/transport.js"

/**
 * One limit: its maximum allocation and what remains; the breakdowns some limits carry (e.g. per
 * connected app under `DailyApiRequests`) are kept as they came, under their own names.
 *
 * @since 0.1.0
 * @category models
 */
export const Limit = Schema.Struct(
  { Max: Schema.Number, Remaining: Schema.Number },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)

/**
 * One limit, decoded.
 *
 * @since 0.1.0
 * @category models
 */
export type Limit = typeof Limit.Type

/**
 * The org's limits, by limit name (`DailyApiRequests`, `DailyBulkApiBatches`, ...).
 *
 * @since 0.1.0
 * @category models
 */
export type OrgLimits = Readonly<Record<string, Limit>>

const isLimit = Schema.is(Limit)

/**
 * The limits of a Limits resource answer: every entry with a numeric `Max` and `Remaining`
 * (an entry of another shape, which a future release might add, is left out rather than making
 * the whole answer unreadable).
 *
 * @since 0.1.0
 * @category reading
 */
export const fromJson = (body: Readonly<Record<string, unknown>>): OrgLimits => {
  const out: Record<string, Limit> = {}
  for (const [name, value] of Object.entries(body)) if (isLimit(value)) out[name] = value
  return out
}

/**
 * The limits that matter to bulk work: API requests (every Bulk API call counts), Bulk API 1.0
 * batches (and Bulk API 2.0 ingest's internal batches), Bulk API 2.0 query jobs and their result
 * storage.
 *
 * @since 0.1.0
 * @category constants
 */
export const bulkRelevant: ReadonlyArray<string> = [
  "DailyApiRequests",
  "DailyBulkApiBatches",
  "DailyBulkV2QueryJobs",
  "DailyBulkV2QueryFileStorageMB"
]

/**
 * Reads the org's limits. Needs the "View Setup and Configuration" permission (Salesforce answers
 * 403 otherwise, an `ApiError`).
 *
 * @since 0.1.0
 * @category reading
 */
export const get: Effect.Effect<OrgLimits, BulkError, Transport> = Effect.flatMap(Transport, (t) =>
  internal.requestJson(
    { method: "GET", path: `/services/data/v${t.apiVersion}/limits`, api: "2.0" },
    Schema.Record({ key: Schema.String, value: Schema.Unknown })
  )).pipe(
    Effect.map(fromJson),
    Effect.withSpan("Limits.get")
  )
