/**
 * `BulkClient`: the face of the library. Any stream of records in (array, `Iterable`,
 * `AsyncIterable` or `Stream`, optionally typed with a `Schema`), split within Salesforce's limits
 * while it flows, uploaded with bounded concurrency through Bulk API 2.0 (default) or 1.0, waited on
 * with a `Schedule`, and every record's outcome out as `Stream`s.
 *
 * @example
 * import { BulkClient } from "@sfbulk/client"
 * const outcome = await Effect.runPromise(BulkClient.insert("Account", rows).pipe(Effect.provide(layer)))
 *
 * @since 0.1.0
 */
import * as NodeHttpClient from "./internal/nodeHttpClient.js"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Schedule from "effect/Schedule"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { AuthenticationError, IngestError, OutcomeError, QueryError, TypedQueryError } from "./BulkError.js"
import type { FieldMapping } from "./internal/mapping.js"
import type { RecordError } from "./internal/outcome.js"
import type { Progress } from "./internal/progress.js"
import type { ColumnDelimiter, LineEnding, Rows } from "./internal/rows.js"
import * as internal from "./internal/bulkClient.js"
import * as Transport from "./internal/transport.js"
import * as SalesforceAuth from "./SalesforceAuth.js"
import type * as PublicTransport from "./Transport.js"

export type {
  /**
   * Column delimiters (2.0 only; 1.0 is always COMMA).
   * @since 0.1.0
   */
  ColumnDelimiter,
  /**
   * A progress snapshot passed to `onProgress`.
   * @since 0.1.0
   */
  Progress,
  /**
   * One per-record error parsed from Salesforce's `CODE:message:fields --` text.
   * @since 0.1.0
   */
  RecordError,
  /**
   * Line endings (2.0).
   * @since 0.1.0
   */
  LineEnding,
  /**
   * Rows accepted by the ingest operations: an array, `Iterable`, `AsyncIterable` or `Stream`.
   * @since 0.1.0
   */
  Rows
}

/**
 * A plain input record: field name -> value. `null` sets the field to null (`#N/A`), `undefined`
 * leaves it unchanged; nested objects are relationship lookups (`{ Account: { Ext__c: "A-1" } }`
 * is the column `Account.Ext__c`); dates are written as ISO-8601.
 *
 * @since 0.1.0
 * @category models
 */
export type Row = Readonly<Record<string, unknown>>

/**
 * Ingest operations.
 *
 * @since 0.1.0
 * @category models
 */
export type Operation = "insert" | "update" | "upsert" | "delete" | "hardDelete"

/**
 * Options shared by every operation.
 *
 * @since 0.1.0
 * @category models
 */
export interface CommonOptions {
  /** Bulk API generation: `"2.0"` (default) or `"1.0"`. */
  readonly api?: "1.0" | "2.0" | undefined
  /** How often to poll jobs/batches. Default: adaptive for ingest and 2.0 queries (follows the job's progress), else 0.5 s growing to every 5 s. */
  readonly pollSchedule?: Schedule.Schedule<unknown, unknown> | undefined
  /** Overall limit on waiting for one job/batch; `PollTimeoutError` (job left running) after it. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Column delimiter of the CSV exchanged (2.0; 1.0 supports COMMA only). */
  readonly columnDelimiter?: ColumnDelimiter | undefined
  /** Line ending of the CSV exchanged (2.0). */
  readonly lineEnding?: LineEnding | undefined
  /** Called with a snapshot each time the operation progresses (for progress bars). */
  readonly onProgress?: ((progress: Progress) => void) | undefined
}

/**
 * Options of `insert`, `update`, `upsert`, `delete` and `hardDelete`.
 *
 * @since 0.1.0
 * @category models
 */
