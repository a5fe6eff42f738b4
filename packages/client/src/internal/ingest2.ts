/**
 * The Bulk API 2.0 ingest pipeline: rows -> CSV lines -> pieces spooled to temp files (each at most
 * `maxJobBytes`) -> one job per piece (create, upload from the file, close, poll) with bounded
 * concurrency -> per-job counts from the job's counters and the rows sent (every result row counted
 * too with `verifyResults`) -> summary + lazy outcome streams.
 *
 * Why spool to disk: a 2.0 upload is one PUT of up to 100 MB that cannot be resumed; keeping the
 * piece in a file lets a failed upload be retried on a fresh job without holding 100 MB in memory.
 * By default every piece is spooled before the first job is created (all or nothing: a bad row
 * anywhere in the input uploads nothing; the temp disk holds about the input's CSV size); with
 * `allowPartialUpload` jobs start as their pieces fill. Files are deleted as soon as their job is
 * uploaded; the temp directory is removed when the operation ends, whatever the exit.
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs/promises"
import * as Bulk2 from "../Bulk2.js"
import type * as BulkClient from "../BulkClient.js"
import { isRetryable, JobFailedError, ResultMismatchError, type BulkError } from "../BulkError.js"
import * as Internal from "./bulk2.js"
import { withLockRetry } from "./lockRetry.js"
import { adaptivePollSchedule } from "./poll.js"
import { notify } from "./journalHook.js"
import { counted, createdFor, Failure2, fromCounters, ownId, parseErrors, Success2, Unprocessed2 } from "./outcome.js"
import { tracker } from "./progress.js"
import { mapChunksSync } from "./chunkStage.js"
import { isInvalidInput, makeLineEncoder, ROWS_PER_CHUNK, type LineBlock, type LineEncoder } from "./rows.js"
import { fileWriter, split, tempDir, type FilePiece } from "./split.js"
import { defaultRetrySchedule, Transport } from "./transport.js"

/** Default 2.0 piece size: raw CSV bytes per job, just under Salesforce's 100 MB. */
export const DEFAULT_MAX_JOB_BYTES = 100_000_000

/** One finished job's counts. */
export interface JobCounts {
  readonly jobId: string
  readonly records: number
  readonly succeeded: number
  /** `undefined` when only the results' `Created` flags tell (upsert, not verified). */
  readonly created: number | undefined
  readonly failed: number
  readonly unprocessed: number
  /** A job that ended Failed: its `errorMessage`, handed to its unprocessed rows as their `reason`. */
  readonly stateMessage?: string | undefined
}

/** What the 2.0 pipeline needs. */
export interface Ingest2Params<A, E, R> {
  readonly object: string
  readonly operation: BulkClient.Operation
  readonly externalIdFieldName?: string | undefined
  readonly rows: Stream.Stream<A, E, R>
  readonly options: BulkClient.IngestOptions<A>
}

const SF_COLUMNS = new Set(["sf__Id", "sf__Created", "sf__Error"])

/** Where a result file's columns are, from its header row (-1: absent). */
export interface ResultColumns {
  readonly id: number
  readonly created: number
  readonly error: number
  /** The uploaded columns of a data row (its fields in header order), as one object. */
  readonly row: (fields: ReadonlyArray<string>) => Record<string, string>
}

/**
 * The positions of a result file's columns. Keyed like the records of `Bulk2.successfulResults`: a
 * repeated name keeps its first position and its last value, `__proto__` is not kept.
 */
export const resultColumns = (header: ReadonlyArray<string>): ResultColumns => {
  const last = new Map<string, number>()
  header.forEach((name, i) => last.set(name, i))
  const names: Array<string> = []
  const at: Array<number> = []
  for (const [name, i] of last) {
    if (SF_COLUMNS.has(name) || name === "__proto__") continue
    names.push(name)
    at.push(i)
  }
  const n = names.length
  return {
    id: last.get("sf__Id") ?? -1,
    created: last.get("sf__Created") ?? -1,
    error: last.get("sf__Error") ?? -1,
    row: (fields) => {
      const out: Record<string, string> = {}
      for (let j = 0; j < n; j++) out[names[j]!] = fields[at[j]!]!
      return out
    }
  }
}

/**
 * Encodes rows chunk by chunk, each chunk's lines as one `LineBlock`; the first row fixes the
 * columns unless given.
 */
