/**
 * The low-level Bulk API 2.0: ingest jobs (create, upload, close, abort, delete, info, list,
 * results) and query jobs (create, info, abort, delete, list, results read page by page or in
 * parallel through `/resultPages`). Every function needs a `Transport`; every call is a span with
 * the job id as the `sfbulk.job_id` attribute. Results are `Stream`s of parsed CSV rows, never
 * read whole.
 *
 * @since 0.1.0
 */
import * as NodeHttpClient from "./internal/nodeHttpClient.js"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as HttpBody from "@effect/platform/HttpBody"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as Duration from "effect/Duration"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import { InvalidInputError, isBulkError, type BulkError } from "./BulkError.js"
import * as internal from "./internal/bulk2.js"
import * as StateChange from "./internal/stateChange.js"
import type { ColumnDelimiter, LineEnding } from "./internal/rows.js"
import { spoolToFile, tempDir } from "./internal/split.js"
import { checkCsv, checkedCsvStream, hasBom, isUtf8, toUtf8, withoutBom } from "./internal/validate.js"
import { isDroppedDownload, resumable } from "./internal/resumable.js"
import * as TransportModule from "./internal/transport.js"
import { Transport } from "./internal/transport.js"
import type { SalesforceAuth } from "./internal/session.js"

export type {
  /**
   * Column delimiters of Bulk API 2.0.
   * @since 0.1.0
   */
  ColumnDelimiter,
  /**
   * Line endings of Bulk API 2.0.
   * @since 0.1.0
   */
  LineEnding
}

/**
 * The transport service every function here needs (provide it with {@link layer}).
 *
 * @deprecated Use `Transport.Transport` from the `Transport` module (kept for 0.x).
 * @since 0.1.0
 * @category tags
 */
const TransportAlias: typeof Transport = Transport
/**
 * The transport service every function here needs.
 *
 * @deprecated Use `Transport.Transport` from the `Transport` module (kept for 0.x).
 * @since 0.1.0
 * @category tags
 */
type TransportAlias = Transport
export {
  /**
   * The transport service every function here needs.
   *
   * @deprecated Use `Transport.Transport` from the `Transport` module (kept for 0.x).
   * @since 0.1.0
   * @category tags
   */
  TransportAlias as Transport
}

/**
 * Options of the transport (retry schedule, timeout, gzip of uploads).
 *
 * @deprecated Use `Transport.Options` (kept for 0.x).
 * @since 0.1.0
 * @category models
 */
export type TransportOptions = TransportModule.TransportOptions

/**
 * The transport on Node's undici `HttpClient`, authenticated by `SalesforceAuth`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: TransportOptions): Layer.Layer<Transport, never, SalesforceAuth> =>
  TransportModule.layer(options).pipe(Layer.provide(NodeHttpClient.layerUndici))

/**
 * The transport on a given `HttpClient`.
 *
 * @deprecated Use `Transport.layer` (kept for 0.x).
 * @since 0.1.0
 * @category layers
 */
export const layerWithoutHttpClient: (
  options?: TransportOptions
) => Layer.Layer<Transport, never, SalesforceAuth | HttpClient.HttpClient> = TransportModule.layer

/**
 * Ingest operations.
 *
 * @since 0.1.0
 * @category models
 */
export type Operation = "insert" | "update" | "upsert" | "delete" | "hardDelete"

/**
 * Job states: `Open` -> `UploadComplete` -> `InProgress` -> `JobComplete` | `Failed`, or `Aborted`.
 *
 * @since 0.1.0
 * @category models
 */
export type JobState = "Open" | "UploadComplete" | "InProgress" | "JobComplete" | "Failed" | "Aborted"

/**
 * A job's information as Salesforce reports it (ingest and query jobs share the shape; counters
 * appear once processing starts).
 *
 * @since 0.1.0
 * @category models
 */
export type JobInfo = internal.JobInfo

/**
 * Options for waiting on a job: the poll `Schedule` (default: 0.5 s growing to every 5 s), an
 * overall `timeout` (default: none) and a callback seeing every polled JobInfo (for progress).
 *
 * @since 0.1.0
 * @category models
 */
export interface WaitOptions {
  readonly schedule?: Schedule.Schedule<unknown, unknown> | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly onPoll?: ((info: JobInfo) => void) | undefined
}

