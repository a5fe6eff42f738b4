/**
 * `sfbulk job list|status|abort|results`, `sfbulk resume` and `--async` submission: the commands that
 * work on a job by id through the low-level Bulk API modules, so a job started elsewhere (or by an
 * earlier run) can be watched, finished and have its results written without uploading again.
 */
import { Bulk1, Bulk2, BulkError, Csv, Transport } from "@sfbulk/client"
import * as Duration from "effect/Duration"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import { UsageError, type RowsFailed } from "../errors.js"
import { lineOf, openCsv, spoolStdin } from "../input.js"
import { adviseResume } from "../hints.js"
import { writeText } from "../output.js"
import * as Progress from "../progress.js"
import { type OutputFlags, printJson, printText, table } from "../report.js"
import * as Results from "../results.js"
import * as Export from "./export.js"
import * as Transform from "../transform.js"
import { describeFor, finish, type IngestArgs, noRecords, resolveTransform } from "./ingest.js"

type Env = Transport.Transport

/** A job found by id: which API and kind it belongs to, and its current information. */
export type Found =
  | { readonly api: "2.0"; readonly kind: "ingest" | "query"; readonly info: Bulk2.JobInfo }
  | { readonly api: "1.0"; readonly kind: "ingest" | "query"; readonly info: Bulk1.JobInfo }

const isNotFound = (e: BulkError.BulkError) =>
  e._tag === "ApiError" && (e.status === 404 || e.errorCode === "NOT_FOUND" || e.errorCode === "INVALIDJOB" || e.errorCode === "InvalidJob")

const v1 = (info: Bulk1.JobInfo): Found => ({
  api: "1.0",
  kind: info.operation === "query" || info.operation === "queryAll" ? "query" : "ingest",
  info
})

/** Looks a job id up as a 2.0 ingest job, a 2.0 query job, then a 1.0 job. */
export const find = (jobId: string): Effect.Effect<Found, BulkError.BulkError, Env> =>
  Bulk2.getIngestJob(jobId).pipe(
    Effect.flatMap((info): Effect.Effect<Found, BulkError.BulkError, Env> =>
      info.jobType === "Classic" ? Effect.map(Bulk1.jobInfo(jobId), v1) : Effect.succeed({ api: "2.0", kind: "ingest", info })
    ),
    Effect.catchIf(isNotFound, () => Effect.map(Bulk2.getQueryJob(jobId), (info): Found => ({ api: "2.0", kind: "query", info }))),
    Effect.catchIf(isNotFound, () => Effect.map(Bulk1.jobInfo(jobId), v1))
  )

/** Whether the job needs no more waiting. */
const isDone = (f: Found) => (f.api === "2.0" ? Bulk2.isTerminal(f.info.state) : f.info.state !== "Open" && doneBatches(f.info))

const doneBatches = (i: Bulk1.JobInfo) =>
  i.state === "Aborted" || i.state === "Failed" || i.numberBatchesQueued + i.numberBatchesInProgress === 0

const num = (v: number | undefined) => (v === undefined ? 0 : v)
// Job lists carry no counters: absent stays null (shown as "-"), not a misleading 0.
const count = (v: number | undefined) => (v === undefined ? null : v)

const jobJson = (f: Found) => ({
  api: f.api,
  ...(f.api === "1.0"
    ? {
      batches: {
        total: f.info.numberBatchesTotal,
        completed: f.info.numberBatchesCompleted,
        failed: f.info.numberBatchesFailed,
        queued: f.info.numberBatchesQueued,
        inProgress: f.info.numberBatchesInProgress
      }
    }
    : { jobType: f.info.jobType ?? null }),
  kind: f.kind,
  id: f.info.id,
  object: f.info.object,
  operation: f.info.operation,
  state: f.info.state,
  recordsProcessed: count(f.info.numberRecordsProcessed),
  recordsFailed: count(f.info.numberRecordsFailed),
  createdDate: f.info.createdDate ?? null,
  errorMessage: f.api === "2.0" ? f.info.errorMessage ?? null : null
})