export interface IngestOptions<A = Row> extends CommonOptions {
  /** Typed rows: the Schema fixes the columns (its Struct fields) and encodes the values. */
  readonly schema?: Schema.Schema<A, any, never> | undefined
  /** Columns to write, in order. Default: the Schema's fields, else the first row's fields. */
  readonly columns?: ReadonlyArray<string> | undefined
  /**
   * Renames the rows' fields as they stream (see `Mapping`): input column → field(s), `null` drops a
   * column, `constants` set a value on every row. An unmapped column of the first row, or a mapped
   * one it lacks, is an `InvalidInputError`. Plain rows only (not with `schema`).
   */
  readonly mapping?: FieldMapping | undefined
  /**
   * 2.0: jobs in flight at once. 1.0: batch uploads at once; every added batch is then left to
   * Salesforce (processed as the job's concurrency mode allows) and all of them are watched with one
   * job-level poll. Default 4 (1 with `serial`).
   */
  readonly concurrency?: number | undefined
  /** Records per piece: 1.0 batch size (≤ 10,000), 2.0 records per job. */
  readonly batchSize?: number | undefined
  /** 1.0: `concurrencyMode=Serial` (batches processed one at a time); 2.0: one job at a time. */
  readonly serial?: boolean | undefined
  /** 2.0: raw CSV bytes per job, header included. Default 100,000,000 (Salesforce's limit is 100 MB). */
  readonly maxJobBytes?: number | undefined
  /** 1.0: records per batch (≤ 10,000, the default). */
  readonly maxBatchRecords?: number | undefined
  /** 1.0: characters per batch (≤ 10,000,000, the default; counted as UTF-8 bytes). */
  readonly maxBatchChars?: number | undefined
  /** 2.0: Case/Lead assignment rule id. */
  readonly assignmentRuleId?: string | undefined
  /**
   * Opt-in journal file: each uploaded piece is recorded in it, so re-running the same operation
   * with the same journal (after a crash or a failure) resumes the jobs already uploaded and sends
   * only the rows none of them holds, instead of duplicating them. See `resume` for job ids.
   */
  readonly journal?: string | undefined
  /**
   * All or nothing (the default, `false`): every row is checked once as it is read (sizes, ids,
   * shapes, encoding; see `InvalidInputError`), encoded and spooled to temp files, and only when the
   * whole input has been read without error are the jobs (2.0) or batches (1.0) created and
   * uploaded, each file deleted once its piece is uploaded. A bad row anywhere is an
   * `InvalidInputError` naming the row and field, and nothing at all is sent to Salesforce. Cost:
   * temp disk of about the input's size as CSV (`os.tmpdir()`), and the first upload waits for the
   * whole input to be read.
   *
   * `true`: pieces are uploaded as they fill, rows checked as they are sent, so a bad row stops the
   * operation there with the pieces before it already uploaded (they are processed; the error is
   * still typed). Use it for inputs larger than the temp disk, or to start work sooner.
   */
  readonly allowPartialUpload?: boolean | undefined
  /**
   * An input without a single row is an `InvalidInputError` ("the input has no rows: nothing to
   * upload"), raised before any request. `true` accepts it: the all-zero outcome, no job created.
   */
  readonly allowEmpty?: boolean | undefined
  /**
   * Rows that fail `UNABLE_TO_LOCK_ROW` are re-submitted for up to this many rounds; the outcome is
   * merged, each row's outcome its last attempt's. A round splits its rows into groups that share no
   * parent (`orderByParent`'s columns, and the records Salesforce's lock message names) and sends the
   * groups side by side, each serially (2.0: one job at a time; 1.0: a Parallel job of one batch, or a
   * Serial job when a group needs more); a round that leaves failures makes the later ones serial.
   * With a `journal` every round is serial (one run per round), journaled, and a re-run finishes an
   * interrupted round and goes on.
   * Default `false` (off): see the README, "Lock contention".
   */
  readonly retryLockedRows?: number | false | undefined
  /**
   * Read the org's `/limits` first and fail with `LimitExceededError` (`ExceededQuota`) once the
   * input needs more Bulk API batches than `DailyBulkApiBatches` has left. Default false.
   */
  readonly preflightLimits?: boolean | undefined
  /**
   * Sort rows by this parent reference field (e.g. `"AccountId"`) before upload: stable, spooled to
   * private temp files in bounded memory (see the README, "Lock contention"). `"auto"` (exactly,
   * lower case): read the object's describe once (one request) and sort by the rows' columns that
   * are lookups locking their parent (type reference, except OwnerId, RecordTypeId, CreatedById,
   * LastModifiedById; matched case-insensitively) or relationship columns through them
   * (`Account.External_Id__c`), in describe order; rows with no such column are not sorted. The same
   * columns group the `retryLockedRows` rounds. Recommended with `retryLockedRows`. An update,
   * upsert or delete keeps each record's rows together, in input order (under its first row's
   * parent). With a `journal`, a re-run must sort by the same columns (else `InvalidInputError`).
   */
  readonly orderByParent?: string | undefined
  /**
   * Bulk API 1.0: `false` reads the successes from the batch results alone, without re-reading
   * each batch's request to pair every success with its row: a `Success` then has `row: {}` (its
   * `position` still locates the input row). About a third less client CPU when only ids are
   * needed. Failures and unprocessed rows always carry their row. (2.0 results carry the row anyway.)
   */
  readonly successRows?: boolean | undefined
  /**
   * Thorough check: before returning, download and count every result row of every job/batch
   * against Salesforce's counters (and count `created` from the rows' `Created` flags). Default
   * `false`: the summary comes from the job/batch counters and the rows sent, and results are
   * downloaded only when the outcome streams are read (each stream still fails with
   * `ResultMismatchError` at its end if the rows it read disagree with the counters).
   */
  readonly verifyResults?: boolean | undefined
}