export const encodeLines = <A, E, R>(
  rows: Stream.Stream<A, E, R>,
  options: BulkClient.IngestOptions<A>,
  onRead: (n: number) => void
) => {
  const state: { encoder: LineEncoder | undefined; read: number } = { encoder: undefined, read: 0 }
  // Sources that emit one row per chunk (async iterables, unfolds) are regrouped so encoding and
  // file writes happen per `ROWS_PER_CHUNK` rows, not per row; no more, so that rows die young
  // (see `ROWS_PER_CHUNK`). Encoded synchronously (`mapChunksSync`: no effect per chunk to keep
  // the lines reachable until a full GC).
  const lines = mapChunksSync(
    Stream.rechunk(rows, ROWS_PER_CHUNK),
    (chunk): Chunk.Chunk<LineBlock> => {
      if (Chunk.isEmpty(chunk)) return Chunk.empty()
      // the first chunk's first row fixes the columns
      const encoder = state.encoder ??= makeLineEncoder(options, Chunk.unsafeHead(chunk))
      const out = encoder.encodeNow(Chunk.toReadonlyArray(chunk), state.read)
      state.read += chunk.length
      onRead(chunk.length)
      return Chunk.of(out)
    },
    isInvalidInput
  )
  return { lines, state }
}

/**
 * Counts a finished job by reading every row of its result files (success rows, with how many were
 * created; failed rows; unprocessed rows unless the job completed).
 */
export const countResults = (
  jobId: string,
  info: Bulk2.JobInfo,
  ro: { readonly columnDelimiter: Bulk2.ColumnDelimiter }
): Effect.Effect<JobCounts, BulkError, Transport> =>
  Effect.gen(function*() {
    // only counted: no record is built per row
    const delimiter = Internal.delimiterOf(ro.columnDelimiter)
    const [succeeded, created] = yield* Stream.runFold(
      Internal.ingestResultRows(jobId, "successfulResults", delimiter, (header) => {
        const at = resultColumns(header).created
        return (f) => at >= 0 && f[at] === "true"
      }),
      [0, 0] as [number, number],
      ([n, c], isCreated) => [n + 1, isCreated ? c + 1 : c] as [number, number]
    )
    const failed = yield* Stream.runCount(Internal.ingestResultRows(jobId, "failedResults", delimiter, () => () => 0))
    const unprocessed = info.state === "JobComplete"
      ? 0
      : yield* Stream.runCount(Internal.ingestResultRows(jobId, "unprocessedrecords", delimiter, () => () => 0))
    return { jobId, records: succeeded + failed + unprocessed, succeeded, created, failed, unprocessed }
  })

/**
 * The thorough count (`verifyResults`): reads every result row of a finished job and checks the
 * rows sent and the job's counters against them.
 */
export const verifyJob = (
  jobId: string,
  info: Bulk2.JobInfo,
  records: number,
  ro: { readonly columnDelimiter: Bulk2.ColumnDelimiter }
): Effect.Effect<JobCounts, BulkError, Transport> =>
  Effect.gen(function*() {
    const processed = Number(info.numberRecordsProcessed ?? 0)
    const { created, failed, succeeded, unprocessed } = yield* countResults(jobId, info, ro)
    if (succeeded + failed + unprocessed !== records) {
      return yield* new ResultMismatchError({ jobId, expected: records, got: succeeded + failed + unprocessed })
    }
    if (processed !== succeeded + failed) {
      return yield* new ResultMismatchError({ jobId, expected: processed, got: succeeded + failed })
    }
    if (Number(info.numberRecordsFailed ?? 0) !== failed) {
      return yield* new ResultMismatchError({ jobId, expected: Number(info.numberRecordsFailed ?? 0), got: failed })
    }
    return { jobId, records, succeeded, created, failed, unprocessed }
  })

/** The transport's default request budget (2 minutes), when it does not tell its own. */
const DEFAULT_BUDGET_MILLIS = 120_000

/**
 * Runs the pipeline, then the lock-contention follow-ups the options ask for (`lockRetry.ts`); the
 * outcome streams need the same `Transport`.
 */
export const ingest2 = <A, E, R>(
  params: Ingest2Params<A, E, R>
): Effect.Effect<BulkClient.Outcome<BulkError>, BulkError | E, R | Transport> => withLockRetry(params, ingest2Once)

