/**
 * The BulkClient service over a `Transport`: dispatches each operation to the 2.0 or 1.0 pipeline.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as BulkClient from "../BulkClient.js"
import type * as BulkErrors from "../BulkError.js"
import { InvalidInputError, isBulkError, type BulkError } from "../BulkError.js"
import { ingest1 } from "./ingest1.js"
import { ingest2 } from "./ingest2.js"
import { resumeJobs, withJournal } from "./journal.js"
import { mapRows } from "./mapping.js"
import { checkedRows } from "./validate.js"
import { query1 } from "./query1.js"
import { decodeRows, query2 } from "./query2.js"
import { toStream, type Rows } from "./rows.js"
import * as Transport from "./transport.js"

/** Rejects option combinations the chosen API cannot honour, before anything is sent. */
export const validate = (options: BulkClient.IngestOptions<any> | BulkClient.QueryOptions<any>): Effect.Effect<void, InvalidInputError> => {
  const o = options as BulkClient.IngestOptions<any> & BulkClient.QueryOptions<any>
  const bad = (what: string) => Effect.fail(new InvalidInputError({ what }))
  if (o.api === "1.0" && o.columnDelimiter !== undefined && o.columnDelimiter !== "COMMA") {
    return bad("Bulk API 1.0 only accepts comma-delimited CSV: drop columnDelimiter or use api \"2.0\"")
  }
  if (o.api !== "1.0" && o.pkChunking !== undefined && o.pkChunking !== false) {
    return bad("PK chunking is a Bulk API 1.0 option: use api \"1.0\" (Bulk API 2.0 chunks queries by itself)")
  }
  if (o.maxBatchRecords !== undefined && (o.maxBatchRecords < 1 || o.maxBatchRecords > 10_000)) {
    return bad(`maxBatchRecords must be between 1 and 10,000 (got ${o.maxBatchRecords})`)
  }
  if (o.api === "1.0" && o.batchSize !== undefined && (o.batchSize < 1 || o.batchSize > 10_000)) {
    return bad(`batchSize must be between 1 and 10,000 on Bulk API 1.0 (got ${o.batchSize})`)
  }
  if (o.maxBatchChars !== undefined && (o.maxBatchChars < 1 || o.maxBatchChars > 10_000_000)) {
    return bad(`maxBatchChars must be between 1 and 10,000,000 (got ${o.maxBatchChars})`)
  }
  if (o.maxJobBytes !== undefined && (o.maxJobBytes < 1 || o.maxJobBytes > 100_000_000)) {
    return bad(`maxJobBytes must be between 1 and 100,000,000 (got ${o.maxJobBytes})`)
  }
  if (o.mapping !== undefined && o.schema !== undefined) {
    return bad("the mapping option renames plain rows: with a schema, name the Schema's fields after the Salesforce fields instead")
  }
  if (o.concurrency !== undefined && !(o.concurrency >= 1)) {
    return bad(`concurrency must be at least 1 (got ${o.concurrency})`)
  }
  return Effect.void
}

/** The error of an input without a row (unless `allowEmpty`). */
export const EMPTY_INPUT = "the input has no rows: nothing to upload (pass allowEmpty: true to accept an empty input)"

// The tags each operation's error type names. The pipelines below are typed with the whole
// `BulkError`; each operation keeps its channel to the tags it declares, and anything else would be
// a bug of the library, so it becomes a defect rather than a failure typed as something it is not.
const REQUEST = ["AuthenticationError", "SessionExpiredError", "ApiError", "LimitExceededError", "TransportError", "InvalidInputError"]
const OUTCOME_TAGS: ReadonlySet<string> = new Set([...REQUEST, "ResultMismatchError"])
const INGEST_TAGS: ReadonlySet<string> = new Set([
  ...REQUEST,
  "JobFailedError",
  "BatchFailedError",
  "PollTimeoutError",
  "ResultMismatchError"
])
const QUERY_TAGS: ReadonlySet<string> = INGEST_TAGS
const TYPED_QUERY_TAGS: ReadonlySet<string> = new Set([...QUERY_TAGS, "RowDecodeError"])

/** Whether `e` is a library error outside `tags` (errors of the caller's own row source pass). */
const outside = (tags: ReadonlySet<string>) => (e: unknown): boolean => isBulkError(e) && !tags.has(e._tag)

/** `self` with its library errors kept to `tags` (typed as `N`), any other one a defect. */
export const narrowEffect =
  <N extends BulkError>(tags: ReadonlySet<string>) =>
  <A, E, R>(self: Effect.Effect<A, BulkError | E, R>): Effect.Effect<A, N | Exclude<E, BulkError>, R> =>
    Effect.catchIf(self, outside(tags), Effect.die) as Effect.Effect<A, N | Exclude<E, BulkError>, R>