const dash = (v: number | null) => (v === null ? "-" : v.toLocaleString("en-US"))

/** `sfbulk job list`. */
export const list = (flags: OutputFlags): Effect.Effect<void, BulkError.BulkError, Env> =>
  Effect.gen(function*() {
    const ingest = yield* Stream.runCollect(Bulk2.listIngestJobs())
    const query = yield* Stream.runCollect(Bulk2.listQueryJobs())
    const jobs = [
      ...Array.from(ingest, (info) => jobJson({ api: "2.0", kind: "ingest", info })),
      ...Array.from(query, (info) => jobJson({ api: "2.0", kind: "query", info }))
    ].sort((a, b) => String(b.createdDate ?? "").localeCompare(String(a.createdDate ?? "")))
    if (flags.json) return printJson({ ok: true, jobs, exitCode: 0 })
    printText(
      flags,
      jobs.length === 0
        ? "no jobs"
        : table(
          ["JOB", "KIND", "OBJECT", "OPERATION", "STATE", "PROCESSED", "FAILED", "CREATED"],
          jobs.map((
            j
          ) => [j.id, j.kind, j.object, j.operation, j.state, dash(j.recordsProcessed), dash(j.recordsFailed), String(j.createdDate ?? "")])
        )
    )
  })

const printJob = (flags: OutputFlags, f: Found) => {
  const j = jobJson(f)
  if (flags.json) return printJson({ ok: true, job: j, exitCode: 0 })
  printText(
    flags,
    [
      `job ${j.id} (Bulk API ${j.api} ${j.kind})`,
      `  object:     ${j.object}`,
      `  operation:  ${j.operation}`,
      `  state:      ${j.state}`,
      `  processed:  ${dash(j.recordsProcessed)}`,
      `  failed:     ${dash(j.recordsFailed)}`,
      ...("batches" in j && j.batches
        ? [
          `  batches:    ${j.batches.completed}/${j.batches.total} completed, ${j.batches.failed} failed, ${
            j.batches.queued + j.batches.inProgress
          } pending`
        ]
        : []),
      ...(j.createdDate ? [`  created:    ${j.createdDate}`] : []),
      ...(j.errorMessage ? [`  error:      ${j.errorMessage}`] : [])
    ].join("\n")
  )
}

/** `sfbulk job status <id>`. */
export const status = (jobId: string, flags: OutputFlags): Effect.Effect<void, BulkError.BulkError, Env> =>
  Effect.map(find(jobId), (f) => printJob(flags, f))

/** `sfbulk job abort <id>`. */
export const abort = (jobId: string, flags: OutputFlags): Effect.Effect<void, BulkError.BulkError | UsageError, Env> =>
  Effect.gen(function*() {
    const f = yield* find(jobId)
    if (f.api === "2.0" ? Bulk2.isTerminal(f.info.state) : f.info.state === "Aborted" || f.info.state === "Failed") {
      return yield* new UsageError({ message: `job ${jobId} is already ${f.info.state}: nothing to abort` })
    }
    if (f.api === "1.0") return printJob(flags, { ...f, info: yield* Bulk1.abortJob(jobId) })
    const info = f.kind === "ingest" ? yield* Bulk2.abortIngestJob(jobId) : yield* Bulk2.abortQueryJob(jobId)
    printJob(flags, { ...f, info })
  })

/** Options of `job results` and `resume`. */
export interface ResultsArgs extends OutputFlags {
  /** Wait for the job to finish (resume) or require it finished (job results). */
  readonly wait: boolean
  readonly timeout: Option.Option<Duration.Duration>
  readonly resultsDir: Option.Option<string>
  readonly formulaGuard: boolean
  readonly allowPartial: boolean
  /** Query jobs. */
  readonly output: string
  readonly format: Option.Option<Export.Format>
}

