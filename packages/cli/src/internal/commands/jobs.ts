/**
 * `sfbulk job list|status|abort|results`, `sfbulk resume` and `--async` submission: the commands that
 * work on a job by id through the low-level Bulk API modules, so a job started elsewhere (or by an
 * earlier run) can be watched, finished and have its results written without uploading again.
 */
import { Bulk2, BulkError, Transport } from "@sfbulk/client"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import { UsageError, type RowsFailed } from "../errors.js"
import { checkReadable, openCsv } from "../input.js"
import { csvText, writeText } from "../output.js"
import * as Progress from "../progress.js"
import { type OutputFlags, printJson, printText, table } from "../report.js"
import * as Results from "../results.js"
import * as Export from "./export.js"
import { finish, type IngestArgs, resultsDir, validate } from "./ingest.js"

type Env = Transport.Transport

/** A job found by id: which API and kind it belongs to, and its current information. */
export type Found =
  | { readonly api: "2.0"; readonly kind: "ingest" | "query"; readonly info: Bulk2.JobInfo }

const isNotFound = (e: BulkError.BulkError) =>
  e._tag === "ApiError" && (e.status === 404 || e.errorCode === "NOT_FOUND" || e.errorCode === "INVALIDJOB" || e.errorCode === "InvalidJob")

/** Looks a job id up as a 2.0 ingest job, then a 2.0 query job. */
export const find = (jobId: string): Effect.Effect<Found, BulkError.BulkError, Env> =>
  Bulk2.getIngestJob(jobId).pipe(
    Effect.map((info): Found => ({ api: "2.0", kind: "ingest", info })),
    Effect.catchIf(isNotFound, () => Effect.map(Bulk2.getQueryJob(jobId), (info): Found => ({ api: "2.0", kind: "query", info })))
  )

const num = (v: number | undefined) => (v === undefined ? 0 : v)

const jobJson = (f: Found) => ({
  api: f.api,
  kind: f.kind,
  id: f.info.id,
  object: f.info.object,
  operation: f.info.operation,
  state: f.info.state,
  recordsProcessed: num(f.info.numberRecordsProcessed),
  recordsFailed: num(f.info.numberRecordsFailed),
  createdDate: f.info.createdDate ?? null,
  errorMessage: f.info.errorMessage ?? null
})

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
          jobs.map((j) => [j.id, j.kind, j.object, j.operation, j.state, String(j.recordsProcessed), String(j.recordsFailed), String(j.createdDate ?? "")])
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
      `  processed:  ${j.recordsProcessed.toLocaleString("en-US")}`,
      `  failed:     ${j.recordsFailed.toLocaleString("en-US")}`,
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
    if (Bulk2.isTerminal(f.info.state)) {
      return yield* new UsageError({ message: `job ${jobId} is already ${f.info.state}: nothing to abort` })
    }
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

