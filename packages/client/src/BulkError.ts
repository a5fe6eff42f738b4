/**
 * The errors of `@sfbulk/client`: one tagged union, each member carrying what a user needs to act on
 * it (Salesforce error code, HTTP status, job and batch ids) and a `message` saying how to fix it.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@sfbulk/client/BulkError")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * Error codes Salesforce is known to send from the Bulk APIs (1.0 `exceptionCode`, 2.0 `errorCode`,
 * OAuth `error`). Other codes are carried as plain strings.
 *
 * @since 0.1.0
 * @category models
 */
export const KnownErrorCode = Schema.Literal(
  // Bulk API 1.0
  "ClientInputError",
  "ExceededQuota",
  "FeatureNotEnabled",
  "InvalidBatch",
  "InvalidJob",
  "InvalidJobState",
  "InvalidOperation",
  "InvalidSessionId",
  "InvalidUrl",
  "InvalidUser",
  "InvalidXML",
  "InvalidVersion",
  "InvalidEntity",
  "UnsupportedContentType",
  "HttpsRequired",
  "Timeout",
  "TooManyLockFailure",
  "InternalServerError",
  "Unknown",
  "Gone",
  // Bulk API 2.0 / REST
  "INVALID_SESSION_ID",
  "INVALID_AUTH_HEADER",
  "NOT_FOUND",
  "INVALIDJOB",
  "INVALIDJOBSTATE",
  "API_ERROR",
  "BULK_API_ERROR",
  "FEATURENOTENABLED",
  "API_DISABLED_FOR_ORG",
  "REQUEST_LIMIT_EXCEEDED",
  "MALFORMED_QUERY",
  "INVALID_FIELD",
  "INVALID_TYPE",
  // OAuth / SOAP login
  "invalid_grant",
  "invalid_client_id",
  "invalid_client",
  "unsupported_grant_type",
  "invalid_request",
  "INVALID_LOGIN"
)

/**
 * @since 0.1.0
 * @category models
 */
export type KnownErrorCode = typeof KnownErrorCode.Type

// `string & {}` keeps the literal members visible to editors instead of collapsing to `string`.
const OtherErrorCode = Schema.String as unknown as Schema.Schema<string & {}>

/**
 * A Salesforce error code: one of the known literals, or any other string Salesforce sends.
 *
 * @since 0.1.0
 * @category models
 */
export const ErrorCode = Schema.Union(KnownErrorCode, OtherErrorCode)

/**
 * @since 0.1.0
 * @category models
 */
export type ErrorCode = typeof ErrorCode.Type

const where = (jobId?: string, batchId?: string): string =>
  jobId === undefined ? "" : batchId === undefined ? ` (job ${jobId})` : ` (job ${jobId}, batch ${batchId})`

/**
 * Logging in failed: wrong credentials, a flow disabled for the org, a missing setting, or an
 * unsafe login/instance URL. Never contains a secret.
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthenticationError extends Schema.TaggedError<AuthenticationError>(
  "@sfbulk/client/AuthenticationError"
)("AuthenticationError", {
  flow: Schema.String,
  description: Schema.String,
  errorCode: Schema.optional(ErrorCode),
  status: Schema.optional(Schema.Number)
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get isRetryable(): boolean {
    return this.status !== undefined && this.status >= 500 && this.errorCode !== "INVALID_LOGIN"
  }
  /** @since 0.1.0 */
  override get message(): string {
    const code = this.errorCode === undefined ? "" : ` [${this.errorCode}]`
    return `Salesforce authentication (${this.flow}) failed${code}: ${this.description}. ` +
      `Check the credentials, the login host (production, sandbox or My Domain) and that the flow is enabled for the connected app.`
  }
}

/**
 * The session expired and cannot be renewed (for example a bare access token was given), or a
 * renewal was itself rejected as expired.
 *
 * @since 0.1.0
 * @category errors
 */
