/**
 * The complete Bulk API 1.0: jobs, batches, waits and result streams. Every function needs the
 * `Transport` service (see `Bulk1.layer`), which signs requests with `SalesforceAuth`.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpBody from "@effect/platform/HttpBody"
import * as NodeHttpClient from "./internal/nodeHttpClient.js"
import * as Duration from "effect/Duration"
import { CsvWriter } from "@sfbulk/csv"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { BatchFailedError, type BulkError, InvalidInputError, JobFailedError, PollTimeoutError, TransportError } from "./BulkError.js"
import type * as Csv from "./Csv.js"
import * as AddBatch from "./internal/addBatch.js"
import * as internal from "./internal/bulk1.js"
import * as StateChange from "./internal/stateChange.js"
import * as Poll from "./internal/poll.js"
import { resumable } from "./internal/resumable.js"
import * as TransportInternal from "./internal/transport.js"
import { Transport as TransportTag } from "./internal/transport.js"
import type { SalesforceAuth } from "./internal/session.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Operation = "insert" | "update" | "upsert" | "delete" | "hardDelete" | "query" | "queryAll"

/**
 * @since 0.1.0
 * @category models
 */
export type ContentType = "CSV" | "JSON" | "XML" | "ZIP_CSV" | "ZIP_JSON" | "ZIP_XML"

/**
 * @since 0.1.0
 * @category models
 */
export type JobState = "Open" | "Closed" | "Aborted" | "Failed"

/**
 * @since 0.1.0
 * @category models
 */
export type BatchState = "Queued" | "InProgress" | "Completed" | "Failed" | "NotProcessed"

/**
 * A job as Salesforce reports it.
 *
 * @since 0.1.0
 * @category models
 */
export interface JobInfo {
  readonly id: string
  readonly operation: Operation
  readonly object: string
  readonly state: JobState
  readonly contentType: ContentType
  readonly concurrencyMode: "Parallel" | "Serial"
  readonly externalIdFieldName?: string | undefined
  readonly assignmentRuleId?: string | undefined
  readonly apiVersion: string
  readonly createdDate?: string | undefined
  readonly numberBatchesQueued: number
  readonly numberBatchesInProgress: number
  readonly numberBatchesCompleted: number
  readonly numberBatchesFailed: number
  readonly numberBatchesTotal: number
  readonly numberRecordsProcessed: number
  readonly numberRecordsFailed: number
  readonly numberRetries: number
  readonly totalProcessingTime: number
}

/**
 * A batch as Salesforce reports it.
 *
 * @since 0.1.0
 * @category models
 */
export interface BatchInfo {
  readonly id: string
  readonly jobId: string
  readonly state: BatchState
  readonly stateMessage?: string | undefined
  readonly createdDate?: string | undefined
  readonly numberRecordsProcessed: number
  readonly numberRecordsFailed: number
  readonly totalProcessingTime: number
}

/**
 * A job to act on: its id, or its `JobInfo` (saves a round trip to learn its content type).
 *
 * @since 0.1.0
 * @category models
 */
export type JobRef = string | JobInfo

/**
 * One error of one record (structured form).
 *
 * @since 0.1.0
 * @category models
 */
export type RecordError = internal.RecordError

/**
 * The outcome of one input record of an ingest batch (one row of the batch's result file: `Id`, `Success`, `Created`, `Error`).
 *
 * @since 0.1.0
 * @category models
 */
export type BatchResult = internal.BatchResult

/**
 * One query result record: CSV values are strings, JSON keeps JSON types (datetimes as epoch
 * milliseconds, as Salesforce sends them), XML gives strings or null; relationship fields are
 * flattened to `Account.Name`.
 *
 * @since 0.1.0
 * @category models
 */
export type QueryRecord = internal.QueryRecord

/**
 * @since 0.1.0
 * @category models
 */
export interface CreateJobOptions {
  readonly operation: Operation
  readonly object: string
  /** Default `CSV`. */
  readonly contentType?: ContentType | undefined
  /** Default `Parallel`. */
  readonly concurrencyMode?: "Parallel" | "Serial" | undefined
  /** Required for upsert. */
  readonly externalIdFieldName?: string | undefined
  readonly assignmentRuleId?: string | undefined
  /** Query jobs only: `true` for defaults, or chunk size / parent / start row. */
  readonly pkChunking?:
    | boolean
    | {
      readonly chunkSize?: number | undefined
      readonly parent?: string | undefined
      readonly startRow?: string | undefined
    }
    | undefined
  /** Sends `Sforce-Disable-Batch-Retry: TRUE`. */
  readonly disableBatchRetry?: boolean | undefined
}