/** `sfbulk job results <id>` and `sfbulk resume <id>`. */
export const results = (
  jobId: string,
  a: ResultsArgs
): Effect.Effect<void, BulkError.BulkError | UsageError | RowsFailed, Env> =>
  Effect.gen(function*() {
    const started = Date.now()
    const found = yield* find(jobId)
    let info = found.info
    if (!Bulk2.isTerminal(info.state)) {
      if (!a.wait) {
        return yield* new UsageError({
          message: `job ${jobId} is still ${info.state}: wait for it with sfbulk resume ${jobId}`
        })
      }
      const progress = Progress.reporter(Progress.modeFor(a), `${info.operation} ${info.object}`)
      const onPoll = (i: Bulk2.JobInfo) =>
        progress.ingest({
          rowsRead: 0,
          rowsUploaded: Math.max(num(i.numberRecordsProcessed), 0),
          recordsProcessed: num(i.numberRecordsProcessed),
          recordsFailed: num(i.numberRecordsFailed),
          piecesSubmitted: 1,
          piecesDone: Bulk2.isTerminal(i.state) ? 1 : 0,
          last: { jobId, state: i.state }
        })
      const options: Bulk2.WaitOptions = { onPoll, ...(Option.isSome(a.timeout) ? { timeout: a.timeout.value } : {}) }
      info = yield* (found.kind === "ingest" ? Bulk2.waitForIngestJob(jobId, options) : Bulk2.waitForQueryJob(jobId, options)).pipe(
        Effect.ensuring(Effect.sync(progress.done))
      )
    }
    if (found.kind === "query") {
      if (info.state !== "JobComplete") {
        return yield* new BulkError.JobFailedError({ jobId, state: info.state, stateMessage: info.errorMessage ?? "" })
      }
      const format = Export.formatOf(a.format, a.output)
      let count = 0
      const rows = Bulk2.queryResults(jobId).pipe(Stream.tap(() => Effect.sync(() => void count++)))
      yield* writeText(a.output, Export.encode(rows, format, false))
      const summary = { ok: true, command: "results", jobId, kind: "query", rows: count, format, output: a.output, exitCode: 0 }
      if (a.output === "-") {
        if (a.json) process.stderr.write(`${JSON.stringify(summary)}\n`)
      } else if (a.json) printJson(summary)
      else printText(a, `wrote ${count.toLocaleString("en-US")} rows of query job ${jobId} to ${a.output}`)
      return
    }
    const t = yield* Transport.Transport
    const withTransport = <A>(stream: Stream.Stream<A, BulkError.BulkError, Env>) => Stream.provideService(stream, Transport.Transport, t)
    let created = 0
    const written = yield* Results.write(
      {
        columns: [],
        successes: withTransport(Bulk2.successfulResults(jobId)).pipe(
          Stream.tap((r) => Effect.sync(() => void (r["sf__Created"] === "true" && created++)))
        ),
        failures: Stream.map(withTransport(Bulk2.failedResults(jobId)), (r) => ({ record: r, code: firstCode(r["sf__Error"] ?? "") })),
        unprocessed: withTransport(Bulk2.unprocessedRecords(jobId))
      },
      { dir: Option.getOrElse(a.resultsDir, () => process.cwd()), jobId, formulaGuard: a.formulaGuard }
    )
    if (info.state === "Failed" && written.succeeded + written.failed === 0 && written.unprocessed === 0) {
      return yield* new BulkError.JobFailedError({ jobId, state: info.state, stateMessage: info.errorMessage ?? "" })
    }
    yield* finish(a, {
      command: a.wait ? "resume" : "results",
      object: info.object,
      operation: info.operation,
      api: "2.0",
      jobIds: [jobId],
      rowsRead: written.succeeded + written.failed + written.unprocessed,
      processed: written.succeeded + written.failed,
      succeeded: written.succeeded,
      created,
      failed: written.failed,
      unprocessed: written.unprocessed,
      elapsedMs: Date.now() - started,
      errorsByCode: written.errorsByCode,
      files: written.files
    })
  })

const firstCode = (text: string) => {
  const m = /^\s*([A-Z][A-Z0-9_]*):/.exec(text)
  return m ? m[1]! : "UNKNOWN"
}

/** `--async`: create the job, upload the rows, mark the upload complete, print the job id. */
export const submitAsync = (a: IngestArgs): Effect.Effect<void, BulkError.BulkError | UsageError, Env> =>
  Effect.gen(function*() {
    yield* validate(a)
    if (a.api === "1.0") {
      return yield* new UsageError({ message: "--async is supported on Bulk API 2.0 only: drop --api 1, or drop --async" })
    }
    yield* checkReadable(a.file)
    if (a.file !== "-" && Fs.statSync(a.file).size > 95_000_000) {
      return yield* new UsageError({
        message: `--async sends one Bulk API 2.0 job (at most 100 MB) and ${a.file} is larger: drop --async so sfbulk splits it into several jobs`
      })
    }
    const input = openCsv(a.file)
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
          progress.ingest({ rowsRead: rows, rowsUploaded: 0, recordsProcessed: 0, recordsFailed: 0, piecesSubmitted: 0, piecesDone: 0, last: { jobId: job.id, state: "Uploading" } })
        }
      }))
    const encoder = new TextEncoder()
    const bytes = csvText(counted, { formulaGuard: false }).pipe(Stream.map((s) => encoder.encode(s)))
    yield* Bulk2.uploadJobData(job.id, bytes).pipe(
      Effect.onError(() => Effect.ignore(Bulk2.abortIngestJob(job.id))),
      Effect.ensuring(Effect.sync(progress.done))
    )
    const closed = yield* Bulk2.closeIngestJob(job.id)
    const summary = {
      ok: true,
      command: a.command,
      async: true,
      api: "2.0",
      object: a.object,
      operation: a.operation,
      jobIds: [job.id],
      rowsUploaded: rows,
      state: closed.state,
      resultsDir: resultsDir(a.resultsDir, a.file),
      exitCode: 0
    }
    if (a.json) printJson(summary)
    else {
      printText(
        a,
        `submitted job ${job.id} (${a.operation} ${a.object}, ${rows.toLocaleString("en-US")} rows, ${closed.state}).\n` +
          `  follow it:  sfbulk job status ${job.id}\n  finish it:  sfbulk resume ${job.id}`
      )
    }
  })
