/**
 * Input rows -> CSV lines: one buffer per input chunk with the end of every line in it (one UTF-8
 * encode per chunk, not per row), so the splitter can cut pieces at row boundaries while the input
 * streams. Columns are fixed up front (Schema, `columns` option or the first row's fields); a field
 * outside them is an `InvalidInputError`, never dropped.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"
import * as Stream from "effect/Stream"
import { InvalidInputError } from "../BulkError.js"
import { CsvWriter } from "@sfbulk/csv"

/**
 * Rows accepted by the high-level operations.
 */
export type Rows<A, E = never, R = never> =
  | ReadonlyArray<A>
  | Iterable<A>
  | AsyncIterable<A>
  | Stream.Stream<A, E, R>

/**
 * Rows pulled from an iterable at a time (Effect's default is 4096). Memory, not speed: V8
 * pretenures an allocation site (the caller's row literal) when most of what it allocated is still
 * alive at a young-generation GC. With 4096 rows pulled ahead and 1024 encoded at a time, every row
 * of a million-row generator went to the old generation (~120 MB promoted per million rows, the
 * heap growing to ~135 MB for ~30 MB live, peak RSS 235-260 MB on the 1M ingest bench); with 256
 * the rows die young and the spool phase stays near 130 MB RSS. 256 rows still make one encode and
 * one spool write of ~25 KB (no measurable CPU cost).
 */
export const ROWS_PER_CHUNK = 256

/** Any supported rows value as one `Stream`. */
export const toStream = <A, E, R>(rows: Rows<A, E, R>): Stream.Stream<A, E | InvalidInputError, R> => {
  // a string is iterable (its characters), never what a caller means by rows
  if (typeof rows === "string") {
    return Stream.fail(
      new InvalidInputError({ what: "rows must be an array, Iterable, AsyncIterable or Stream of records (or ids), not a string" })
    )
  }
  if (typeof rows !== "object" || rows === null) {
    return Stream.fail(
      new InvalidInputError({
        what: `rows must be an array, Iterable, AsyncIterable or Stream, not ${rows === null ? "null" : typeof rows}`
      })
    )
  }
  if (Stream.StreamTypeId in rows) {
    return rows as Stream.Stream<A, E, R>
  }
  if (Symbol.iterator in rows) {
    // a fresh iterator each time the stream runs, as `Stream.fromIterable` does
    // a throw from the caller's iterator (a generator whose source failed) is the input's failure,
    // typed like an async iterable's, not a defect
    return Stream.suspend(() => Stream.fromIteratorSucceed((rows as Iterable<A>)[Symbol.iterator]() as IterableIterator<A>, ROWS_PER_CHUNK))
      .pipe(Stream.catchAllCause((cause) => {
        const thrown = Cause.dieOption(cause)
        return Option.isSome(thrown)
          ? Stream.fail(new InvalidInputError({ what: `the input rows could not be read: ${String(thrown.value)}` }))
          : Stream.failCause(cause)
      }))
  }
  if (!(Symbol.asyncIterator in rows)) {
    return Stream.fail(new InvalidInputError({ what: "rows must be an array, Iterable, AsyncIterable or Stream of records" }))
  }
  return Stream.fromAsyncIterable(
    rows as AsyncIterable<A>,
    (cause) => new InvalidInputError({ what: `the input rows could not be read: ${String(cause)}` })
  )
}

/**
 * Runs `f` over the caller's row `row`: what it throws other than an `InvalidInputError` (a field
 * getter or `toJSON` of the caller's object that throws) becomes one naming the row, so a
 * synchronous stage (`mapChunksSync`) fails typed rather than with a defect.
 */
export const readRow = <X>(f: () => X, row: number): X => {
  try {
    return f()
  } catch (e) {
    throw e instanceof InvalidInputError ? e : new InvalidInputError({ what: `the row could not be read: ${String(e)}`, row })
  }
}

/** Is `e` an `InvalidInputError` (for `mapChunksSync`)? */
export const isInvalidInput = (e: unknown): e is InvalidInputError => e instanceof InvalidInputError

/**
 * Why a one-column record with an empty value cannot be sent: Salesforce skips a record that reads
 * as blank (an empty line, or a lone `""`), so it would vanish without a result.
 */
export const EMPTY_ONE_COLUMN =
  "the record's only value is empty, and Salesforce skips a record that reads as blank (an empty line or a lone \"\"): " +
  "it would vanish without a result. Give it a value (null sets the field to null), or leave the row out"

/** Column delimiters of Bulk API 2.0, by name. */
export const delimiterChar = {
  COMMA: ",",
  TAB: "\t",
  PIPE: "|",
  SEMICOLON: ";",
  CARET: "^",
  BACKQUOTE: "`"
} as const

/** A column delimiter name. */
export type ColumnDelimiter = keyof typeof delimiterChar

/** A line ending name. */
export type LineEnding = "LF" | "CRLF"

const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u) && !(u instanceof Date) &&
  (Object.getPrototypeOf(u) === Object.prototype || Object.getPrototypeOf(u) === null)