/**
 * The default poll schedule: 0.5 s, growing by 1.5x, capped at 5 s, never giving up.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPollSchedule: Schedule.Schedule<unknown> = internal.defaultPollSchedule

/**
 * Whether a job state is final (`JobComplete`, `Failed`, `Aborted`).
 *
 * @since 0.1.0
 * @category guards
 */
export const isTerminal: (state: string) => boolean = internal.isTerminal

const base = (t: Transport["Type"], kind: "ingest" | "query") => `/services/data/v${t.apiVersion}/jobs/${kind}`

const span = (name: string, jobId: string) => Effect.withSpan(`Bulk2.${name}`, { attributes: { "sfbulk.job_id": jobId } })

const jsonBody = (value: unknown) => HttpBody.text(JSON.stringify(value), "application/json")

// ---------------------------------------------------------------------------------------------
// Ingest
// ---------------------------------------------------------------------------------------------

/**
 * What an ingest job is created with.
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateIngestJob {
  readonly object: string
  readonly operation: Operation
  /** Required for `upsert`: the external id field (or `Id`). */
  readonly externalIdFieldName?: string | undefined
  /** Case/Lead assignment rule (API 49.0+). */
  readonly assignmentRuleId?: string | undefined
  readonly columnDelimiter?: ColumnDelimiter | undefined
  readonly lineEnding?: LineEnding | undefined
}

/**
 * Creates an ingest job (state `Open`).
 *
 * @since 0.1.0
 * @category ingest
 */
export const createIngestJob = (options: CreateIngestJob): Effect.Effect<JobInfo, BulkError, Transport> =>
  Effect.gen(function*() {
    const t = yield* Transport
    if (options.operation === "upsert" && !options.externalIdFieldName) {
      return yield* new InvalidInputError({ what: "upsert needs externalIdFieldName (an External ID field or Id)" })
    }
    const info = yield* internal.requestJson({
      method: "POST",
      path: base(t, "ingest"),
      api: "2.0",
      idempotent: true, // a job created twice leaves an empty orphan job, never duplicate records
      body: jsonBody({
        object: options.object,
        operation: options.operation,
        contentType: "CSV",
        columnDelimiter: options.columnDelimiter ?? "COMMA",
        lineEnding: options.lineEnding ?? "LF",
        ...(options.externalIdFieldName ? { externalIdFieldName: options.externalIdFieldName } : {}),
        ...(options.assignmentRuleId ? { assignmentRuleId: options.assignmentRuleId } : {})
      })
    }, internal.JobInfo)
    yield* Effect.annotateCurrentSpan("sfbulk.job_id", info.id)
    return info
  }).pipe(
    Effect.withSpan("Bulk2.createIngestJob", { attributes: { "sfbulk.object": options.object, "sfbulk.operation": options.operation } })
  )

/**
 * Options of `uploadJobData` and `uploadFile`.
 *
 * @since 0.1.0
 * @category ingest
 */
export interface UploadOptions {
  /**
   * The byte length of a `Stream` body, when known. No longer needed: a stream is spooled to a temp
   * file first, whose size is sent as `Content-Length`.
   */
  readonly contentLength?: number | undefined
  /**
   * Check the CSV before anything is sent (default `true`): valid UTF-8, a header and at least one
   * record, unique column names, every record as wide as the header, field and record sizes, ids
   * (see `InvalidInputError`). `false` skips it (the data was checked already). A job given by id
   * is looked up first (one GET) for its delimiter and operation.
   */
  readonly check?: boolean | undefined
  /** The CSV's column delimiter for the check (default: the job's). */
  readonly columnDelimiter?: ColumnDelimiter | undefined
  /**
   * The data's encoding, a WHATWG label (`windows-1252`, `utf-16le`, ...; default `utf-8`): other
   * encodings are re-encoded as UTF-8 before the check and the upload. A UTF-8 byte-order mark is
   * always dropped (Salesforce would read it as part of the first column's name).
   */
  readonly encoding?: string | undefined
}