const base = (t: TransportTag["Type"]) => `/services/async/${t.apiVersion}`

const control = (
  req: Omit<TransportInternal.TransportRequest, "api">
): Effect.Effect<string, BulkError, TransportTag> =>
  Effect.flatMap(
    TransportTag,
    (t) => Effect.map(TransportInternal.requestText(t, { ...req, api: "1.0", path: base(t) + req.path }), (r) => r.text)
  )

const idOf = (job: JobRef): string => (typeof job === "string" ? job : job.id)

/** The span of a public call: `Bulk1.<name>` with the job and batch ids (as on Bulk API 2.0). */
const spanAttributes = (job: JobRef | undefined, batchId?: string) => ({
  ...(job === undefined ? {} : { "sfbulk.job_id": idOf(job) }),
  ...(batchId === undefined ? {} : { "sfbulk.batch_id": batchId })
})
const span = (name: string, job?: JobRef, batchId?: string) =>
  Effect.withSpan(`Bulk1.${name}`, { attributes: spanAttributes(job, batchId) })
const streamSpan = (name: string, job?: JobRef, batchId?: string) =>
  Stream.withSpan(`Bulk1.${name}`, { attributes: spanAttributes(job, batchId) })

const resolve = (job: JobRef): Effect.Effect<JobInfo, BulkError, TransportTag> =>
  typeof job === "string" ? jobInfo(job) : Effect.succeed(job)

const checkId = (what: string, id: string): Effect.Effect<void, InvalidInputError> =>
  /^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$/.test(id)
    ? Effect.void
    : Effect.fail(new InvalidInputError({ what: `${what} "${id}" is not a Salesforce id (15 or 18 letters/digits)` }))

const pkChunkingHeader = (pk: CreateJobOptions["pkChunking"]): string | undefined => {
  if (pk === undefined || pk === false) return undefined
  if (pk === true) return "TRUE"
  const parts: Array<string> = []
  if (pk.chunkSize !== undefined) parts.push(`chunkSize=${pk.chunkSize}`)
  if (pk.parent !== undefined) parts.push(`parent=${pk.parent}`)
  if (pk.startRow !== undefined) parts.push(`startRow=${pk.startRow}`)
  return parts.length === 0 ? "TRUE" : parts.join("; ")
}

// ---------------------------------------------------------------------------------------------
// layers
// ---------------------------------------------------------------------------------------------

/**
 * Options of the transport under Bulk API 1.0 (retry schedule, timeout, gzip of uploads).
 *
 * @deprecated Use `Transport.Options` (kept for 0.x).
 * @since 0.1.0
 * @category models
 */
export type TransportOptions = TransportInternal.TransportOptions

/**
 * The transport service every function here needs.
 *
 * @deprecated Use `TransportTag` from the `Transport` module (kept for 0.x).
 * @since 0.1.0
 * @category tags
 */
export const Transport: typeof TransportTag = TransportTag

/**
 * The transport service every function here needs.
 *
 * @deprecated Use `TransportTag` from the `Transport` module (kept for 0.x).
 * @since 0.1.0
 * @category tags
 */
export type Transport = TransportTag

/**
 * The transport on a given `HttpClient`.
 *
 * @deprecated Use `Transport.layer` (kept for 0.x).
 * @since 0.1.0
 * @category layers
 */
export const layerWithoutHttpClient: (
  options?: TransportOptions
) => Layer.Layer<TransportTag, never, SalesforceAuth | HttpClient.HttpClient> = TransportInternal.layer

/**
 * The transport every function here needs, on Node's undici `HttpClient`, authenticated by the
 * `SalesforceAuth` in context (the same transport `Bulk2` uses).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: TransportOptions): Layer.Layer<TransportTag, never, SalesforceAuth> =>
  TransportInternal.layer(options).pipe(Layer.provide(NodeHttpClient.layerUndici))

/**
 * The default retry policy: exponential backoff with jitter honouring Retry-After, within a
 * total budget.
 *
 * @deprecated Use `TransportInternal.defaultRetrySchedule` (kept for 0.x).
 * @since 0.1.0
 * @category retries
 */
