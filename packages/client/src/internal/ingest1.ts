/**
 * The Bulk API 1.0 ingest pipeline: rows -> CSV lines -> batches cut in memory (≤ 10,000 records,
 * ≤ 10,000,000 bytes) -> each batch added, waited on and counted from its batchInfo counters and the
 * rows sent (every result row counted too with `verifyResults`) with bounded concurrency -> job
 * closed -> summary + lazy outcome streams that pair each batch's results with its request, so
 * every outcome carries the row exactly as sent and its position in the input.
 *
 * Memory: at most about two batches per unit of concurrency are held (1.0 batches are small).
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Bulk1 from "../Bulk1.js"
import type * as BulkClient from "../BulkClient.js"
import { BatchFailedError, isBulkError, PollTimeoutError, ResultMismatchError, TransportError, type BulkError } from "../BulkError.js"
import { resumable } from "./resumable.js"
import { parseRecords } from "./csvParse.js"
import { encodeLines } from "./ingest2.js"
import { currentListener, notify } from "./journalHook.js"
import { counted, createdFor, fromCounters } from "./outcome.js"
import { tracker } from "./progress.js"
import { memoryWriter, split, type MemoryPiece } from "./split.js"
import type { Transport } from "./transport.js"

/** One finished batch's counts. */
export interface BatchCounts {
  readonly jobId: string
  readonly batchId: string
  readonly firstRow: number
  readonly records: number
  readonly succeeded: number
  /** `undefined` when only the results' `Created` flags tell (upsert, not verified). */
  readonly created: number | undefined
  readonly failed: number
  readonly unprocessed: number
}

/**
 * The thorough count (`verifyResults`): reads every result row of a finished batch and checks the
 * rows sent and the batch's counters against them.
 */
const verifyBatch = (
  jobInfo: Bulk1.JobInfo,
  batchId: string,
  info: Bulk1.BatchInfo,
  records: number
): Effect.Effect<Omit<BatchCounts, "firstRow">, BulkError, Transport> =>
  Effect.gen(function*() {
    const jid = jobInfo.id
    let succeeded = 0
    let created = 0
    let failed = 0
    if (info.state !== "NotProcessed") {
      yield* Stream.runForEachChunk(Bulk1.batchResults(jobInfo, batchId), (chunk) =>
        Effect.sync(() => {
          for (const r of chunk) {
            if (r.success) {
              succeeded++
              if (r.created) created++
            } else failed++
          }
        }))
    }
    const unprocessed = records - succeeded - failed
    if (unprocessed < 0 || (unprocessed > 0 && info.state === "Completed")) {
      return yield* new ResultMismatchError({ jobId: jid, batchId, expected: records, got: succeeded + failed })
    }
    if (info.numberRecordsProcessed !== succeeded + failed) {
      return yield* new ResultMismatchError({ jobId: jid, batchId, expected: info.numberRecordsProcessed, got: succeeded + failed })
    }
    if (info.numberRecordsFailed !== failed) {
      return yield* new ResultMismatchError({ jobId: jid, batchId, expected: info.numberRecordsFailed, got: failed })
    }
    return { jobId: jid, batchId, records, succeeded, created, failed, unprocessed }
  })

