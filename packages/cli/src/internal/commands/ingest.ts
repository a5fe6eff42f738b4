/**
 * `sfbulk import|update|upsert|delete|hard-delete <object> --file data.csv`: stream the CSV through
 * `BulkClient`, draw progress, write the result files, print the summary, exit 3 when rows failed.
 */
import { BulkClient, BulkError } from "@sfbulk/client"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Path from "node:path"
import { ExitCode } from "../../ExitCode.js"
import { RowsFailed, UsageError } from "../errors.js"
import { checkReadable, openCsv } from "../input.js"
import * as Progress from "../progress.js"
import { ingestText, type IngestSummary, type OutputFlags, printJson, printText } from "../report.js"
import * as Results from "../results.js"

/** The flags of an ingest command, parsed. */
export interface IngestArgs extends OutputFlags {
  readonly command: string
  readonly operation: BulkClient.Operation
  readonly object: string
  readonly file: string
  readonly externalId: Option.Option<string>
  readonly api: "1.0" | "2.0"
  readonly serial: boolean
  readonly batchSize: Option.Option<number>
  readonly concurrency: Option.Option<number>
  readonly wait: Option.Option<Duration.Duration>
  readonly resultsDir: Option.Option<string>
  readonly formulaGuard: boolean
  readonly allowPartial: boolean
  /** A header without rows exits 0 instead of being an input error. */
  readonly allowEmpty: boolean
  /** `--encoding`: the input's encoding (WHATWG label; default UTF-8). */
  readonly encoding?: string | undefined
  /** `--delimiter`: the input's column delimiter (default: read off the header line). */
  readonly delimiter?: string | undefined
}

/** A CSV with a header and no records, without `--allow-empty`. */
export const noRecords = (file: string) =>
  new BulkError.InvalidInputError({
    what: `${file === "-" ? "standard input" : file} has a header row but no records: nothing to upload (pass --allow-empty to exit 0 when there is nothing to do)`
  })

/** Where result files go: `--results-dir`, else beside the input, else the working directory. */
export const resultsDir = (resultsDir: Option.Option<string>, file: string): string =>
  Option.getOrElse(resultsDir, () => (file === "-" ? process.cwd() : Path.dirname(Path.resolve(file))))

/** Checks flag combinations the parser cannot express. */
const validate = (a: IngestArgs): Effect.Effect<void, UsageError> => {
  if (a.operation === "upsert" && Option.isNone(a.externalId)) {
    return Effect.fail(new UsageError({ message: "upsert needs --external-id <Field> (an External ID field of the object, or Id)" }))
  }
  if (a.operation !== "upsert" && Option.isSome(a.externalId)) {
    return Effect.fail(new UsageError({ message: `--external-id only applies to upsert, not ${a.command}` }))
  }
  if (Option.isSome(a.batchSize) && a.batchSize.value < 1) {
    return Effect.fail(new UsageError({ message: `--batch-size must be at least 1 (got ${a.batchSize.value})` }))
  }
  if (a.api === "1.0" && Option.isSome(a.batchSize) && a.batchSize.value > 10_000) {
    return Effect.fail(new UsageError({ message: `--batch-size must be at most 10000 on Bulk API 1.0 (got ${a.batchSize.value})` }))
  }
  if (Option.isSome(a.concurrency) && a.concurrency.value < 1) {
    return Effect.fail(new UsageError({ message: `--concurrency must be at least 1 (got ${a.concurrency.value})` }))
  }
  return Effect.void
}

/** Summary numbers shared by the ingest command and `resume`. */
export const finish = (
  flags: OutputFlags & { readonly allowPartial: boolean },
  summary: Omit<IngestSummary, "ok" | "exitCode" | "rowsPerSecond">
): Effect.Effect<void, RowsFailed> => {
  const bad = summary.failed + summary.unprocessed
  const exitCode = bad > 0 && !flags.allowPartial ? ExitCode.RowsFailed : ExitCode.Ok
  const full: IngestSummary = {
    ok: bad === 0,
    ...summary,
    rowsPerSecond: summary.elapsedMs <= 0 ? 0 : Math.round((summary.processed * 1000) / summary.elapsedMs),
    exitCode
  }
  if (flags.json) printJson(full)
  else printText(flags, ingestText(full))
  return exitCode === ExitCode.Ok
    ? Effect.void
    : Effect.fail(
      new RowsFailed({
        message: `${summary.failed.toLocaleString("en-US")} row(s) failed and ${summary.unprocessed.toLocaleString("en-US")} were not processed` +
          (summary.files ? `: see ${summary.files.failed}` : "") + ` (pass --allow-partial to exit 0 anyway)`
      })
    )
}

