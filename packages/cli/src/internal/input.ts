/**
 * Reading the input CSV (a file or standard input) as a stream of records keyed by its header, with
 * the header itself kept for the result files, with `@sfbulk/csv`'s reader. Nothing is read whole.
 *
 * Every value is read exactly as the file holds it, or the file is refused (an `InvalidInputError`
 * naming the line): bytes invalid in the file's encoding, line endings that change within the file
 * (outside quoted values), a blank line in a one-column file, a header whose delimiter cannot be
 * told. The encoding is UTF-8 unless `--encoding` says otherwise; a UTF-8 or UTF-16 byte-order mark
 * selects its own and is dropped. The delimiter is read off the header line unless `--delimiter`.
 */
import { BulkError } from "@sfbulk/client"
import { CsvReader } from "@sfbulk/csv"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"

const InvalidInputError = BulkError.InvalidInputError
type InvalidInputError = BulkError.InvalidInputError

/** An input opened for reading: its records and, once the first chunk is parsed, its header. */
export interface CsvInput {
  /** `-` for standard input, else the path as given. */
  readonly path: string
  readonly records: Stream.Stream<Record<string, string>, InvalidInputError>
  /** The header row; empty until the records stream has started. */
  readonly header: () => ReadonlyArray<string>
  /**
   * An error about the record at a 0-based position (the client's checks), told with the line of
   * the file it ends on: "row 0" names no line a user can find. The reader's own errors, which
   * already name their line, are returned as they are.
   */
  readonly locate: (e: InvalidInputError) => InvalidInputError
}

/** How to read the input: `--encoding` and `--delimiter`. */
export interface ReadOptions {
  /** A WHATWG encoding label; default UTF-8 (a byte-order mark decides over it). */
  readonly encoding?: string | undefined
  /** The column delimiter character; default: read off the header line. */
  readonly delimiter?: string | undefined
  /** The input as messages name it (`-`: standard input); default `path`. */
  readonly name?: string | undefined
  /** Note each record's line for {@link lineOf} (messages about a cell name its line). */
  readonly trackLines?: boolean | undefined
}

const lines = new WeakMap<object, number>()

/** The input line a record (of an input opened with `trackLines`) ended on. */
export const lineOf = (record: object): number | undefined => lines.get(record)

/** `--delimiter` values: the characters Salesforce accepts, and their names. */
export const DELIMITERS: Readonly<Record<string, string>> = {
  ",": ",",
  comma: ",",
  ";": ";",
  semicolon: ";",
  "\t": "\t",
  tab: "\t",
  "\\t": "\t",
  "|": "|",
  pipe: "|",
  "^": "^",
  caret: "^",
  "`": "`",
  backquote: "`"
}

/** The delimiter character a `--delimiter` value names, or undefined. */
export const delimiterOf = (value: string): string | undefined =>
  Object.hasOwn(DELIMITERS, value.toLowerCase()) ? DELIMITERS[value.toLowerCase()] : undefined

/** Whether `label` names an encoding `TextDecoder` knows (WHATWG labels). */
export const isEncoding = (label: string): boolean => {
  try {
    new TextDecoder(label)
    return true
  } catch {
    return false
  }
}

const describe = (path: string) => (path === "-" ? "standard input" : path)

/** Fails when the file does not exist or is not a readable file, before anything is sent. */
export const checkReadable = (path: string): Effect.Effect<void, InvalidInputError> =>
  path === "-"
    ? Effect.void
    : Effect.try({
      try: () => {
        const stat = Fs.statSync(path)
        if (stat.isDirectory()) throw Object.assign(new Error("a directory"), { code: "EISDIR" })
        // a pipe (`--file <(command)`, a FIFO) or a device cannot be read again by a resume
        if (!stat.isFile()) throw Object.assign(new Error("not a regular file"), { code: "NOTFILE" })
        Fs.accessSync(path, Fs.constants.R_OK)
      },
      catch: (e) => {
        const code = (e as { code?: string }).code
        return new InvalidInputError({
          what: code === "ENOENT"
            ? `the file ${path} does not exist. Check the path, or pass --file - to read standard input`
            : code === "EISDIR"
            ? `${path} is a directory, not a CSV file`
            : code === "NOTFILE"
            ? `${path} is not a regular file (a pipe or a device, e.g. --file <(command)): pipe it to standard input with ` +
              `--file - instead (sfbulk keeps a copy of standard input, so an interrupted import can resume)`
            : code === "EACCES"
            ? `the file ${path} cannot be read (permission denied)`
            : `the file ${path} cannot be read: ${String((e as Error).message ?? e)}`
        })
      }
    })