/** Waits for a job to finish, drawing progress from each poll (2.0) or a line per state (1.0). */
const waitFor = (found: Found, a: ResultsArgs): Effect.Effect<Found, BulkError.BulkError, Env> => {
  const jobId = found.info.id
  const timeout = Option.isSome(a.timeout) ? { timeout: a.timeout.value } : {}
  const progress = Progress.reporter(Progress.modeFor(a), `${found.info.operation} ${found.info.object}`)
  const onPoll = (i: Bulk2.JobInfo) =>
    progress.ingest({
      rowsRead: 0,
      rowsUploaded: num(i.numberRecordsProcessed),
      recordsProcessed: num(i.numberRecordsProcessed),
      recordsFailed: num(i.numberRecordsFailed),
      piecesSubmitted: 1,
      piecesDone: Bulk2.isTerminal(i.state) ? 1 : 0,
      last: { jobId, state: i.state }
    })
  const wait: Effect.Effect<Found, BulkError.BulkError, Env> = found.api === "2.0"
    ? Effect.map(
      found.kind === "ingest"
        ? Bulk2.waitForIngestJob(jobId, { onPoll, ...timeout })
        : Bulk2.waitForQueryJob(jobId, { onPoll, ...timeout }),
      (info): Found => ({ ...found, info })
    )
    : waitFor1(jobId, a.timeout, progress)
  return Effect.ensuring(wait, Effect.sync(progress.done))
}

/**
 * Polls a 1.0 job until no batch is queued or in progress. Unlike `Bulk1.waitForJob` it does not
 * stop at the first failed batch: the rows of failed batches become the unprocessed file.
 */
const waitFor1 = (
  jobId: string,
  timeout: Option.Option<Duration.Duration>,
  progress: Progress.Reporter
): Effect.Effect<Found, BulkError.BulkError, Env> => {
  const poll = Bulk1.jobInfo(jobId).pipe(
    Effect.tap((i) =>
      Effect.sync(() =>
        progress.ingest({
          rowsRead: 0,
          rowsUploaded: i.numberRecordsProcessed,
          recordsProcessed: i.numberRecordsProcessed,
          recordsFailed: i.numberRecordsFailed,
          piecesSubmitted: i.numberBatchesTotal,
          piecesDone: i.numberBatchesCompleted + i.numberBatchesFailed,
          last: { jobId, state: `${i.numberBatchesCompleted + i.numberBatchesFailed}/${i.numberBatchesTotal} batches done` }
        })
      )
    )
  )
  // 0.5 s, growing to every 5 s.
  const loop = (delay: number): Effect.Effect<Bulk1.JobInfo, BulkError.BulkError, Env> =>
    Effect.flatMap(
      poll,
      (i) => (doneBatches(i) ? Effect.succeed(i) : Effect.zipRight(Effect.sleep(delay), loop(Math.min(delay * 1.5, 5_000))))
    )
  const polled = loop(500)
  const bounded = Option.isNone(timeout)
    ? polled
    : Effect.timeoutFail(polled, {
      duration: timeout.value,
      onTimeout: () => new BulkError.PollTimeoutError({ jobId, timeoutMillis: Duration.toMillis(timeout.value) })
    })
  return Effect.map(bounded, v1)
}

type Routed =
  | { readonly _tag: "success"; readonly record: Readonly<Record<string, string>>; readonly created: boolean }
  | { readonly _tag: "failure"; readonly record: Readonly<Record<string, string>>; readonly code: string }
  | { readonly _tag: "unprocessed"; readonly record: Readonly<Record<string, string>>; readonly reason?: string | undefined }

/**
 * Every input row of a 1.0 ingest job with its outcome, batch by batch in order: each batch's
 * results zipped with the rows of its request (as uploaded); rows of batches never processed are
 * unprocessed. A batch that ended Failed part way (out of time) has results for the rows it
 * processed, which are in the org: they are read like a completed batch's, and only the rows past
 * them are unprocessed, with the batch's message as their reason (as the client's ingest does).
 * A result without a row, or a row without a result, is still reported, never dropped.
 */
