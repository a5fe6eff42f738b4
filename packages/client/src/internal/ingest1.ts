/**
 * The Bulk API 1.0 ingest pipeline: rows -> CSV lines -> batches (≤ 10,000 records, ≤ 10,000,000
 * bytes) spooled to temp files until the whole input is read and checked (all or nothing; with
 * `allowPartialUpload` cut in memory and added as they fill) -> batches added, `concurrency` uploads
 * at a time, every added batch watched by one job-level poll (`batchWatch.ts`) and counted from its
 * batchInfo counters and the rows sent (every result row counted too with `verifyResults`) -> job
 * closed -> summary + lazy outcome streams that pair each batch's results with its request, so
 * every outcome carries the row exactly as sent and its position in the input.
 *
 * Memory: one batch body per upload in flight (1.0 batches are small); the temp disk holds about
 * the input's CSV size in the default mode.
 */
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs/promises"
import * as Bulk1 from "../Bulk1.js"
import type * as BulkClient from "../BulkClient.js"
import { BatchFailedError, InvalidInputError, isBulkError, ResultMismatchError, TransportError, type BulkError } from "../BulkError.js"
import * as AddBatch from "./addBatch.js"
import * as BatchWatch from "./batchWatch.js"
import { csvResultReader, parseBatchResults, readBatchResult } from "./bulk1.js"
import { freeNow, OwnedBytes } from "./ownedBytes.js"
import { resumable, resumeRule } from "./resumable.js"
import { isInvalidJobState } from "./stateChange.js"
import { parseRecords } from "./csvParse.js"
import { allStarted, encodeLines } from "./ingest2.js"
import { bodyHash, currentListener, notify } from "./journalHook.js"
import { withLockRetry } from "./lockRetry.js"
import { createdFor, Failure1, fromCounters, ownId, Success1, Unprocessed1 } from "./outcome.js"
import { tracker } from "./progress.js"
import { fileWriter, memoryWriter, split, tempDir } from "./split.js"
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
  /** A batch that ended Failed: its `stateMessage`, handed to its unprocessed rows as their `reason`. */
  readonly stateMessage?: string | undefined
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

// A batch body read from its spool file is handed back (`freeNow`) once the batch was added: it
// was sent whole (Salesforce answers an added batch after reading all of it) and is used no more
// (its hash was taken before the POST, and a batch is never sent again after it was added). The
// POST outlives young-generation GCs, so the body's buffer would be promoted and its memory (a
// megabyte or more, outside V8's heap) wait for a full GC: on a million rows in 10,000-row
// batches that pile was the 1.0 upload's peak.

/** A batch ready to be added: its body is loaded (from memory or its spool file) when it is sent. */
interface ReadyBatch {
  readonly index: number
  readonly firstRow: number
  readonly records: number
  readonly body: Effect.Effect<Uint8Array, InvalidInputError>
  /** Frees the body once the batch is added (deletes its spool file). */
  readonly sent: Effect.Effect<void>
}

interface Ingest1Params<A, E, R> {
  readonly object: string
  readonly operation: BulkClient.Operation
  readonly externalIdFieldName?: string | undefined
  readonly rows: Stream.Stream<A, E, R>
  readonly options: BulkClient.IngestOptions<A>
}

/** Runs the 1.0 pipeline, then the lock-contention follow-ups the options ask for (`lockRetry.ts`). */
export const ingest1 = <A, E, R>(
  params: Ingest1Params<A, E, R>
): Effect.Effect<BulkClient.Outcome<BulkError>, BulkError | E, R | Transport> => withLockRetry(params, ingest1Once)