/** Runs the 1.0 pipeline. */
export const ingest1 = <A, E, R>(params: {
  readonly object: string
  readonly operation: BulkClient.Operation
  readonly externalIdFieldName?: string | undefined
  readonly rows: Stream.Stream<A, E, R>
  readonly options: BulkClient.IngestOptions<A>
}): Effect.Effect<BulkClient.Outcome, BulkError | E, R | Transport> =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const context = yield* Effect.context<Transport>()
    const { options } = params
    const progress = tracker(options.onProgress)
    const { lines, state } = encodeLines(params.rows, options, progress.read)
    const header = () => state.encoder!.header
    const maxRecords = Math.min(options.batchSize ?? 10_000, options.maxBatchRecords ?? 10_000)
    const maxBytes = options.maxBatchChars ?? 10_000_000
    let jobId: string | undefined
    // The job is created with the first batch, so an empty input creates nothing.
    const job = yield* Effect.cached(
      Effect.tap(
        Bulk1.createJob({
          object: params.object,
          operation: params.operation,
          contentType: "CSV",
          ...(params.externalIdFieldName ? { externalIdFieldName: params.externalIdFieldName } : {}),
          ...(options.serial ? { concurrencyMode: "Serial" as const } : {}),
          ...(options.assignmentRuleId ? { assignmentRuleId: options.assignmentRuleId } : {})
        }),
        (j) => Effect.sync(() => (jobId = j.id))
      )
    )
    const waitBatch = (jid: string, batchId: string) =>
      waitFor(jid, batchId, Bulk1.batchInfo(jid, batchId), options, (b) =>
        progress.polled(jid, b.state, { processed: b.numberRecordsProcessed, failed: b.numberRecordsFailed }, batchId))

    const runBatch = (piece: MemoryPiece): Effect.Effect<BatchCounts, BulkError, Transport> =>
      Effect.gen(function*() {
        const jobInfo = yield* job
        const jid = jobInfo.id
        // recorded before the POST too: a journal must know a batch may have arrived if the process dies mid-send
        yield* notify({ stage: "created", jobId: jid, firstRow: piece.firstRow, records: piece.records })
        // a POST in flight when another batch fails is finished, not cut, so its batch is known
        // (recorded as uploaded) rather than left "may have arrived" for the journal to guess
        const batch = yield* Effect.uninterruptible(Effect.tap(
          Bulk1.addBatch(jobInfo, piece.body),
          (b) => notify({ stage: "uploaded", jobId: jid, batchId: b.id, firstRow: piece.firstRow, records: piece.records })
        ))
        progress.uploaded(jid, piece.records, batch.id)
        const info = yield* waitBatch(jid, batch.id)
        const processed = info.numberRecordsProcessed
        if (info.state === "Failed" && processed === 0) {
          return yield* new BatchFailedError({ jobId: jid, batchId: batch.id, stateMessage: info.stateMessage ?? "" })
        }
        const where = { jobId: jid, batchId: batch.id }
        if (options.verifyResults === true) {
          const counts = yield* verifyBatch(jobInfo, batch.id, info, piece.records)
          progress.done(jid, info.state, batch.id)
          return { ...counts, firstRow: piece.firstRow }
        }
        const counters = yield* fromCounters(where, piece.records, processed, info.numberRecordsFailed, info.state === "Completed")
        progress.done(jid, info.state, batch.id)
        return {
          jobId: jid,
          batchId: batch.id,
          firstRow: piece.firstRow,
          records: piece.records,
          ...counters,
          created: createdFor(params.operation, counters.succeeded)
        }
      }).pipe(Effect.withSpan("BulkClient.batch", { attributes: { "sfbulk.piece": piece.index, "sfbulk.records": piece.records } }))

    const concurrency = options.serial ? 1 : options.concurrency ?? 4
    const batches = yield* split(lines, () => header().length, { maxBytes, maxRecords }, memoryWriter(header)).pipe(
      Stream.mapEffect(runBatch, { concurrency }),
      Stream.runCollect,
      Effect.map(Chunk.toReadonlyArray),
      // The job is aborted when the input failed or the run was interrupted. When Salesforce or the
      // network failed (a typed error naming the job), or a journal is kept, it is closed instead:
      // the batches already added finish, and `resume` (or the journal) picks them up.
      Effect.onError((cause) => {
        if (!jobId) return Effect.void
        const serverSide = Chunk.some(Cause.failures(cause), (e) => isBulkError(e) && e._tag !== "InvalidInputError")
        return Effect.flatMap(FiberRef.get(currentListener), (l) =>
          Effect.ignore(l || serverSide ? Bulk1.closeJob(jobId!) : Bulk1.abortJob(jobId!)))
      })
    )
    if (jobId) yield* Bulk1.closeJob(jobId)
    const ended = yield* Clock.currentTimeMillis
    return outcome1(params.object, params.operation, batches, state.read, Duration.millis(ended - started), context)
  }).pipe(
    Effect.withSpan("BulkClient.ingest", { attributes: { "sfbulk.api": "1.0", "sfbulk.object": params.object, "sfbulk.operation": params.operation } })
  )

