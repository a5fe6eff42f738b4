/**
 * CSV encoding and decoding as streams (the counterpart of `salesforce-bulk`'s `CsvDictsAdapter`):
 * records in, CSV bytes out, with `@sfbulk/csv`'s writer (CR and LF in values quoted, no record ever
 * a blank line); CSV bytes in, records out, with `@sfbulk/csv`'s reader (rows and errors as csv-parse
 * gives them). Neither direction ever holds the whole data set.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import * as Stream from "effect/Stream"
import { CsvReader, CsvWriter } from "@sfbulk/csv"
import { InvalidInputError } from "./BulkError.js"
import { CsvParseFailure, parseRecords } from "./internal/csvParse.js"
import { cell, EMPTY_ONE_COLUMN, flatten } from "./internal/rows.js"
import { type CheckContext as Context, checkedRows } from "./internal/validate.js"

/**
 * A value a record field may hold. `null` sets the field to null (`#N/A`); `undefined` or an
 * empty string leaves it unchanged on update.
 *
 * @since 0.1.0
 * @category models
 */
export type Value = string | number | boolean | bigint | Date | null | undefined

/**
 * A record to upload: field API name to value.
 *
 * @since 0.1.0
 * @category models
 */
export type Row = Readonly<Record<string, Value>>

/**
 * @since 0.1.0
 * @category models
 */
export interface EncodeOptions {
  /**
   * The columns, in order. When omitted, the first record's fields are the columns (as
   * `CsvDictsAdapter` does); a later record with another field fails either way.
   */
  readonly columns?: ReadonlyArray<string> | undefined
  /** Column delimiter; default `,` (Bulk API 1.0 accepts only a comma). */
  readonly delimiter?: string | undefined
  /** Line ending; default `LF`. */
  readonly lineEnding?: "LF" | "CRLF" | undefined
  /** What `null` becomes; default `#N/A`, which Salesforce reads as "set to null". */
  readonly nullValue?: string | undefined
}

/**
 * The field names of a struct schema, in declaration order, for use as columns.
 *
 * @since 0.1.0
 * @category constructors
 */
export const columnsFromSchema = <A, I, R>(schema: Schema.Schema<A, I, R>): ReadonlyArray<string> => {
  const signatures = SchemaAST.getPropertySignatures(SchemaAST.encodedAST(schema.ast))
  return signatures.map((p) => String(p.name))
}

const encoder = (options: EncodeOptions | undefined) => {
  const delimiter = options?.delimiter ?? ","
  const eol = options?.lineEnding === "CRLF" ? "\r\n" : "\n"
  const nullValue = options?.nullValue ?? "#N/A"
  let columns: ReadonlyArray<string> | undefined = options?.columns
  let known: Set<string> | undefined = columns === undefined ? undefined : new Set(columns)
  let row = 0
  const line = CsvWriter.make({ delimiter, eol }).row
  return {
    header: (): string | undefined => columns === undefined ? undefined : line(columns),
    chunk: (records: Chunk.Chunk<Row>): string => {
      let out = ""
      for (const record of records) {
        row++
        // relationship objects become their columns (`{ Account: { Ext__c } }` is `Account.Ext__c`),
        // as the ingest pipelines write them
        const flat = flatten(record)
        if (columns === undefined) {
          columns = Object.keys(flat)
          if (columns.length === 0) throw new InvalidInputError({ what: "the first record has no fields", row })
          known = new Set(columns)
          out += line(columns)
        }
        for (const key of Object.keys(flat)) {
          if (!known!.has(key)) {
            throw new InvalidInputError({
              what: `field "${key}" is not one of the columns (${columns.join(", ")}); declare it as a column or remove it`,
              row,
              field: key
            })
          }
        }
        const cells = columns.map((c) => cell(flat[c], row, c, nullValue))
        // Salesforce skips a blank record (an empty line or a lone ""): it would vanish
        if (cells.length === 1 && cells[0] === "") throw new InvalidInputError({ what: EMPTY_ONE_COLUMN, row, field: columns[0]! })
        out += line(cells)
      }
      return out
    }
  }
}

const utf8 = new TextEncoder()

const knownEncoding = (label: string | undefined): boolean => {
  if (label === undefined) return true
  try {
    CsvReader.makeDecoder(label)
    return true
  } catch {
    return false
  }
}

const catchInvalid = <A>(f: () => A): Effect.Effect<A, InvalidInputError> =>
  Effect.try({
    try: f,
    catch: (e) => e instanceof InvalidInputError ? e : new InvalidInputError({ what: String(e) })
  })