/** What the CSV check needs of the job: its delimiter and operation (a job given by id is looked up). */
const checkContext = (job: string | JobInfo, options?: UploadOptions) =>
  Effect.map(typeof job === "string" ? getIngestJob(job) : Effect.succeed(job), (info) => ({
    delimiter: internal.delimiterOf(options?.columnDelimiter ?? info.columnDelimiter),
    // records ending otherwise than the job says fail on Salesforce as a whole ("LineEnding is invalid")
    ...(info.lineEnding === "LF" || info.lineEnding === "CRLF" ? { lineEnding: info.lineEnding as LineEnding, jobId: info.id } : {}),
    ...(info.operation !== undefined ? { operation: info.operation as Operation } : {}),
    ...(info.externalIdFieldName ? { externalIdFieldName: info.externalIdFieldName } : {})
  }))

/**
 * Uploads the job's CSV (one upload per job; Salesforce answers 201). The upload is never re-sent
 * once it may have reached Salesforce (a job takes one upload): to retry, abort the job and upload
 * to a new one, as `BulkClient` does from its spool file. It is sent again when Salesforce refused
 * it without acting on it: an expired session (renewed, then the upload replayed), throttling.
 *
 * The CSV is checked before the upload (see `UploadOptions.check`), so bad data is an
 * `InvalidInputError` and nothing is sent: text and bytes in memory directly, a `Stream` while it is
 * spooled to a temp file (constant memory; the upload is then sent from the file, so it can be
 * replayed, and the file deleted afterwards). A job given by id is looked up for its delimiter and
 * operation (pass the `JobInfo` to save that request).
 *
 * @since 0.1.0
 * @category ingest
 */
export const uploadJobData = (
  job: string | JobInfo,
  input: Uint8Array | string | Stream.Stream<Uint8Array, unknown>,
  options?: UploadOptions
): Effect.Effect<void, BulkError, Transport> =>
  Effect.gen(function*() {
    const jobId = typeof job === "string" ? job : job.id
    // what Salesforce reads: UTF-8 without a byte-order mark
    const data = withoutBom(yield* toUtf8(input, options?.encoding))
    const ctx = options?.check !== false ? yield* checkContext(job, options) : undefined
    if (typeof data === "string" || data instanceof Uint8Array) {
      if (ctx) yield* checkCsv(data, ctx)
      return yield* putJobData(jobId, typeof data === "string" ? HttpBody.text(data, "text/csv") : HttpBody.uint8Array(data, "text/csv"))
    }
    // a stream is spooled (and checked on the way), then sent from the file, which can be read
    // again when the upload has to be replayed (after a session renewal)
    yield* Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const spooled = yield* spoolToFile(
        (ctx ? checkedCsvStream(data, ctx) : data).pipe(
          Stream.mapError((e) => (isBulkError(e) ? e : new InvalidInputError({ what: `the upload data could not be read: ${String(e)}` })))
        ),
        dir,
        "upload.csv"
      )
      yield* putJobData(jobId, fileBody(spooled.path, spooled.size))
    }))
  }).pipe(span("upload", typeof job === "string" ? job : job.id))

const fileBytes = (path: string) => NodeStream.fromReadable(() => Fs.createReadStream(path, { highWaterMark: 256 * 1024 }), (e) => e)

/** A file's bytes as an upload body, made afresh (the file read again) for each attempt. */
const fileBody = (path: string, size: number) => () => HttpBody.stream(fileBytes(path), "text/csv", size)

const putJobData = (
  jobId: string,
  body: HttpBody.HttpBody | (() => HttpBody.HttpBody)
): Effect.Effect<void, BulkError, Transport> =>
  Effect.gen(function*() {
    const t = yield* Transport
    // Not idempotent: a second PUT to a job is refused ("Found multipe contents"), so the transport
    // must not re-send one that may have arrived; callers retry on a new job instead. A body that
    // can be made again is replayed when Salesforce refused the upload unread (expired session).
    yield* internal.requestVoid({
      method: "PUT",
      path: `${base(t, "ingest")}/${jobId}/batches`,
      api: "2.0",
      ...(typeof body === "function" ? { makeBody: body } : { body }),
      jobId,
      idempotent: false
    })
  })

/**
 * Uploads a CSV file from disk as the job's data, streamed from the file (read again when the upload
 * is replayed after a session renewal). The file is checked first (read once more, streamed:
 * constant memory) unless `check: false`; bad data is an `InvalidInputError` and nothing is sent.
 *
 * @since 0.1.0
 * @category ingest
 */