/** One run of the 1.0 pipeline. */
const ingest1Once = <A, E, R>(params: Ingest1Params<A, E, R>): Effect.Effect<BulkClient.Outcome<BulkError>, BulkError | E, R | Transport> =>
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
    // one job-level poller for every batch in flight (one GET for all of them per poll)
    const scope = yield* Effect.scope
    const watch = yield* Effect.cached(
      Effect.flatMap(job, (j) =>
        Scope.extend(
          BatchWatch.make(j.id, options, (b) =>
            progress.polled(j.id, b.state, { processed: b.numberRecordsProcessed, failed: b.numberRecordsFailed }, b.id)),
          scope
        ))
    )

    /** Adds one batch (at most `concurrency` adds in flight); processing goes on without us. */
    const addOne = (piece: ReadyBatch): Effect.Effect<{ readonly piece: ReadyBatch; readonly batchId: string }, BulkError, Transport> =>
      Effect.gen(function*() {
        const jobInfo = yield* job
        const jid = jobInfo.id
        // the upload's span names its job (the public `Bulk1.addBatch` span that did is not made here)
        yield* Effect.annotateCurrentSpan("sfbulk.job_id", jid)
        const body = yield* piece.body
        // recorded before the POST too: a journal must know a batch may have arrived if the process
        // dies mid-send, and the body's hash tells which of the job's batches it became
        // (the body hashed only for a journal listening: hashing a megabyte is not free)
        if ((yield* FiberRef.get(currentListener)) !== undefined) {
          yield* notify({ stage: "created", jobId: jid, firstRow: piece.firstRow, records: piece.records, sha256: bodyHash(body) })
        }
        // a POST in flight when another batch fails is finished, not cut, so its batch is known
        // (recorded as uploaded) rather than left "may have arrived" for the journal to guess
        // the rows were checked as they were encoded: no second pass over the CSV
        // The POST runs interruptible in a fiber of its own (the transport's timeouts, idle body
        // and budget, work by interrupting it), a daemon nobody interrupts, so that it is recorded
        // once it lands: an interruption from outside (a timeout around the operation, a failed
        // sibling) ends the join at once while the POST finishes in the background. (One fiber:
        // `Effect.disconnect` around a fork made two per batch, and their state outlived young GCs.)
        const batch = yield* Effect.flatMap(
          Effect.forkDaemon(Effect.interruptible(Effect.tap(
            // `addBatch.ts` itself, not `Bulk1.addBatch`: the public call's own span and scope per
            // batch (this one's span says which batch; a byte body spools nothing to a scope)
            Effect.provideService(AddBatch.addBatch(jobInfo, body, { check: false }), Scope.Scope, scope),
            (b) => notify({ stage: "uploaded", jobId: jid, batchId: b.id, firstRow: piece.firstRow, records: piece.records })
          ))),
          Fiber.join
        )
        yield* piece.sent
        progress.uploaded(jid, piece.records, batch.id)
        return { piece, batchId: batch.id }
      }).pipe(Effect.withSpan("BulkClient.addBatch", { attributes: { "sfbulk.piece": piece.index, "sfbulk.records": piece.records } }))

    /** Waits for an added batch and counts it. */
    const finish = (
      { batchId, piece }: { readonly piece: ReadyBatch; readonly batchId: string }
    ): Effect.Effect<BatchCounts, BulkError, Transport> =>
      Effect.gen(function*() {
        const jobInfo = yield* job
        const jid = jobInfo.id
        const info = yield* Effect.flatMap(watch, (w) => w.wait(batchId, piece.records))
        const processed = info.numberRecordsProcessed
        if (info.state === "Failed" && processed === 0) {
          return yield* new BatchFailedError({ jobId: jid, batchId, stateMessage: info.stateMessage ?? "" })
        }
        const where = { jobId: jid, batchId }
        const why = info.state === "Failed" && info.stateMessage ? { stateMessage: info.stateMessage } : {}
        if (options.verifyResults === true) {
          const counts = yield* verifyBatch(jobInfo, batchId, info, piece.records)
          progress.done(jid, info.state, batchId)
          return { ...counts, firstRow: piece.firstRow, ...why }
        }
        const counters = yield* fromCounters(where, piece.records, processed, info.numberRecordsFailed, info.state === "Completed")
        progress.done(jid, info.state, batchId)
        return {
          jobId: jid,
          batchId,
          firstRow: piece.firstRow,
          records: piece.records,
          ...counters,
          created: createdFor(params.operation, counters.succeeded),
          ...why
        }
      }).pipe(Effect.withSpan("BulkClient.batch", { attributes: { "sfbulk.piece": piece.index, "sfbulk.records": piece.records } }))

    const concurrency = options.serial ? 1 : options.concurrency ?? 4
    const limits = { maxBytes, maxRecords }
    // Default: the whole input is read, checked and spooled to temp files before the job is
    // created, so a bad row anywhere uploads nothing. `allowPartialUpload`: batches are cut in
    // memory and added as they fill.
    const ready: Stream.Stream<ReadyBatch, BulkError | E, R> = options.allowPartialUpload === true
      ? Stream.map(split(lines, () => header().length, limits, memoryWriter(header)), (p) => ({
        index: p.index,
        firstRow: p.firstRow,
        records: p.records,
        body: Effect.succeed(p.body),
        sent: Effect.void
      }))
      : Stream.fromIterable(
        Chunk.map(yield* Stream.runCollect(split(lines, () => header().length, limits, fileWriter(yield* tempDir, header))), (p) => {
          let loaded: Uint8Array | undefined
          return {
            index: p.index,
            firstRow: p.firstRow,
            records: p.records,
            body: Effect.tryPromise({
              try: async () => (loaded = await Fs.readFile(p.path)),
              catch: (e) => new InvalidInputError({ what: `cannot read the spool file ${p.path}: ${String(e)}` })
            }),
            sent: Effect.suspend(() => {
              const body = loaded
              loaded = undefined
              if (body !== undefined) freeNow(body)
              return Effect.promise(() => Fs.rm(p.path, { force: true }))
            })
          }
        })
      )
    // every added batch is waited for at once (Salesforce processes them as the job's mode allows);
    // after a failure no batch is added, and every batch added is still waited for (its outcome
    // known) before the run fails with every failed batch's error
    const batches = yield* allStarted(ready, addOne, concurrency, finish).pipe(
      // The job is aborted when the input failed or the run was interrupted (an input that fails
      // under `allowPartialUpload` after batches were added: they were waited for above, so the
      // abort only closes the job to further batches). When Salesforce or the network failed (a
      // typed error naming the job), or a journal is kept, it is closed instead: the batches
      // already added have finished, and `resume` (or the journal) picks them up.
      Effect.onError((cause) => {
        if (!jobId) return Effect.void
        const serverSide = Chunk.some(Cause.failures(cause), (e) => isBulkError(e) && e._tag !== "InvalidInputError")
        return Effect.flatMap(
          FiberRef.get(currentListener),
          (l) => Effect.ignore(l || serverSide ? Bulk1.closeJob(jobId!) : Bulk1.abortJob(jobId!))
        )
      })
    )
    // A job aborted by someone else while its batches ran is not an error: its batches are
    // terminal (the ones it stopped are NotProcessed) and their rows counted as unprocessed.
    if (jobId) {
      const jid = jobId
      yield* Bulk1.closeJob(jid).pipe(
        Effect.catchIf(
          isInvalidJobState,
          (refused) => Effect.flatMap(Bulk1.jobInfo(jid), (j) => j.state === "Aborted" ? Effect.void : Effect.fail(refused))
        )
      )
    }
    const ended = yield* Clock.currentTimeMillis
    return outcome1(
      params.object,
      params.operation,
      batches,
      state.read,
      Duration.millis(ended - started),
      context,
      options.successRows !== false
    )
  }).pipe(
    Effect.scoped,
    Effect.withSpan("BulkClient.ingest", {
      attributes: { "sfbulk.api": "1.0", "sfbulk.object": params.object, "sfbulk.operation": params.operation }
    })
  )

