/**
 * `sfbulk export "<SOQL>"`: run a bulk query and stream its rows as CSV, JSON or NDJSON to a file or
 * standard output. Rows flow from Salesforce to the output chunk by chunk: a ten-million-row export
 * runs in the memory of a small one.
 */
import { BulkClient, type BulkError } from "@sfbulk/client"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Chunk from "effect/Chunk"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import { UsageError } from "../errors.js"
import { csvText, jsonText, ndjsonText, writeText } from "../output.js"
import * as Progress from "../progress.js"
import { fitWidths, type OutputFlags, printJson, printText, tableLine } from "../report.js"
import * as Transform from "../transform.js"

/** Output formats. */
export type Format = "csv" | "json" | "ndjson" | "table"

/** The flags of `export`, parsed. */
export interface ExportArgs extends OutputFlags {
  readonly soql: Option.Option<string>
  readonly queryFile: Option.Option<string>
  readonly all: boolean
  readonly format: Option.Option<Format>
  readonly output: string
  readonly api: "1.0" | "2.0"
  readonly pkChunking: Option.Option<number>
  readonly parallel: Option.Option<number>
  readonly wait: Option.Option<Duration.Duration>
  readonly formulaGuard: boolean
  /** `--delimiter`: the CSV column delimiter (default comma). */
  readonly delimiter?: string | undefined
  /** `--time-zone`: datetimes rendered as wall-clock time in this IANA zone, with its offset. */
  readonly timeZone?: string | undefined
}

/** The format: `--format`, else from the output file's extension, else CSV. */
export const formatOf = (format: Option.Option<Format>, output: string): Format =>
  Option.getOrElse(format, () => (/\.ndjson$|\.jsonl$/i.test(output) ? "ndjson" : /\.json$/i.test(output) ? "json" : "csv"))

/**
 * The columns a query selects, when they can be read off its text (plain field paths only), so an
 * empty result still gets its CSV header.
 */
export const selectedColumns = (soql: string): ReadonlyArray<string> | undefined => {
  const m = /^\s*select\s+(.+?)\s+from\s/is.exec(soql)
  if (!m || /[()]/.test(m[1]!)) return undefined
  const fields = m[1]!.split(",").map((f) => f.trim())
  return fields.every((f) => /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(f)) ? fields : undefined
}

/** Rows whose cells set the table's column widths (later rows are cut to them: the table streams). */
export const TABLE_WINDOW = 200

/** A table's total width: the terminal's columns when writing to one, else this. */
export const TABLE_WIDTH = 160

/**
 * Rows as an aligned text table (`--format table`): the widths come from the header and the first
 * {@link TABLE_WINDOW} rows, narrowed to fit `width` characters; wider cells are cut with `…`.
 * Only that window is held, so a large export still streams.
 */
export const tableText = <E, R>(
  rows: Stream.Stream<Readonly<Record<string, unknown>>, E, R>,
  width: number,
  columns?: ReadonlyArray<string> | undefined
): Stream.Stream<string, E, R> =>
  Stream.suspend(() => {
    const text = (v: unknown) => (v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v))
    let header: ReadonlyArray<string> | undefined
    let widths: ReadonlyArray<number> = []
    const window: Array<Readonly<Record<string, unknown>>> = []
    const line = (r: Readonly<Record<string, unknown>>) => tableLine(header!.map((c) => text(r[c])), widths) + "\n"
    // fixes the widths from the window and renders it (with the header)
    const flush = (): string => {
      header ??= window.length > 0 ? Object.keys(window[0]!) : columns ?? []
      if (header.length === 0) return "(no rows)\n"
      const natural = header.map((h) => Math.max(h.length, ...window.map((r) => text(r[h]).length)))
      widths = fitWidths(natural, width)
      const out = [tableLine(header, widths), tableLine(widths.map((w) => "-".repeat(w)), widths)].join("\n") + "\n" +
        window.map(line).join("")
      window.length = 0
      return out
    }
    let flushed = false
    return Stream.concat(
      Stream.mapChunks(rows, (chunk) => {
        const all = Chunk.toReadonlyArray(chunk)
        if (flushed) return Chunk.of(all.map(line).join(""))
        // exactly the first TABLE_WINDOW rows fix the widths, however the rows arrive in chunks
        const room = TABLE_WINDOW - window.length
        for (let i = 0; i < Math.min(room, all.length); i++) window.push(all[i]!)
        if (window.length < TABLE_WINDOW) return Chunk.empty()
        flushed = true
        return Chunk.of(flush() + all.slice(room).map(line).join(""))
      }),
      Stream.suspend(() => (flushed ? Stream.empty : Stream.make(flush())))
    )
  })

/**
 * Encodes rows in `format`; `columns` is only used for the header of an empty CSV (or table),
 * `delimiter` separates CSV columns (default comma), `tableWidth` is a table's width.
 */
export const encode = <E, R>(
  rows: Stream.Stream<Readonly<Record<string, unknown>>, E, R>,
  format: Format,
  formulaGuard: boolean,
  columns?: ReadonlyArray<string> | undefined,
  delimiter?: string | undefined,
  tableWidth: number = TABLE_WIDTH
): Stream.Stream<string, E, R> => {
  if (format === "json") return jsonText(rows)
  if (format === "ndjson") return ndjsonText(rows)
  if (format === "table") return tableText(rows, tableWidth, columns)
  if (columns === undefined) return csvText(rows, { formulaGuard, delimiter })
  // The rows' own keys win (Salesforce's spelling); the declared columns only head an empty result.
  return Stream.suspend(() => {
    let any = false
    const seen = Stream.tap(rows, () => Effect.sync(() => void (any = true)))
    return Stream.concat(
      csvText(seen, { formulaGuard, delimiter }),
      Stream.suspend(() => (any ? Stream.empty : csvText(Stream.empty, { formulaGuard, columns, delimiter })))
    )
  })
}