/**
 * Options of `resume`: the API the jobs were created with (default `"2.0"`), polling, and on 1.0
 * the batches to finish (default: every batch of the job).
 *
 * @since 0.1.0
 * @category models
 */
export interface ResumeOptions extends CommonOptions {
  readonly batchIds?: ReadonlyArray<string> | undefined
}

/**
 * Options of `query` and `queryAll`.
 *
 * @since 0.1.0
 * @category models
 */
export interface QueryOptions<A = QueryRow> extends CommonOptions {
  /** Decode rows with this Schema (numbers, booleans, dates, nulls, nested relationships). */
  readonly schema?: Schema.Schema<A, any, never> | undefined
  /** 2.0: result pages downloaded at once through `/resultPages` (API 58.0+). Default 1 (sequential). */
  readonly concurrency?: number | undefined
  /**
   * 2.0: rows per result page (`maxRecords`). Default about half a million cells: 100,000 rows for
   * 5 columns or fewer, 50,000 for 10 or more (Salesforce documents no default; the server may
   * still send smaller pages). Ignored with `concurrency` > 1 (`/resultPages` sizes pages).
   */
  readonly maxRecords?: number | undefined
  /** 1.0: PK chunking (`true` or a chunk size). */
  readonly pkChunking?: boolean | number | undefined
}

/**
 * An untyped query row: column -> text as Salesforce sent it (`Account.Name` keys; empty for null).
 *
 * @since 0.1.0
 * @category models
 */
export type QueryRow = Readonly<Record<string, string>>

/**
 * Where an outcome comes from: its job, its batch (1.0) and, on 1.0, the row's 0-based position
 * in the input. 2.0 results come back in no guaranteed order, so they carry no position.
 *
 * @since 0.1.0
 * @category models
 */
export interface Origin {
  readonly jobId: string
  readonly batchId?: string | undefined
  readonly position?: number | undefined
  /**
   * The row as sent, column -> CSV text. 1.0: re-read from the batch's request, exactly as
   * uploaded (`{}` for a success when `successRows: false`). 2.0: the uploaded columns echoed by
   * Salesforce (values as Salesforce normalised them).
   */
  readonly row: Readonly<Record<string, string>>
}

/**
 * A record that was saved.
 *
 * @since 0.1.0
 * @category models
 */
export interface Success extends Origin {
  readonly _tag: "Success"
  readonly id: string
  /** True for an insert (or an upsert that inserted), false for an update/delete. */
  readonly created: boolean
}

/**
 * A record Salesforce rejected, with its parsed error(s); `code`/`message`/`fields` are the first.
 *
 * @since 0.1.0
 * @category models
 */
export interface Failure extends Origin {
  readonly _tag: "Failure"
  readonly id?: string | undefined
  readonly code: string
  readonly message: string
  readonly fields: ReadonlyArray<string>
  readonly errors: ReadonlyArray<RecordError>
}

/**
 * A record Salesforce never attempted (job aborted or failed part way).
 *
 * @since 0.1.0
 * @category models
 */
