/**
 * `sfbulk import|update|upsert|delete|hard-delete <object> --file data.csv`: stream the CSV through
 * `BulkClient`, draw progress, write the result files, print the summary, exit 3 when rows failed.
 */
import { BulkClient, BulkError, Describe, Journal, type Transport } from "@sfbulk/client"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { ExitCode } from "../../ExitCode.js"
import { RowsFailed, UsageError } from "../errors.js"
import { adviseResume } from "../hints.js"
import { checkReadable, lineOf, openCsv } from "../input.js"
import * as Progress from "../progress.js"
import * as Recovery from "../recovery.js"
import { ingestText, type IngestSummary, type OutputFlags, printJson, printText } from "../report.js"
import * as Results from "../results.js"
import * as Transform from "../transform.js"

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
  /** `--retry-locked-rows N`: serial follow-up rounds for rows that failed UNABLE_TO_LOCK_ROW (kept in the journal). */
  readonly retryLockedRows?: number | undefined
  /** `--order-by-parent auto|Field`: sort rows by parent before upload (`auto`: the describe's locking lookups; kept in the journal). */
  readonly orderByParent?: string | undefined
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
  /** `--journal <file>`: the journal to keep (default: a new one in the state directory, removed once finished). */
  readonly journal: Option.Option<string>
  /** `--mapping <file>`: read before anything is sent (a resume takes the journal's copy instead). */
  readonly mapping?: string | undefined
  /** `--date-format`, `--time-zone`, `--date-fields`, `--insert-nulls` (and, on resume, the mapping's text). */
  readonly transform?: Transform.Options | undefined
}

/** A CSV with a header and no records, without `--allow-empty`. */
export const noRecords = (file: string) =>
  new BulkError.InvalidInputError({
    what: `${
      file === "-" ? "standard input" : file
    } has a header row but no records: nothing to upload (pass --allow-empty to exit 0 when there is nothing to do)`
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
  if (a.retryLockedRows !== undefined && !(a.retryLockedRows >= 1 && a.retryLockedRows <= 20)) {
    return Effect.fail(new UsageError({ message: `--retry-locked-rows must be from 1 to 20 rounds (got ${a.retryLockedRows})` }))
  }
  if (Option.isSome(a.concurrency) && a.concurrency.value < 1) {
    return Effect.fail(new UsageError({ message: `--concurrency must be at least 1 (got ${a.concurrency.value})` }))
  }
  const bad = Transform.checkFlags(a.transform ?? {})
  if (bad !== undefined) return Effect.fail(new UsageError({ message: bad }))
  return Effect.void
}

/** Salesforce's message for a batch that ran out of time on every attempt (`InternalServerError : Retried more than 20 times`). */
const RETRIED = /Retried more than/i

/**
 * Why rows were not processed, when Salesforce said, and for a batch out of time the CLI's way
 * out: re-sent as they were, the same batches would run out of time again.
 */
const unprocessedAdvice = (reasons: Readonly<Record<string, number>> | undefined): string => {
  const said = Object.keys(reasons ?? {})
  if (said.length === 0) return ""
  // (each failed job or batch may word it differently: the first few say enough)
  return `. Not processed because: ${said.slice(0, 3).join("; ")}${said.length > 3 ? ` (and ${said.length - 3} more reasons)` : ""}` +
    (said.some((r) => RETRIED.test(r))
      ? ": Salesforce could not finish their batch within its time limit, so send them in smaller batches (a lower --batch-size) " +
        "or lighten the triggers and automation on the object"
      : "")
}

/**
 * Rows failed on record locks have nothing to fix: they are sent again, in serial follow-up rounds,
 * and with the input ordered by parent so parallel batches stop contending (lockRetry.ts).
 */
const lockAdvice = (errorsByCode: Readonly<Record<string, number>>): string => {
  const locked = errorsByCode["UNABLE_TO_LOCK_ROW"] ?? 0
  return locked === 0 ?
    "" :
    `. ${locked.toLocaleString("en-US")} of them failed on record locks (UNABLE_TO_LOCK_ROW), not on their data: ` +
    "send them again with --retry-locked-rows <rounds>, and --order-by-parent auto (or the parent field, e.g. AccountId) so " +
    "that children of one parent share a batch"
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
        message: `${summary.succeeded.toLocaleString("en-US")} row(s) loaded, ${summary.failed.toLocaleString("en-US")} failed and ` +
          `${summary.unprocessed.toLocaleString("en-US")} were not processed` +
          (summary.files
            ? `: ${
              [summary.failed > 0 ? summary.files.failed : "", summary.unprocessed > 0 ? summary.files.unprocessed : ""].filter((f) =>
                f !== ""
              ).join(" and ")
            } ` +
              `${summary.failed > 0 && summary.unprocessed > 0 ? "hold" : "holds"} exactly the rows still to send ` +
              // unprocessed rows and rows failed on a lock have nothing to fix: they are only sent again
              (summary.failed > (summary.errorsByCode["UNABLE_TO_LOCK_ROW"] ?? 0)
                ? `(fix the failed rows, then send only ${summary.unprocessed > 0 ? "those files" : "that file"}, not the whole input)`
                : `(send only ${summary.failed > 0 && summary.unprocessed > 0 ? "those files" : "that file"} again, not the whole input)`)
            : "") +
          unprocessedAdvice(summary.unprocessedReasons) +
          lockAdvice(summary.errorsByCode) +
          ` (pass --allow-partial to exit 0 anyway)`
      })
    )
}

