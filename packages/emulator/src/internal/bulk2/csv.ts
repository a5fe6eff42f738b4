/**
 * Bulk API 2.0 CSV: the six column delimiters, LF/CRLF line endings, streaming row parsing with
 * Salesforce's per-file limits (§4.11, §4.13), and quoted-value rendering for result files.
 */
import { CsvReader } from "@sfbulk/csv"
import { isBlankRecord, isUnescapedQuote, UNESCAPED_QUOTE } from "../csvFidelity.js"

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
 * `{ delimiter, record_delimiter, skip_empty_lines, relax_column_count }`. A UTF-8 BOM is not
 * stripped: Salesforce reads it as part of the first column name (FIDELITY.md, "BOM").
 */
export const readerOptions = (dialect: CsvDialect): CsvReader.Options => ({
  bom: false,
  delimiter: DELIMITERS[dialect.columnDelimiter],
  recordDelimiter: LINE_ENDINGS[dialect.lineEnding],
  skipEmptyLines: true,
  relaxColumnCount: true
})

/** A parser error as the job's `errorMessage`. */
export const parseFailure = (e: unknown): CsvFailure =>
  e instanceof CsvFailure
    ? e
    : isUnescapedQuote(e)
    ? invalid(UNESCAPED_QUOTE)
    : invalid(`Failed to parse CSV: ${e instanceof Error ? e.message : String(e)}`)

/**
 * Salesforce's check that the records end as the job's `lineEnding` says: a CRLF record on an LF
 * job, or an LF record on a CRLF job, fails the job with `ClientInputError : LineEnding is invalid
 * on user data. Current LineEnding setting is X` (FIDELITY.md, "Line endings and newlines inside
 * values"). Only line breaks outside quoted values are looked at; inside quotes anything goes.
 * Fed chunk by chunk: the quote state and the previous byte carry over.
 */
export class LineEndingCheck {
  private inQuote = false
  private prev = -1
  constructor(private readonly lineEnding: LineEnding) {}
  push(chunk: Uint8Array): void {
    const crlf = this.lineEnding === "CRLF"
    let prev = this.prev
    let inQuote = this.inQuote
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!
      if (b === 0x22) inQuote = !inQuote
      else if (b === 0x0a && !inQuote && (prev === 0x0d) !== crlf) {
        throw new CsvFailure(`ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is ${this.lineEnding}`)
      }
      prev = b
    }
    this.prev = prev
    this.inQuote = inQuote
  }
}

/**
 * Synchronous incremental parsing of a job's CSV (an upload as it arrives, or the stored chunks):
 * each row (header first) is checked against the limits, then passed to `onRow`. Throws
 * `CsvFailure` with Salesforce's batch-level message on a limit or syntax problem.
 */
export class RowReader {
  private readonly reader: CsvReader.Reader
  private readonly checker = new RowChecker()
  private readonly lineEndings: LineEndingCheck
  constructor(dialect: CsvDialect) {
    this.reader = CsvReader.make(readerOptions(dialect))
    this.lineEndings = new LineEndingCheck(dialect.lineEnding)
  }
  push(chunk: Uint8Array, onRow: (rec: Array<string>) => void): void {
    try {
      // The line-ending check sees each chunk before the parser, so a mismatch is reported as
      // Salesforce reports it rather than as the syntax or header error it would cause.
      this.lineEndings.push(chunk)
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
      if (isBlankRecord(rec)) return
      checker.check(rec)
      onRow(rec)
    }
  }
}