/** Flattens `{ Account: { Ext__c: "A" } }` to `{ "Account.Ext__c": "A" }`. */
export const flatten = (row: Record<string, unknown>, prefix = "", out: Record<string, unknown> = {}) => {
  for (const key of Object.keys(row)) {
    const value = row[key]
    if (isPlainObject(value)) flatten(value, `${prefix}${key}.`, out)
    else out[`${prefix}${key}`] = value
  }
  return out
}

/**
 * One cell as Salesforce reads it: null -> `#N/A` (or `nullValue`), undefined -> empty (not
 * provided). The one cell writer of every records-to-CSV path (`Csv.encode` and the pipelines).
 */
export const cell = (value: unknown, row: number, field: string, nullValue = "#N/A"): string => {
  switch (typeof value) {
    case "string":
      return value
    case "undefined":
      return ""
    case "boolean":
      return value ? "true" : "false"
    case "bigint":
      return value.toString()
    case "number":
      if (!Number.isFinite(value)) {
        throw new InvalidInputError({ what: `${value} is not a number Salesforce accepts`, row, field })
      }
      return String(value)
    case "object":
      if (value === null) return nullValue
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) throw new InvalidInputError({ what: "an invalid Date", row, field })
        return value.toISOString()
      }
  }
  throw new InvalidInputError({
    what: `a value of type ${Array.isArray(value) ? "array" : typeof value} cannot be written to a CSV cell`,
    row,
    field
  })
}

/** Column names of a Schema's encoded side, relationship structs flattened (`Account.Name`). */
export const schemaColumns = (schema: Schema.Schema.Any): ReadonlyArray<string> => {
  const out: Array<string> = []
  const walk = (ast: AST.AST, prefix: string): boolean => {
    const t = unwrap(ast)
    if (!AST.isTypeLiteral(t)) return false
    for (const ps of t.propertySignatures) {
      const name = `${prefix}${String(ps.name)}`
      if (!walk(stripNull(ps.type), `${name}.`)) out.push(name)
    }
    return true
  }
  if (!walk(AST.encodedAST(schema.ast), "")) {
    throw new InvalidInputError({ what: "the row Schema must be a Struct (its fields are the CSV columns)" })
  }
  return out
}

/**
 * A row Schema's renamed fields (`Schema.fromKey`): encoded column → the property of the typed
 * row that holds it (top level; a Class's fields included).
 */
export const schemaRenames = (schema: Schema.Schema.Any): ReadonlyMap<string, string> => {
  const out = new Map<string, string>()
  const walk = (ast: AST.AST): void => {
    if (AST.isRefinement(ast)) return walk(ast.from)
    if (!AST.isTransformation(ast)) return
    if (AST.isTypeLiteralTransformation(ast.transformation)) {
      for (const p of ast.transformation.propertySignatureTransformations) {
        if (p.from !== p.to) out.set(String(p.from), String(p.to))
      }
    }
    walk(ast.from)
  }
  walk(schema.ast)
  return out
}

const unwrap = (ast: AST.AST): AST.AST => AST.isTransformation(ast) ? unwrap(ast.to) : AST.isRefinement(ast) ? unwrap(ast.from) : ast

/** The non-null member of `X | null`, for nested relationship structs. */
export const stripNull = (ast: AST.AST): AST.AST => {
  const t = unwrap(ast)
  if (AST.isUnion(t)) {
    const rest = t.types.filter((m) => !(AST.isLiteral(m) && m.literal === null) && !AST.isUndefinedKeyword(m))
    if (rest.length === 1) return unwrap(rest[0]!)
  }
  return t
}

/**
 * The CSV lines of a chunk of rows in one buffer: line `i` is `bytes[ends[i - 1] ?? 0, ends[i])`
 * (end of line included).
 */
export interface LineBlock {
  readonly bytes: Uint8Array
  readonly ends: Int32Array
}

/** Turns records into CSV lines with a fixed header. */
export interface LineEncoder {
  readonly columns: ReadonlyArray<string>
  readonly header: Uint8Array
  /** The lines of a chunk of rows; `first` is the 0-based position of the chunk's first row. */
  readonly encode: (
    rows: Iterable<unknown> & { readonly length: number },
    first: number
  ) => Effect.Effect<LineBlock, InvalidInputError>
  /**
   * `encode` run now: throws the `InvalidInputError`. For per-chunk stream stages, so the chunk is
   * not captured in a closure the effect runtime holds on to (see `encodeLines` in ingest2.ts).
   */
  readonly encodeNow: (rows: Iterable<unknown> & { readonly length: number }, first: number) => LineBlock
  /** The cell texts of a chunk of rows (what `encode` writes, before CSV quoting). */
  readonly cells: (rows: Iterable<unknown>, first: number) => Effect.Effect<Array<Array<string>>, InvalidInputError>
}

/** Options that shape the CSV written for an upload. */
export interface EncodeOptions {
  readonly columns?: ReadonlyArray<string> | undefined
  readonly schema?: Schema.Schema<any, any, never> | undefined
  readonly columnDelimiter?: ColumnDelimiter | undefined
  readonly lineEnding?: LineEnding | undefined
}