/**
 * What can be checked before logging in: the flags, that the input file exists, and that the
 * result files can be written (found after the upload, a re-run would send every row again).
 */
export const precheck = (a: IngestArgs): Effect.Effect<void, UsageError | BulkError.InvalidInputError> =>
  Effect.all([
    validate(a),
    checkReadable(a.file),
    a.mapping === undefined ? Effect.void : Transform.readMapping(a.mapping),
    Recovery.checkWritableDir(resultsDir(a.resultsDir, a.file), "the results directory")
  ], {
    discard: true
  })

/**
 * The transform settings with the mapping file read and the time zone resolved (the machine's
 * when not given), as the journal keeps them: a resume then maps and converts exactly the same way.
 */
export const resolveTransform = (a: IngestArgs): Effect.Effect<Transform.Options, BulkError.InvalidInputError> =>
  Effect.map(a.mapping === undefined ? Effect.succeed(a.transform?.mapping) : Transform.readMapping(a.mapping), (mapping) => {
    const t = a.transform ?? {}
    return {
      ...(mapping === undefined ? {} : { mapping }),
      ...(t.dateFormat === undefined
        ? {}
        : { dateFormat: t.dateFormat, timeZone: t.timeZone ?? Transform.localTimeZone(), dateFields: t.dateFields }),
      ...(t.insertNulls ? { insertNulls: true } : {})
    }
  })

/**
 * The transform fitted to the object's describe, read once per run when the transform needs it
 * (`--date-format` without `--date-fields`, or `--mapping`): the date fields come from the field
 * types, and the mapping's targets are checked and fitted (see `Transform.fitToObject`). A describe
 * that fails (no permission, offline) is an input error asking for `--date-fields` when the dates
 * depend on it; otherwise the load goes ahead unchecked, with a note when the mapping has lookups
 * naming an object type (sent as written).
 */
export const describeFor = (
  a: Pick<IngestArgs, "object" | "quiet" | "json">,
  t: Transform.Options
): Effect.Effect<Transform.Options, BulkError.InvalidInputError, Transport.Transport> =>
  !Transform.needsDescribe(t) ? Effect.succeed(t) : Effect.gen(function*() {
    const described = yield* Effect.either(Describe.sObject(a.object))
    if (Either.isRight(described)) {
      const fitted = Transform.fitToObject(t, described.right)
      return fitted instanceof BulkError.InvalidInputError ? yield* fitted : fitted
    }
    const e = described.left
    // an object Salesforce does not know: the load would fail the same way
    if (e._tag === "InvalidInputError") return yield* e
    if (t.dateFormat !== undefined && (t.dateFields === undefined || t.dateFields.length === 0)) {
      return yield* new BulkError.InvalidInputError({
        what: `--date-format: sfbulk could not read the field types of ${a.object} to find its date fields (its describe failed: ` +
          `${e.message}): name the fields holding dates with --date-fields, e.g. --date-fields CloseDate:date,Start__c:datetime`
      })
    }
    const typed = Transform.typedLookups(t)
    if (typed.length > 0 && !a.quiet) {
      yield* Effect.sync(() =>
        process.stderr.write(
          `sfbulk: note: could not describe ${a.object} (${e.message}), so the mapping's lookups ${typed.join(", ")} are sent ` +
            `as written; Salesforce takes Object:Relationship.Field only for polymorphic lookups (else write Relationship.Field)\n`
        )
      )
    }
    return t
  })