export interface Unprocessed extends Origin {
  readonly _tag: "Unprocessed"
  /**
   * Why, when Salesforce said: the message of the job (2.0 `errorMessage`) or batch (1.0
   * `stateMessage`) that ended `Failed` before reaching the row, e.g. `InternalServerError :
   * Retried more than 20 times` for a batch that ran out of time. Absent for an aborted job.
   */
  readonly reason?: string | undefined
}

/**
 * The counts of one operation, from Salesforce's job/batch counters (`numberRecordsProcessed`,
 * `numberRecordsFailed`; per batch on 1.0, per job on 2.0) and the rows the client sent to each:
 * succeeded = processed − failed, unprocessed = sent − processed. Invariant, checked on every run:
 * `succeeded + failed + unprocessed === rowsRead`; an impossible counter (negative, more processed
 * than sent, more failed than processed, a completed job/batch that did not process every row) is a
 * `ResultMismatchError`. With `verifyResults: true` every result row is also counted against them.
 *
 * @since 0.1.0
 * @category models
 */
export interface Summary {
  readonly api: "1.0" | "2.0"
  readonly object: string
  readonly operation: Operation
  readonly jobIds: ReadonlyArray<string>
  /** 1.0 batch ids, in input order (empty on 2.0). */
  readonly batchIds: ReadonlyArray<string>
  readonly rowsRead: number
  /** succeeded + failed. */
  readonly processed: number
  readonly succeeded: number
  /**
   * Successes that created a record. Known without reading results for insert (= `succeeded`) and
   * update/delete/hardDelete (0). For upsert it takes the rows' `Created` flags: `undefined` unless
   * `verifyResults: true` (then counted from the results) — otherwise count `created` on the
   * `successes` stream.
   */
  readonly created: number | undefined
  readonly failed: number
  readonly unprocessed: number
  readonly elapsed: Duration.Duration
  /**
   * HTTP requests the operation sent to Salesforce until it returned: job/batch creation, uploads,
   * every poll, retries, lock follow-ups (each counts against DailyApiRequests). The outcome
   * streams' downloads come later and are not included. Absent on `resume`.
   */
  readonly apiRequests?: number | undefined
}

/**
 * What an ingest operation returns: the summary, computed from the job/batch counters without
 * downloading results (unless `verifyResults: true`), and streams of outcomes that download and
 * parse the results from Salesforce each time they run (so no outcome is held in memory, and
 * nothing is parsed unless read). Each stream checks, at the end of each job/batch, that it read as
 * many rows as the counters say, else fails with `ResultMismatchError`. The streams carry the
 * client of the layer that ran the operation: run them inside the scope that provides `BulkClient`
 * (or a `ManagedRuntime` before `dispose()`), while the jobs exist (7 days). Run after that layer is
 * released they fail at once with a `TransportError` whose `clientClosed` is true. Their error type
 * is `BulkError.OutcomeError`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Outcome<E = OutcomeError> {
  readonly summary: Summary
  readonly successes: Stream.Stream<Success, E>
  readonly failures: Stream.Stream<Failure, E>
  readonly unprocessed: Stream.Stream<Unprocessed, E>
}

/**
 * The BulkClient service.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly insert: <A = Row, E = never, R = never>(
    object: string,
    rows: Rows<A, E, R>,
    options?: IngestOptions<A>
  ) => Effect.Effect<Outcome, IngestError | E, R>
  readonly update: <A = Row, E = never, R = never>(
    object: string,
    rows: Rows<A, E, R>,
    options?: IngestOptions<A>
  ) => Effect.Effect<Outcome, IngestError | E, R>
  readonly upsert: <A = Row, E = never, R = never>(
    object: string,
    externalIdField: string,
    rows: Rows<A, E, R>,
    options?: IngestOptions<A>
  ) => Effect.Effect<Outcome, IngestError | E, R>
  /** Deletes records by id (strings, or rows with an `Id`). */
  readonly delete: <E = never, R = never>(
    object: string,
    ids: Rows<string | { readonly Id: string }, E, R>,
    options?: IngestOptions<{ readonly Id: string }>
  ) => Effect.Effect<Outcome, IngestError | E, R>
  /** Deletes records by id bypassing the recycle bin (needs the "Bulk API Hard Delete" permission). */
  readonly hardDelete: <E = never, R = never>(
    object: string,
    ids: Rows<string | { readonly Id: string }, E, R>,
    options?: IngestOptions<{ readonly Id: string }>
  ) => Effect.Effect<Outcome, IngestError | E, R>
  readonly query: {
    <A>(soql: string, options: QueryOptions<A> & { readonly schema: Schema.Schema<A, any, never> }): Stream.Stream<A, TypedQueryError>
    (soql: string, options?: QueryOptions): Stream.Stream<QueryRow, QueryError>
  }
  /**
   * Finishes ingest jobs left behind (a killed process, or a typed error naming the job) without
   * uploading again: open jobs are closed, running ones waited on, every outcome read back.
   */
  readonly resume: (jobIds: string | ReadonlyArray<string>, options?: ResumeOptions) => Effect.Effect<Outcome, IngestError>
  /** Like `query`, including deleted and archived records. */
  readonly queryAll: {
    <A>(soql: string, options: QueryOptions<A> & { readonly schema: Schema.Schema<A, any, never> }): Stream.Stream<A, TypedQueryError>
    (soql: string, options?: QueryOptions): Stream.Stream<QueryRow, QueryError>
  }
}