/** The batch's request, exactly as uploaded, parsed back into rows. */
const requestRows = (b: BatchCounts) =>
  // a download cut off mid-body is fetched again, the rows already emitted skipped
  resumable(() =>
    parseRecords(Bulk1.batchRequest(b.jobId, b.batchId), ",").pipe(
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
    )
  )

/**
 * The batch's results, in input order. Jobs made by `ingest1` are CSV jobs, so the job's content
 * type need not be asked for (one GET per batch saved).
 */
const resultRows = (b: BatchCounts) => namedIn(b, resumable(() => parseBatchResults("CSV", Bulk1.rawResult(b.jobId, b.batchId))))

/** A batch's download errors name the batch (the transport only knows the path it asked for). */
const namedIn = <A, R>(b: BatchCounts, stream: Stream.Stream<A, BulkError, R>): Stream.Stream<A, BulkError, R> =>
  Stream.mapError(stream, inBatch(b))

/** `e` naming the batch `b`, when it is a transport error that names no job. */
const inBatch = (b: BatchCounts) => (e: BulkError): BulkError =>
  e._tag === "TransportError" && e.jobId === undefined
    ? new TransportError({ ...e, url: `job/${b.jobId}/batch/${b.batchId}/${e.url}`, jobId: b.jobId, batchId: b.batchId })
    : e