export const uploadFile = (job: string | JobInfo, path: string, options?: UploadOptions): Effect.Effect<void, BulkError, Transport> =>
  Effect.gen(function*() {
    const jobId = typeof job === "string" ? job : job.id
    if (options?.encoding !== undefined && !isUtf8(options.encoding)) {
      // re-encoded as it is read: checked while spooled, then sent from the spool file
      return yield* uploadJobData(job, fileBytes(path), options)
    }
    const [size, bom] = yield* Effect.try({
      try: () => {
        const fd = Fs.openSync(path, "r")
        try {
          const head = new Uint8Array(3)
          const n = Fs.readSync(fd, head, 0, 3, 0)
          return [Fs.fstatSync(fd).size, hasBom(head.subarray(0, n))] as const
        } finally {
          Fs.closeSync(fd)
        }
      },
      catch: (e) => new InvalidInputError({ what: `cannot read ${path}: ${String(e)}` })
    })
    if (options?.check !== false) {
      const ctx = yield* checkContext(job, options)
      yield* Stream.runDrain(checkedCsvStream(fileBytes(path), ctx)).pipe(
        Effect.mapError((e) =>
          !isBulkError(e)
            ? new InvalidInputError({ what: `cannot read ${path}: ${String(e)}` })
            : e._tag === "InvalidInputError"
            ? new InvalidInputError({
              what: `${path}: ${e.what}`,
              ...(e.row !== undefined ? { row: e.row } : {}),
              ...(e.field !== undefined ? { field: e.field } : {})
            })
            : e
        )
      )
    }
    // a UTF-8 byte-order mark is not sent (Salesforce would read it as part of the first column's name)
    yield* putJobData(
      jobId,
      () =>
        HttpBody.stream(
          bom ? withoutBom(fileBytes(path)) as Stream.Stream<Uint8Array, unknown> : fileBytes(path),
          "text/csv",
          bom ? size - 3 : size
        )
    )
  }).pipe(span("upload", typeof job === "string" ? job : job.id))

const patchState = (kind: "ingest" | "query", jobId: string, state: "UploadComplete" | "Aborted") =>
  Effect.flatMap(Transport, (t) =>
    StateChange.changeState({
      send: internal.requestJson({
        method: "PATCH",
        path: `${base(t, kind)}/${jobId}`,
        api: "2.0",
        body: jsonBody({ state }),
        jobId,
        idempotent: false // a repeat is refused once the first took effect: the job is read instead
      }, internal.JobInfo),
      read: internal.requestJson({ method: "GET", path: `${base(t, kind)}/${jobId}`, api: "2.0", jobId }, internal.JobInfo),
      accepted: StateChange.reached("2.0", state),
      schedule: t.retrySchedule ?? TransportModule.defaultRetrySchedule()
    }))

/**
 * Marks the upload complete so Salesforce starts processing (mandatory after `uploadJobData`). A job
 * already past that point (`UploadComplete`, `InProgress`, `JobComplete`, `Failed`: the answer to an
 * earlier close was lost) is returned as it is.
 *
 * @since 0.1.0
 * @category ingest
 */
export const closeIngestJob = (jobId: string): Effect.Effect<JobInfo, BulkError, Transport> =>
  patchState("ingest", jobId, "UploadComplete").pipe(span("closeIngestJob", jobId))

/**
 * Aborts an ingest job; records not yet processed are reported by `unprocessedRecords`.
 *
 * @since 0.1.0
 * @category ingest
 */
export const abortIngestJob = (jobId: string): Effect.Effect<JobInfo, BulkError, Transport> =>
  patchState("ingest", jobId, "Aborted").pipe(span("abortIngestJob", jobId))

/**
 * Deletes a finished (or aborted) ingest job and its results.
 *
 * @since 0.1.0
 * @category ingest
 */
export const deleteIngestJob = (jobId: string): Effect.Effect<void, BulkError, Transport> =>
  Effect.flatMap(Transport, (t) => internal.requestVoid({ method: "DELETE", path: `${base(t, "ingest")}/${jobId}`, api: "2.0", jobId }))
    .pipe(
      span("deleteIngestJob", jobId)
    )