/** One run of the pipeline. */
const ingest2Once = <A, E, R>(
  params: Ingest2Params<A, E, R>
): Effect.Effect<BulkClient.Outcome<BulkError>, BulkError | E, R | Transport> =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const context = yield* Effect.context<Transport>()
    const { options } = params
    const progress = tracker(options.onProgress)
    const dir = yield* tempDir
    const { lines, state } = encodeLines(params.rows, options, progress.read)
    const header = () => state.encoder!.header
    const maxBytes = options.maxJobBytes ?? DEFAULT_MAX_JOB_BYTES
    const pieces = split(
      lines,
      () => header().length,
      { maxBytes, maxRecords: options.batchSize ?? Number.MAX_SAFE_INTEGER },
      fileWriter(dir, header)
    )
    const columnDelimiter = options.columnDelimiter ?? "COMMA"
    const waitOptions = (jobId: string, records: number) => ({
      // no schedule given: poll as the job's progress suggests (poll.ts)
      schedule: options.pollSchedule ?? adaptivePollSchedule(records),
      timeout: options.timeout,
      onPoll: (info: Bulk2.JobInfo) =>
        progress.polled(jobId, info.state, {
          processed: Number(info.numberRecordsProcessed ?? 0),
          failed: Number(info.numberRecordsFailed ?? 0)
        })
    })

    const runJob = (piece: FilePiece): Effect.Effect<JobCounts, BulkError, Transport> =>
      Effect.gen(function*() {
        // a piece is sent again to a new job only within one request budget from its first
        // attempt: each job's upload has a budget of its own, and a server that never answers
        // would otherwise hold the import for three budgets
        // (the transport's own retry schedule: one retry rule for every request)
        const t = yield* Transport
        const budget = t.budgetMillis ?? DEFAULT_BUDGET_MILLIS
        const begun = yield* Clock.currentTimeMillis
        const withinBudget = Schedule.checkEffect(
          t.retrySchedule ?? defaultRetrySchedule(),
          (e: BulkError) => Effect.map(Clock.currentTimeMillis, (now) => isRetryable(e) && now - begun < budget)
        )
        const submit = Effect.gen(function*() {
          const job = yield* Bulk2.createIngestJob({
            object: params.object,
            operation: params.operation,
            externalIdFieldName: params.externalIdFieldName,
            assignmentRuleId: options.assignmentRuleId,
            columnDelimiter,
            lineEnding: options.lineEnding
          })
          const where = { jobId: job.id, firstRow: piece.firstRow, records: piece.records }
          yield* notify({ stage: "created", ...where })
          yield* Effect.gen(function*() {
            // the rows were checked as they were encoded: no second pass over the file
            yield* Bulk2.uploadFile(job.id, piece.path, { check: false })
            // a close whose answer was lost may have been applied: if the job left Open, it is
            // processing and must not be aborted and uploaded again (that would duplicate rows)
            yield* Bulk2.closeIngestJob(job.id).pipe(
              Effect.catchAll((error) =>
                Effect.flatMap(
                  Effect.either(Bulk2.getIngestJob(job.id)),
                  (info) =>
                    info._tag === "Right" && info.right.state !== "Open" && info.right.state !== "Aborted"
                      ? Effect.void
                      : Effect.fail(error)
                )
              )
            )
            yield* notify({ stage: "uploaded", ...where })
          }).pipe(Effect.tapError(() => Effect.ignore(Bulk2.abortIngestJob(job.id))))
          return job.id
        }).pipe(Effect.retry(withinBudget))
        const jobId = yield* submit
        yield* Effect.promise(() => Fs.rm(piece.path, { force: true }))
        progress.uploaded(jobId, piece.records)
        const info = yield* Bulk2.waitForIngestJob(jobId, waitOptions(jobId, piece.records))
        const processed = Number(info.numberRecordsProcessed ?? 0)
        if (info.state === "Failed" && processed === 0) {
          return yield* new JobFailedError({ jobId, state: info.state, stateMessage: info.errorMessage ?? "" })
        }
        const why = info.state === "Failed" && info.errorMessage ? { stateMessage: info.errorMessage } : {}
        if (options.verifyResults === true) {
          const counts = yield* verifyJob(jobId, info, piece.records, { columnDelimiter })
          progress.done(jobId, info.state)
          return { ...counts, ...why }
        }
        const counters = yield* fromCounters(
          { jobId },
          piece.records,
          processed,
          Number(info.numberRecordsFailed ?? 0),
          info.state === "JobComplete"
        )
        progress.done(jobId, info.state)
        return { jobId, records: piece.records, ...counters, created: createdFor(params.operation, counters.succeeded), ...why }
      }).pipe(Effect.withSpan("BulkClient.job", { attributes: { "sfbulk.piece": piece.index, "sfbulk.records": piece.records } }))

    const concurrency = options.serial ? 1 : options.concurrency ?? 4
    // Default: the whole input is read, checked and spooled before the first job is created, so a
    // bad row anywhere uploads nothing. `allowPartialUpload`: each job starts as its piece fills.
    const ready = options.allowPartialUpload === true
      ? pieces
      : Stream.fromIterable(yield* Stream.runCollect(pieces))
    const jobs = yield* allStarted(ready, runJob, concurrency, Effect.succeed)
    const ended = yield* Clock.currentTimeMillis
    return outcome2(params.object, params.operation, jobs, state.read, Duration.millis(ended - started), columnDelimiter, context)
  }).pipe(
    Effect.scoped,
    Effect.withSpan("BulkClient.ingest", {
      attributes: { "sfbulk.api": "2.0", "sfbulk.object": params.object, "sfbulk.operation": params.operation }
    })
  )