/**
 * A batch's result file, downloaded whole as bytes, to be parsed when it is read. The batches
 * fetched ahead wait as a few buffers (about 45 bytes a row), not as parsed records: tens of
 * thousands of objects held while other batches download outlive V8's young-generation
 * collections and end up as old-generation garbage (with the records and this, a million-row
 * read promotes about 80 MB instead of 180 MB, and the heap peaks 40 MB lower). Read in one
 * effect per attempt (`readBatchResult`), not as a stream: a stream step per chunk of the four
 * downloads in flight promoted ~110 MB on a 5M-row read, ~30 MB this way.
 * The socket's reads are copied into a buffer of our own as they come (`OwnedBytes`), not kept
 * as pieces until the download ends: a read's buffer shared with the response's head (every
 * response's first) cannot be handed back early, and held for the download's time it was promoted
 * and waited for a full GC (5M-row 1.0 insert: external memory climbed ~20 MB in the read).
 * A download cut off keeps the bytes it read: the file is fetched again and its first bytes
 * compared with those kept, not copied again, so each cut costs only what was in flight, and
 * repeated cuts fail the read only when they bring nothing new (`resumeRule`). Compared, not
 * skipped unseen: a result file is fixed once its batch is done, but were a cut attempt's file
 * another (a proxy's, one made again), its start spliced with the next one's rest gave outcomes
 * with another row's id, silently; where they differ, the next one's bytes are kept from there.
 */
const resultBytes = (b: BatchCounts): Effect.Effect<Uint8Array, BulkError, Transport> =>
  Effect.suspend(() => {
    // copied as they come into a buffer of our own, sized for the ids-and-flags rows a result has
    // (it grows if need be): a socket's read is not held while the rest downloads (see below)
    const bytes = new OwnedBytes(Math.max(64 * 1024, b.records * RESULT_ROW_BYTES))
    const rule = resumeRule()
    const attempt: Effect.Effect<Uint8Array, BulkError, Transport> = Effect.catchAll(
      Effect.suspend(() => {
        // each attempt fetches the file whole: what the bytes kept cover is compared with them
        // (`again`), not skipped unseen; a file that ends sooner ends the bytes kept there too
        let at = 0
        return Effect.map(
          readBatchResult(b.jobId, b.batchId, (piece) => {
            at = bytes.again(at, piece)
          }),
          () => {
            bytes.truncate(at)
            return bytes.take()
          }
        )
      }),
      (e) => Effect.flatMap(rule.again(e, bytes.size), (again) => (again ? attempt : Effect.fail(e)))
    )
    return Effect.onError(attempt, () => Effect.sync(() => bytes.free()))
  }).pipe(Effect.mapError(inBatch(b)))

/** Turns one request row and its result (none: not processed) into an outcome, or nothing. */
type MakeOutcome<X> = (
  b: BatchCounts,
  position: number,
  row: Record<string, string>,
  result: Bulk1.BatchResult | undefined
) => X | undefined

/** A pull's next chunk, or `undefined` at its end. */
const nextChunk = <A>(pull: Effect.Effect<Chunk.Chunk<A>, Option.Option<BulkError>, Transport>) =>
  Effect.catchAll(pull, (o) => Option.isNone(o) ? Effect.succeed(undefined) : Effect.fail(o))

const NO_ROW: Readonly<Record<string, string>> = Object.freeze({})

/**
 * A batch's results alone (no request re-read), read from its downloaded bytes and turned into
 * outcomes with an empty row, a `RESULT_SLICE` at a time; checked at the end against the batch's
 * processed, successful and failed counts. Parsing, counting and making outcomes run fused in one
 * synchronous stage (`csvResultReader`): the stream stages they were (slices -> records -> results
 * -> outcomes -> end check) each ran per slice, and the Effect runtime's objects of those steps,
 * alive while the batches ahead downloaded, were promoted by V8 and piled up as old-generation
 * garbage (on a 5M-row insert the read of the ids promoted some 30 MB a second).
 */