export const defaultRetrySchedule = TransportInternal.defaultRetrySchedule

// ---------------------------------------------------------------------------------------------
// jobs
// ---------------------------------------------------------------------------------------------

/**
 * Create a job.
 *
 * @since 0.1.0
 * @category jobs
 */
export const createJob = (options: CreateJobOptions): Effect.Effect<JobInfo, BulkError, TransportTag> =>
  Effect.gen(function*() {
    if (!/^[A-Za-z][\w]*$/.test(options.object)) {
      return yield* new InvalidInputError({ what: `"${options.object}" is not an sObject API name` })
    }
    if (options.operation === "upsert" && options.externalIdFieldName === undefined) {
      return yield* new InvalidInputError({ what: "an upsert job needs externalIdFieldName", field: "externalIdFieldName" })
    }
    if (options.operation !== "upsert" && options.externalIdFieldName !== undefined) {
      return yield* new InvalidInputError({
        what: `externalIdFieldName is only valid for upsert, not ${options.operation}`,
        field: "externalIdFieldName"
      })
    }
    const isQuery = options.operation === "query" || options.operation === "queryAll"
    const pk = pkChunkingHeader(options.pkChunking)
    if (pk !== undefined && !isQuery) {
      return yield* new InvalidInputError({ what: "PK chunking only applies to query and queryAll jobs", field: "pkChunking" })
    }
    const headers: Record<string, string> = {}
    if (pk !== undefined) headers["sforce-enable-pkchunking"] = pk
    if (options.disableBatchRetry === true) headers["sforce-disable-batch-retry"] = "TRUE"
    const xml = internal.jobInfoXml([
      ["operation", options.operation],
      ["object", options.object],
      ["externalIdFieldName", options.externalIdFieldName],
      ["concurrencyMode", options.concurrencyMode],
      ["contentType", options.contentType ?? "CSV"],
      ["assignmentRuleId", options.assignmentRuleId]
    ])
    const text = yield* control({
      method: "POST",
      path: "/job",
      idempotent: true, // a job created twice leaves an empty orphan job, never duplicate records
      headers,
      body: HttpBody.text(xml, "application/xml; charset=UTF-8")
    })
    return yield* internal.parseJobInfo(text)
  }).pipe(Effect.withSpan("Bulk1.createJob", { attributes: { "sfbulk.object": options.object, "sfbulk.operation": options.operation } }))

type ShortcutOptions = Omit<CreateJobOptions, "operation" | "object">

/**
 * @since 0.1.0
 * @category jobs
 */
export const createInsertJob = (object: string, options?: ShortcutOptions) => createJob({ ...options, operation: "insert", object })

/**
 * @since 0.1.0
 * @category jobs
 */
export const createUpdateJob = (object: string, options?: ShortcutOptions) => createJob({ ...options, operation: "update", object })

/**
 * @since 0.1.0
 * @category jobs
 */
export const createUpsertJob = (
  object: string,
  externalIdFieldName: string,
  options?: Omit<ShortcutOptions, "externalIdFieldName">
) => createJob({ ...options, operation: "upsert", object, externalIdFieldName })

/**
 * @since 0.1.0
 * @category jobs
 */
export const createDeleteJob = (object: string, options?: ShortcutOptions) => createJob({ ...options, operation: "delete", object })

/**
 * @since 0.1.0
 * @category jobs
 */
export const createHardDeleteJob = (object: string, options?: ShortcutOptions) => createJob({ ...options, operation: "hardDelete", object })

/**
 * @since 0.1.0
 * @category jobs
 */
export const createQueryJob = (object: string, options?: ShortcutOptions) => createJob({ ...options, operation: "query", object })

/**
 * @since 0.1.0
 * @category jobs
 */
export const createQueryAllJob = (object: string, options?: ShortcutOptions) => createJob({ ...options, operation: "queryAll", object })

/**
 * The job's current state and counters (Salesforce's JobInfo, `GET /job/{jobId}`).
 *
 * @since 0.1.0
 * @category jobs
 */
export const jobInfo = (jobId: string): Effect.Effect<JobInfo, BulkError, TransportTag> =>
  Effect.gen(function*() {
    yield* checkId("job id", jobId)
    const text = yield* control({ method: "GET", path: `/job/${jobId}`, jobId })
    return yield* internal.parseJobInfo(text)
  }).pipe(span("jobInfo", jobId))