/**
 * The job's current information.
 *
 * @since 0.1.0
 * @category ingest
 */
export const getIngestJob = (jobId: string): Effect.Effect<JobInfo, BulkError, Transport> =>
  Effect.flatMap(
    Transport,
    (t) => internal.requestJson({ method: "GET", path: `${base(t, "ingest")}/${jobId}`, api: "2.0", jobId }, internal.JobInfo)
  ).pipe(
    span("getIngestJob", jobId)
  )

/**
 * Polls the job with the schedule until `JobComplete`, `Failed` or `Aborted`, returning its final
 * information; `PollTimeoutError` (job left running) when the schedule or `timeout` runs out.
 *
 * @since 0.1.0
 * @category ingest
 */
export const waitForIngestJob = (jobId: string, options?: WaitOptions): Effect.Effect<JobInfo, BulkError, Transport> =>
  internal.waitFor(jobId, getIngestJob(jobId), options)

/**
 * Filters for listing jobs.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListOptions {
  readonly jobType?: "Classic" | "V2Ingest" | "V2Query" | "BigObjectIngest" | undefined
  readonly isPkChunkingEnabled?: boolean | undefined
  readonly concurrencyMode?: "parallel" | "serial" | undefined
}

const list = (kind: "ingest" | "query", options?: ListOptions): Stream.Stream<JobInfo, BulkError, Transport> =>
  Stream.unwrap(Effect.map(Transport, (t) => {
    const first: { path: string; urlParams: Record<string, string> } = {
      path: base(t, kind),
      urlParams: {
        ...(options?.jobType ? { jobType: options.jobType } : {}),
        ...(options?.isPkChunkingEnabled !== undefined ? { isPkChunkingEnabled: String(options.isPkChunkingEnabled) } : {}),
        ...(options?.concurrencyMode ? { concurrencyMode: options.concurrencyMode } : {})
      }
    }
    return Stream.paginateChunkEffect(
      first,
      (page) =>
        internal.requestJson({ method: "GET", path: page.path, urlParams: page.urlParams, api: "2.0" }, internal.JobList).pipe(
          Effect.map((res) =>
            [
              Chunk.fromIterable(res.records),
              !res.done && res.nextRecordsUrl ? Option.some(internal.splitUrl(res.nextRecordsUrl)) : Option.none()
            ] as const
          )
        )
    )
  })).pipe(Stream.withSpan(`Bulk2.list${kind === "ingest" ? "Ingest" : "Query"}Jobs`))

/**
 * Every ingest job visible to the user, all pages, as one stream.
 *
 * @since 0.1.0
 * @category ingest
 */
export const listIngestJobs = (options?: ListOptions): Stream.Stream<JobInfo, BulkError, Transport> => list("ingest", options)

/**
 * Options for reading results: the job's column delimiter (read from the job when absent).
 *
 * @since 0.1.0
 * @category models
 */
export interface ResultOptions {
  readonly columnDelimiter?: ColumnDelimiter | undefined
}

/**
 * A parsed result row: column name -> value (`sf__Id`, `sf__Created`, `sf__Error` and the columns
 * as uploaded).
 *
 * @since 0.1.0
 * @category models
 */
export type ResultRow = Readonly<Record<string, string>>

const delimiterFor = (kind: "ingest" | "query", jobId: string, options?: ResultOptions) =>
  options?.columnDelimiter
    ? Effect.succeed(internal.delimiterOf(options.columnDelimiter))
    : Effect.map(kind === "ingest" ? getIngestJob(jobId) : getQueryJob(jobId), (i) => internal.delimiterOf(i.columnDelimiter))

const ingestResults = (
  jobId: string,
  resource: "successfulResults" | "failedResults" | "unprocessedrecords",
  options?: ResultOptions
): Stream.Stream<ResultRow, BulkError, Transport> =>
  Stream.unwrap(Effect.gen(function*() {
    const t = yield* Transport
    const delimiter = yield* delimiterFor("ingest", jobId, options)
    const req = {
      method: "GET",
      path: `${base(t, "ingest")}/${jobId}/${resource}`,
      api: "2.0",
      headers: { accept: "text/csv" },
      jobId
    } as const
    return resumable(() => Stream.unwrap(Effect.map(t.request(req), (res) => internal.csvRecords(req, res, delimiter))))
  })).pipe(Stream.withSpan(`Bulk2.${resource}`, { attributes: { "sfbulk.job_id": jobId } }))

