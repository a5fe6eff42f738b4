/**
 * `BulkClient` backed by the emulator's in-memory org: the same operations, validation, outcome
 * shapes and invariant as the real client, without HTTP, so an application's tests swap one layer
 * and run in milliseconds.
 *
 * Like the real client, every row is checked as it is read and, unless `allowPartialUpload`, the
 * whole input is read before any row is applied: a bad row is an `InvalidInputError` and the org is
 * left unchanged; an input without rows is an `InvalidInputError` unless `allowEmpty`.
 *
 * Differences from the real client, by design: outcomes (and, before they are applied, the input
 * rows) are kept in memory (test-sized data), every
 * outcome carries its input `position` (2.0 over HTTP cannot), and all rows go to one job (one
 * batch on 1.0), whatever the size limits.
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
import { ApiError, BatchFailedError, InvalidInputError, JobFailedError, type BulkError } from "@sfbulk/client/BulkError"
import { EMPTY_INPUT, validate } from "@sfbulk/client/internal/bulkClient"
import { createdFor } from "@sfbulk/client/internal/outcome"
import { tracker } from "@sfbulk/client/internal/progress"
import { decodeRows } from "@sfbulk/client/internal/query2"
import { lineEncoder, toStream, type LineEncoder, type Rows } from "@sfbulk/client/internal/rows"
import { checkedRows } from "@sfbulk/client/internal/validate"

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

const toCsvText = (v: unknown): string =>
  v === null || v === undefined ? "" : typeof v === "boolean" ? (v ? "true" : "false") : String(v)

/**
 * Builds the mock service over `org`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (org: OrgApi): BulkClient.Service => {
  const ingest = <A, E, R>(
    operation: BulkClient.Operation,
    object: string,
    rows: Rows<A, E, R>,
    options: BulkClient.IngestOptions<A> = {},
    externalIdField?: string
  ): Effect.Effect<BulkClient.Outcome, BulkError | E, R> =>
    Effect.gen(function*() {
      yield* validate(options)
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
      const input = options.schema
        ? toStream(rows)
        : checkedRows(toStream(rows), { operation, externalIdFieldName: externalIdField, columns: options.columns })
      yield* Stream.runForEachChunk(input, (chunk) =>
        Effect.gen(function*() {
          if (Chunk.isEmpty(chunk)) return
          if (!encoder) {
            encoder = yield* lineEncoder(options, Chunk.unsafeHead(chunk))
            const check = org.checkHeader(object, operation, encoder.columns)
            if (!check.ok) {
              const stateMessage = `InvalidBatch : ${check.message}`
              return yield* (options.api === "1.0"
                ? new BatchFailedError({ jobId, batchId, stateMessage })
                : new JobFailedError({ jobId, state: "Failed", stateMessage }))
            }
          }
          const cells = yield* encoder.cells(chunk, seen)
          seen += cells.length
          if (partial) apply(cells)
          else pending.push(cells)
        }))
      if (seen === 0 && options.allowEmpty !== true) return yield* new InvalidInputError({ what: EMPTY_INPUT })
      for (const cells of pending) apply(cells)
      if (read > 0) {
        progress.uploaded(jobId, read)
        progress.done(jobId, "JobComplete")
      }
      const ended = yield* Clock.currentTimeMillis
      return {
        summary: {
          api: options.api ?? "2.0",
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
  <E, R>(object: string, ids: Rows<string | { readonly Id: string }, E, R>, options: BulkClient.IngestOptions<{ readonly Id: string }> = {}) =>
    ingest(operation, object, Stream.map(toStream(ids), idRow), { columns: ["Id"], ...options })

  const runQuery = (all: boolean) => (soql: string, options: BulkClient.QueryOptions<any> = {}): Stream.Stream<any, BulkError> => {
    const rows = Stream.unwrap(Effect.gen(function*() {
      yield* validate(options)
      const r = org.query(soql, { all })
      if (!r.ok) {
        return yield* new ApiError({
          errorCode: r.error.errorCode,
          status: 400,
          description: r.error.message,
          method: "POST",
          path: "/jobs/query"
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
    resume: () => Effect.fail(new InvalidInputError({ what: "the in-memory BulkClient has no jobs to resume: its operations finish at once" }))
  } as BulkClient.Service
}

/**
 * A `BulkClient` layer over an in-memory org (a fresh `Org.make()` unless one is given, so a test
 * can seed and inspect it).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (org?: OrgApi): Layer.Layer<BulkClient.BulkClient> =>
  Layer.sync(BulkClient.BulkClient, () => make(org ?? Org.make()))