const setState = (job: JobRef, state: "Closed" | "Aborted") =>
  Effect.gen(function*() {
    const jobId = idOf(job)
    yield* checkId("job id", jobId)
    const t = yield* TransportTag
    const send = Effect.flatMap(
      control({
        method: "POST",
        path: `/job/${jobId}`,
        jobId,
        idempotent: false, // a repeat is refused once the first took effect: the job is read instead
        body: HttpBody.text(internal.jobInfoXml([["state", state]]), "application/xml; charset=UTF-8")
      }),
      (text) => internal.parseJobInfo(text)
    )
    const info = yield* StateChange.changeState({
      send,
      read: jobInfo(jobId),
      accepted: StateChange.reached("1.0", state),
      schedule: t.retrySchedule ?? TransportInternal.defaultRetrySchedule()
    })
    // no batch can be added any more: the job's lost-answer ledger goes
    AddBatch.forgetJob(t, jobId)
    return info
  }).pipe(Effect.withSpan(state === "Closed" ? "Bulk1.closeJob" : "Bulk1.abortJob", { attributes: { "sfbulk.job_id": idOf(job) } }))

/**
 * Close a job: no more batches; queued ones still run. When the answer is lost, or Salesforce
 * refuses because the job is already closed, the job is read: a closed job is returned as closed.
 *
 * @since 0.1.0
 * @category jobs
 */
export const closeJob = (job: JobRef): Effect.Effect<JobInfo, BulkError, TransportTag> => setState(job, "Closed")

/**
 * Abort a job: queued batches become NotProcessed; finished work is not rolled back. When the answer
 * is lost, or Salesforce refuses because the job is already aborted, an aborted job is returned.
 *
 * @since 0.1.0
 * @category jobs
 */
export const abortJob = (job: JobRef): Effect.Effect<JobInfo, BulkError, TransportTag> => setState(job, "Aborted")

/**
 * One row of a transformation spec: the Salesforce field, the CSV column that fills it, a default
 * `value` (used when the column is absent or its cell empty) and a `hint` (a Java date pattern for
 * date fields, a regular expression defining true for boolean fields).
 *
 * @since 0.1.0
 * @category models
 */
export interface SpecRow {
  readonly field: string
  readonly csvHeader?: string | undefined
  readonly value?: string | undefined
  readonly hint?: string | undefined
}

/**
 * Upload a transformation spec ("Map Data Fields": CSV `Salesforce Field,Csv Header,Value,Hint`) to
 * an open CSV job: its later batches may then be CSV with other column names (and, declared in
 * their Content-Type, another charset), mapped by Salesforce. Rows or the spec's CSV text; a spec of
 * 8,192 characters or more is an `InvalidInputError` (Salesforce's limit).
 *
 * @since 0.1.0
 * @category jobs
 */
export const uploadSpec = (job: JobRef, spec: string | ReadonlyArray<SpecRow>): Effect.Effect<void, BulkError, TransportTag> =>
  Effect.gen(function*() {
    const jobId = idOf(job)
    yield* checkId("job id", jobId)
    const text = typeof spec === "string"
      ? spec
      : CsvWriter.make().rows([
        ["Salesforce Field", "Csv Header", "Value", "Hint"],
        ...spec.map((r) => [r.field, r.csvHeader ?? "", r.value ?? "", r.hint ?? ""])
      ])
    if (text.length >= 8192) {
      return yield* new InvalidInputError({
        what: `the transformation spec is ${text.length} characters; Salesforce takes less than 8,192`
      })
    }
    yield* control({
      method: "POST",
      path: `/job/${jobId}/spec`,
      jobId,
      idempotent: true, // the same spec uploaded twice maps the same way
      body: HttpBody.text(text, "text/csv; charset=UTF-8")
    })
  })

/**
 * Every batch of a job, PK-chunk batches included (`GET /job/{jobId}/batch`).
 *
 * @since 0.1.0
 * @category batches
 */
export const listBatches = (job: JobRef): Effect.Effect<ReadonlyArray<BatchInfo>, BulkError, TransportTag> =>
  Effect.gen(function*() {
    const jobId = idOf(job)
    yield* checkId("job id", jobId)
    const text = yield* control({ method: "GET", path: `/job/${jobId}/batch`, jobId })
    return yield* internal.parseBatchInfoList(text)
  }).pipe(span("listBatches", job))

