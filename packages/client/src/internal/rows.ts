/**
 * Input rows -> CSV lines, one `Uint8Array` per row, so the splitter can cut pieces at row
 * boundaries while the input streams. Columns are fixed up front (Schema, `columns` option or the
 * first row's fields); a field outside them is an `InvalidInputError`, never dropped.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"
import * as Stream from "effect/Stream"
import { InvalidInputError } from "../BulkError.js"

/**
 * Rows accepted by the high-level operations.
 */
export type Rows<A, E = never, R = never> =
  | ReadonlyArray<A>
  | Iterable<A>
  | AsyncIterable<A>
  | Stream.Stream<A, E, R>

/** Any supported rows value as one `Stream`. */
export const toStream = <A, E, R>(rows: Rows<A, E, R>): Stream.Stream<A, E | InvalidInputError, R> => {
  // a string is iterable (its characters), never what a caller means by rows
  if (typeof rows === "string") {
    return Stream.fail(new InvalidInputError({ what: "rows must be an array, Iterable, AsyncIterable or Stream of records (or ids), not a string" }))
  }
  if (typeof rows !== "object" || rows === null) {
    return Stream.fail(new InvalidInputError({ what: `rows must be an array, Iterable, AsyncIterable or Stream, not ${rows === null ? "null" : typeof rows}` }))
  }
  if (Stream.StreamTypeId in rows) {
    return rows as Stream.Stream<A, E, R>
  }
  if (Symbol.iterator in rows) return Stream.fromIterable(rows as Iterable<A>)
  if (!(Symbol.asyncIterator in rows)) {
    return Stream.fail(new InvalidInputError({ what: "rows must be an array, Iterable, AsyncIterable or Stream of records" }))
  }
  return Stream.fromAsyncIterable(
    rows as AsyncIterable<A>,
    (cause) => new InvalidInputError({ what: `the input rows could not be read: ${String(cause)}` })
  )
}

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

/** One cell as Salesforce reads it: null -> `#N/A`, undefined -> empty (not provided). */
const cell = (value: unknown, row: number, field: string): string => {
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
      if (value === null) return "#N/A"
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

const quote = (delimiter: string) => {
  const special = new RegExp(`["\\r\\n${delimiter.replace(/[\\^$.*+?()[\]{}|-]/g, "\\$&")}]`)
  return (s: string) => (special.test(s) ? `"${s.replace(/"/g, "\"\"")}"` : s)
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

const unwrap = (ast: AST.AST): AST.AST =>
  AST.isTransformation(ast) ? unwrap(ast.to) : AST.isRefinement(ast) ? unwrap(ast.from) : ast

/** The non-null member of `X | null`, for nested relationship structs. */
export const stripNull = (ast: AST.AST): AST.AST => {
  const t = unwrap(ast)
  if (AST.isUnion(t)) {
    const rest = t.types.filter((m) => !(AST.isLiteral(m) && m.literal === null) && !AST.isUndefinedKeyword(m))
    if (rest.length === 1) return unwrap(rest[0]!)
  }
  return t
}

/** Turns records into CSV lines with a fixed header. */
export interface LineEncoder {
  readonly columns: ReadonlyArray<string>
  readonly header: Uint8Array
  /** Lines for a chunk of rows; `first` is the 0-based position of the chunk's first row. */
  readonly encode: (rows: Iterable<unknown>, first: number) => Effect.Effect<Array<Uint8Array>, InvalidInputError>
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
    try: () => {
      const delimiter = delimiterChar[options.columnDelimiter ?? "COMMA"]
      const eol = options.lineEnding === "CRLF" ? "\r\n" : "\n"
      const q = quote(delimiter)
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
      const cellsOf = (input: unknown, row: number): Array<string> => {
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
              what: `field ${JSON.stringify(key)} is not one of the columns (${columns.join(", ")}); declare it with the columns option or remove it`,
              row,
              field: key
            })
          }
        }
        const out = new Array<string>(columns.length)
        for (let c = 0; c < columns.length; c++) out[c] = cell(flat[columns[c]!], row, columns[c]!)
        return out
      }
      const line = (input: unknown, row: number): Uint8Array => {
        const cs = cellsOf(input, row)
        let text = ""
        for (let i = 0; i < cs.length; i++) {
          if (i > 0) text += delimiter
          text += q(cs[i]!)
        }
        // a lone empty cell would be a blank line, which CSV readers (Salesforce's too) skip: the
        // record would vanish, so it is written as an explicit empty quoted value
        if (text === "") text = "\"\""
        // Buffer.from takes small strings from Node's shared pool: cheaper than a TextEncoder
        // allocation per row
        return Buffer.from(text + eol, "utf8")
      }
      const attempt = <X>(f: () => X) =>
        Effect.try({
          try: f,
          catch: (e) => e instanceof InvalidInputError ? e : new InvalidInputError({ what: String(e) })
        })
      return {
        columns,
        header: encoder.encode(headerText),
        encode: (rows, first) =>
          attempt(() => {
            const out: Array<Uint8Array> = []
            let i = first
            for (const r of rows) out.push(line(r, i++))
            return out
          }),
        cells: (rows, first) =>
          attempt(() => {
            const out: Array<Array<string>> = []
            let i = first
            for (const r of rows) out.push(cellsOf(r, i++))
            return out
          })
      } satisfies LineEncoder
    },
    catch: (e) => e instanceof InvalidInputError ? e : new InvalidInputError({ what: String(e) })
  })