const v1Outcomes = (info: Bulk1.JobInfo): Stream.Stream<Routed, BulkError.BulkError, Env> =>
  Stream.flatMap(
    Stream.flatMap(Stream.fromEffect(Bulk1.listBatches(info.id)), Stream.fromIterable),
    (batch) => {
      const request: Stream.Stream<Record<string, string>, BulkError.BulkError, Env> = info.contentType === "CSV"
        ? Csv.decode()(Bulk1.batchRequest(info, batch.id))
        : Stream.empty
      const reason = batch.state === "Failed" && batch.stateMessage ? { reason: batch.stateMessage } : {}
      const partly = batch.state === "Failed" && batch.numberRecordsProcessed > 0
      if (batch.state !== "Completed" && !partly) {
        return Stream.map(request, (record): Routed => ({ _tag: "unprocessed", record, ...reason }))
      }
      return Stream.zipAllWith(Bulk1.batchResults(info, batch.id), {
        other: request,
        onSelf: (r) => route(r, {}),
        onOther: (record): Routed => ({ _tag: "unprocessed", record, ...reason }),
        onBoth: (r, record) => route(r, record)
      })
    },
    { concurrency: 1 }
  )

const route = (r: Bulk1.BatchResult, row: Readonly<Record<string, string>>): Routed =>
  r.success
    ? { _tag: "success", record: { sf__Id: r.id ?? "", sf__Created: String(r.created), ...row }, created: r.created }
    : {
      _tag: "failure",
      record: {
        sf__Id: r.id ?? "",
        sf__Error: Results.errorText(r.errors.map((e) => ({ code: e.statusCode, message: e.message, fields: e.fields }))),
        ...row
      },
      code: r.errors[0]?.statusCode ?? "UNKNOWN"
    }