/**
 * A batch's state and counters (Salesforce's BatchInfo, `GET /job/{jobId}/batch/{batchId}`).
 *
 * @since 0.1.0
 * @category batches
 */
export const batchInfo = (job: JobRef, batchId: string): Effect.Effect<BatchInfo, BulkError, TransportTag> =>
  Effect.gen(function*() {
    const jobId = idOf(job)
    yield* checkId("job id", jobId)
    yield* checkId("batch id", batchId)
    const text = yield* control({ method: "GET", path: `/job/${jobId}/batch/${batchId}`, jobId, batchId })
    return yield* internal.parseBatchInfo(text)
  }).pipe(span("batchInfo", job, batchId))

// ---------------------------------------------------------------------------------------------
// adding batches
// ---------------------------------------------------------------------------------------------

/**
 * Records to encode on the fly in the job's content type (CSV with `@sfbulk/csv`'s writer, JSON or XML).
 *
 * @since 0.1.0
 * @category batches
 */
export interface Records {
  readonly _tag: "Records"
  readonly records: Stream.Stream<Csv.Row, BulkError> | Iterable<Csv.Row>
  readonly columns?: ReadonlyArray<string> | undefined
}

/**
 * Wrap records (a `Stream` or an `Iterable`) as a batch body; `columns` fixes the CSV header
 * (default: the first record's fields). A record with another field fails with `InvalidInputError`.
 *
 * @since 0.1.0
 * @category batches
 */
export const records = (
  records: Stream.Stream<Csv.Row, BulkError> | Iterable<Csv.Row>,
  options?: { readonly columns?: ReadonlyArray<string> | undefined }
): Records => ({ _tag: "Records", records, columns: options?.columns })

/**
 * A batch body: bytes (`Stream`, `Uint8Array`), text (a CSV/JSON/XML document, or SOQL for query
 * jobs), or records: `Bulk1.records(...)` or any iterable of records.
 *
 * A `Stream` body is pulled again if the batch has to be re-sent (after a lost answer or a session
 * renewal), so give a stream that can be run more than once (files, generators, encoders do).
 *
 * @since 0.1.0
 * @category batches
 */
export type BatchBody = string | Uint8Array | Stream.Stream<Uint8Array, BulkError> | Records | Iterable<Csv.Row>

/**
 * Options for adding a batch.
 *
 * @since 0.1.0
 * @category batches
 */
export interface AddBatchOptions {
  /**
   * How often a batch whose answer was lost is checked and re-sent; default the transport's retry
   * schedule (backoff within a total budget).
   */
  readonly resendSchedule?: Schedule.Schedule<unknown, BulkError> | undefined
  /** Gzip the upload (`Content-Encoding: gzip`). Default: the transport's setting. */
  readonly gzip?: boolean | undefined
  /**
   * Check a CSV body given as text, bytes or a `Stream` before anything is sent (default `true`, on
   * CSV ingest jobs): valid UTF-8, a header and at least one record, unique column names, every
   * record as wide as the header, field and record sizes, ids, the operation's columns (see
   * `InvalidInputError`). `false` skips it (the data was checked already).
   */
  readonly check?: boolean | undefined
  /**
   * The encoding of a CSV body given as bytes or a `Stream` (a WHATWG label: `windows-1252`,
   * `utf-16le`, ...; default `utf-8`): re-encoded as UTF-8 before the check and the upload. A UTF-8
   * byte-order mark of a CSV body is always dropped (Salesforce would read it as part of the first
   * column's name).
   */
  readonly encoding?: string | undefined
}

/**
 * Add a batch to an open job (`POST /job/{jobId}/batch`). The body is streamed.
 *
 * A POST whose answer is lost (connection reset, timeout, 5xx) is never blindly re-sent: the job's
 * batches are listed and every batch created since shortly before the POST (5 minutes of clock skew
 * allowed) is compared, by SHA-256 of its original request, with what was sent; only when none
 * matches is the body sent again. The check is repeated after each backoff, so a slow request that
 * lands late is still found. Identical payloads are safe: every batch id is handed to one caller
 * only (claims are kept per job, per transport), and the check runs one at a time per job while no
 * POST of it is in flight, so it considers only batches nobody else owns. (Two processes adding
 * identical payloads to one job at once still cannot be told apart.) When the check cannot be made,
 * the add fails with that error instead of sending again.
 *
 * A raw CSV body of an ingest job is checked first (see `AddBatchOptions.check`): bad data is an
 * `InvalidInputError` and nothing is sent. A `Stream` body is checked while it is spooled to a temp
 * file (constant memory), and sent (and re-sent if need be) from that file.
 *
 * @since 0.1.0
 * @category batches
 */