/**
 * The BulkClient service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class BulkClient extends Context.Tag("@sfbulk/client/BulkClient")<BulkClient, Service>() {}

/**
 * Builds the service over the `Transport` in context (every request authenticated, retried and
 * renewed by it).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service, never, Transport.Transport> = internal.make

/**
 * Options of `layer` and `layerConfig`: those of the `Transport` the service sends every request
 * through (retry schedule, per-attempt `timeout`, total `budget`, `idleTimeout`, gzip of uploads).
 *
 * @since 0.2.0
 * @category models
 */
export type LayerOptions = PublicTransport.Options

/**
 * A layer that is also a function of `LayerOptions`: used as a value it is the layer with the
 * default options (how 0.1 code used `layer` and `layerConfig`), called it is configured.
 *
 * @since 0.2.0
 * @category models
 */
export interface ConfigurableLayer<ROut, E, RIn> extends Layer.Layer<ROut, E, RIn> {
  (options?: LayerOptions): Layer.Layer<ROut, E, RIn>
}

/**
 * `build()` as a layer value that can also be called with options. A layer is recognised by its
 * type id (which a function can carry as well as an object), so the function takes on the default
 * layer's fields and prototype; calling it builds a configured one.
 */
const configurable = <ROut, E, RIn>(
  build: (options?: LayerOptions) => Layer.Layer<ROut, E, RIn>
): ConfigurableLayer<ROut, E, RIn> => {
  const byDefault = build()
  const fn = (options?: LayerOptions) => (options === undefined ? byDefault : build(options))
  Object.assign(fn, byDefault)
  Object.setPrototypeOf(fn, Object.getPrototypeOf(byDefault))
  return fn as unknown as ConfigurableLayer<ROut, E, RIn>
}