/** `sfbulk job results <id>` and `sfbulk resume <id>`. */
export const results = (
  jobId: string,
  a: ResultsArgs
): Effect.Effect<void, BulkError.BulkError | UsageError | RowsFailed, Env> =>
  Effect.gen(function*() {
    const started = Date.now()
    let found = yield* find(jobId)
    // an open 2.0 ingest job is waiting for the rest of its upload: it would never finish by waiting
    if (found.api === "2.0" && found.kind === "ingest" && found.info.state === "Open") {
      return yield* new UsageError({
        message: `job ${jobId} is Open: its data upload was never marked complete, so Salesforce will not process it. ` +
          `If it came from an interrupted sfbulk import, finish that import with the sfbulk resume --journal <file> command it printed ` +
          `(sfbulk resume without arguments lists them): it takes care of this job. Otherwise stop it with sfbulk job abort ${jobId} ` +
          `and send its rows again`
      })
    }
    if (!isDone(found)) {
      if (!a.wait) {
        return yield* new UsageError({ message: `job ${jobId} is still ${found.info.state}: wait for it with sfbulk resume ${jobId}` })
      }
      found = yield* waitFor(found, a)
    }
    const t = yield* Transport.Transport
    const provide = <A>(stream: Stream.Stream<A, BulkError.BulkError, Env>) => Stream.provideService(stream, Transport.Transport, t)

    if (found.kind === "query") {
      if (found.api === "2.0" && found.info.state !== "JobComplete") {
        return yield* new BulkError.JobFailedError({ jobId, state: found.info.state, stateMessage: found.info.errorMessage ?? "" })
      }
      const format = Export.formatOf(a.format, a.output)
      let count = 0
      const source: Stream.Stream<Readonly<Record<string, unknown>>, BulkError.BulkError, Env> = found.api === "2.0"
        ? Bulk2.queryResults(jobId)
        : Bulk1.jobQueryResults(jobId)
      const rows = provide(source).pipe(Stream.tap(() => Effect.sync(() => void count++)))
      yield* writeText(a.output, Export.encode(rows, format, false))
      const summary = {
        ok: true,
        command: a.wait ? "resume" : "results",
        jobId,
        kind: "query",
        rows: count,
        format,
        output: a.output,
        exitCode: 0
      }
      if (a.output === "-") {
        if (a.json) process.stderr.write(`${JSON.stringify(summary)}\n`)
      } else if (a.json) printJson(summary)
      else printText(a, `wrote ${count.toLocaleString("en-US")} rows of query job ${jobId} to ${a.output}`)
      return
    }

    let created = 0
    const dir = Option.getOrElse(a.resultsDir, () => process.cwd())
    // a 2.0 job that ended Failed part way: its message is why the rest is unprocessed
    const failedReason = found.api === "2.0" && found.info.state === "Failed" && found.info.errorMessage
      ? { reason: found.info.errorMessage }
      : {}
    const written = found.api === "2.0"
      ? yield* Results.write(
        {
          columns: [],
          successes: provide(Bulk2.successfulResults(jobId)).pipe(
            Stream.tap((r) => Effect.sync(() => void (r["sf__Created"] === "true" && created++)))
          ),
          failures: Stream.map(provide(Bulk2.failedResults(jobId)), (r) => ({ record: r, code: firstCode(r["sf__Error"] ?? "") })),
          unprocessed: Stream.map(provide(Bulk2.unprocessedRecords(jobId)), (record) => ({ record, ...failedReason }))
        },
        { dir, jobId, formulaGuard: a.formulaGuard }
      )
      : yield* Effect.scoped(Effect.gen(function*() {
        const info = found.info as Bulk1.JobInfo
        const [s1, s2, s3] = yield* Stream.broadcast(provide(v1Outcomes(info)), 3, 256)
        return yield* Results.write(
          {
            columns: [],
            successes: Stream.filterMap(s1!, (o) => {
              if (o._tag !== "success") return Option.none()
              if (o.created) created++
              return Option.some(o.record)
            }),
            failures: Stream.filterMap(
              s2!,
              (o) => (o._tag === "failure" ? Option.some({ record: o.record, code: o.code }) : Option.none())
            ),
            unprocessed: Stream.filterMap(
              s3!,
              (o) => (o._tag === "unprocessed" ? Option.some({ record: o.record, reason: o.reason }) : Option.none())
            )
          },
          { dir, jobId, formulaGuard: a.formulaGuard }
        )
      }))
    const info = found.info
    if (info.state === "Failed" && written.succeeded + written.failed + written.unprocessed === 0) {
      return yield* new BulkError.JobFailedError({
        jobId,
        state: info.state,
        stateMessage: found.api === "2.0" ? found.info.errorMessage ?? "" : ""
      })
    }
    yield* finish(a, {
      command: a.wait ? "resume" : "results",
      object: info.object,
      operation: info.operation,
      api: found.api,
      jobIds: [jobId],
      rowsRead: written.succeeded + written.failed + written.unprocessed,
      processed: written.succeeded + written.failed,
      succeeded: written.succeeded,
      created,
      failed: written.failed,
      unprocessed: written.unprocessed,
      elapsedMs: Date.now() - started,
      errorsByCode: written.errorsByCode,
      unprocessedReasons: written.unprocessedReasons,
      files: written.files
    })
  })

const firstCode = (text: string) => {
  const m = /^\s*([A-Z][A-Z0-9_]*):/.exec(text)
  return m ? m[1]! : "UNKNOWN"
}

const printSubmitted = (a: IngestArgs, api: string, jobId: string, rows: number, state: string, batchIds?: ReadonlyArray<string>) => {
  const summary = {
    ok: true,
    command: a.command,
    async: true,
    api,
    object: a.object,
    operation: a.operation,
    jobIds: [jobId],
    ...(batchIds ? { batchIds } : {}),
    rowsUploaded: rows,
    state,
    exitCode: 0
  }
  if (a.json) return printJson(summary)
  printText(
    a,
    `submitted job ${jobId} (Bulk API ${api}, ${a.operation} ${a.object}, ${rows.toLocaleString("en-US")} rows` +
      `${batchIds ? ` in ${batchIds.length} batch${batchIds.length === 1 ? "" : "es"}` : ""}, ${state}).\n` +
      `  follow it:  sfbulk job status ${jobId}\n  finish it:  sfbulk resume ${jobId}`
  )
}

