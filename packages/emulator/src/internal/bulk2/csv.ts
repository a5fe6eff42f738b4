/**
 * Bulk API 2.0 CSV: the six column delimiters, LF/CRLF line endings, streaming row parsing with
 * Salesforce's per-file limits (§4.11, §4.13), and quoted-value rendering for result files.
 */
import { parse } from "csv-parse"
import { Readable } from "node:stream"

export type ColumnDelimiter = "BACKQUOTE" | "CARET" | "COMMA" | "PIPE" | "SEMICOLON" | "TAB"
export type LineEnding = "LF" | "CRLF"

export const DELIMITERS: Readonly<Record<ColumnDelimiter, string>> = {
  BACKQUOTE: "`",
  CARET: "^",
  COMMA: ",",
  PIPE: "|",
  SEMICOLON: ";",
  TAB: "\t"
}

export const LINE_ENDINGS: Readonly<Record<LineEnding, string>> = { LF: "\n", CRLF: "\r\n" }

export const isDelimiter = (s: unknown): s is ColumnDelimiter => typeof s === "string" && Object.hasOwn(DELIMITERS, s)
export const isLineEnding = (s: unknown): s is LineEnding => s === "LF" || s === "CRLF"

/** Per-file limits of Bulk API 2.0 (quick reference, May 2026). */
export const LIMITS = {
  charactersPerField: 131_072,
  charactersPerRecord: 400_000,
  fieldsPerRecord: 5_000,
  headerCharacters: 32_000,
  /** 150 MB once base64-encoded by the server: raw bytes × 4/3 must not exceed it. */
  uploadBase64Bytes: 150 * 1024 * 1024,
  multipartCharacters: 100_000
} as const

/** A file-level failure; `message` is the job's `errorMessage` (`InvalidBatch : ...`). */
export class CsvFailure extends Error {}

/** An HTTP-level failure of the upload itself (size), passed through the parser unchanged. */
export class UploadRejected extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message)
  }
}

const invalid = (detail: string): CsvFailure => new CsvFailure(`InvalidBatch : ${detail}`)

export interface CsvDialect {
  readonly columnDelimiter: ColumnDelimiter
  readonly lineEnding: LineEnding
}

/** A value quoted for a result file: `"a""b"`. */
export const quote = (v: string): string => `"${v.replaceAll("\"", "\"\"")}"`

/**
 * Parse CSV bytes into rows (arrays of strings), the header first, checking the limits. Throws
 * `CsvFailure` with Salesforce's batch-level message on a limit or syntax problem.
 */
export async function* rows(
  source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  dialect: CsvDialect
): AsyncGenerator<Array<string>> {
  const parser = parse({
    bom: true,
    delimiter: DELIMITERS[dialect.columnDelimiter],
    record_delimiter: LINE_ENDINGS[dialect.lineEnding],
    skip_empty_lines: true,
    relax_column_count: true,
    relax_quotes: false
  })
  const input = Readable.from(source as Iterable<Buffer>, { objectMode: false })
  input.on("error", (e) => parser.destroy(e))
  input.pipe(parser)
  let width = -1
  let n = 0
  try {
    for await (const rec of parser as AsyncIterable<Array<string>>) {
      n++
      if (rec.length > LIMITS.fieldsPerRecord) {
        throw invalid(`Exceeded max number of columns per record : ${LIMITS.fieldsPerRecord}`)
      }
      let chars = 0
      for (const v of rec) {
        if (v.length > LIMITS.charactersPerField) {
          throw invalid(`Exceeded max field size: ${v.length} characters in row ${n} (limit ${LIMITS.charactersPerField})`)
        }
        chars += v.length
      }
      if (width < 0) {
        chars += rec.length - 1
        if (chars > LIMITS.headerCharacters) {
          throw invalid(`The header row exceeds the maximum length of ${LIMITS.headerCharacters} characters: ${chars}`)
        }
        width = rec.length
      } else {
        if (chars > LIMITS.charactersPerRecord) {
          throw invalid(`Exceeded max record size: ${chars} characters in row ${n} (limit ${LIMITS.charactersPerRecord})`)
        }
        if (rec.length > width) {
          throw invalid(`Failed to parse CSV: row ${n} has ${rec.length} values but the header has ${width} columns`)
        }
      }
      yield rec
    }
  } catch (e) {
    if (e instanceof CsvFailure || e instanceof UploadRejected) throw e
    throw invalid(`Failed to parse CSV: ${e instanceof Error ? e.message : String(e)}`)
  } finally {
    input.unpipe(parser)
    input.destroy()
    parser.destroy()
  }
}