/** What can be checked before logging in: the flags and that the input file exists. */
export const precheck = (a: IngestArgs): Effect.Effect<void, UsageError | BulkError.InvalidInputError> =>
  Effect.zipRight(validate(a), checkReadable(a.file))

/** Runs one ingest command (after {@link precheck}, which the CLI runs before logging in). */
export const run = (a: IngestArgs): Effect.Effect<void, BulkError.BulkError | UsageError | RowsFailed, BulkClient.BulkClient> =>
  Effect.gen(function*() {
    const input = openCsv(a.file, a)
    const progress = Progress.reporter(Progress.modeFor(a), `${a.operation} ${a.object}`)
    const client = yield* BulkClient.BulkClient
    const jobs = new Set<string>()
    const interrupted = () => {
      progress.done()
      const ids = [...jobs]
      process.stderr.write(
        ids.length === 0
          ? "\nsfbulk: interrupted before any job was created.\n"
          : `\nsfbulk: interrupted. Job ${ids.join(", ")} keeps running on Salesforce: finish it with sfbulk resume ${ids[0]} (or stop it with sfbulk job abort ${ids[0]}).\n`
      )
      process.exit(ExitCode.Interrupted)
    }
    const options: BulkClient.IngestOptions<any> = {
      api: a.api,
      serial: a.serial,
      // an empty file or a header alone is reported below, naming the file
      allowEmpty: true,
      onProgress: (p) => {
        if (p.last !== undefined) jobs.add(p.last.jobId)
        progress.ingest(p)
      },
      ...(Option.isSome(a.batchSize) ? { batchSize: a.batchSize.value } : {}),
      ...(Option.isSome(a.concurrency) ? { concurrency: a.concurrency.value } : {}),
      ...(Option.isSome(a.wait) ? { timeout: a.wait.value } : {})
    }
    const started = Date.now()
    process.once("SIGINT", interrupted)
    const outcome = yield* (
      a.operation === "upsert"
        ? client.upsert(a.object, Option.getOrThrow(a.externalId), input.records, options)
        : a.operation === "delete"
        ? client.delete(a.object, input.records as any, options as any)
        : a.operation === "hardDelete"
        ? client.hardDelete(a.object, input.records as any, options as any)
        : client[a.operation](a.object, input.records, options)
    ).pipe(Effect.ensuring(Effect.sync(() => {
      process.off("SIGINT", interrupted)
      progress.done()
    })))
    const s = outcome.summary
    const source = a.file === "-" ? "standard input" : a.file
    if (s.rowsRead === 0 && input.header().length === 0) {
      return yield* new BulkError.InvalidInputError({
        what: `${source} is empty: expected a header row of field names, then one row per record`
      })
    }
    if (s.rowsRead === 0 && !a.allowEmpty) return yield* noRecords(a.file)
    const jobId = s.jobIds[0]
    let files: Results.ResultFiles | undefined
    let errorsByCode: Readonly<Record<string, number>> = {}
    // an upsert's summary leaves `created` to the results' Created flags, counted while writing them
    let created = s.created ?? 0
    if (jobId !== undefined) {
      const written = yield* Results.write(Results.fromOutcome(outcome, input.header()), {
        dir: resultsDir(a.resultsDir, a.file),
        jobId,
        formulaGuard: a.formulaGuard
      })
      files = written.files
      errorsByCode = written.errorsByCode
      created = s.created ?? written.created
    }
    yield* finish(a, {
      command: a.command,
      object: s.object,
      operation: s.operation,
      api: s.api,
      jobIds: s.jobIds,
      ...(s.batchIds.length > 0 ? { batchIds: s.batchIds } : {}),
      rowsRead: s.rowsRead,
      processed: s.processed,
      succeeded: s.succeeded,
      created,
      failed: s.failed,
      unprocessed: s.unprocessed,
      elapsedMs: Duration.toMillis(s.elapsed) > 0 ? Duration.toMillis(s.elapsed) : Date.now() - started,
      errorsByCode,
      files
    })
  })