/** Builds the line encoder; without `columns`/`schema`, the first row fixes the columns. */
export const lineEncoder = (options: EncodeOptions, firstRow: unknown): Effect.Effect<LineEncoder, InvalidInputError> =>
  Effect.try({
    try: () => makeLineEncoder(options, firstRow),
    catch: (e) => e instanceof InvalidInputError ? e : new InvalidInputError({ what: String(e) })
  })

/** `lineEncoder` run now: throws the `InvalidInputError`. */
export const makeLineEncoder = (options: EncodeOptions, firstRow: unknown): LineEncoder => {
  const delimiter = delimiterChar[options.columnDelimiter ?? "COMMA"]
  const eol = options.lineEnding === "CRLF" ? "\r\n" : "\n"
  const q = CsvWriter.quoter(delimiter)
  const encodeRow = options.schema ? Schema.encodeUnknownEither(options.schema) : undefined
  const columns = options.columns ?? (options.schema
    ? schemaColumns(options.schema)
    : isPlainObject(firstRow)
    ? Object.keys(flatten(firstRow))
    : [])
  if (columns.length === 0) {
    throw new InvalidInputError({ what: "no columns: give rows as objects with at least one field", row: 0 })
  }
  const known = new Set(columns)
  const headerText = columns.map(q).join(delimiter) + eol
  if (headerText.length > 32_000) {
    throw new InvalidInputError({ what: `the header row is ${headerText.length} characters; Salesforce allows 32,000` })
  }
  const encoder = new TextEncoder()
  /** The row as a flat record of column values, checked (Schema, plain object, known fields). */
  const flatOf = (input: unknown, row: number): Record<string, unknown> => {
    let value = input
    if (encodeRow) {
      const r = encodeRow(input)
      if (Either.isLeft(r)) {
        const issue = ParseResult.ArrayFormatter.formatErrorSync(r.left)[0]
        throw new InvalidInputError({
          what: `the row does not match its Schema: ${issue?.message ?? r.left.message}`,
          row,
          ...(issue && issue.path.length > 0 ? { field: issue.path.map(String).join(".") } : {})
        })
      }
      value = r.right
    }
    if (!isPlainObject(value)) throw new InvalidInputError({ what: "a row must be a plain object of field values", row })
    // a row without relationship objects is its own flat form: no copy per row
    const keys = Object.keys(value)
    let nested = false
    for (let k = 0; k < keys.length && !nested; k++) nested = isPlainObject(value[keys[k]!])
    const flat = nested ? flatten(value) : value
    for (const key of nested ? Object.keys(flat) : keys) {
      if (!known.has(key)) {
        throw new InvalidInputError({
          what: `field ${JSON.stringify(key)} is not one of the columns (${
            columns.join(", ")
          }); declare it with the columns option or remove it`,
          row,
          field: key
        })
      }
    }
    return flat
  }
  const cellsOf = (input: unknown, row: number): Array<string> => {
    const flat = flatOf(input, row)
    const out = new Array<string>(columns.length)
    for (let c = 0; c < columns.length; c++) out[c] = cell(flat[columns[c]!], row, columns[c]!)
    return out
  }
  const attempt = <X>(f: () => X) =>
    Effect.try({
      try: f,
      catch: (e) => e instanceof InvalidInputError ? e : new InvalidInputError({ what: String(e) })
    })
  const encodeNow = (rows: Iterable<unknown> & { readonly length: number }, first: number): LineBlock => {
    // the chunk's text is built as one string (one UTF-8 encode per chunk, not per row);
    // `ends` holds character offsets until the bytes are known
    const ends = new Int32Array(rows.length)
    let text = ""
    let n = 0
    for (const input of rows) {
      const flat = readRow(() => flatOf(input, first + n), first + n)
      const start = text.length
      for (let c = 0; c < columns.length; c++) {
        if (c > 0) text += delimiter
        text += q(cell(flat[columns[c]!], first + n, columns[c]!))
      }
      // a lone empty cell reads as a blank record, which Salesforce skips (a lone `""` too)
      if (text.length === start) throw new InvalidInputError({ what: EMPTY_ONE_COLUMN, row: first + n, field: columns[0]! })
      text += eol
      ends[n++] = text.length
    }
    const bytes = Buffer.from(text, "utf8")
    // every non-ASCII character takes more than one byte: equal lengths mean offsets agree
    if (bytes.length !== text.length) {
      let charStart = 0
      let byteEnd = 0
      for (let i = 0; i < n; i++) {
        byteEnd += Buffer.byteLength(text.slice(charStart, ends[i]), "utf8")
        charStart = ends[i]!
        ends[i] = byteEnd
      }
    }
    return { bytes, ends: n === ends.length ? ends : ends.subarray(0, n) }
  }
  return {
    columns,
    header: encoder.encode(headerText),
    encodeNow,
    encode: (rows, first) => attempt(() => encodeNow(rows, first)),
    cells: (rows, first) =>
      attempt(() => {
        const out: Array<Array<string>> = []
        let i = first
        for (const r of rows) out.push(cellsOf(r, i++))
        return out
      })
  } satisfies LineEncoder
}