/**
 * The job's successful records (`sf__Id`, `sf__Created`, then the uploaded columns), streamed.
 *
 * @since 0.1.0
 * @category ingest
 */
export const successfulResults = (jobId: string, options?: ResultOptions): Stream.Stream<ResultRow, BulkError, Transport> =>
  ingestResults(jobId, "successfulResults", options)

/**
 * The job's failed records (`sf__Id`, `sf__Error`, then the uploaded columns), streamed.
 *
 * @since 0.1.0
 * @category ingest
 */
export const failedResults = (jobId: string, options?: ResultOptions): Stream.Stream<ResultRow, BulkError, Transport> =>
  ingestResults(jobId, "failedResults", options)

/**
 * The records never attempted (job aborted or failed), with the uploaded columns, streamed.
 *
 * @since 0.1.0
 * @category ingest
 */
export const unprocessedRecords = (jobId: string, options?: ResultOptions): Stream.Stream<ResultRow, BulkError, Transport> =>
  ingestResults(jobId, "unprocessedrecords", options)

// ---------------------------------------------------------------------------------------------
// Query
// ---------------------------------------------------------------------------------------------

/**
 * What a query job is created with.
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateQueryJob {
  readonly query: string
  /** `queryAll` includes deleted and archived records. Default `query`. */
  readonly operation?: "query" | "queryAll" | undefined
  readonly columnDelimiter?: ColumnDelimiter | undefined
  readonly lineEnding?: LineEnding | undefined
}

/**
 * Creates a query job (state `UploadComplete`; Salesforce starts it at once).
 *
 * @since 0.1.0
 * @category query
 */
export const createQueryJob = (options: CreateQueryJob): Effect.Effect<JobInfo, BulkError, Transport> =>
  Effect.gen(function*() {
    const t = yield* Transport
    const info = yield* internal.requestJson({
      method: "POST",
      path: base(t, "query"),
      api: "2.0",
      idempotent: true, // a job created twice leaves an empty orphan job, never duplicate records
      body: jsonBody({
        operation: options.operation ?? "query",
        query: options.query,
        contentType: "CSV",
        columnDelimiter: options.columnDelimiter ?? "COMMA",
        lineEnding: options.lineEnding ?? "LF"
      })
    }, internal.JobInfo)
    yield* Effect.annotateCurrentSpan("sfbulk.job_id", info.id)
    return info
  }).pipe(Effect.withSpan("Bulk2.createQueryJob"))

/**
 * The query job's current information.
 *
 * @since 0.1.0
 * @category query
 */
export const getQueryJob = (jobId: string): Effect.Effect<JobInfo, BulkError, Transport> =>
  Effect.flatMap(
    Transport,
    (t) => internal.requestJson({ method: "GET", path: `${base(t, "query")}/${jobId}`, api: "2.0", jobId }, internal.JobInfo)
  ).pipe(
    span("getQueryJob", jobId)
  )

/**
 * Aborts a queued or running query job.
 *
 * @since 0.1.0
 * @category query
 */
export const abortQueryJob = (jobId: string): Effect.Effect<JobInfo, BulkError, Transport> =>
  patchState("query", jobId, "Aborted").pipe(span("abortQueryJob", jobId))

/**
 * Deletes a finished query job and its results.
 *
 * @since 0.1.0
 * @category query
 */
export const deleteQueryJob = (jobId: string): Effect.Effect<void, BulkError, Transport> =>
  Effect.flatMap(Transport, (t) => internal.requestVoid({ method: "DELETE", path: `${base(t, "query")}/${jobId}`, api: "2.0", jobId }))
    .pipe(
      span("deleteQueryJob", jobId)
    )

/**
 * Polls the query job until it is `JobComplete`, `Failed` or `Aborted` (see `waitForIngestJob`).
 *
 * @since 0.1.0
 * @category query
 */
export const waitForQueryJob = (jobId: string, options?: WaitOptions): Effect.Effect<JobInfo, BulkError, Transport> =>
  internal.waitFor(jobId, getQueryJob(jobId), options)

