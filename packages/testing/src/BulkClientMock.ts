/**
 * `BulkClient` backed by the emulator's in-memory org: the same operations, validation, outcome
 * shapes and invariant as the real client, without HTTP, so an application's tests swap one layer
 * and run in milliseconds.
 *
 * Like the real client, every row is checked as it is read and, unless `allowPartialUpload`, the
 * whole input is read before any row is applied: a bad row is an `InvalidInputError` and the org is
 * left unchanged; an input without rows is an `InvalidInputError` unless `allowEmpty`. It fails
 * with the same error tags as the real client (packages/testing/test/Contract.test.ts runs the same scenarios on
 * both): a job Salesforce refuses (unknown object, upsert on a field that is not an External ID)
 * is an `ApiError` (`InvalidJob` on 1.0, `INVALIDJOB` on 2.0), a header Salesforce refuses fails
 * the batch (1.0) or job (2.0), a 1.0 query whose SOQL fails is a `BatchFailedError`.
 *
 * Differences from the real client, by design: outcomes (and, before they are applied, the input
 * rows) are kept in memory (test-sized data), every
 * outcome carries its input `position` (2.0 over HTTP cannot), and all rows go to one job (one
 * batch on 1.0), whatever the size limits. Its jobs finish at once, so there is no job to abort
 * from outside while the client waits (the real client then succeeds with the rows the job never
 * processed counted as `unprocessed`, on both APIs; its `unprocessed` here is always empty).
 *
 * @example
 * const test = myProgram.pipe(Effect.provide(BulkClientMock.layer()))
 *
 * @since 0.1.0
 */
import { Org } from "@sfbulk/emulator"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as BulkClient from "@sfbulk/client/BulkClient"
import * as Mapping from "@sfbulk/client/Mapping"
import { ApiError, BatchFailedError, InvalidInputError, JobFailedError, type BulkError } from "@sfbulk/client/BulkError"
import {
  checkedRows,
  createdFor,
  decodeRows,
  emptyInputMessage as EMPTY_INPUT,
  type LineEncoder,
  lineEncoder,
  progressTracker as tracker,
  type Rows,
  soqlObject as objectOf,
  toStream,
  validateOptions as validate
} from "@sfbulk/client/BulkClientKit"

/**
 * The in-memory org the mock works on (`Org.make()` from `@sfbulk/emulator`): inspect it in tests
 * with `get`, `count` and `query`.
 *
 * @since 0.1.0
 * @category models
 */
export type OrgApi = ReturnType<typeof Org.make>

let jobSeq = 0
const mockJobId = () => `750MOCK${String(++jobSeq).padStart(11, "0")}`

const toCsvText = (v: unknown): string => v === null || v === undefined ? "" : typeof v === "boolean" ? (v ? "true" : "false") : String(v)

/** An `ApiError` as Salesforce answers a rejected job creation on each API. */
const invalidJob = (api: "1.0" | "2.0", object: "ingest" | "query", text: string): ApiError =>
  api === "1.0"
    ? new ApiError({ errorCode: "InvalidJob", status: 400, description: text, method: "POST", path: "/services/async/job" })
    : new ApiError({
      errorCode: "INVALIDJOB",
      status: 400,
      description: `InvalidJob : ${text}`,
      method: "POST",
      path: `/services/data/jobs/${object}`
    })

