/**
 * Bulk API 2.0 CSV: the six column delimiters, LF/CRLF line endings, streaming row parsing with
 * Salesforce's per-file limits (§4.11, §4.13), and quoted-value rendering for result files.
 */
import { CsvReader } from "@sfbulk/csv"

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

export const LINE_ENDINGS: Readonly<Record<LineEnding, "\n" | "\r\n">> = { LF: "\n", CRLF: "\r\n" }

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

const invalid = (detail: string): CsvFailure => new CsvFailure(`InvalidBatch : ${detail}`)

export interface CsvDialect {
  readonly columnDelimiter: ColumnDelimiter
  readonly lineEnding: LineEnding
}

/** A value quoted for a result file: `"a""b"`. */
export const quote = (v: string): string => (v.indexOf("\"") < 0 ? `"${v}"` : `"${v.replaceAll("\"", "\"\"")}"`)

/** Checks each parsed record (header first) against the limits; throws `CsvFailure`. */
export class RowChecker {
  width = -1
  n = 0
  check(rec: ReadonlyArray<string>): void {
    this.n++
    if (rec.length > LIMITS.fieldsPerRecord) {
      throw invalid(`Exceeded max number of columns per record : ${LIMITS.fieldsPerRecord}`)
    }
    let chars = 0
    for (const v of rec) {
      if (v.length > LIMITS.charactersPerField) {
        throw invalid(`Exceeded max field size: ${v.length} characters in row ${this.n} (limit ${LIMITS.charactersPerField})`)
      }
      chars += v.length
    }
    if (this.width < 0) {
      chars += rec.length - 1
      if (chars > LIMITS.headerCharacters) {
        throw invalid(`The header row exceeds the maximum length of ${LIMITS.headerCharacters} characters: ${chars}`)
      }
      this.width = rec.length
    } else {
      if (chars > LIMITS.charactersPerRecord) {
        throw invalid(`Exceeded max record size: ${chars} characters in row ${this.n} (limit ${LIMITS.charactersPerRecord})`)
      }
      if (rec.length > this.width) {
        throw invalid(`Failed to parse CSV: row ${this.n} has ${rec.length} values but the header has ${this.width} columns`)
      }
    }
  }
}

/**
 * `@sfbulk/csv` reader options for a job's dialect: rows and error texts as csv-parse gave with
 * `{ bom, delimiter, record_delimiter, skip_empty_lines, relax_column_count }`.
 */
export const readerOptions = (dialect: CsvDialect): CsvReader.Options => ({
  bom: true,
  delimiter: DELIMITERS[dialect.columnDelimiter],
  recordDelimiter: LINE_ENDINGS[dialect.lineEnding],
  skipEmptyLines: true,
  relaxColumnCount: true
})

/** A parser error as the job's `errorMessage`. */
export const parseFailure = (e: unknown): CsvFailure =>
  e instanceof CsvFailure ? e : invalid(`Failed to parse CSV: ${e instanceof Error ? e.message : String(e)}`)

/**
 * Synchronous incremental parsing of a job's CSV (an upload as it arrives, or the stored chunks):
 * each row (header first) is checked against the limits, then passed to `onRow`. Throws
 * `CsvFailure` with Salesforce's batch-level message on a limit or syntax problem.
 */
export class RowReader {
  private readonly reader: CsvReader.Reader
  private readonly checker = new RowChecker()
  constructor(dialect: CsvDialect) {
    this.reader = CsvReader.make(readerOptions(dialect))
  }
  push(chunk: Uint8Array, onRow: (rec: Array<string>) => void): void {
    try {
      this.reader.push(chunk, this.checked(onRow))
    } catch (e) {
      throw parseFailure(e)
    }
  }
  end(onRow: (rec: Array<string>) => void): void {
    try {
      this.reader.end(this.checked(onRow))
    } catch (e) {
      throw parseFailure(e)
    }
  }
  private checked(onRow: (rec: Array<string>) => void): (rec: Array<string>) => void {
    const checker = this.checker
    return (rec) => {
      checker.check(rec)
      onRow(rec)
    }
  }
}