/**
 * Every query job visible to the user, all pages, as one stream.
 *
 * @since 0.1.0
 * @category query
 */
export const listQueryJobs = (options?: ListOptions): Stream.Stream<JobInfo, BulkError, Transport> => list("query", options)

/**
 * Options for reading query results: page size (`maxRecords`) and the job's delimiter.
 *
 * @since 0.1.0
 * @category models
 */
export interface QueryResultOptions extends ResultOptions {
  readonly maxRecords?: number | undefined
}

/**
 * The rows of a completed query job, page after page (following `Sforce-Locator`), as one stream.
 * Each page is parsed as it arrives; the next page is asked for as soon as a page's headers name
 * it, so at most two pages are in flight.
 *
 * @since 0.1.0
 * @category query
 */
export const queryResults = (jobId: string, options?: QueryResultOptions): Stream.Stream<ResultRow, BulkError, Transport> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const t = yield* Transport
    const delimiter = yield* delimiterFor("query", jobId, options)
    const path = `${base(t, "query")}/${jobId}/results`
    const requestOf = (locator: string | undefined) =>
      ({
        method: "GET",
        path,
        api: "2.0",
        headers: { accept: "text/csv" },
        urlParams: {
          ...(locator ? { locator } : {}),
          ...(options?.maxRecords ? { maxRecords: String(options.maxRecords) } : {})
        },
        jobId
      }) as const
    type Page = { readonly req: ReturnType<typeof requestOf>; readonly res: HttpClientResponse.HttpClientResponse }
    // The next page is asked for while this page's body is still read: its round trip and the
    // server's work on it overlap the reading of this one (a page's locator is in its headers, and
    // Salesforce's locators stay valid for the life of the job). At most one page is asked ahead.
    let ahead: Fiber.RuntimeFiber<Page, BulkError> | undefined
    const ask = (locator: string | undefined, page: number) => {
      const req = requestOf(locator)
      return Effect.map(
        Effect.forkDaemon(
          t.request(req).pipe(
            Effect.map((res): Page => ({ req, res })),
            Effect.withSpan("Bulk2.download", { attributes: { "sfbulk.job_id": jobId, "sfbulk.page": page } })
          )
        ),
        (fiber) => {
          ahead = fiber
        }
      )
    }
    // A page asked for but never read (the reader stopped early, or failed): its answer is cancelled.
    // Its body is opened and cancelled without waiting for a byte: a body that stalls would
    // otherwise hold this (uninterruptible) finalizer, and the reader's end, for the idle timeout.
    yield* Effect.addFinalizer(() =>
      ahead === undefined ? Effect.void : Effect.flatMap(
        Fiber.interrupt(ahead),
        (exit) =>
          Exit.isSuccess(exit)
            ? Effect.ignore(Stream.runDrain(Stream.interruptWhen(Stream.take(exit.value.res.stream, 1), Effect.yieldNow())))
            : Effect.void
      )
    )
    yield* ask(undefined, 0)
    return Stream.paginateEffect(0, (page) =>
      Effect.gen(function*() {
        const current = yield* Fiber.join(ahead!)
        ahead = undefined
        const next = current.res.headers["sforce-locator"]
        const more = next !== undefined && next !== "" && next !== "null"
        if (more) yield* ask(next, page + 1)
        return [current, more ? Option.some(page + 1) : Option.none<number>()] as const
      })).pipe(Stream.flatMap(({ req, res }) => {
        // a page cut off mid-body is fetched again (same locator) and its rows already emitted skipped
        let first: HttpClientResponse.HttpClientResponse | undefined = res
        return resumable(() => {
          const r = first
          first = undefined
          return r !== undefined
            ? internal.csvRecords(req, r, delimiter)
            : Stream.unwrap(Effect.map(t.request(req), (again) => internal.csvRecords(req, again, delimiter)))
        })
      }))
  })).pipe(Stream.withSpan("Bulk2.queryResults", { attributes: { "sfbulk.job_id": jobId } }))

/**
 * The result page URLs of a completed query job (`/resultPages`, API 58.0+), all of them.
 *
 * @since 0.1.0
 * @category query
 */