/**
 * Runs `start` on each piece, `concurrency` at a time, then `finish` on what it gave (all at once),
 * and gives every result in order. A failure (of a piece, or of the input itself) does not cut the
 * pieces already started short: no new piece is started (its rows stay unsent, and unjournaled),
 * every started one runs to its end, so none is left running on Salesforce unseen, and then the
 * whole fails with every failure's error (`Cause.parallel`). Interrupting the whole still ends it at
 * once. (`lockRetry.ts` does the same over its side-by-side groups.)
 *
 * One fiber per piece runs its `start` and then its `finish` (a permit held for the `start` only),
 * interrupted when the whole is. Why not two `Stream.mapEffect` stages: each forked a fiber per
 * piece with its own Deferred, queue entry and copy of the fiber's state, and on a 5M-row 1.0 load
 * (500 batches, each waiting on the poller for a while) those objects outlived young-generation
 * GCs and were promoted: old-generation garbage that made the peak RSS (upload phase, with the
 * two fibers per batch the 1.0 add made: ~46-57 MB promoted before, ~24-27 MB after).
 */
export const allStarted = <P, S, B, E, R, E1, R1, E2, R2>(
  pieces: Stream.Stream<P, E, R>,
  start: (piece: P) => Effect.Effect<S, E1, R1>,
  concurrency: number,
  finish: (started: S) => Effect.Effect<B, E2, R2>
): Effect.Effect<ReadonlyArray<B>, E | E1 | E2, R | R1 | R2> =>
  Effect.suspend(() => {
    // the pieces' fibers are their own (the input may be read in a fiber of a stream's own), and
    // interrupted with the whole; each leaves the set when it ends, so none is kept after. Not a
    // scope of allStarted's own: `start`/`finish` keep the caller's `Scope` (what they acquire
    // lives as long as the operation, not as long as this)
    const live = new Set<Fiber.RuntimeFiber<void>>()
    return Effect.ensuring(all(live, pieces, start, concurrency, finish), Effect.suspend(() => Fiber.interruptAll([...live])))
  })