const readQuery = (a: ExportArgs): Effect.Effect<string, UsageError | BulkError.InvalidInputError> =>
  Effect.gen(function*() {
    if (Option.isSome(a.soql) && Option.isSome(a.queryFile)) {
      return yield* new UsageError({ message: "give the query either as an argument or with --query-file, not both" })
    }
    if (Option.isSome(a.queryFile)) {
      const path = a.queryFile.value
      return yield* Effect.try({
        try: () => Fs.readFileSync(path, "utf8").trim(),
        catch: (e) =>
          new UsageError({
            message: (e as { code?: string }).code === "ENOENT"
              ? `the query file ${path} does not exist`
              : `cannot read the query file ${path}: ${(e as Error).message}`
          })
      })
    }
    if (Option.isSome(a.soql) && a.soql.value.trim().length > 0) return a.soql.value.trim()
    return yield* new UsageError({ message: "give a SOQL query: sfbulk export \"SELECT Id, Name FROM Account\" (or --query-file q.soql)" })
  })

/** Checks the flags and reads the query, before logging in. */
export const precheck = (a: ExportArgs): Effect.Effect<string, UsageError | BulkError.InvalidInputError> =>
  Effect.gen(function*() {
    if (Option.isSome(a.pkChunking) && a.api !== "1.0") {
      return yield* new UsageError({
        message: "--pk-chunking is a Bulk API 1.0 feature: add --api 1 (Bulk API 2.0 chunks large queries by itself)"
      })
    }
    if (Option.isSome(a.parallel) && a.api === "1.0") {
      return yield* new UsageError({ message: "--parallel downloads Bulk API 2.0 result pages: drop --api 1 (use --pk-chunking on 1.0)" })
    }
    if (a.timeZone !== undefined && !Transform.isTimeZone(a.timeZone)) {
      return yield* new UsageError({
        message: `--time-zone: "${a.timeZone}" is not an IANA time zone (e.g. Europe/Paris, America/New_York, UTC)`
      })
    }
    return yield* readQuery(a)
  })

/** Runs `export` for the query `soql`. */
export const run = (a: ExportArgs, soql: string): Effect.Effect<void, BulkError.BulkError | UsageError, BulkClient.BulkClient> =>
  Effect.gen(function*() {
    const format = formatOf(a.format, a.output)
    const client = yield* BulkClient.BulkClient
    const options: BulkClient.QueryOptions = {
      api: a.api,
      ...(Option.isSome(a.pkChunking) ? { pkChunking: a.pkChunking.value } : {}),
      ...(Option.isSome(a.parallel) ? { concurrency: a.parallel.value } : {}),
      ...(Option.isSome(a.wait) ? { timeout: a.wait.value } : {})
    }
    // Progress goes to stderr; when the data itself goes to the terminal, progress would garble it.
    const mode = Progress.modeFor({ json: a.json, quiet: a.quiet || (a.output === "-" && process.stdout.isTTY === true) })
    const progress = Progress.reporter(mode, a.all ? "queryAll" : "query")
    let count = 0
    const started = Date.now()
    const local = a.timeZone === undefined ? undefined : Transform.localizer(a.timeZone)
    const rows = (a.all ? client.queryAll(soql, options) : client.query(soql, options)).pipe(
      Stream.mapChunks((chunk) => {
        if (local !== undefined) chunk = Chunk.map(chunk, local) as typeof chunk
        count += chunk.length
        progress.rows(count)
        return chunk
      })
    )
    // a table on a terminal fits its width
    const width = a.output === "-" && process.stdout.isTTY === true && (process.stdout.columns ?? 0) > 0
      ? process.stdout.columns
      : TABLE_WIDTH
    yield* writeText(a.output, encode(rows, format, a.formulaGuard, selectedColumns(soql), a.delimiter, width)).pipe(
      Effect.ensuring(Effect.sync(progress.done))
    )
    const elapsedMs = Date.now() - started
    const summary = {
      ok: true,
      command: "export",
      api: a.api,
      format,
      output: a.output,
      rows: count,
      elapsedMs,
      rowsPerSecond: elapsedMs <= 0 ? 0 : Math.round((count * 1000) / elapsedMs),
      exitCode: 0
    }
    // Data owns standard output when writing to it; the summary then goes to stderr.
    if (a.output === "-") {
      if (!a.quiet) {
        process.stderr.write(
          `${a.json ? JSON.stringify(summary) : `exported ${count.toLocaleString("en-US")} rows in ${(elapsedMs / 1000).toFixed(1)}s`}\n`
        )
      }
    } else if (a.json) printJson(summary)
    else {printText(
        a,
        `exported ${count.toLocaleString("en-US")} rows to ${a.output} (${format}) in ${(elapsedMs / 1000).toFixed(1)}s (${
          summary.rowsPerSecond.toLocaleString("en-US")
        } rows/s)`
      )}
  })