/** What the journal keeps of the command line (see recovery.ts). */
const settings = (a: IngestArgs, transform: Transform.Options): Recovery.Settings => ({
  command: a.command,
  operation: a.operation,
  object: a.object,
  externalId: Option.getOrUndefined(a.externalId),
  api: a.api,
  serial: a.serial,
  batchSize: Option.getOrUndefined(a.batchSize),
  concurrency: Option.getOrUndefined(a.concurrency),
  ...(a.retryLockedRows === undefined ? {} : { retryLockedRows: a.retryLockedRows }),
  ...(a.orderByParent === undefined ? {} : { orderByParent: a.orderByParent }),
  resultsDir: Path.resolve(resultsDir(a.resultsDir, a.file)),
  formulaGuard: a.formulaGuard,
  allowPartial: a.allowPartial,
  allowEmpty: a.allowEmpty,
  encoding: a.encoding,
  delimiter: a.delimiter,
  ...(Transform.isActive(transform) ? { transform } : {})
})

type RunError = BulkError.BulkError | UsageError | RowsFailed

/**
 * Runs one ingest command (after {@link precheck}, which the CLI runs before logging in), journaled
 * so that an interrupted run can be finished by `sfbulk resume --journal` (see recovery.ts). With
 * `--journal` naming an existing journal, this resumes it.
 */
export const run = (a: IngestArgs): Effect.Effect<void, RunError, BulkClient.BulkClient | Transport.Transport> =>
  Effect.gen(function*() {
    // a journal given again is resumed with its own transform: no describe needed
    const resuming = Option.isSome(a.journal) && Fs.existsSync(a.journal.value)
    const transform = yield* Effect.flatMap(resolveTransform(a), (t) => (resuming ? Effect.succeed(t) : describeFor(a, t)))
    const rec = yield* Recovery.start(settings(a, transform), a.file, a.journal)
    if (!rec.fresh && a.file !== "-" && Path.resolve(a.file) !== rec.meta.input.read) {
      return yield* new BulkError.InvalidInputError({
        what: `the journal ${rec.journal} belongs to an import of ${rec.meta.input.read}, not ${a.file}: finish it with ` +
          `${Recovery.resumeCommand(rec.journal)}, or give this import another --journal`
      })
    }
    // a resumed journal maps and converts as its first run did
    yield* execute({ ...a, mapping: undefined, transform: rec.fresh ? transform : rec.meta.transform }, rec)
  })

/** The flags `sfbulk resume --journal` takes from its own command line. */
export interface ResumeFlags extends OutputFlags {
  readonly wait: Option.Option<Duration.Duration>
  readonly resultsDir: Option.Option<string>
  readonly allowPartial: boolean
}

/**
 * `sfbulk resume --journal <file>`: re-reads the input (refusing one gone or changed, and then
 * naming the records never sent), finishes every job the journal lists, sends only the rows none
 * of them holds, and writes the result files for every row.
 */
export const resumeJournal = (path: string, flags: ResumeFlags): Effect.Effect<void, RunError, BulkClient.BulkClient> =>
  Effect.gen(function*() {
    const rec = yield* Recovery.open(path)
    const m = rec.meta
    const dir = Option.getOrElse(flags.resultsDir, () => m.resultsDir)
    yield* Recovery.checkWritableDir(dir, "the results directory")
    const note = Recovery.followUpNote(yield* Journal.read(rec.journal), m.retryLockedRows)
    if (note !== undefined && !flags.quiet) process.stderr.write(`sfbulk: ${note}\n`)
    yield* execute({
      command: "resume",
      operation: m.operation as BulkClient.Operation,
      object: m.object,
      file: m.input.given,
      externalId: Option.fromNullable(m.externalId),
      api: m.api,
      serial: m.serial,
      batchSize: Option.fromNullable(m.batchSize),
      concurrency: Option.fromNullable(m.concurrency),
      retryLockedRows: m.retryLockedRows,
      orderByParent: m.orderByParent,
      wait: flags.wait,
      resultsDir: Option.some(dir),
      formulaGuard: m.formulaGuard,
      allowPartial: flags.allowPartial || m.allowPartial,
      allowEmpty: m.allowEmpty,
      encoding: m.encoding,
      delimiter: m.delimiter,
      transform: m.transform,
      json: flags.json,
      quiet: flags.quiet,
      journal: Option.some(rec.journal)
    }, rec)
  })