export const addBatch = (
  job: JobRef,
  body: BatchBody,
  options?: AddBatchOptions
): Effect.Effect<BatchInfo, BulkError, TransportTag> =>
  Effect.flatMap(resolve(job), (info) => AddBatch.addBatch(info, body, options)).pipe(
    Effect.scoped,
    Effect.withSpan("Bulk1.addBatch", { attributes: { "sfbulk.job_id": idOf(job) } })
  )

/**
 * Split a stream of records into batches of `batchSize` (default 10,000, the Bulk API 1.0 maximum)
 * and add each to the job, `concurrency` at a time (default 1). Holds at most one batch of records
 * per concurrent upload, so memory stays bounded whatever the input size. Returns the batches in
 * input order.
 *
 * @since 0.1.0
 * @category batches
 */
export const addBatches = (
  job: JobRef,
  rows: Stream.Stream<Csv.Row, BulkError> | Iterable<Csv.Row>,
  options?: AddBatchOptions & {
    readonly batchSize?: number | undefined
    readonly columns?: ReadonlyArray<string> | undefined
    readonly concurrency?: number | undefined
  }
): Effect.Effect<ReadonlyArray<BatchInfo>, BulkError, TransportTag> =>
  Effect.gen(function*() {
    const size = options?.batchSize ?? 10_000
    if (!Number.isInteger(size) || size < 1 || size > 10_000) {
      return yield* new InvalidInputError({ what: `batchSize must be a whole number from 1 to 10,000, got ${size}` })
    }
    const info = yield* resolve(job)
    const source = AddBatch.isStream(rows) ? rows as Stream.Stream<Csv.Row, BulkError> : Stream.fromIterable(rows as Iterable<Csv.Row>)
    const batches = yield* source.pipe(
      Stream.grouped(size),
      Stream.mapEffect((chunk) => addBatch(info, records(chunk, { columns: options?.columns }), options), {
        concurrency: options?.concurrency ?? 1
      }),
      Stream.runCollect
    )
    return Array.from(batches)
  }).pipe(span("addBatches", job))

/**
 * Add a query batch (the SOQL) to a query or queryAll job (`POST /job/{jobId}/batch` with the SOQL as its body).
 *
 * @since 0.1.0
 * @category batches
 */
export const addQueryBatch = (job: JobRef, soql: string): Effect.Effect<BatchInfo, BulkError, TransportTag> =>
  soql.trim().length === 0
    ? Effect.fail(new InvalidInputError({ what: "the SOQL query is empty" }))
    : addBatch(job, soql).pipe(span("addQueryBatch", job))

/**
 * Create a query job, add the query and return both (Salesforce's two requests: create the job, add the batch).
 *
 * @since 0.1.0
 * @category batches
 */
export const query = (
  object: string,
  soql: string,
  options?: ShortcutOptions & { readonly all?: boolean | undefined }
): Effect.Effect<{ readonly job: JobInfo; readonly batch: BatchInfo }, BulkError, TransportTag> =>
  Effect.gen(function*() {
    const { all, ...rest } = options ?? {}
    const job = yield* createJob({ ...rest, operation: all === true ? "queryAll" : "query", object })
    const batch = yield* addQueryBatch(job, soql)
    return { job, batch }
  }).pipe(Effect.withSpan("Bulk1.query", { attributes: { "sfbulk.object": object } }))

/**
 * The batch's original payload, as bytes (for query batches, the SOQL; for PK-chunk batches, the
 * SOQL with the chunk's id range).
 *
 * @since 0.1.0
 * @category batches
 */
export const batchRequest = (job: JobRef, batchId: string): Stream.Stream<Uint8Array, BulkError, TransportTag> =>
  Stream.unwrap(Effect.gen(function*() {
    const jobId = idOf(job)
    yield* checkId("job id", jobId)
    yield* checkId("batch id", batchId)
    const t = yield* TransportTag
    return TransportInternal.requestStream(t, {
      method: "GET",
      path: `${base(t)}/job/${jobId}/batch/${batchId}/request`,
      api: "1.0",
      jobId,
      batchId
    })
  })).pipe(streamSpan("batchRequest", job, batchId))