/**
 * Opens `path` (`-` = standard input) as CSV with a header row. Duplicate or empty column names,
 * rows whose field count differs from the header, bytes invalid in the encoding, mixed line endings
 * and blank lines in a one-column file fail with an `InvalidInputError` naming the line.
 */
export const openCsv = (path: string, options?: ReadOptions): CsvInput => {
  let header: ReadonlyArray<string> = []
  const name = describe(options?.name ?? path)
  // the line each record ends on, kept as the record positions where it stops being position + a
  // constant (a value with line breaks, a skipped blank line): constant memory for ordinary files
  let shifts: Array<readonly [number, number]> = []
  let count = 0
  const own = new WeakSet<InvalidInputError>()
  const records = Stream.suspend(() => {
    shifts = []
    count = 0
    const source: Readable = path === "-" ? process.stdin : Fs.createReadStream(path, { highWaterMark: 256 * 1024 })
    let width = -1
    const reader = CsvReader.make({
      delimiter: options?.delimiter ?? "auto",
      encoding: options?.encoding ?? "utf-8",
      relaxColumnCount: true,
      consistentLineEndings: true,
      // messages name lines as the user's editor numbers them (a CRLF inside a value is one break)
      editorLines: true,
      skipEmptyLines: true,
      onEmptyLine: (line) => {
        // a blank line between rows of several columns cannot be a record; in a one-column file it
        // could be an empty value, and skipping it would send one record fewer than the user counted
        if (width === 1) {
          throw new InvalidInputError({
            what: `line ${line} of ${name} is blank. In a one-column file a blank line is ambiguous (an empty value, or nothing?) ` +
              `and Salesforce skips it, so one record fewer would be sent than the file has lines: remove the line`,
            row: line
          })
        }
      }
    })
    let out: Array<Record<string, string>> = []
    // the positions of the columns sent (all but the result files' own columns)
    let kept: Array<number> = []
    let names: Array<string> = []
    const onRow = (fields: Array<string>) => {
      if (width < 0) {
        names = checkHeader(fields, name)
        width = names.length
        kept = names.flatMap((n, i) => (RESULT_COLUMNS.has(n.toLowerCase()) ? [] : [i]))
        header = kept.map((i) => names[i]!)
        return
      }
      if (fields.length !== width) {
        const line = reader.line
        throw new InvalidInputError({
          what:
            `${name} is not valid CSV: line ${line} has ${fields.length} field${
              fields.length === 1 ? "" : "s"
            } but the header has ${width}` +
            (reader.delimiter === "," ? "" : ` (columns separated by ${JSON.stringify(reader.delimiter)})`),
          row: line
        })
      }
      if (width === 1 && fields[0] === "") {
        throw new InvalidInputError({
          what: `line ${reader.line} of ${name} holds an empty value, the only column: Salesforce skips a record that reads as blank, ` +
            `so it would vanish without a result. Give it a value, or remove the line`,
          row: reader.line
        })
      }
      const record: Record<string, string> = {}
      for (const i of kept) record[names[i]!] = fields[i]!
      if (options?.trackLines) lines.set(record, reader.line)
      out.push(record)
      const shift = reader.line - count
      if (shifts.length === 0 || shifts[shifts.length - 1]![1] !== shift) shifts.push([count, shift])
      count++
    }
    const read = (chunk: Chunk.Chunk<Uint8Array> | undefined): Effect.Effect<Chunk.Chunk<Record<string, string>>, InvalidInputError> => {
      out = []
      try {
        if (chunk === undefined) reader.end(onRow)
        else for (const bytes of chunk) reader.push(bytes, onRow)
      } catch (e) {
        return Effect.fail(inputError(e, name, options))
      }
      return Effect.succeed(Chunk.unsafeFromArray(out))
    }
    const bytes = Stream.fromAsyncIterable(
      source as AsyncIterable<Uint8Array>,
      (e) => new InvalidInputError({ what: `cannot read ${name}: ${(e as Error)?.message ?? String(e)}` })
    )
    return Stream.concat(
      Stream.mapChunksEffect(bytes, (chunk) => (chunk.length === 0 ? Effect.succeed(Chunk.empty()) : read(chunk))),
      Stream.flatMap(Stream.fromEffect(Effect.suspend(() => read(undefined))), Stream.fromChunk)
    ).pipe(Stream.tapError((e) => Effect.sync(() => own.add(e))))
  })
  const locate = (e: InvalidInputError): InvalidInputError => {
    if (own.has(e) || e.row === undefined || e.row < 0 || e.row >= count) return e
    let shift = 0
    for (const [first, s] of shifts) {
      if (first > e.row) break
      shift = s
    }
    const line = e.row + shift
    return new InvalidInputError({
      what: `record ${e.row + 1} of ${name} (ending on line ${line}): ${e.what}`,
      row: line,
      ...(e.field === undefined ? {} : { field: e.field })
    })
  }
  return { path, records, header: () => header, locate }
}