type Paired = { readonly position: number; readonly row: Record<string, string>; readonly result: Option.Option<Bulk1.BatchResult> }

/** The batch's request, exactly as uploaded, parsed back into rows. */
const requestRows = (b: BatchCounts) =>
  // a download cut off mid-body is fetched again, the rows already emitted skipped
  resumable(() => parseRecords(Bulk1.batchRequest(b.jobId, b.batchId), ",").pipe(
    Stream.mapError((e) =>
      e._tag === "CsvParseFailure"
        ? new TransportError({
          description: `the batch request cannot be parsed: ${e.message}`,
          method: "GET",
          url: `batch/${b.batchId}/request`,
          mayHaveReachedServer: true,
          jobId: b.jobId,
          batchId: b.batchId,
          unparseable: true
        })
        : e
    )
  ))

/** A batch's request rows paired with its results (results are in input order on 1.0). */
const paired = (b: BatchCounts): Stream.Stream<Paired, BulkError, Transport> =>
  Stream.zipAll(Stream.zipWithIndex(requestRows(b)), {
    // a batch nothing of which was processed (Failed, NotProcessed) has no results to ask for
    other: b.succeeded + b.failed === 0 ? Stream.empty : Stream.map(Bulk1.batchResults(b.jobId, b.batchId), Option.some),
    defaultSelf: [{} as Record<string, string>, -1] as const,
    defaultOther: Option.none<Bulk1.BatchResult>()
  }).pipe(
    Stream.map(([[row, i], result]) => ({ position: b.firstRow + Number(i), row: row as Record<string, string>, result }))
  )

/**
 * `paired`, checked at the batch's end against the counts the summary was built from: as many
 * request rows as were sent (results past the request count as extra rows), as many successful
 * and failed results as the counters say.
 */
const checkedPaired = (b: BatchCounts): Stream.Stream<Paired, BulkError, Transport> => {
  const where = { jobId: b.jobId, batchId: b.batchId }
  return Stream.suspend(() => {
    let succeeded = 0
    let failed = 0
    const rows = Stream.mapChunks(counted(paired(b), where, b.records), (chunk) => {
      for (const p of chunk) if (Option.isSome(p.result)) p.result.value.success ? succeeded++ : failed++
      return chunk
    })
    const check = Stream.suspend(() =>
      succeeded !== b.succeeded
        ? Stream.fail(new ResultMismatchError({ ...where, expected: b.succeeded, got: succeeded }))
        : failed !== b.failed
        ? Stream.fail(new ResultMismatchError({ ...where, expected: b.failed, got: failed }))
        : Stream.empty
    )
    return Stream.concat(rows, check)
  })
}