// ---------------------------------------------------------------------------------------------
// waiting
// ---------------------------------------------------------------------------------------------

/**
 * The default polling schedule: 500 ms, growing by 1.5x up to every 5 s (the same on both APIs).
 *
 * @since 0.1.0
 * @category waiting
 */
export const defaultPollSchedule: Schedule.Schedule<unknown> = Poll.defaultPollSchedule

/**
 * @since 0.1.0
 * @category waiting
 */
export interface WaitOptions {
  /** When to poll again; any schedule. When it ends, the wait fails with `PollTimeoutError`. */
  readonly schedule?: Schedule.Schedule<unknown> | undefined
  /** Give up after this long with `PollTimeoutError`; the job is left running. */
  readonly timeout?: Duration.DurationInput | undefined
}

const timedOut = (jobId: string, batchId?: string) => (timeoutMillis?: number) =>
  new PollTimeoutError({
    jobId,
    ...(batchId !== undefined ? { batchId } : {}),
    ...(timeoutMillis !== undefined ? { timeoutMillis } : {})
  })

const batchDone = (b: BatchInfo): Effect.Effect<boolean, BatchFailedError> =>
  b.state === "Failed"
    ? Effect.fail(new BatchFailedError({ jobId: b.jobId, batchId: b.id, stateMessage: b.stateMessage ?? "" }))
    : Effect.succeed(b.state === "Completed" || b.state === "NotProcessed")

/**
 * Whether a batch is finished, by its Salesforce state: Completed or NotProcessed (the normal
 * end of a PK-chunked query's original batch, or of a batch in an aborted job) are done, a Failed
 * batch fails with `BatchFailedError` carrying its state message.
 *
 * @since 0.1.0
 * @category waiting
 */
export const isBatchDone = (job: JobRef, batchId: string): Effect.Effect<boolean, BulkError, TransportTag> =>
  Effect.flatMap(batchInfo(job, batchId), batchDone).pipe(span("isBatchDone", job, batchId))

/**
 * Poll a batch's BatchInfo until its state is final.
 *
 * @since 0.1.0
 * @category waiting
 */
export const waitForBatch = (
  job: JobRef,
  batchId: string,
  options?: WaitOptions
): Effect.Effect<BatchInfo, BulkError, TransportTag> =>
  Poll.pollUntil(
    Effect.flatMap(batchInfo(job, batchId), (b) => Effect.map(batchDone(b), (done) => (done ? Option.some(b) : Option.none()))),
    options,
    timedOut(idOf(job), batchId)
  ).pipe(Effect.withSpan("Bulk1.waitForBatch", { attributes: { "sfbulk.job_id": idOf(job), "sfbulk.batch_id": batchId } }))

/**
 * Poll until every batch of the job is done (Completed, or NotProcessed: a PK-chunked query's
 * original batch, the batches of an aborted job), PK-chunk batches included, and return them.
 * Completion is read from the batch list alone: `numberBatchesTotal` is not compared, since whether
 * it counts a PK-chunked query's original batch is not documented. A Failed batch fails with
 * `BatchFailedError`; a Failed job with `JobFailedError`.
 *
 * @since 0.1.0
 * @category waiting
 */
export const waitForJob = (
  job: JobRef,
  options?: WaitOptions
): Effect.Effect<ReadonlyArray<BatchInfo>, BulkError, TransportTag> =>
  Poll.pollUntil(
    Effect.gen(function*() {
      const jobId = idOf(job)
      const batches = yield* listBatches(jobId)
      let done = true
      for (const b of batches) if (!(yield* batchDone(b))) done = false
      if (!done) return Option.none()
      const info = yield* jobInfo(jobId)
      if (info.state === "Failed") {
        return yield* new JobFailedError({ jobId, state: info.state, stateMessage: "the job failed" })
      }
      return Option.some(batches)
    }),
    options,
    timedOut(idOf(job))
  ).pipe(Effect.withSpan("Bulk1.waitForJob", { attributes: { "sfbulk.job_id": idOf(job) } }))

// ---------------------------------------------------------------------------------------------
// results
// ---------------------------------------------------------------------------------------------

const resultPath = (t: TransportTag["Type"], jobId: string, batchId: string) => internal.batchResultPath(t.apiVersion, jobId, batchId)