/** `self` with its errors kept to `tags` (typed as `N`), any other one a defect. */
export const narrowStream =
  <N extends BulkError>(tags: ReadonlySet<string>) => <A, R>(self: Stream.Stream<A, BulkError, R>): Stream.Stream<A, N, R> =>
    Stream.catchAll(self, (e) => (outside(tags)(e) ? Stream.die(e) : Stream.fail(e as N)))

const narrowOutcome = (outcome: BulkClient.Outcome<BulkError>): BulkClient.Outcome => {
  const narrow = narrowStream<BulkErrors.OutcomeError>(OUTCOME_TAGS)
  return {
    summary: outcome.summary,
    successes: narrow(outcome.successes),
    failures: narrow(outcome.failures),
    unprocessed: narrow(outcome.unprocessed)
  }
}

const idRow = (x: string | { readonly Id: string }) => (typeof x === "string" ? { Id: x } : x)

/** The service, built over the Transport in context. */
export const make: Effect.Effect<BulkClient.Service, never, Transport.Transport> = Effect.gen(function*() {
  const transport = yield* Transport.Transport
  const provide = Effect.provideService(Transport.Transport, transport)

  const ingest = <A, E, R>(
    operation: BulkClient.Operation,
    object: string,
    rows: Rows<A, E, R>,
    options: BulkClient.IngestOptions<A> = {},
    externalIdFieldName?: string
  ): Effect.Effect<BulkClient.Outcome, BulkErrors.IngestError | Exclude<E, BulkError>, R> =>
    Effect.zipRight(
      validate(options),
      Effect.suspend(() => {
        const run = (input: Stream.Stream<A, E | InvalidInputError, R>) => {
          const params = { object, operation, externalIdFieldName, rows: input, options }
          return options.api === "1.0" ? ingest1(params) : ingest2(params)
        }
        // every row is checked once, as it is read (validate.ts); typed rows (a Schema) are
        // checked by their Schema instead. Unless `allowPartialUpload`, the pipelines read the
        // whole input before the first request, so a bad row anywhere uploads nothing.
        const ctx = { operation, externalIdFieldName, columns: options.columns }
        // a mapping renames the fields before the checks, which then see what is sent
        const source = options.mapping === undefined || options.schema
          ? toStream(rows)
          : (mapRows(toStream(rows) as Stream.Stream<any, E, R>, options.mapping) as Stream.Stream<A, E | InvalidInputError, R>)
        const input = options.schema ? source : checkedRows(source, ctx)
        // no row at all: nothing was sent (pieces are made of rows), and the caller is told
        const nonEmpty = (outcome: BulkClient.Outcome<BulkError>) =>
          outcome.summary.rowsRead === 0 && options.allowEmpty !== true
            ? Effect.fail(new InvalidInputError({ what: EMPTY_INPUT }))
            : Effect.succeed(outcome)
        if (options.journal === undefined) return Effect.flatMap(run(input), nonEmpty)
        const header = { object, operation, api: options.api ?? "2.0", externalIdFieldName }
        return Effect.flatMap(withJournal<A, E | InvalidInputError, R>(options.journal, header, input, options, run), nonEmpty)
      })
    ).pipe(
      Effect.map(narrowOutcome),
      narrowEffect<BulkErrors.IngestError>(INGEST_TAGS),
      provide
    )

  const deleteWith = (operation: "delete" | "hardDelete") =>
  <E, R>(
    object: string,
    ids: Rows<string | { readonly Id: string }, E, R>,
    options: BulkClient.IngestOptions<{ readonly Id: string }> = {}
  ) => ingest(operation, object, Stream.map(toStream(ids), idRow), { columns: ["Id"], ...options })

  const runQuery =
    (all: boolean) => (soql: string, options: BulkClient.QueryOptions<any> = {}): Stream.Stream<any, BulkErrors.TypedQueryError> => {
      const rows = Stream.provideService(
        Stream.unwrap(Effect.as(validate(options), options.api === "1.0" ? query1(soql, all, options) : query2(soql, all, options))),
        Transport.Transport,
        transport
      )
      return options.schema
        ? narrowStream<BulkErrors.TypedQueryError>(TYPED_QUERY_TAGS)(decodeRows(rows, options.schema))
        : narrowStream<BulkErrors.QueryError>(QUERY_TAGS)(rows)
    }

  return {
    insert: (object, rows, options) => ingest("insert", object, rows, options),
    update: (object, rows, options) => ingest("update", object, rows, options),
    upsert: (object, externalIdField, rows, options) => ingest("upsert", object, rows, options, externalIdField),
    delete: deleteWith("delete"),
    hardDelete: deleteWith("hardDelete"),
    resume: (jobIds, options = {}) =>
      resumeJobs(typeof jobIds === "string" ? [jobIds] : jobIds, options).pipe(
        Effect.map(narrowOutcome),
        narrowEffect<BulkErrors.IngestError>(INGEST_TAGS),
        provide
      ),
    query: runQuery(false),
    queryAll: runQuery(true)
  } as BulkClient.Service
})