/**
 * The service from `SalesforceAuth` and an `HttpClient`, over a `Transport` built with `options`:
 * `BulkClient.layer({ timeout: "5 minutes" })`. `BulkClient.layer` used as a value (0.1) is the same
 * as `BulkClient.layer()`.
 *
 * The outcome streams an operation returns use this layer's client: read them inside the scope
 * that provides it (or a `ManagedRuntime` before `dispose()`); read after it is released, they
 * fail at once with a `TransportError` whose `clientClosed` is true.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: ConfigurableLayer<BulkClient, never, SalesforceAuth.SalesforceAuth | HttpClient.HttpClient> = configurable(
  (options) => Layer.effect(BulkClient, internal.make).pipe(Layer.provide(Transport.layer(options)))
)

/**
 * The service configured from the environment (`SalesforceAuth.layerConfig`) over undici, with
 * the transport's `options`: `BulkClient.layerConfig()` or `BulkClient.layerConfig({ gzipRequests:
 * true })`. `BulkClient.layerConfig` used as a value (0.1) is the same as `BulkClient.layerConfig()`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: ConfigurableLayer<BulkClient, AuthenticationError | ConfigError.ConfigError, never> = configurable(
  (options) =>
    layer(options).pipe(
      Layer.provide(SalesforceAuth.layerConfig),
      Layer.provide(NodeHttpClient.layerUndici)
    )
)

/**
 * Inserts rows; an `Effect` requiring `BulkClient`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const insert = <A = Row, E = never, R = never>(
  object: string,
  rows: Rows<A, E, R>,
  options?: IngestOptions<A>
): Effect.Effect<Outcome, IngestError | E, BulkClient | R> => Effect.flatMap(BulkClient, (c) => c.insert(object, rows, options))

/**
 * Updates rows by `Id`; an `Effect` requiring `BulkClient`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const update = <A = Row, E = never, R = never>(
  object: string,
  rows: Rows<A, E, R>,
  options?: IngestOptions<A>
): Effect.Effect<Outcome, IngestError | E, BulkClient | R> => Effect.flatMap(BulkClient, (c) => c.update(object, rows, options))

/**
 * Inserts or updates rows matched on `externalIdField`; an `Effect` requiring `BulkClient`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const upsert = <A = Row, E = never, R = never>(
  object: string,
  externalIdField: string,
  rows: Rows<A, E, R>,
  options?: IngestOptions<A>
): Effect.Effect<Outcome, IngestError | E, BulkClient | R> =>
  Effect.flatMap(BulkClient, (c) => c.upsert(object, externalIdField, rows, options))

/**
 * Deletes records by id; an `Effect` requiring `BulkClient`.
 *
 * @since 0.1.0
 * @category accessors
 */
const delete_ = <E = never, R = never>(
  object: string,
  ids: Rows<string | { readonly Id: string }, E, R>,
  options?: IngestOptions<{ readonly Id: string }>
): Effect.Effect<Outcome, IngestError | E, BulkClient | R> => Effect.flatMap(BulkClient, (c) => c.delete(object, ids, options))

export {
  /**
   * Deletes records by id; an `Effect` requiring `BulkClient`.
   *
   * @since 0.1.0
   * @category accessors
   */
  delete_ as delete
}

/**
 * Hard-deletes records by id; an `Effect` requiring `BulkClient`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const hardDelete = <E = never, R = never>(
  object: string,
  ids: Rows<string | { readonly Id: string }, E, R>,
  options?: IngestOptions<{ readonly Id: string }>
): Effect.Effect<Outcome, IngestError | E, BulkClient | R> => Effect.flatMap(BulkClient, (c) => c.hardDelete(object, ids, options))

/**
 * Finishes ingest jobs left behind, given their ids, without uploading again; an `Effect`
 * requiring `BulkClient`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const resume = (
  jobIds: string | ReadonlyArray<string>,
  options?: ResumeOptions
): Effect.Effect<Outcome, IngestError, BulkClient> => Effect.flatMap(BulkClient, (c) => c.resume(jobIds, options))

/**
 * Runs a SOQL query; a `Stream` of rows requiring `BulkClient` (typed with `schema`).
 *
 * @since 0.1.0
 * @category accessors
 */
export const query: {
  <A>(
    soql: string,
    options: QueryOptions<A> & { readonly schema: Schema.Schema<A, any, never> }
  ): Stream.Stream<A, TypedQueryError, BulkClient>
  (soql: string, options?: QueryOptions): Stream.Stream<QueryRow, QueryError, BulkClient>
} = (soql: string, options?: QueryOptions<any>) => Stream.unwrap(Effect.map(BulkClient, (c) => c.query(soql, options as QueryOptions)))

/**
 * Runs a SOQL query including deleted and archived records; a `Stream` requiring `BulkClient`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const queryAll: {
  <A>(
    soql: string,
    options: QueryOptions<A> & { readonly schema: Schema.Schema<A, any, never> }
  ): Stream.Stream<A, TypedQueryError, BulkClient>
  (soql: string, options?: QueryOptions): Stream.Stream<QueryRow, QueryError, BulkClient>
} = (soql: string, options?: QueryOptions<any>) => Stream.unwrap(Effect.map(BulkClient, (c) => c.queryAll(soql, options as QueryOptions)))

/**
 * Builds the service from its operations (used by the mock layer and for custom backends).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromService = (service: Service): Layer.Layer<BulkClient> => Layer.succeed(BulkClient, service)
