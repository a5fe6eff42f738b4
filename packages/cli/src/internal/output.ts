/**
 * Streamed writers for what the CLI produces: CSV (result files, exports), JSON and NDJSON, to a
 * file or standard output, with back-pressure (a slow disk or pipe slows the download, it never
 * piles rows up in memory).
 */
import { BulkError } from "@sfbulk/client"
import { CsvWriter } from "@sfbulk/csv"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Path from "node:path"
import type { Writable } from "node:stream"

type InvalidInputError = BulkError.InvalidInputError

/** A cell a spreadsheet would read as a number, so never a formula. */
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/

/**
 * Neutralises spreadsheet formulas (CSV injection): a cell starting with `=`, `+`, `-`, `@`, a tab
 * or a carriage return gets a leading `'`, so Excel, LibreOffice and Google Sheets show it as text.
 * Plain numbers (`-12.5`, `+33`) are left alone: they cannot run anything.
 */
export const guardFormula = (value: string): string => {
  if (value.length === 0) return value
  const c = value.charCodeAt(0)
  // = + - @ \t \r
  if (c !== 61 && c !== 43 && c !== 45 && c !== 64 && c !== 9 && c !== 13) return value
  return NUMBER.test(value) ? value : `'${value}`
}

const writeError = (target: string, e: unknown): InvalidInputError =>
  new BulkError.InvalidInputError({
    what: `cannot write ${target === "-" ? "to standard output" : target}: ${(e as Error)?.message ?? String(e)}`
  })

/**
 * Writes a stream of text pieces to `target` (`-` = standard output) respecting back-pressure;
 * resolves once everything is flushed (and the file closed). A file is written under a temporary
 * name and renamed when complete, so a file that exists is never a silently truncated one.
 */
export const writeText = <E, R>(
  target: string,
  text: Stream.Stream<string, E, R>
): Effect.Effect<void, E | InvalidInputError, R> => {
  const partial = `${target}.partial-${process.pid}`
  const write = Effect.acquireUseRelease(
    Effect.try({
      try: (): Writable => {
        if (target === "-") return process.stdout
        Fs.mkdirSync(Path.dirname(Path.resolve(target)), { recursive: true })
        return Fs.createWriteStream(partial)
      },
      catch: (e) => writeError(target, e)
    }),
    (out) => {
      let failure: unknown = undefined
      const onError = (e: unknown) => {
        failure = e
      }
      out.on("error", onError)
      const write = (piece: string) =>
        Effect.async<void, InvalidInputError>((resume) => {
          if (failure !== undefined) return resume(Effect.fail(writeError(target, failure)))
          if (out.write(piece)) return resume(Effect.void)
          const drained = () => {
            out.off("error", failed)
            resume(Effect.void)
          }
          const failed = (e: unknown) => {
            out.off("drain", drained)
            resume(Effect.fail(writeError(target, e)))
          }
          out.once("drain", drained)
          out.once("error", failed)
        })
      return text.pipe(
        Stream.mapChunks((chunk) => (Chunk.isEmpty(chunk) ? chunk : Chunk.of(Chunk.join(chunk, "")))),
        Stream.runForEach((piece) => (piece.length === 0 ? Effect.void : write(piece)))
      )
    },
    (out) =>
      target === "-"
        ? Effect.void
        : Effect.async<void>((resume) => {
          out.end(() => resume(Effect.void))
          out.once("error", () => resume(Effect.void))
        })
  )
  if (target === "-") return write
  return write.pipe(
    Effect.zipRight(Effect.try({ try: () => Fs.renameSync(partial, target), catch: (e) => writeError(target, e) })),
    Effect.onError(() => Effect.sync(() => Fs.rmSync(partial, { force: true })))
  )
}

/** Options of {@link csvText}. */
export interface CsvOptions {
  /** Columns, in order. Default: the first row's keys (and no header at all when there is no row). */
  readonly columns?: ReadonlyArray<string> | undefined
  readonly formulaGuard: boolean
  readonly delimiter?: string | undefined
}

/** Rows -> CSV text, header first; values `null`/`undefined` are written as empty cells. */
export const csvText = <E, R>(
  rows: Stream.Stream<Readonly<Record<string, unknown>>, E, R>,
  options: CsvOptions
): Stream.Stream<string, E, R> =>
  Stream.suspend(() => {
    let columns = options.columns
    let headerDone = false
    const cell = (v: unknown): string => {
      const s = v === null || v === undefined ? "" : typeof v === "string" ? v : v instanceof Date ? v.toISOString() : String(v)
      return options.formulaGuard ? guardFormula(s) : s
    }
    // CR in a value is quoted too (a bare CR would split the row and start a cell past the guard)
    const encode = CsvWriter.make({ delimiter: options.delimiter ?? "," }).rows
    const body = Stream.mapChunks(rows, (chunk) => {
      if (Chunk.isEmpty(chunk)) return Chunk.empty<string>()
      const out: Array<ReadonlyArray<string>> = []
      if (!headerDone) {
        columns ??= Object.keys(Chunk.unsafeGet(chunk, 0))
        out.push(columns)
        headerDone = true
      }
      const cols = columns!
      for (const row of chunk) out.push(cols.map((c) => cell(row[c])))
      return Chunk.of(encode(out))
    })
    // A header even for an empty result, when the columns are known.
    const tail = Stream.suspend(() =>
      !headerDone && options.columns !== undefined && options.columns.length > 0
        ? Stream.make(encode([options.columns]))
        : Stream.empty
    )
    return Stream.concat(body, tail)
  })

/** Rows -> one JSON array, streamed (`[`, rows separated by `,\n`, `]`). Empty strings become `null`. */
export const jsonText = <E, R>(
  rows: Stream.Stream<Readonly<Record<string, unknown>>, E, R>,
  options?: { readonly emptyAsNull?: boolean }
): Stream.Stream<string, E, R> =>
  Stream.suspend(() => {
    let first = true
    const body = Stream.mapChunks(rows, (chunk) => {
      if (Chunk.isEmpty(chunk)) return Chunk.empty<string>()
      let s = ""
      for (const row of chunk) {
        s += (first ? "\n" : ",\n") + JSON.stringify(options?.emptyAsNull === false ? row : nullEmpty(row))
        first = false
      }
      return Chunk.of(s)
    })
    return Stream.concat(Stream.concat(Stream.make("["), body), Stream.suspend(() => Stream.make(first ? "]\n" : "\n]\n")))
  })

/** Rows -> newline-delimited JSON, one object per line. Empty strings become `null`. */
export const ndjsonText = <E, R>(
  rows: Stream.Stream<Readonly<Record<string, unknown>>, E, R>,
  options?: { readonly emptyAsNull?: boolean }
): Stream.Stream<string, E, R> =>
  Stream.mapChunks(rows, (chunk) => {
    if (Chunk.isEmpty(chunk)) return Chunk.empty<string>()
    let s = ""
    for (const row of chunk) s += JSON.stringify(options?.emptyAsNull === false ? row : nullEmpty(row)) + "\n"
    return Chunk.of(s)
  })

// Bulk CSV cannot tell an empty text from null; Salesforce stores empty text as null, so JSON says so.
const nullEmpty = (row: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const k in row) {
    const v = row[k]
    out[k] = v === "" ? null : v
  }
  return out
}