/**
 * Encode a stream of records as CSV bytes: a header row, then one line per record, chunk by chunk.
 * A record with a field that is not a column fails with `InvalidInputError` naming the row and
 * field; nothing is dropped.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode: {
  (options?: EncodeOptions): <E, R>(records: Stream.Stream<Row, E, R>) => Stream.Stream<Uint8Array, E | InvalidInputError, R>
  <E, R>(records: Stream.Stream<Row, E, R>, options?: EncodeOptions): Stream.Stream<Uint8Array, E | InvalidInputError, R>
} = dual(
  (args) => Predicate.hasProperty(args[0], Stream.StreamTypeId),
  <E, R>(records: Stream.Stream<Row, E, R>, options?: EncodeOptions) => encodeImpl(records, options)
)

const encodeImpl = <E, R>(
  records: Stream.Stream<Row, E, R>,
  options: EncodeOptions | undefined
): Stream.Stream<Uint8Array, E | InvalidInputError, R> =>
  Stream.suspend(() => {
    const enc = encoder(options)
    const header = enc.header()
    const body = Stream.mapChunksEffect(records, (chunk) =>
      Effect.map(
        catchInvalid(() => enc.chunk(chunk)),
        (text) => text.length === 0 ? Chunk.empty<Uint8Array>() : Chunk.of(utf8.encode(text))
      ))
    // with undeclared columns, an empty input still yields nothing rather than a bare header
    return header === undefined ? body : Stream.concat(Stream.succeed(utf8.encode(header)), body)
  })

/**
 * Encode records with columns taken from a struct `Schema`: each record is validated and encoded
 * by the schema first (a failure is an `InvalidInputError` naming the row).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeSchema = <A, I extends Row, R0>(
  schema: Schema.Schema<A, I, R0>,
  options?: Omit<EncodeOptions, "columns">
) =>
<E, R>(records: Stream.Stream<A, E, R>): Stream.Stream<Uint8Array, E | InvalidInputError, R | R0> => {
  const columns = columnsFromSchema(schema)
  const encodeOne = Schema.encode(schema)
  return Stream.suspend(() => {
    let row = 0
    return records.pipe(
      Stream.mapEffect((a) => {
        row++
        const at = row
        return Effect.mapError(encodeOne(a), (e) => new InvalidInputError({ what: e.message, row: at }))
      }),
      (s) => encodeImpl(s as Stream.Stream<Row, E | InvalidInputError, R | R0>, { ...options, columns })
    )
  })
}

/**
 * Decode CSV bytes (header row first) into records of strings, streaming with `@sfbulk/csv`. A
 * malformed file fails with `InvalidInputError`. `encoding` (a WHATWG label: `windows-1252`,
 * `utf-16le`, ...) decodes the bytes strictly, a byte that is invalid in it being an error (a UTF-8
 * or UTF-16 byte-order mark decides over it); without it they are read as UTF-8, leniently.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode =
  (options?: { readonly delimiter?: string | undefined; readonly encoding?: string | undefined }) =>
  <E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Record<string, string>, E | InvalidInputError, R> =>
    !knownEncoding(options?.encoding)
      ? Stream.fail(
        new InvalidInputError({
          what: `encoding ${JSON.stringify(options?.encoding)} is not an encoding name (try utf-8, windows-1252, utf-16le)`
        })
      )
      : parseRecords(bytes, options?.delimiter ?? ",", options?.encoding).pipe(
        Stream.mapError((e) => e instanceof CsvParseFailure ? new InvalidInputError({ what: `malformed CSV: ${e.message}` }) : e)
      )

/**
 * What `check` needs to know: the operation, its external id field, the declared columns.
 *
 * @since 0.1.0
 * @category checks
 */
export type CheckContext = Context

/**
 * The rows with the checks `BulkClient` applies to every row before anything is sent (the columns
 * the operation needs, ids, NUL characters, invalid Unicode, field and record sizes, ...), for code
 * that uploads through `Bulk1`/`Bulk2` itself and wants the same guarantee: the stream fails with an
 * `InvalidInputError` naming the first bad row (0-based) and field.
 *
 * @since 0.1.0
 * @category checks
 */
export const check = <A, E, R>(rows: Stream.Stream<A, E, R>, context: CheckContext): Stream.Stream<A, E | InvalidInputError, R> =>
  checkedRows(rows, context)