export const resultPageUrls = (jobId: string): Stream.Stream<string, BulkError, Transport> =>
  Stream.unwrap(
    Effect.map(Transport, (t) =>
      Stream.paginateChunkEffect({ path: `${base(t, "query")}/${jobId}/resultPages`, urlParams: {} as Record<string, string> }, (page) =>
        internal.requestJson({ method: "GET", path: page.path, urlParams: page.urlParams, api: "2.0", jobId }, internal.ResultPages).pipe(
          Effect.map((res) =>
            [
              Chunk.fromIterable(res.resultPages.map((p) =>
                p.resultUrl
              )),
              res.done !== true && res.nextRecordsUrl ? Option.some(internal.splitUrl(res.nextRecordsUrl)) : Option.none()
            ] as const
          )
        )))
  ).pipe(Stream.withSpan("Bulk2.resultPages", { attributes: { "sfbulk.job_id": jobId } }))

/**
 * Options for the parallel download: pages fetched at once (default 4).
 *
 * @since 0.1.0
 * @category models
 */
export interface ParallelResultOptions extends ResultOptions {
  readonly concurrency?: number | undefined
}

/**
 * The rows of a completed query job, downloading up to `concurrency` pages at once through
 * `/resultPages` and emitting rows in the same order as `queryResults`. Memory is bounded by
 * `concurrency` pages as received (gzip-compressed when the server compressed them), each inflated
 * when its turn comes, its memory handed back as soon as it is read. Pages are the server's size:
 * Salesforce documents no `maxRecords` for `/resultPages`. Below API 58.0 it falls back to
 * `queryResults`.
 *
 * @since 0.1.0
 * @category query
 */
export const queryResultsParallel = (
  jobId: string,
  options?: ParallelResultOptions
): Stream.Stream<ResultRow, BulkError, Transport> =>
  Stream.unwrap(Effect.gen(function*() {
    const t = yield* Transport
    if (Number.parseFloat(t.apiVersion) < 58) return queryResults(jobId, options)
    const delimiter = yield* delimiterFor("query", jobId, options)
    return resultPageUrls(jobId).pipe(
      Stream.zipWithIndex,
      // Pages waiting their turn are held as the bytes received, parsed only when emitted: a
      // page's bytes are a quarter of its parsed rows' size, and held rows would outlive V8's
      // young-generation collections and be promoted, growing the old generation with garbage.
      // The bytes are held as they came over the wire, still gzip-compressed (5-10x fewer than
      // the text), in one buffer of the page's own, handed back the moment the page is inflated
      // (`heldBody`, `heldRecords`): held bytes are promoted, and were freed only at the rare full
      // GCs (5M rows: 65-70 MB of such bytes piled up, peak RSS ~220 MB; handed back, ~170 MB).
      Stream.mapEffect(([url, page]) => {
        const { path, urlParams } = internal.splitUrl(url)
        const req = { method: "GET", path, urlParams, api: "2.0", headers: { accept: "text/csv" }, jobId } as const
        return t.request({ ...req, wireBody: true }).pipe(
          Effect.flatMap((res) => internal.heldBody(req, res)),
          // a page cut off mid-body is fetched again whole (nothing of it was emitted yet)
          Effect.retry({
            schedule: Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(6))),
            while: isDroppedDownload
          }),
          Effect.map((held) => ({ req, held })),
          Effect.withSpan("Bulk2.download", { attributes: { "sfbulk.job_id": jobId, "sfbulk.page": page } })
        )
      }, { concurrency: options?.concurrency ?? 4 }),
      // parsed piece by piece (16 KB each): a page's rows parsed into one chunk stayed alive for
      // the whole of its reading, so V8 promoted every one of them. A held body that does not
      // inflate (a gzip cut short) is fetched again, its rows emitted skipped.
      Stream.flatMap(({ held, req }) => {
        let first: Uint8Array | undefined = held
        return resumable(() => {
          const bytes = first
          first = undefined
          return bytes !== undefined
            ? internal.heldRecords(req, bytes, delimiter)
            : Stream.unwrap(Effect.map(t.request(req), (again) => internal.csvRecords(req, again, delimiter)))
        })
      })
    )
  })).pipe(Stream.withSpan("Bulk2.queryResultsParallel", { attributes: { "sfbulk.job_id": jobId } }))