// Salesforce's 1.0 limits: 10,000 records and 10,000,000 characters per batch (kept with a margin).
const MAX_BATCH_CHARS = 9_500_000

const rowChars = (row: Readonly<Transform.Cells>) => {
  let n = 1
  // a null is sent as #N/A
  for (const k in row) n += (row[k]?.length ?? 4) + 3
  return n
}

/** Cuts a group of rows into batches within the character limit. */
const byChars = (rows: ReadonlyArray<Transform.Cells>): Array<Array<Transform.Cells>> => {
  const out: Array<Array<Transform.Cells>> = [[]]
  let chars = 0
  for (const row of rows) {
    const c = rowChars(row)
    if (chars + c > MAX_BATCH_CHARS && out[out.length - 1]!.length > 0) {
      out.push([])
      chars = 0
    }
    out[out.length - 1]!.push(row)
    chars += c
  }
  return out.filter((b) => b.length > 0)
}

/** `--async --api 1`: one job, a batch per `--batch-size` rows (10,000 at most), then close it. */
const submitAsync1 = (a: IngestArgs, file: string, t: Transform.Options): Effect.Effect<void, BulkError.BulkError, Env> =>
  Effect.gen(function*() {
    const input = shaped(a, file, t)
    const job = yield* Bulk1.createJob({
      operation: a.operation,
      object: a.object,
      concurrencyMode: a.serial ? "Serial" : "Parallel",
      externalIdFieldName: Option.getOrUndefined(a.externalId)
    })
    // Bulk API 1.0 processes each batch as it arrives: once one is sent, a run that stops (Ctrl-C, a
    // kill, a failure) has loaded rows that only this job id finds, so it is said before the first
    if (!a.quiet) {
      process.stderr.write(
        `sfbulk: created job ${job.id} (Bulk API 1.0); each batch is processed as it arrives. If this upload stops part way, ` +
          `do not send the file again: sfbulk resume ${job.id} writes the results of the rows sent.\n`
      )
    }
    const progress = Progress.reporter(Progress.modeFor(a), `${a.operation} ${a.object}`)
    const batchIds: Array<string> = []
    let rows = 0
    yield* input.records.pipe(
      Stream.grouped(Math.min(10_000, Option.getOrElse(a.batchSize, () => 10_000))),
      Stream.runForEach((group) =>
        Effect.forEach(byChars(Chunk.toReadonlyArray(group)), (batch) =>
          Effect.gen(function*() {
            const columns = input.header()
            const info = yield* Bulk1.addBatch(job, Bulk1.records(batch, columns.length > 0 ? { columns } : {}))
            batchIds.push(info.id)
            rows += batch.length
            progress.ingest({
              rowsRead: rows,
              rowsUploaded: rows,
              recordsProcessed: 0,
              recordsFailed: 0,
              piecesSubmitted: batchIds.length,
              piecesDone: 0,
              last: { jobId: job.id, batchId: info.id, state: "Queued" }
            })
          }), { discard: true })
      ),
      Effect.onError(() => Effect.ignore(Bulk1.abortJob(job))),
      Effect.tapError((e) =>
        Effect.sync(() => {
          if (batchIds.length === 0) return
          adviseResume(
            e,
            `${rows.toLocaleString("en-US")} row(s) in ${batchIds.length} batch(es) of job ${job.id} reached Salesforce before this ` +
              `failure and may be loaded (the job was aborted): do not send the file again. ` +
              `Write the results of the rows sent with: sfbulk resume ${job.id}`
          )
        })
      ),
      Effect.ensuring(Effect.sync(progress.done))
    )
    const closed = yield* Bulk1.closeJob(job)
    printSubmitted(a, "1.0", job.id, rows, closed.state, batchIds)
  })

/**
 * `--async`: create the job, upload the rows, mark the upload complete, print the job id (after
 * `precheck`, which the CLI runs before logging in).
 */
