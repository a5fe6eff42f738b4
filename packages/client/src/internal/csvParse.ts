/**
 * Streaming CSV -> records with `@sfbulk/csv`'s synchronous incremental reader, driven chunk by
 * chunk from an Effect `Stream`, so a large result is never held whole and back-pressure is the
 * stream's own. Records are keyed by the header row exactly as csv-parse's `columns: true` did
 * (BOM stripped; a row whose field count differs from the header's, including an empty line, is an
 * error; a repeated header name keeps its first position and last value).
 */
import { CsvReader } from "@sfbulk/csv"
import * as Chunk from "effect/Chunk"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { mapChunksOrFail } from "./chunkStage.js"

/** Thrown (as a defect-free failure) when the CSV cannot be parsed. */
export class CsvParseFailure {
  readonly _tag = "CsvParseFailure"
  constructor(readonly message: string) {}
}

/**
 * Parses bytes into records keyed by the header row. `delimiter` is the job's column delimiter;
 * `encoding` (a WHATWG label) decodes the bytes strictly (a byte-order mark decides over it),
 * by default they are read as UTF-8 the lenient way.
 */
export const parseRecords = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  delimiter: string,
  encoding?: string | undefined
): Stream.Stream<Record<string, string>, E | CsvParseFailure, R> =>
  Stream.suspend(() => {
    const reader = CsvReader.makeRecords({ delimiter, bom: true, ...(encoding === undefined ? {} : { encoding }) })
    const run = (chunk: Chunk.Chunk<Uint8Array> | undefined): Either.Either<Chunk.Chunk<Record<string, string>>, CsvParseFailure> => {
      const out: Array<Record<string, string>> = []
      const push = (r: Record<string, string>) => void out.push(r)
      try {
        if (chunk === undefined) reader.end(push)
        else for (const bytes of chunk) reader.push(bytes, push)
      } catch (e) {
        if (e instanceof CsvReader.CsvError) return Either.left(new CsvParseFailure(e.message))
        throw e
      }
      return Either.right(Chunk.unsafeFromArray(out))
    }
    return mapChunksOrFail(bytes, run, () => run(undefined))
  })

/** csv-parse's text for a quote opening a field, naming the field by its column (as `parseRecords` does). */
const openingQuote = (column: string | null, line: number, value: string): string =>
  `Invalid Opening Quote: a quote is found on field ${JSON.stringify(column)} at line ${line}, value is ${JSON.stringify(value)}${
    value === "\uFEFF" ? " (utf8 bom)" : ""
  }`

/**
 * Parses bytes into values built straight from each data row's fields, with no intermediate record:
 * `make` is called once with the header row and returns the builder of every data row (it may keep
 * the `fields` array it is given). Same input rules and errors as `parseRecords`.
 */
export const parseRows = <A, E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  delimiter: string,
  make: (header: ReadonlyArray<string>) => (fields: Array<string>) => A
): Stream.Stream<A, E | CsvParseFailure, R> =>
  Stream.suspend(() => {
    const reader = CsvReader.make({ delimiter, bom: true, relaxColumnCount: true })
    let header: ReadonlyArray<string> | undefined
    let build: ((fields: Array<string>) => A) | undefined
    let out: Array<A> = []
    const onRow = (fields: Array<string>) => {
      if (build === undefined) {
        header = fields
        build = make(fields)
        return
      }
      const n = header!.length
      if (fields.length !== n) {
        const line = reader.line
        throw new CsvReader.CsvError(
          "CSV_RECORD_INCONSISTENT_COLUMNS",
          `Invalid Record Length: columns length is ${n}, got ${fields.length} on line ${line}`,
          line
        )
      }
      out.push(build(fields))
    }
    const failure = (e: CsvReader.CsvError) =>
      new CsvParseFailure(
        e.code === "INVALID_OPENING_QUOTE" && header !== undefined
          ? openingQuote(header[e.field ?? 0] ?? null, e.line, e.value ?? "")
          : e.message
      )
    const run = (chunk: Chunk.Chunk<Uint8Array> | undefined): Either.Either<Chunk.Chunk<A>, CsvParseFailure> => {
      out = []
      try {
        if (chunk === undefined) reader.end(onRow)
        else for (const bytes of chunk) reader.push(bytes, onRow)
      } catch (e) {
        if (e instanceof CsvReader.CsvError) return Either.left(failure(e))
        throw e
      }
      const rows = Chunk.unsafeFromArray(out)
      out = []
      return Either.right(rows)
    }
    return mapChunksOrFail(bytes, run, () => run(undefined))
  })