/**
 * Builds the mock service over `org`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (org: OrgApi): BulkClient.Service => {
  // Salesforce refuses the job itself (not its rows) for an unknown object, and for an upsert on a
  // field that is neither the Id, an External ID nor an idLookup field (externalIdFieldName in
  // the Bulk API job reference)
  const createJob = (api: "1.0" | "2.0", object: string, operation: BulkClient.Operation, externalIdField: string | undefined) =>
    Effect.gen(function*() {
      const def = org.describe(object)
      if (!def) return yield* invalidJob(api, "ingest", `Unable to find object: ${object}`)
      if (operation !== "upsert") return
      if (externalIdField === undefined || externalIdField === "") {
        return yield* invalidJob(api, "ingest", `External ID was blank for ${def.name}. An External ID must be specified for upsert.`)
      }
      const field = def.fields.find((f) => f.name.toLowerCase() === externalIdField.toLowerCase())
      if (!field || !(field.type === "id" || field.externalId === true || field.idLookup === true)) {
        return yield* invalidJob(api, "ingest", `Field name provided, ${externalIdField} does not match an External ID for ${def.name}`)
      }
    })

  const ingest = <A, E, R>(
    operation: BulkClient.Operation,
    object: string,
    rows: Rows<A, E, R>,
    options: BulkClient.IngestOptions<A> = {},
    externalIdField?: string
  ): Effect.Effect<BulkClient.Outcome, BulkError | E, R> =>
    Effect.gen(function*() {
      yield* validate(options)
      const api = options.api ?? "2.0"
      const started = yield* Clock.currentTimeMillis
      const jobId = mockJobId()
      const batchId = `751${jobId.slice(3)}`
      const progress = tracker(options.onProgress)
      const successes: Array<BulkClient.Success> = []
      const failures: Array<BulkClient.Failure> = []
      let encoder: LineEncoder | undefined
      let read = 0
      let created = 0
      const apply = (cells: ReadonlyArray<ReadonlyArray<string>>) => {
        for (const cs of cells) {
          const row: Record<string, string> = {}
          encoder!.columns.forEach((c, i) => (row[c] = cs[i]!))
          const position = read++
          const result = org.apply(operation, object, row, externalIdField ? { externalIdField } : undefined)
          if (result.success) {
            if (result.created) created++
            successes.push({ _tag: "Success", jobId, position, row, id: result.id, created: result.created })
          } else {
            const errors = result.errors.map((e) => ({ code: e.statusCode, message: e.message, fields: e.fields }))
            failures.push({
              _tag: "Failure",
              jobId,
              position,
              row,
              ...(result.id ? { id: result.id } : {}),
              code: errors[0]?.code ?? "UNKNOWN",
              message: errors[0]?.message ?? "",
              fields: errors[0]?.fields ?? [],
              errors
            })
          }
        }
        progress.read(cells.length)
        progress.polled(jobId, "InProgress", { processed: read, failed: failures.length })
      }
      // as the real client: every row checked once as it is read; by default the whole input is
      // read (held in memory here: test-sized data) before anything is applied, so a bad row
      // anywhere changes nothing in the org
      const partial = options.allowPartialUpload === true
      const pending: Array<ReadonlyArray<ReadonlyArray<string>>> = []
      let seen = 0
      // as the real client: a mapping renames plain rows before the checks, which see what is sent
      const source = options.mapping === undefined || options.schema
        ? toStream(rows)
        : (Mapping.mapRows(toStream(rows) as Stream.Stream<any, E | InvalidInputError, R>, options.mapping) as Stream.Stream<
          A,
          E | InvalidInputError,
          R
        >)
      const input = options.schema
        ? source
        : checkedRows(source, { operation, externalIdFieldName: externalIdField, columns: options.columns })
      // as over HTTP: the job is created, and its header checked, when the first rows are sent,
      // so an empty or bad input is an InvalidInputError whatever the object or columns
      let opened = false
      const send = (cells: ReadonlyArray<ReadonlyArray<string>>) =>
        Effect.gen(function*() {
          if (!opened) {
            yield* createJob(api, object, operation, externalIdField)
            const check = org.checkHeader(object, operation, encoder!.columns)
            if (!check.ok) {
              const stateMessage = `InvalidBatch : ${check.message}`
              return yield* (api === "1.0"
                ? new BatchFailedError({ jobId, batchId, stateMessage })
                : new JobFailedError({ jobId, state: "Failed", stateMessage }))
            }
            opened = true
          }
          apply(cells)
        })
      yield* Stream.runForEachChunk(input, (chunk) =>
        Effect.gen(function*() {
          if (Chunk.isEmpty(chunk)) return
          if (!encoder) encoder = yield* lineEncoder(options, Chunk.unsafeHead(chunk))
          const cells = yield* encoder.cells(chunk, seen)
          seen += cells.length
          if (partial) yield* send(cells)
          else pending.push(cells)
        }))
      if (seen === 0 && options.allowEmpty !== true) return yield* new InvalidInputError({ what: EMPTY_INPUT })
      for (const cells of pending) yield* send(cells)
      if (read > 0) {
        progress.uploaded(jobId, read)
        progress.done(jobId, "JobComplete")
      }
      const ended = yield* Clock.currentTimeMillis
      return {
        summary: {
          api,
          object,
          operation,
          jobIds: read > 0 ? [jobId] : [],
          batchIds: read > 0 && options.api === "1.0" ? [batchId] : [],
          rowsRead: read,
          processed: successes.length + failures.length,
          succeeded: successes.length,
          // as the real client: an upsert's created count only with verifyResults
          created: options.verifyResults === true ? created : createdFor(operation, successes.length),
          failed: failures.length,
          unprocessed: 0,
          elapsed: Duration.millis(ended - started)
        },
        successes: Stream.fromIterable(successes),
        failures: Stream.fromIterable(failures),
        unprocessed: Stream.empty
      } satisfies BulkClient.Outcome
    })

  const idRow = (x: string | { readonly Id: string }) => (typeof x === "string" ? { Id: x } : x)
  const deleteWith = (operation: "delete" | "hardDelete") =>
  <E, R>(
    object: string,
    ids: Rows<string | { readonly Id: string }, E, R>,
    options: BulkClient.IngestOptions<{ readonly Id: string }> = {}
  ) => ingest(operation, object, Stream.map(toStream(ids), idRow), { columns: ["Id"], ...options })

  const runQuery = (all: boolean) => (soql: string, options: BulkClient.QueryOptions<any> = {}): Stream.Stream<any, BulkError> => {
    const rows = Stream.unwrap(Effect.gen(function*() {
      yield* validate(options)
      const api = options.api ?? "2.0"
      // 1.0 creates a job on the FROM object first (refused when the object is unknown), then
      // the SOQL batch fails; 2.0 refuses the query job itself
      const object = api === "1.0" ? objectOf(soql) : undefined
      if (api === "1.0") {
        if (!object) return yield* new InvalidInputError({ what: `cannot find the object in the query's FROM clause: ${soql}` })
        if (!org.describe(object)) return yield* invalidJob(api, "query", `Unable to find object: ${object}`)
      }
      const r = org.query(soql, { all })
      const failure = !r.ok
        ? { code: r.error.errorCode, message: r.error.message }
        : object !== undefined && r.result.object.toLowerCase() !== object.toLowerCase()
        ? {
          code: "INVALID_TYPE_FOR_OPERATION",
          message:
            `The root entity of the requested query (${r.result.object}) does not match the entity of the requested Bulk API Job (${object}).`
        }
        : undefined
      if (!r.ok || failure !== undefined) {
        const { code, message } = failure ?? { code: "UNKNOWN", message: "" }
        if (api === "1.0") {
          const jobId = mockJobId()
          return yield* new BatchFailedError({
            jobId,
            batchId: `751${jobId.slice(3)}`,
            stateMessage: `InvalidBatch : Failed to process query: ${code}: ${message}`
          })
        }
        return yield* new ApiError({
          errorCode: code,
          status: 400,
          description: message,
          method: "POST",
          path: "/services/data/jobs/query"
        })
      }
      const { columns, size } = r.result
      const progress = tracker(options.onProgress)
      return Stream.iterate(0, (i) => i + 1).pipe(
        Stream.take(size),
        Stream.map((i) => {
          const values = r.result.row(i)
          const out: Record<string, string> = {}
          columns.forEach((c, j) => (out[c] = toCsvText(values[j])))
          return out as BulkClient.QueryRow
        }),
        Stream.mapChunks((c) => {
          progress.read(c.length)
          return c
        })
      )
    }))
    return options.schema ? decodeRows(rows, options.schema) : rows
  }

  return {
    insert: (object, rows, options) => ingest("insert", object, rows, options),
    update: (object, rows, options) => ingest("update", object, rows, options),
    upsert: (object, externalIdField, rows, options) => ingest("upsert", object, rows, options, externalIdField),
    delete: deleteWith("delete"),
    hardDelete: deleteWith("hardDelete"),
    query: runQuery(false),
    queryAll: runQuery(true),
    resume: () =>
      Effect.fail(new InvalidInputError({ what: "the in-memory BulkClient has no jobs to resume: its operations finish at once" }))
  } as BulkClient.Service
}

/**
 * A `BulkClient` layer over an in-memory org (a fresh `Org.make()` unless one is given, so a test
 * can seed and inspect it).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (org?: OrgApi): Layer.Layer<BulkClient.BulkClient> => Layer.sync(BulkClient.BulkClient, () => make(org ?? Org.make()))
