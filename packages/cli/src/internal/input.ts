/**
 * Reading the input CSV (a file or standard input) as a stream of records keyed by its header, with
 * the header itself kept for the result files. Nothing is read whole.
 */
import { BulkError } from "@sfbulk/client"
import { parse } from "csv-parse"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import type { Readable } from "node:stream"

const InvalidInputError = BulkError.InvalidInputError
type InvalidInputError = BulkError.InvalidInputError

/** An input opened for reading: its records and, once the first chunk is parsed, its header. */
export interface CsvInput {
  /** `-` for standard input, else the path as given. */
  readonly path: string
  readonly records: Stream.Stream<Record<string, string>, InvalidInputError>
  /** The header row; empty until the records stream has started. */
  readonly header: () => ReadonlyArray<string>
}

const describe = (path: string) => (path === "-" ? "standard input" : path)

/** Fails when the file does not exist or is not a readable file, before anything is sent. */
export const checkReadable = (path: string): Effect.Effect<void, InvalidInputError> =>
  path === "-"
    ? Effect.void
    : Effect.try({
      try: () => {
        const stat = Fs.statSync(path)
        if (!stat.isFile()) throw Object.assign(new Error("not a file"), { code: "EISDIR" })
        Fs.accessSync(path, Fs.constants.R_OK)
      },
      catch: (e) => {
        const code = (e as { code?: string }).code
        return new InvalidInputError({
          what: code === "ENOENT"
            ? `the file ${path} does not exist. Check the path, or pass --file - to read standard input`
            : code === "EISDIR"
            ? `${path} is a directory, not a CSV file`
            : code === "EACCES"
            ? `the file ${path} cannot be read (permission denied)`
            : `the file ${path} cannot be read: ${String((e as Error).message ?? e)}`
        })
      }
    })

/**
 * Opens `path` (`-` = standard input) as CSV with a header row. Duplicate or empty column names,
 * rows whose field count differs from the header and unreadable bytes fail with an
 * `InvalidInputError` naming the line.
 */
export const openCsv = (path: string, options?: { readonly delimiter?: string | undefined }): CsvInput => {
  let header: ReadonlyArray<string> = []
  const records = Stream.suspend(() => {
    const source: Readable = path === "-" ? process.stdin : Fs.createReadStream(path, { highWaterMark: 256 * 1024 })
    const parser = parse({
      bom: true,
      delimiter: options?.delimiter ?? ",",
      skip_empty_lines: true,
      columns: (names: Array<string>) => {
        const seen = new Set<string>()
        for (const raw of names) {
          const name = raw.trim()
          if (name.length === 0) {
            throw new InvalidInputError({ what: `the header of ${describe(path)} has an empty column name`, row: 1 })
          }
          if (seen.has(name.toLowerCase())) {
            throw new InvalidInputError({ what: `the header of ${describe(path)} names the column twice`, row: 1, field: name })
          }
          seen.add(name.toLowerCase())
        }
        header = names.map((n) => n.trim())
        return header as Array<string>
      }
    })
    source.on("error", (e) => parser.destroy(e))
    source.pipe(parser)
    return Stream.fromAsyncIterable(
      parser as AsyncIterable<Record<string, string>>,
      (e): InvalidInputError => {
        if (e instanceof InvalidInputError) return e
        const err = e as { message?: string; lines?: number; code?: string }
        return new InvalidInputError({
          what: `${describe(path)} is not valid CSV: ${err.message ?? String(e)}`,
          ...(typeof err.lines === "number" ? { row: err.lines } : {})
        })
      }
    )
  })
  return { path, records, header: () => header }
}