const resultOutcomes = <X>(b: BatchCounts, make: MakeOutcome<X>, bytes: Uint8Array): Stream.Stream<X, BulkError> =>
  Stream.suspend(() => {
    const reader = csvResultReader()
    let seen = 0
    let succeeded = 0
    let failed = 0
    const where = { jobId: b.jobId, batchId: b.batchId }
    const expected = b.succeeded + b.failed
    let out: Array<X> = []
    const onResult = (r: Bulk1.BatchResult) => {
      if (r.success) succeeded++
      else failed++
      // a result past the rows the batch processed would carry the position of another batch's
      // row: counted (the end check fails), never emitted, as when the request rows are paired
      const position = b.firstRow + seen++
      if (seen > expected) return
      const x = make(b, position, NO_ROW as Record<string, string>, r)
      if (x !== undefined) out.push(x)
    }
    const emit = (unreadable: BulkError | undefined): Either.Either<Chunk.Chunk<X>, BulkError> => {
      const chunk = Chunk.unsafeFromArray(out)
      out = []
      return unreadable === undefined ? Either.right(chunk) : Either.left(unreadable)
    }
    const end = (): Either.Either<Chunk.Chunk<X>, BulkError> => {
      const last = emit(reader.end(onResult))
      if (Either.isLeft(last)) return last
      return seen !== expected
        ? Either.left(new ResultMismatchError({ ...where, expected, got: seen }))
        : succeeded !== b.succeeded
        ? Either.left(new ResultMismatchError({ ...where, expected: b.succeeded, got: succeeded }))
        : failed !== b.failed
        ? Either.left(new ResultMismatchError({ ...where, expected: b.failed, got: failed }))
        : last
    }
    // One channel step per slice, written straight out (no sub-stream per slice: `Stream.fromChunks`
    // of the slices ran a nested channel for each, whose executor objects were promoted and kept
    // the next slice's outcomes alive through young GCs)
    let at = 0
    const step = (): Channel.Channel<Chunk.Chunk<X>, unknown, BulkError, unknown, void, unknown> => {
      for (;;) {
        const last = at >= bytes.length
        const r = last ? end() : emit(reader.push([bytes.subarray(at, at + RESULT_SLICE)], onResult))
        at += RESULT_SLICE
        if (Either.isLeft(r)) return Channel.fail(r.left)
        if (r.right.length > 0) return Channel.zipRight(Channel.write(r.right), last ? Channel.void : Channel.suspend(step))
        if (last) return Channel.void
      }
    }
    return Stream.fromChannel(Channel.suspend(step))
  })

/**
 * A batch's request rows paired with its results (results are in input order on 1.0), turned into
 * outcomes by `make`. Pairing is chunk by chunk: both downloads are pulled as the chunks they
 * arrive in, and each step pairs as many rows as both sides hold (one Effect per chunk, no
 * per-row stream operator or intermediate object). Memory: one chunk of each side.
 *
 * Checked at the batch's end against the counts the summary was built from: as many rows as were
 * sent (the longer side counts), no result without a request row, as many successful and failed
 * results as the counters say.
 */
const pairedOutcomes = <X>(b: BatchCounts, make: MakeOutcome<X>): Stream.Stream<X, BulkError, Transport> =>
  Stream.fromPull(Effect.gen(function*() {
    const where = { jobId: b.jobId, batchId: b.batchId }
    const pullRequest = yield* Stream.toPull(requestRows(b))
    // a batch nothing of which was processed (Failed, NotProcessed) has no results to ask for
    const pullResults = b.succeeded + b.failed === 0 ? undefined : yield* Stream.toPull(resultRows(b))
    let rows: ReadonlyArray<Record<string, string>> = []
    let ri = 0
    let rowsDone = false
    let results: ReadonlyArray<Bulk1.BatchResult> = []
    let si = 0
    let resultsDone = pullResults === undefined
    let rowCount = 0
    let resultCount = 0
    let succeeded = 0
    let failed = 0
    let ended = false
    const mismatch = (expected: number, got: number) => Effect.fail(Option.some(new ResultMismatchError({ ...where, expected, got })))
    const end = (): Effect.Effect<never, Option.Option<BulkError>> => {
      ended = true
      const paired = Math.max(rowCount, resultCount)
      if (paired !== b.records) return mismatch(b.records, paired)
      if (resultCount > rowCount) return mismatch(rowCount, resultCount)
      if (succeeded !== b.succeeded) return mismatch(b.succeeded, succeeded)
      if (failed !== b.failed) return mismatch(b.failed, failed)
      return Effect.fail(Option.none())
    }
    return Effect.gen(function*() {
      if (ended) return yield* Effect.fail(Option.none())
      while (true) {
        if (ri === rows.length && !rowsDone) {
          const c = yield* nextChunk(pullRequest)
          if (c === undefined) rowsDone = true
          else (rows = Chunk.toReadonlyArray(c), ri = 0)
          continue
        }
        if (si === results.length && !resultsDone) {
          const c = yield* nextChunk(pullResults!)
          if (c === undefined) resultsDone = true
          else (results = Chunk.toReadonlyArray(c), si = 0)
          continue
        }
        const out: Array<X> = []
        if (ri < rows.length && si < results.length) {
          const n = Math.min(rows.length - ri, results.length - si)
          for (let k = 0; k < n; k++) {
            const r = results[si + k]!
            if (r.success) succeeded++
            else failed++
            const x = make(b, b.firstRow + rowCount + k, rows[ri + k]!, r)
            if (x !== undefined) out.push(x)
          }
          ri += n
          si += n
          rowCount += n
          resultCount += n
        } else if (ri < rows.length) {
          // the results ended: the rest of the request was not processed
          for (; ri < rows.length; ri++, rowCount++) {
            const x = make(b, b.firstRow + rowCount, rows[ri]!, undefined)
            if (x !== undefined) out.push(x)
          }
        } else if (si < results.length) {
          // results without a request row: counted (the end check fails), never emitted
          resultCount += results.length - si
          si = results.length
        } else {
          return yield* end()
        }
        if (out.length > 0) return Chunk.unsafeFromArray(out)
      }
    })
  }))