/**
 * The columns sfbulk's own result files add (`<job>-failed.csv`: `sf__Id`, `sf__Error`;
 * `<job>-success.csv`: `sf__Id`, `sf__Created`), in lower case. They are no field of any object
 * (a field's API name never has this form), and Salesforce fails a whole batch or job on a header
 * naming an unknown field: so a result file sent again as the advice says, as it is, is read
 * without them.
 */
const RESULT_COLUMNS = new Set(["sf__id", "sf__error", "sf__created"])

/** The header's names, trimmed; an empty or repeated name (case-insensitive) is an input error. */
const checkHeader = (names: ReadonlyArray<string>, name: string): Array<string> => {
  const seen = new Set<string>()
  const out = names.map((n) => n.trim())
  if (out.some((n) => n.includes("\u0000"))) {
    // ASCII saved as UTF-16 without a byte-order mark reads as UTF-8 with a NUL after each letter
    throw new InvalidInputError({
      what: `the header of ${name} holds NUL characters: the file looks like UTF-16 text without a byte-order mark. ` +
        `Pass --encoding utf-16le (or utf-16be)`,
      row: 1
    })
  }
  for (const [i, n] of out.entries()) {
    if (n.length === 0) {
      // most often a spreadsheet's: a column right of the data, saved as a trailing delimiter
      const after = i === 0 ? "" : `, after ${out[i - 1] === "" ? "another empty one" : `"${out[i - 1]}"`}`
      throw new InvalidInputError({
        what: `the header of ${name} has an empty column name (column ${i + 1} of ${out.length}${after}): ` +
          `name the column, or delete it from the file${i === out.length - 1 ? " (a trailing delimiter on each line)" : ""}`,
        row: 1
      })
    }
    // a record keyed by it would lose the column's values (no Salesforce field has this name)
    if (n === "__proto__") {
      throw new InvalidInputError({ what: `the header of ${name} names a column __proto__, which is no field name`, row: 1, field: n })
    }
    if (seen.has(n.toLowerCase())) throw new InvalidInputError({ what: `the header of ${name} names the column twice`, row: 1, field: n })
    seen.add(n.toLowerCase())
  }
  return out
}

/** The reader's errors as input errors that say what to do. */
const inputError = (e: unknown, name: string, options: ReadOptions | undefined): InvalidInputError => {
  if (e instanceof InvalidInputError) return e
  if (!(e instanceof CsvReader.CsvError)) {
    return new InvalidInputError({ what: `${name} cannot be read: ${(e as Error)?.message ?? String(e)}` })
  }
  const line = { row: e.line }
  switch (e.code) {
    case "CSV_INVALID_ENCODING":
      return new InvalidInputError({
        what: options?.encoding === undefined
          ? `${name} is not UTF-8: the byte at offset ${e.offset} (line ${e.line}) is not UTF-8 text. ` +
            `If it was saved as "CSV (Windows)" or by another Windows tool, pass --encoding windows-1252 (or the encoding it was saved in)`
          : `${name} is not ${options.encoding} text: ${e.message}. Pass the --encoding it was saved in`,
        ...line
      })
    case "CSV_MIXED_LINE_ENDINGS":
      return new InvalidInputError({
        what: `${name}: ${e.message.replace(/^Mixed line endings: /, "")}; a value would take the stray line break as text. ` +
          `Save the file with one kind of line ending (or quote the values that hold line breaks)`,
        ...line
      })
    case "CSV_DELIMITER_AMBIGUOUS":
      return new InvalidInputError({
        what: `${name}: ${
          e.message.replace(/^Ambiguous delimiter: /, "")
        }: pass --delimiter (comma, semicolon, tab, pipe, caret or backquote)`,
        ...line
      })
    default:
      return new InvalidInputError({ what: `${name} is not valid CSV: ${e.message}`, ...line })
  }
}

/**
 * Standard input copied to a temp file, so it can be checked whole before anything is sent and then
 * read again to send it; the file is removed when the scope closes.
 */
export const spoolStdin: Effect.Effect<string, InvalidInputError, Scope.Scope> = Effect.acquireRelease(
  Effect.tryPromise({
    try: async () => {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-stdin-"))
      const file = Path.join(dir, "input.csv")
      await pipeline(process.stdin, Fs.createWriteStream(file))
      return file
    },
    catch: (e) => new InvalidInputError({ what: `cannot read standard input: ${(e as Error)?.message ?? String(e)}` })
  }),
  (file) => Effect.sync(() => Fs.rmSync(Path.dirname(file), { recursive: true, force: true }))
)