/** Summary + lazy streams over the batches' requests and results. */
export const outcome1 = (
  object: string,
  operation: BulkClient.Operation,
  batches: ReadonlyArray<BatchCounts>,
  rowsRead: number,
  elapsed: Duration.Duration,
  context: import("effect/Context").Context<Transport>
): BulkClient.Outcome => {
  const sum = (f: (b: BatchCounts) => number) => batches.reduce((n, b) => n + f(b), 0)
  // Only the batches that have outcomes of the kind asked for are re-read.
  const all = (having: (b: BatchCounts) => number) =>
    Stream.fromIterable(batches.filter((b) => having(b) > 0)).pipe(Stream.flatMap((b) => Stream.map(checkedPaired(b), (p) => ({ b, p }))))
  const provide = <X>(s: Stream.Stream<X, BulkError, Transport>) => Stream.provideContext(s, context)
  return {
    summary: {
      api: "1.0",
      object,
      operation,
      jobIds: [...new Set(batches.map((b) => b.jobId))],
      batchIds: batches.map((b) => b.batchId),
      rowsRead,
      processed: sum((b) => b.succeeded + b.failed),
      succeeded: sum((b) => b.succeeded),
      created: batches.every((b) => b.created !== undefined) ? sum((b) => b.created!) : undefined,
      failed: sum((b) => b.failed),
      unprocessed: sum((b) => b.unprocessed),
      elapsed
    },
    successes: provide(Stream.filterMap(all((b) => b.succeeded), ({ b, p }) =>
      Option.flatMap(p.result, (r) =>
        r.success
          ? Option.some<BulkClient.Success>({
            _tag: "Success",
            jobId: b.jobId,
            batchId: b.batchId,
            position: p.position,
            row: p.row,
            id: r.id ?? "",
            created: r.created
          })
          : Option.none())
    )),
    failures: provide(Stream.filterMap(all((b) => b.failed), ({ b, p }) =>
      Option.flatMap(p.result, (r) => {
        if (r.success) return Option.none()
        const errors = r.errors.length > 0
          ? r.errors.map((e) => ({ code: e.statusCode, message: e.message, fields: e.fields }))
          : [{ code: "UNKNOWN", message: "Salesforce reported a failure without an error", fields: [] }]
        return Option.some<BulkClient.Failure>({
          _tag: "Failure",
          jobId: b.jobId,
          batchId: b.batchId,
          position: p.position,
          row: p.row,
          ...(r.id ? { id: r.id } : {}),
          code: errors[0]!.code,
          message: errors[0]!.message,
          fields: errors[0]!.fields,
          errors
        })
      })
    )),
    unprocessed: provide(Stream.filterMap(all((b) => b.unprocessed), ({ b, p }) =>
      Option.isNone(p.result)
        ? Option.some<BulkClient.Unprocessed>({ _tag: "Unprocessed", jobId: b.jobId, batchId: b.batchId, position: p.position, row: p.row })
        : Option.none()
    ))
  }
}

const batchTerminal = (state: string) => state === "Completed" || state === "Failed" || state === "NotProcessed"

/**
 * Polls a batch until it is terminal, reporting each answer (Bulk1.waitForBatch fails on a Failed
 * batch even when part of it was processed; here the caller decides).
 */
const waitFor = (
  jobId: string,
  batchId: string,
  get: Effect.Effect<Bulk1.BatchInfo, BulkError, Transport>,
  options: { readonly pollSchedule?: Schedule.Schedule<unknown, unknown> | undefined; readonly timeout?: Duration.DurationInput | undefined },
  onPoll: (b: Bulk1.BatchInfo) => void
): Effect.Effect<Bulk1.BatchInfo, BulkError, Transport> =>
  Effect.gen(function*() {
    const driver = yield* Schedule.driver(options.pollSchedule ?? Bulk1.defaultPollSchedule)
    while (true) {
      const info = yield* get.pipe(Effect.withSpan("Bulk1.poll", { attributes: { "sfbulk.job_id": jobId, "sfbulk.batch_id": batchId } }))
      onPoll(info)
      if (batchTerminal(info.state)) return info
      const next = yield* Effect.option(driver.next(info))
      if (Option.isNone(next)) return yield* new PollTimeoutError({ jobId, batchId })
    }
  }).pipe((self) => {
    const timeout = options.timeout
    if (timeout === undefined) return self
    return Effect.timeoutFail(self, {
      duration: timeout,
      onTimeout: () => new PollTimeoutError({ jobId, batchId, timeoutMillis: Duration.toMillis(Duration.decode(timeout)) })
    })
  })