const all = <P, S, B, E, R, E1, R1, E2, R2>(
  live: Set<Fiber.RuntimeFiber<void>>,
  pieces: Stream.Stream<P, E, R>,
  start: (piece: P) => Effect.Effect<S, E1, R1>,
  concurrency: number,
  finish: (started: S) => Effect.Effect<B, E2, R2>
): Effect.Effect<ReadonlyArray<B>, E | E1 | E2, R | R1 | R2> =>
  Effect.gen(function*() {
    const causes: Array<Cause.Cause<E | E1 | E2>> = []
    // results by piece position (a failed piece leaves a hole)
    const done: Array<B | undefined> = []
    const ok: Array<boolean> = []
    const permits = yield* Effect.makeSemaphore(concurrency)
    let running = 0
    let inputEnded = false
    const idle = yield* Deferred.make<void>()
    const ended = Effect.suspend(() => --running === 0 && inputEnded ? Deferred.succeed(idle, undefined) : Effect.void)
    const run = (piece: P, at: number): Effect.Effect<void, never, R1 | R2> =>
      Effect.flatMap(Effect.exit(start(piece)), (started) => {
        // a failure is noted before the permit is handed on: the next piece then is not started
        if (Exit.isFailure(started)) {
          causes.push(started.cause)
          return permits.release(1)
        }
        // a started piece is always finished, failure or not
        return Effect.zipRight(
          permits.release(1),
          Effect.map(Effect.exit(finish(started.value)), (exit) => {
            if (Exit.isFailure(exit)) causes.push(exit.cause)
            else (done[at] = exit.value, ok[at] = true)
          })
        )
      })
    let next = 0
    yield* pieces.pipe(
      // the input's own failure is kept as one more outcome, so it does not interrupt the pieces in flight
      Stream.catchAllCause((cause) => Stream.execute(Effect.sync(() => causes.push(cause)))),
      // stops reading (and spooling) the input once something failed
      Stream.takeWhile(() => causes.length === 0),
      Stream.runForEach((piece) =>
        Effect.flatMap(permits.take(1), () => {
          // a piece whose turn comes after a failure is not started
          if (causes.length > 0) return permits.release(1)
          running++
          return Effect.map(Effect.forkDaemon(Effect.ensuring(run(piece, next++), ended)), (fiber) => {
            live.add(fiber)
            fiber.addObserver(() => live.delete(fiber))
          })
        })
      )
    )
    inputEnded = true
    if (running > 0) yield* Deferred.await(idle)
    if (causes.length > 0) return yield* Effect.failCause(causes.reduce((a, b) => Cause.parallel(a, b)))
    const out: Array<B> = []
    for (let i = 0; i < done.length; i++) if (ok[i]) out.push(done[i]!)
    return out
  })

/** Summary + lazy streams over the jobs' results. */
export const outcome2 = (
  object: string,
  operation: BulkClient.Operation,
  jobs: ReadonlyArray<JobCounts>,
  rowsRead: number,
  elapsed: Duration.Duration,
  columnDelimiter: Bulk2.ColumnDelimiter,
  context: import("effect/Context").Context<Transport>
): BulkClient.Outcome<BulkError> => {
  const sum = (f: (j: JobCounts) => number) => jobs.reduce((n, j) => n + f(j), 0)
  const delimiter = Internal.delimiterOf(columnDelimiter)
  // each job's rows are counted against the counts the summary was built from, at its end
  const over = <X>(expected: (j: JobCounts) => number, f: (j: JobCounts) => Stream.Stream<X, BulkError, Transport>) =>
    Stream.fromIterable(jobs).pipe(
      Stream.flatMap((j) => counted(f(j), { jobId: j.jobId }, expected(j))),
      Stream.provideContext(context)
    )
  const created = jobs.every((j) => j.created !== undefined) ? sum((j) => j.created!) : undefined
  return {
    summary: {
      api: "2.0",
      object,
      operation,
      jobIds: jobs.map((j) => j.jobId),
      batchIds: [],
      rowsRead,
      processed: sum((j) => j.succeeded + j.failed),
      succeeded: sum((j) => j.succeeded),
      created,
      failed: sum((j) => j.failed),
      unprocessed: sum((j) => j.unprocessed),
      elapsed
    },
    // each result row is built straight from its parsed fields (no record keyed by header first)
    successes: over((j) => j.succeeded, ({ jobId }) =>
      Internal.ingestResultRows(jobId, "successfulResults", delimiter, (header) => {
        const c = resultColumns(header)
        return (f): BulkClient.Success =>
          new Success2(jobId, c.id < 0 ? "" : ownId(f[c.id]!), c.created >= 0 && f[c.created] === "true", c.row(f))
      })),
    failures: over((j) => j.failed, ({ jobId }) =>
      Internal.ingestResultRows(jobId, "failedResults", delimiter, (header) => {
        const c = resultColumns(header)
        return (f): BulkClient.Failure =>
          new Failure2(jobId, c.id < 0 ? "" : ownId(f[c.id]!), parseErrors(c.error < 0 ? "" : f[c.error]!), c.row(f))
      })),
    unprocessed: over((j) => j.unprocessed, ({ jobId, stateMessage, unprocessed }) =>
      // a job that processed every row sent has none to download
      unprocessed === 0 ? Stream.empty : Internal.ingestResultRows(jobId, "unprocessedrecords", delimiter, (header) => {
        const c = resultColumns(header)
        return (f): BulkClient.Unprocessed => new Unprocessed2(jobId, c.row(f), stateMessage)
      }))
  }
}