/**
 * Bytes of a downloaded result parsed at a time: some 350 result rows, so that the records parsed
 * from one piece die young. The pieces as downloaded, parsed whole, keep enough of them alive
 * through young-generation GCs that V8 moves the parser's allocations to the old generation: on a
 * million-row 1.0 insert the heap grew to 120-160 MB for ~30 MB live (peak RSS 221-253 MB, 3
 * runs; sliced: 191-206 MB).
 */
const RESULT_SLICE = 16 * 1024

/**
 * Bytes a result row of an ingest batch takes, a little over: `"<18-char id>","true","true",""`
 * and its line end (45). A result's buffer is first sized for its rows at this rate, so that it
 * is seldom outgrown and copied again.
 */
const RESULT_ROW_BYTES = 48

/** Batches whose results (alone, without their requests) are downloaded at once. */
const RESULTS_AHEAD = 4

/** Summary + lazy streams over the batches' requests and results. */
export const outcome1 = (
  object: string,
  operation: BulkClient.Operation,
  batches: ReadonlyArray<BatchCounts>,
  rowsRead: number,
  elapsed: Duration.Duration,
  context: import("effect/Context").Context<Transport>,
  successRows = true
): BulkClient.Outcome<BulkError> => {
  const sum = (f: (b: BatchCounts) => number) => batches.reduce((n, b) => n + f(b), 0)
  // Only the batches that have outcomes of the kind asked for are re-read.
  const all = <X>(having: (b: BatchCounts) => number, make: MakeOutcome<X>, withRows = true): Stream.Stream<X, BulkError> => {
    const wanted = Stream.fromIterable(batches.filter((b) => having(b) > 0))
    return Stream.provideContext(
      withRows
        ? Stream.flatMap(wanted, (b) => pairedOutcomes(b, make))
        // results alone are small (an id and two flags per row): the next batches' results are
        // fetched while this one is read, at most RESULTS_AHEAD batches held (as bytes), order kept
        : wanted.pipe(
          Stream.mapEffect((b) => Effect.map(resultBytes(b), (bytes) => [b, bytes] as const), { concurrency: RESULTS_AHEAD }),
          Stream.flatMap(([b, bytes]) =>
            // parsed a slice at a time: one chunk of outcomes in flight, not a batch's; the bytes
            // handed back once parsed (the parser decodes into strings: no outcome refers to them)
            namedIn(b, resultOutcomes(b, make, bytes)).pipe(Stream.ensuring(Effect.sync(() => freeNow(bytes))))
          )
        ),
      context
    )
  }
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
    successes: all((b) => b.succeeded, (b, position, row, r): BulkClient.Success | undefined =>
      r !== undefined && r.success
        ? new Success1(b.jobId, b.batchId, position, row, ownId(r.id ?? ""), r.created)
        : undefined, successRows),
    failures: all((b) => b.failed, (b, position, row, r): BulkClient.Failure | undefined => {
      if (r === undefined || r.success) return undefined
      const errors = r.errors.length > 0
        ? r.errors.map((e) => ({ code: e.statusCode, message: e.message, fields: e.fields }))
        : [{ code: "UNKNOWN", message: "Salesforce reported a failure without an error", fields: [] }]
      return new Failure1(b.jobId, b.batchId, position, row, r.id ? ownId(r.id) : "", errors)
    }),
    unprocessed: all(
      (b) => b.unprocessed,
      (b, position, row, r): BulkClient.Unprocessed | undefined =>
        r === undefined ? new Unprocessed1(b.jobId, b.batchId, position, row, b.stateMessage) : undefined
    )
  }
}