export const submitAsync = (a: IngestArgs): Effect.Effect<void, BulkError.BulkError | UsageError, Env> =>
  Effect.scoped(Effect.gen(function*() {
    // The input is read and checked whole once before any job is created, with the checks of the
    // synchronous path (ids, NUL characters, sizes, the operation's columns) and the reader's
    // (encoding, line endings, quotes, row widths): a bad row near the end sends nothing, and a
    // header without records creates no job. Standard input is spooled to a temp file for that.
    const file = a.file === "-" ? yield* spoolStdin : a.file
    // mapped, nulled and converted as the rows stream, in the check pass and again in the upload
    const t = yield* Effect.flatMap(resolveTransform(a), (t) => describeFor(a, t))
    const check = { operation: a.operation, externalIdFieldName: Option.getOrUndefined(a.externalId) }
    const checked = shaped(a, file, t)
    if ((yield* Stream.runCount(Csv.check(checked.records, check)).pipe(Effect.mapError(checked.locate))) === 0) {
      if (!a.allowEmpty) return yield* noRecords(a.file)
      if (a.json) {
        return printJson({
          ok: true,
          command: a.command,
          async: true,
          api: a.api,
          object: a.object,
          operation: a.operation,
          jobIds: [],
          rowsUploaded: 0,
          exitCode: 0
        })
      }
      return printText(a, `${a.file} has no records: nothing to upload, no job created.`)
    }
    if (a.api === "1.0") return yield* submitAsync1(a, file, t)
    if (Fs.statSync(file).size > 95_000_000) {
      return yield* new UsageError({
        message:
          `--async sends one Bulk API 2.0 job (at most 100 MB) and ${a.file} is larger: drop --async so sfbulk splits it into several jobs`
      })
    }
    const input = shaped(a, file, t)
    const progress = Progress.reporter(Progress.modeFor(a), `${a.operation} ${a.object}`)
    const job = yield* Bulk2.createIngestJob({
      object: a.object,
      operation: a.operation,
      externalIdFieldName: Option.getOrUndefined(a.externalId)
    })
    let rows = 0
    const counted = Stream.tap(input.records, () =>
      Effect.sync(() => {
        rows++
        if (rows % 1000 === 0) {
          progress.ingest({
            rowsRead: rows,
            rowsUploaded: 0,
            recordsProcessed: 0,
            recordsFailed: 0,
            piecesSubmitted: 0,
            piecesDone: 0,
            last: { jobId: job.id, state: "Uploading" }
          })
        }
      }))
    // nulls as #N/A, as every upload writes them
    const bytes = Csv.encode(counted)
    // checked (and spooled) before the PUT: bad data uploads nothing (the job is aborted below)
    yield* Bulk2.uploadJobData(job, bytes).pipe(
      Effect.onError(() => Effect.ignore(Bulk2.abortIngestJob(job.id))),
      Effect.ensuring(Effect.sync(progress.done))
    )
    const closed = yield* Bulk2.closeIngestJob(job.id)
    printSubmitted(a, "2.0", job.id, rows, closed.state)
  }))

/** The reader options of an ingest command; messages name the input as the user gave it. */
const readOptions = (a: IngestArgs) => ({ encoding: a.encoding, delimiter: a.delimiter, name: a.file })

/** The input opened and transformed as it streams (`--mapping`, `--insert-nulls`, `--date-format`); errors located in the file. */
const shaped = (a: IngestArgs, file: string, t: Transform.Options) => {
  const opened = openCsv(file, { ...readOptions(a), trackLines: t.dateFormat !== undefined })
  const out = Transform.apply(opened.records, opened.header, t, a.file === "-" ? "standard input" : a.file, lineOf)
  // the transform's own errors already name their line; the checks' errors name a record index
  const located = new WeakSet<object>()
  const records = Stream.tapError(out.records, (e) => Effect.sync(() => located.add(e)))
  return {
    records,
    header: out.header,
    locate: (e: BulkError.InvalidInputError) => (located.has(e) ? e : opened.locate(e))
  }
}
