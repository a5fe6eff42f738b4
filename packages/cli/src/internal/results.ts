/**
 * The result files of an ingest job, named after its (first) job id: `<job>-success.csv`
 * (`sf__Id`, `sf__Created`, then the columns as sent), `<job>-failed.csv` (`sf__Id`, `sf__Error` in
 * Salesforce's `CODE:message:fields --` form, then the columns) and `<job>-unprocessed.csv` (the
 * columns). Each is streamed from Salesforce to disk; failures are counted by error code on the way.
 */
import type { BulkClient, BulkError } from "@sfbulk/client"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Path from "node:path"
import { csvText, writeText } from "./output.js"

/** Paths of the three result files. */
export interface ResultFiles {
  readonly success: string
  readonly failed: string
  readonly unprocessed: string
}

/** What writing the result files found. */
export interface Written {
  readonly files: ResultFiles
  readonly succeeded: number
  /** Successes whose `sf__Created` is `true`. */
  readonly created: number
  readonly failed: number
  readonly unprocessed: number
  /** Failed rows per Salesforce error code (the first error of each row). */
  readonly errorsByCode: Readonly<Record<string, number>>
  /**
   * Unprocessed rows per reason Salesforce gave (the message of the job or batch that failed before
   * reaching them, e.g. a batch out of time); rows without a reason (an aborted job) are not counted.
   */
  readonly unprocessedReasons: Readonly<Record<string, number>>
}

/** Result file paths for a job in `dir`. */
export const filesFor = (dir: string, jobId: string): ResultFiles => ({
  success: Path.resolve(dir, `${jobId}-success.csv`),
  failed: Path.resolve(dir, `${jobId}-failed.csv`),
  unprocessed: Path.resolve(dir, `${jobId}-unprocessed.csv`)
})

/** Salesforce's own error text for a failure (what a 2.0 `sf__Error` cell holds). */
export const errorText = (errors: ReadonlyArray<BulkClient.RecordError>): string =>
  errors.map((e) => `${e.code}:${e.message}:${e.fields.join(",")} --`).join(" ")

/** Rows of the three result streams, already shaped as CSV records. */
export interface ResultRows<E> {
  /** The input's columns (header); when empty, the first row of each stream decides. */
  readonly columns: ReadonlyArray<string>
  readonly successes: Stream.Stream<Readonly<Record<string, string>>, E>
  readonly failures: Stream.Stream<{ readonly record: Readonly<Record<string, string>>; readonly code: string }, E>
  /** With the reason Salesforce gave, when it did (the file holds only the row: it is re-sent as is). */
  readonly unprocessed: Stream.Stream<{ readonly record: Readonly<Record<string, string>>; readonly reason?: string | undefined }, E>
}

/** From the client's outcome streams. */
export const fromOutcome = (outcome: BulkClient.Outcome, columns: ReadonlyArray<string>): ResultRows<BulkError.BulkError> => ({
  columns,
  successes: Stream.map(outcome.successes, (s) => ({ sf__Id: s.id, sf__Created: String(s.created), ...s.row })),
  failures: Stream.map(outcome.failures, (f) => ({
    record: { sf__Id: f.id ?? "", sf__Error: errorText(f.errors.length > 0 ? f.errors : [f]), ...f.row },
    code: f.code
  })),
  unprocessed: Stream.map(outcome.unprocessed, (u) => ({ record: u.row, reason: u.reason }))
})

/** Writes the three files (concurrently; each streamed) into `dir`. */
export const write = <E>(
  rows: ResultRows<E>,
  options: { readonly dir: string; readonly jobId: string; readonly formulaGuard: boolean }
): Effect.Effect<Written, E | BulkError.InvalidInputError> =>
  Effect.gen(function*() {
    const files = filesFor(options.dir, options.jobId)
    const cols = (prefix: ReadonlyArray<string>) => (rows.columns.length === 0 ? undefined : [...prefix, ...rows.columns])
    const counts = { succeeded: 0, created: 0, failed: 0, unprocessed: 0 }
    const byCode: Record<string, number> = {}
    const byReason: Record<string, number> = {}
    yield* Effect.all([
      writeText(
        files.success,
        csvText(
          rows.successes.pipe(Stream.mapChunks((c) => {
            counts.succeeded += c.length
            for (const r of c) if (r["sf__Created"] === "true") counts.created++
            return c
          })),
          { columns: cols(["sf__Id", "sf__Created"]), formulaGuard: options.formulaGuard }
        )
      ),
      writeText(
        files.failed,
        csvText(
          rows.failures.pipe(
            Stream.map((f) => {
              counts.failed++
              byCode[f.code] = (byCode[f.code] ?? 0) + 1
              return f.record
            })
          ),
          { columns: cols(["sf__Id", "sf__Error"]), formulaGuard: options.formulaGuard }
        )
      ),
      writeText(
        files.unprocessed,
        csvText(
          rows.unprocessed.pipe(
            Stream.map((u) => {
              counts.unprocessed++
              if (u.reason !== undefined && u.reason !== "") byReason[u.reason] = (byReason[u.reason] ?? 0) + 1
              return u.record
            })
          ),
          { columns: cols([]), formulaGuard: options.formulaGuard }
        )
      )
    ], { concurrency: 3, discard: true })
    return { files, ...counts, errorsByCode: byCode, unprocessedReasons: byReason }
  })