export class SessionExpiredError extends Schema.TaggedError<SessionExpiredError>(
  "@sfbulk/client/SessionExpiredError"
)("SessionExpiredError", {
  instanceUrl: Schema.String,
  description: Schema.String
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get isRetryable(): boolean {
    return false
  }
  /** @since 0.1.0 */
  override get message(): string {
    return `The Salesforce session for ${this.instanceUrl} expired and cannot be renewed: ${this.description}. ` +
      `Use a SalesforceAuth layer that can log in again (refresh token, JWT, client credentials, password or SOAP login), or pass a fresh access token.`
  }
}

/**
 * Salesforce answered a request with an error (HTTP status and error code included).
 *
 * @since 0.1.0
 * @category errors
 */
export class ApiError extends Schema.TaggedError<ApiError>("@sfbulk/client/ApiError")("ApiError", {
  errorCode: ErrorCode,
  status: Schema.Number,
  description: Schema.String,
  method: Schema.String,
  path: Schema.String,
  retryAfterMillis: Schema.optional(Schema.Number),
  jobId: Schema.optional(Schema.String),
  batchId: Schema.optional(Schema.String)
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get isRetryable(): boolean {
    return this.status >= 500 || this.status === 420 ||
      this.errorCode === "InternalServerError" || this.errorCode === "Unknown"
  }
  /** @since 0.1.0 */
  override get message(): string {
    const hint = this.isRetryable
      ? "This is a server-side failure; it is usually transient, try again later."
      : this.status === 404 || this.errorCode === "NOT_FOUND"
      ? "Check the job/batch id and the API version."
      : this.status === 410 || this.errorCode === "InvalidVersion"
      ? "Use a supported API version (31.0 to 66.0)."
      : "Fix the request as the message says; retrying it unchanged will fail again."
    return `Salesforce rejected ${this.method} ${this.path}${
      where(this.jobId, this.batchId)
    } with HTTP ${this.status} ${this.errorCode}: ${this.description}. ${hint}`
  }
}

/**
 * An API limit was hit (HTTP 429, `REQUEST_LIMIT_EXCEEDED`, or the Bulk 1.0 `ExceededQuota`).
 * `retryAfter` is the delay the server asked for, in milliseconds, when it sent one.
 *
 * @since 0.1.0
 * @category errors
 */
export class LimitExceededError extends Schema.TaggedError<LimitExceededError>(
  "@sfbulk/client/LimitExceededError"
)("LimitExceededError", {
  errorCode: ErrorCode,
  status: Schema.Number,
  description: Schema.String,
  method: Schema.String,
  path: Schema.String,
  retryAfterMillis: Schema.optional(Schema.Number),
  jobId: Schema.optional(Schema.String),
  batchId: Schema.optional(Schema.String)
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /**
   * The daily allocations (`ExceededQuota`, "TotalRequests Limit exceeded") do not free up within a
   * retry budget; throttling (HTTP 429) and concurrent-request limits do.
   * @since 0.1.0
   */
  get isRetryable(): boolean {
    return this.status === 429 || (this.errorCode !== "ExceededQuota" && !/TotalRequests/i.test(this.description))
  }
  /** @since 0.1.0 */
  get retryAfter(): Duration.Duration | undefined {
    return this.retryAfterMillis === undefined ? undefined : Duration.millis(this.retryAfterMillis)
  }
  /** @since 0.1.0 */
  override get message(): string {
    const after = this.retryAfterMillis === undefined ? "" : ` Salesforce asked to wait ${Math.ceil(this.retryAfterMillis / 1000)} s.`
    const hint = this.isRetryable
      ? "Back off and retry later, or lower the number of concurrent requests."
      : "The org's 24-hour allocation is used up: wait for the rolling window to free capacity or raise the limit."
    return `Salesforce limit exceeded on ${this.method} ${this.path}${
      where(this.jobId, this.batchId)
    } (HTTP ${this.status} ${this.errorCode}): ${this.description}.${after} ${hint}`
  }
}

/** Salesforce's text for a batch that ran out of time on every attempt (`Retried more than 20 times`). */
const RETRIED = /Retried more than/i
const TIMED_OUT = "Salesforce could not finish a batch within its time limit (5 minutes a try, re-queued up to 20 times): " +
  "send the unprocessed rows again in smaller batches (batchSize), or lighten the triggers and automation on the object."

/**
 * A job ended in the `Failed` state (or was aborted while the caller waited for it).
 *
 * @since 0.1.0
 * @category errors
 */
export class JobFailedError extends Schema.TaggedError<JobFailedError>("@sfbulk/client/JobFailedError")(
  "JobFailedError",
  {
    jobId: Schema.String,
    state: Schema.String,
    stateMessage: Schema.String
  }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get isRetryable(): boolean {
    return false
  }
  /** @since 0.1.0 */
  override get message(): string {
    const hint = RETRIED.test(this.stateMessage)
      ? TIMED_OUT
      : "Inspect the job's batches and results; fix the data or job definition and submit a new job."
    return `Job ${this.jobId} ended in state ${this.state}: ${this.stateMessage || "(no message)"}. ${hint}`
  }
}

/**
 * A batch ended in the `Failed` state; `stateMessage` is Salesforce's explanation.
 *
 * @since 0.1.0
 * @category errors
 */
export class BatchFailedError extends Schema.TaggedError<BatchFailedError>("@sfbulk/client/BatchFailedError")(
  "BatchFailedError",
  {
    jobId: Schema.String,
    batchId: Schema.String,
    stateMessage: Schema.String
  }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get isRetryable(): boolean {
    return false
  }
  /** @since 0.1.0 */
  override get message(): string {
    const hint = /QUERY_TIMEOUT/i.test(this.stateMessage)
      ? "The query is too heavy: enable PK chunking or narrow the query."
      : RETRIED.test(this.stateMessage)
      ? `${TIMED_OUT} For a query: enable PK chunking or narrow the query.`
      : /TooManyLockFailure|UNABLE_TO_LOCK_ROW/i.test(this.stateMessage)
      ? "Lock contention: use concurrencyMode Serial or order rows by parent."
      : "Other batches of the job may have loaded their rows: do not send the whole input again. Only this batch's rows " +
        "(the job's unprocessed rows once it is finished) are still to send, fixed first if the message points at their content."
    return `Batch ${this.batchId} of job ${this.jobId} failed: ${this.stateMessage || "(no message)"}. ${hint}`
  }
}

/**
 * Waiting for a job or batch ran out of time. The job is left running on Salesforce: wait for it
 * again with the same job id (and batch id) to resume.
 *
 * @since 0.1.0
 * @category errors
 */
export class PollTimeoutError extends Schema.TaggedError<PollTimeoutError>("@sfbulk/client/PollTimeoutError")(
  "PollTimeoutError",
  {
    jobId: Schema.String,
    batchId: Schema.optional(Schema.String),
    timeoutMillis: Schema.optional(Schema.Number)
  }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get isRetryable(): boolean {
    return true
  }
  /** @since 0.1.0 */
  override get message(): string {
    const after = this.timeoutMillis === undefined ? "" : ` after ${Duration.format(Duration.millis(this.timeoutMillis))}`
    const target = this.batchId === undefined ? `job ${this.jobId}` : `batch ${this.batchId} of job ${this.jobId}`
    return `Gave up waiting for ${target}${after}. The job is still running on Salesforce: ` +
      `wait again with job id ${this.jobId}${this.batchId === undefined ? "" : ` and batch id ${this.batchId}`} to resume, or abort it.`
  }
}

/**
 * The caller's input cannot be sent: `what` says what is wrong, `row`/`field` where.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidInputError extends Schema.TaggedError<InvalidInputError>(
  "@sfbulk/client/InvalidInputError"
)("InvalidInputError", {
  what: Schema.String,
  row: Schema.optional(Schema.Number),
  field: Schema.optional(Schema.String)
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get isRetryable(): boolean {
    return false
  }
  /** @since 0.1.0 */
  override get message(): string {
    const at = this.row === undefined ? "" : ` at row ${this.row}`
    const field = this.field === undefined ? "" : ` (field "${this.field}")`
    return `Invalid input${at}${field}: ${this.what}`
  }
}

/**
 * The request did not get a usable answer: connection refused or reset, timeout, or an unreadable
 * body. `mayHaveReachedServer` tells whether Salesforce may have acted on it: if so, a
 * non-idempotent request (creating a job or batch) was not re-sent: check the job's state.
 *
 * @since 0.1.0
 * @category errors
 */
export class TransportError extends Schema.TaggedError<TransportError>("@sfbulk/client/TransportError")(
  "TransportError",
  {
    description: Schema.String,
    method: Schema.String,
    url: Schema.String,
    mayHaveReachedServer: Schema.Boolean,
    jobId: Schema.optional(Schema.String),
    batchId: Schema.optional(Schema.String),
    /** The answer arrived whole but cannot be parsed: fetching it again would not change it. */
    unparseable: Schema.optional(Schema.Boolean),
    /**
     * The client that made the request is closed: the layer (or `ManagedRuntime`) that provided it
     * was released. Never retried: no later attempt can succeed.
     */
    clientClosed: Schema.optional(Schema.Boolean)
  }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get isRetryable(): boolean {
    return this.clientClosed !== true
  }
  /** @since 0.1.0 */
  override get message(): string {
    if (this.clientClosed === true) {
      return `${this.method} ${this.url}${where(this.jobId, this.batchId)} was not sent: ${this.description}. ` +
        `The outcome streams (and Bulk1/Bulk2 streams) use the client of the layer that made them: run them inside the ` +
        `scope that provides BulkClient (one Effect.provide around the operation and the stream reads, or Effect.scoped ` +
        `with Layer.build), or use a ManagedRuntime and read them before dispose().`
    }
    const hint = this.mayHaveReachedServer
      ? " Salesforce may have received the request: check the job's batches before sending it again."
      : " Check connectivity to the instance and retry."
    return `${this.method} ${this.url}${where(this.jobId, this.batchId)} failed: ${this.description}.${hint}`
  }
}

/**
 * Salesforce's own counts disagree with the rows actually returned, so results would be incomplete.
 *
 * @since 0.1.0
 * @category errors
 */
export class ResultMismatchError extends Schema.TaggedError<ResultMismatchError>(
  "@sfbulk/client/ResultMismatchError"
)("ResultMismatchError", {
  jobId: Schema.String,
  expected: Schema.Number,
  got: Schema.Number,
  batchId: Schema.optional(Schema.String)
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get isRetryable(): boolean {
    return true
  }
  /** @since 0.1.0 */
  override get message(): string {
    return `Salesforce reported ${this.expected} records for${where(this.jobId, this.batchId)} but ${this.got} were returned. ` +
      `Read the results again; if it persists, the job's result files are incomplete.`
  }
}

/**
 * A query result row does not decode with the caller's Schema: `row` is its 0-based position in
 * the result, `field` the column path (`Account.Name`), `value` the text Salesforce sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class RowDecodeError extends Schema.TaggedError<RowDecodeError>("@sfbulk/client/RowDecodeError")(
  "RowDecodeError",
  {
    row: Schema.Number,
    field: Schema.String,
    description: Schema.String,
    value: Schema.optional(Schema.String),
    jobId: Schema.optional(Schema.String)
  }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  get isRetryable(): boolean {
    return false
  }
  /** @since 0.1.0 */
  override get message(): string {
    const value = this.value === undefined ? "" : ` (value ${JSON.stringify(this.value)})`
    return `Query result row ${this.row}${
      where(this.jobId)
    }, field "${this.field}"${value} does not match the Schema: ${this.description}. ` +
      `Fix the Schema (e.g. make the field NullOr, or use a string type) or select the right column.`
  }
}

/**
 * The union of every error this library fails with, as a schema.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BulkError = Schema.Union(
  AuthenticationError,
  SessionExpiredError,
  ApiError,
  LimitExceededError,
  JobFailedError,
  BatchFailedError,
  PollTimeoutError,
  InvalidInputError,
  TransportError,
  ResultMismatchError,
  RowDecodeError
)

/**
 * The union of every error this library fails with.
 *
 * @since 0.1.0
 * @category models
 */
export type BulkError = typeof BulkError.Type

/**
 * @since 0.1.0
 * @category guards
 */
export const isBulkError = (u: unknown): u is BulkError => Predicate.hasProperty(u, TypeId)

/**
 * Whether retrying the failed operation can succeed (transient server and network failures,
 * throttling). Used by the default retry policy.
 *
 * @since 0.1.0
 * @category guards
 */
export const isRetryable = (error: BulkError): boolean => error.isRetryable

/**
 * Whether an error means the session was rejected as expired or invalid.
 *
 * @since 0.1.0
 * @category guards
 */
export const isSessionInvalid = (error: BulkError): boolean =>
  error._tag === "ApiError" &&
  ((error.errorCode === "InvalidSessionId") || (error.errorCode === "INVALID_SESSION_ID"))

/**
 * What any request to Salesforce can fail with: logging in, an expired session, Salesforce's
 * refusal, a limit, no usable answer (`TransportError`, `clientClosed` included), and an unsafe
 * instance URL or request path (`InvalidInputError`).
 *
 * @since 0.2.0
 * @category models
 */
export type RequestError =
  | AuthenticationError
  | SessionExpiredError
  | ApiError
  | LimitExceededError
  | TransportError
  | InvalidInputError

/**
 * What an outcome stream (`successes`, `failures`, `unprocessed`) can fail with: its requests, and
 * a result file that disagrees with the counters the summary was built from.
 *
 * @since 0.2.0
 * @category models
 */
export type OutcomeError = RequestError | ResultMismatchError

/**
 * What `insert`, `update`, `upsert`, `delete`, `hardDelete` and `resume` can fail with: requests,
 * bad input (`InvalidInputError`), a failed job (2.0) or batch (1.0), a wait that ran out, counters
 * that cannot be right. Never `RowDecodeError` (nothing is decoded with a caller's Schema).
 *
 * @since 0.2.0
 * @category models
 */
export type IngestError = RequestError | JobFailedError | BatchFailedError | PollTimeoutError | ResultMismatchError

/**
 * What `query` and `queryAll` can fail with, on both APIs: requests, options the API cannot honour
 * (`InvalidInputError`, e.g. `pkChunking` on 2.0), a failed job, a failed batch (1.0: PK-chunked
 * and plain query batches), a wait that ran out, a result count that disagrees with the job's.
 * With a `schema`, `RowDecodeError` as well (see {@link TypedQueryError}).
 *
 * @since 0.2.0
 * @category models
 */
export type QueryError = RequestError | JobFailedError | BatchFailedError | PollTimeoutError | ResultMismatchError

/**
 * What `query` and `queryAll` with a `schema` can fail with: {@link QueryError}, and a row that
 * does not decode with the Schema.
 *
 * @since 0.2.0
 * @category models
 */
export type TypedQueryError = QueryError | RowDecodeError