/** The advice after a journaled run stopped by `error` once something was sent. */
const adviceFor = (rec: Recovery.Recording, error: { readonly _tag?: string }, journal: Journal.Journal | undefined) => {
  if (error._tag !== "BatchFailedError" && error._tag !== "JobFailedError") return Recovery.advice(rec)
  const sent = (journal?.pieces ?? []).filter((p) => p.stage === "uploaded")
  const rows = sent.reduce((n, p) => n + p.ranges.reduce((m, [s, e]) => m + e - s, 0), 0)
  return Recovery.advice(
    rec,
    `${rows.toLocaleString("en-US")} row(s) in ${sent.length} piece(s) reached Salesforce before this failure and may be loaded: ` +
      "do not send the input again. "
  ) +
    "\n  Its result files then hold every row (those loaded included); the rows of the failed piece are in <job>-unprocessed.csv: " +
    "fix them if needed and send only that file."
}

const execute = (a: IngestArgs, rec: Recovery.Recording): Effect.Effect<void, RunError, BulkClient.BulkClient> => {
  const progress = Progress.reporter(Progress.modeFor(a), `${a.operation} ${a.object}`)
  // a signal at any point (upload, waits, result files) ends the run cleanly with the resume advice
  const run = Recovery.interruptible(
    rec,
    () => progress.done(),
    Effect.gen(function*() {
      const t = a.transform ?? {}
      const opened = openCsv(rec.meta.input.read, { ...a, trackLines: t.dateFormat !== undefined })
      // renamed, nulled (#N/A always) and converted as the rows stream; the result files hold what was sent
      const shaped = Transform.apply(opened.records, opened.header, t, a.file === "-" ? "standard input" : a.file, lineOf)
      const input = { header: shaped.header, records: Recovery.counted(rec, shaped.records) }
      const client = yield* BulkClient.BulkClient
      const options: BulkClient.IngestOptions<any> = {
        api: a.api,
        serial: a.serial,
        // an empty file or a header alone is reported below, naming the file
        allowEmpty: true,
        // every piece is recorded as it is sent, so any interruption can be finished by `sfbulk resume --journal`
        journal: rec.journal,
        onProgress: (p) => progress.ingest(p),
        ...(Option.isSome(a.batchSize) ? { batchSize: a.batchSize.value } : {}),
        ...(Option.isSome(a.concurrency) ? { concurrency: a.concurrency.value } : {}),
        // a resume goes on with the follow-up rounds the journal records (recovery.ts keeps these)
        ...(a.retryLockedRows === undefined ? {} : { retryLockedRows: a.retryLockedRows }),
        ...(a.orderByParent === undefined ? {} : { orderByParent: a.orderByParent }),
        ...(Option.isSome(a.wait) ? { timeout: a.wait.value } : {})
      }
      const started = Date.now()
      const outcome = yield* (
        a.operation === "upsert"
          ? client.upsert(a.object, Option.getOrThrow(a.externalId), input.records, options)
          : a.operation === "delete"
          ? client.delete(a.object, input.records as any, options as any)
          : a.operation === "hardDelete"
          ? client.hardDelete(a.object, input.records as any, options as any)
          : client[a.operation](a.object, input.records, options)
      ).pipe(
        Effect.mapError((e) => (e._tag === "InvalidInputError" ? opened.locate(e) : e)),
        Effect.ensuring(Effect.sync(() => progress.done()))
      )
      const s = outcome.summary
      const source = a.file === "-" ? "standard input" : a.file
      if (s.rowsRead === 0 && opened.header().length === 0) {
        return yield* new BulkError.InvalidInputError({
          what: `${source} is empty: expected a header row of field names, then one row per record`
        })
      }
      if (s.rowsRead === 0 && !a.allowEmpty) return yield* noRecords(a.file)
      const jobId = s.jobIds[0]
      let files: Results.ResultFiles | undefined
      let errorsByCode: Readonly<Record<string, number>> = {}
      let unprocessedReasons: Readonly<Record<string, number>> = {}
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
        unprocessedReasons = written.unprocessedReasons
        created = s.created ?? written.created
      }
      // every row has an outcome and the result files hold them: nothing is left to resume
      yield* Recovery.discard(rec)
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
        unprocessedReasons,
        files
      })
    })
  ).pipe(
    Effect.tapError((error) =>
      error._tag === "RowsFailed"
        ? Effect.void
        : Recovery.sentAnything(rec)
        ? Effect.flatMap(Effect.option(Journal.read(rec.journal)), (j) =>
          Effect.sync(() => adviseResume(error, adviceFor(rec, error, Option.getOrUndefined(j)))))
        : rec.fresh
        ? Recovery.discard(rec)
        : Effect.void
    )
  )
  // a resumed journal's input must be the one it was made from (checked under the lock)
  return Recovery.locked(rec, Recovery.spooled(rec, Effect.zipRight(rec.fresh ? Effect.void : Recovery.checkInput(rec), run)))
}