/**
 * Raw bytes of a batch's result: ingest results, or (with `resultId`) one query result file.
 *
 * @since 0.1.0
 * @category results
 */
export const rawResult = (
  job: JobRef,
  batchId: string,
  resultId?: string
): Stream.Stream<Uint8Array, BulkError, TransportTag> =>
  Stream.unwrap(Effect.gen(function*() {
    const jobId = idOf(job)
    yield* checkId("job id", jobId)
    yield* checkId("batch id", batchId)
    if (resultId !== undefined) yield* checkId("result id", resultId)
    const t = yield* TransportTag
    return TransportInternal.requestStream(t, {
      method: "GET",
      path: resultPath(t, jobId, batchId) + (resultId === undefined ? "" : `/${resultId}`),
      api: "1.0",
      jobId,
      batchId
    })
  })).pipe(streamSpan("rawResult", job, batchId))

/** Names the job and batch in a result-parsing error that lacks them. */
const naming = <A, R>(jobId: string, batchId: string, stream: Stream.Stream<A, BulkError, R>): Stream.Stream<A, BulkError, R> =>
  Stream.mapError(stream, (e) =>
    e._tag === "TransportError" && e.jobId === undefined
      ? new TransportError({ ...e, url: `job/${jobId}/batch/${batchId}/${e.url}`, jobId, batchId })
      : e)

/**
 * The per-record results of an ingest batch, in input order, parsed as they stream in from CSV,
 * JSON or XML (`GET /job/{jobId}/batch/{batchId}/result`).
 *
 * @since 0.1.0
 * @category results
 */
export const batchResults = (
  job: JobRef,
  batchId: string
): Stream.Stream<BatchResult, BulkError, TransportTag> =>
  Stream.unwrap(
    Effect.map(resolve(job), (info) =>
      naming(
        info.id,
        batchId,
        resumable(() => internal.parseBatchResults(info.contentType, rawResult(info, batchId)))
      ))
  ).pipe(
    streamSpan("batchResults", job, batchId)
  )

/**
 * The result file ids of a completed query batch.
 *
 * @since 0.1.0
 * @category results
 */
export const queryResultIds = (job: JobRef, batchId: string): Stream.Stream<string, BulkError, TransportTag> =>
  Stream.unwrap(Effect.gen(function*() {
    const jobId = idOf(job)
    yield* checkId("job id", jobId)
    yield* checkId("batch id", batchId)
    const text = yield* control({ method: "GET", path: `/job/${jobId}/batch/${batchId}/result`, jobId, batchId })
    return Stream.fromIterable(yield* internal.parseResultIds(text))
  })).pipe(streamSpan("queryResultIds", job, batchId))

/**
 * Every record of every result file of one query batch (`GET .../result`, then each
 * `GET .../result/{resultId}`), as one stream. CSV is parsed with csv-parse as it streams; JSON with a
 * streaming array scanner; XML element by element.
 *
 * @since 0.1.0
 * @category results
 */
export const queryResults = (
  job: JobRef,
  batchId: string
): Stream.Stream<QueryRecord, BulkError, TransportTag> =>
  Stream.unwrap(Effect.map(resolve(job), (info) =>
    Stream.flatMap(
      queryResultIds(info, batchId),
      (resultId) =>
        naming(info.id, batchId, resumable(() => internal.parseQueryResult(info.contentType, rawResult(info, batchId, resultId))))
    ))).pipe(streamSpan("queryResults", job, batchId))

/**
 * Every record of a query job: waits for the job, then reads every result file of every completed
 * batch (PK-chunk batches included; a chunked query's NotProcessed original is skipped), in batch
 * order, as one stream.
 *
 * @since 0.1.0
 * @category results
 */
export const jobQueryResults = (
  job: JobRef,
  options?: WaitOptions
): Stream.Stream<QueryRecord, BulkError, TransportTag> =>
  Stream.unwrap(Effect.gen(function*() {
    const info = yield* resolve(job)
    if (info.operation !== "query" && info.operation !== "queryAll") {
      return yield* new InvalidInputError({ what: `job ${info.id} is a ${info.operation} job, not a query job` })
    }
    const batches = yield* waitForJob(info, options)
    return Stream.fromIterable(batches.filter((b) => b.state === "Completed")).pipe(
      Stream.flatMap((b) => queryResults(info, b.id))
    )
  })).pipe(streamSpan("jobQueryResults", job))
