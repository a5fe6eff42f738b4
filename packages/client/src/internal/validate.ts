/**
 * Pre-upload input checks: the rows Salesforce would refuse (or silently alter) are refused here,
 * each with an `InvalidInputError` naming the row (0-based input position) and field. Every row is
 * checked exactly once, as it is read (`checkedRows`); `BulkClient` reads the whole input (spooling
 * its pieces to temp files) before the first request, so a bad row anywhere uploads nothing unless
 * the caller opts in to a partial upload. Raw CSV (the low-level `Bulk1`/`Bulk2` uploads) is checked
 * by `csvChecker`, incrementally, before it is sent.
 *
 * Limits (Salesforce Bulk API): a field of at most 131,072 characters, a record of at most 400,000
 * characters, at most 5,000 fields per record; ids are 15 or 18 characters.
 */
import { CsvReader } from "@sfbulk/csv"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { InvalidInputError } from "../BulkError.js"
import { mapChunksSync } from "./chunkStage.js"
import { EMPTY_ONE_COLUMN, flatten, isInvalidInput, readRow } from "./rows.js"

/** Salesforce's limits on one CSV record. */
export const MAX_FIELD_CHARS = 131_072
export const MAX_RECORD_CHARS = 400_000
export const MAX_FIELDS = 5_000

/** What the checks need to know about the operation. */
export interface CheckContext {
  readonly operation: "insert" | "update" | "upsert" | "delete" | "hardDelete"
  readonly externalIdFieldName?: string | undefined
  /** Declared columns (the `columns` option or a Schema's fields); absent: the first row's fields. */
  readonly columns?: ReadonlyArray<string> | undefined
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u) && !(u instanceof Date) &&
  (Object.getPrototypeOf(u) === Object.prototype || Object.getPrototypeOf(u) === null)

const fail = (what: string, row?: number, field?: string) =>
  new InvalidInputError({ what, ...(row === undefined ? {} : { row }), ...(field === undefined ? {} : { field }) })

/** Checks a column list: not empty, no duplicates, at most 5,000, required columns present. */
export const checkColumns = (columns: ReadonlyArray<string>, ctx: CheckContext, row?: number): InvalidInputError | undefined => {
  if (columns.length === 0) return fail("the rows have no columns: give each row at least one field", row)
  if (columns.length > MAX_FIELDS) {
    return fail(`a record has ${columns.length} fields; Salesforce allows at most ${MAX_FIELDS.toLocaleString("en-US")}`, row)
  }
  const seen = new Set<string>()
  for (const c of columns) {
    const key = c.toLowerCase()
    if (seen.has(key)) return fail(`column "${c}" appears twice (column names are case-insensitive): keep one`, row, c)
    seen.add(key)
  }
  if (ctx.operation === "delete" || ctx.operation === "hardDelete") {
    const other = columns.find((c) => c !== "Id")
    if (other !== undefined) return fail(`${ctx.operation} rows carry only the Id column; remove "${other}"`, row, other)
  }
  if (ctx.operation === "upsert") {
    const ext = ctx.externalIdFieldName
    if (ext !== undefined && !columns.some((c) => c.toLowerCase() === ext.toLowerCase())) {
      return fail(`an upsert on ${ext} needs a "${ext}" column in every row (the value records are matched on)`, row, ext)
    }
  }
  if ((ctx.operation === "update") && !columns.includes("Id")) {
    return fail("update rows need an Id column (the record to update)", row, "Id")
  }
  return undefined
}

const isIdColumn = (c: string): boolean => c === "Id" || c.endsWith(".Id")
// one scan for the rare characters both Unicode checks below look for
const SUSPECT = /[\u0000\uD800-\uDFFF]/

/** Checks one cell's text. */
const checkCell = (text: string, rowIndex: number, field: string, fromRecords = false): InvalidInputError | undefined => {
  if (fromRecords && text === "#N/A") {
    return fail(
      "the text \"#N/A\" is how Salesforce writes null in CSV, so it would be stored as null: pass null to clear the field",
      rowIndex,
      field
    )
  }
  if (text.length > MAX_FIELD_CHARS) {
    return fail(
      `the value is ${text.length.toLocaleString("en-US")} characters; Salesforce allows at most ${
        MAX_FIELD_CHARS.toLocaleString("en-US")
      } per field`,
      rowIndex,
      field
    )
  }
  if (SUSPECT.test(text)) {
    if (LONE_SURROGATE.test(text)) {
      return fail(
        "the value is not valid Unicode (a lone UTF-16 surrogate cannot be written as UTF-8): fix the text's encoding",
        rowIndex,
        field
      )
    }
    if (text.includes("\u0000")) {
      return fail("the value contains a NUL character, which Salesforce does not store: remove it", rowIndex, field)
    }
  }
  if (text === "" || !isIdColumn(field)) return undefined
  if (!(text.length === 15 || text.length === 18) && text !== "#N/A") {
    return fail(`"${text.length > 40 ? text.slice(0, 40) + "…" : text}" is not a Salesforce id (15 or 18 characters)`, rowIndex, field)
  }
  if (!/^[A-Za-z0-9]+$/.test(text)) {
    return fail(`"${text}" is not a Salesforce id (letters and digits only)`, rowIndex, field)
  }
  return undefined
}

const textOf = (v: unknown): string | undefined =>
  typeof v === "string" ? v : typeof v === "number" || typeof v === "bigint" || typeof v === "boolean" ? String(v) : undefined

/**
 * A row checker with state (the first row's shape). `check(row, index)` returns the first problem
 * or undefined.
 */
export const rowChecker = (ctx: CheckContext) => {
  let shape: ReadonlyArray<string> | undefined = ctx.columns
  let shapeSet: Set<string> | undefined = ctx.columns ? new Set(ctx.columns) : undefined
  const declared = ctx.columns !== undefined
  if (declared) {
    const bad = checkColumns(ctx.columns!, ctx)
    if (bad) return { check: () => bad }
  }
  const check = (raw: unknown, index: number): InvalidInputError | undefined => {
    if (!isPlainObject(raw)) return fail("a row must be a plain object of field values", index)
    // a row without relationship objects is its own flat form: no copy per row
    const own = Object.keys(raw)
    let nested = false
    for (let k = 0; k < own.length && !nested; k++) nested = isPlainObject(raw[own[k]!])
    const flat = nested ? flatten(raw) : raw
    const keys = nested ? Object.keys(flat) : own
    if (shape === undefined) {
      const bad = checkColumns(keys, ctx, index)
      if (bad) return bad
      shape = keys
      shapeSet = new Set(keys)
    } else {
      for (const k of keys) {
        if (!shapeSet!.has(k)) {
          if (ctx.operation === "delete" || ctx.operation === "hardDelete") {
            return fail(`${ctx.operation} rows carry only the Id column; remove "${k}"`, index, k)
          }
          return fail(
            `field "${k}" is not one of the columns (${
              shape.join(", ")
            }): rows must all have the same fields; declare every column with the columns option`,
            index,
            k
          )
        }
      }
    }
    let total = 0
    for (const k of keys) {
      const text = textOf(flat[k])
      if (text === undefined) continue
      total += text.length
      const bad = checkCell(text, index, k, true)
      if (bad) return bad
    }
    if (total > MAX_RECORD_CHARS) {
      return fail(
        `the record is ${total.toLocaleString("en-US")} characters; Salesforce allows at most ${
          MAX_RECORD_CHARS.toLocaleString("en-US")
        } per record`,
        index
      )
    }
    if (ctx.operation === "upsert" && ctx.externalIdFieldName !== undefined) {
      const key = keys.find((k) => k.toLowerCase() === ctx.externalIdFieldName!.toLowerCase())
      const v = key === undefined ? undefined : textOf(flat[key])
      if (v === undefined || v === "") return fail(`the upsert key "${ctx.externalIdFieldName}" is empty`, index, ctx.externalIdFieldName)
    }
    if ((ctx.operation === "update" || ctx.operation === "delete" || ctx.operation === "hardDelete")) {
      const id = textOf(flat.Id)
      if (id === undefined || id === "") return fail(`${ctx.operation} needs the record's Id`, index, "Id")
    }
    return undefined
  }
  return { check }
}

/**
 * The rows with every check applied; the stream fails at the first bad row. (An input without rows
 * is refused by `BulkClient` once it is read, unless `allowEmpty`; raw CSV without a record by
 * `csvChecker`.)
 */
export const checkedRows = <A, E, R>(rows: Stream.Stream<A, E, R>, ctx: CheckContext): Stream.Stream<A, E | InvalidInputError, R> =>
  Stream.suspend(() => {
    const { check } = rowChecker(ctx)
    let index = 0
    // synchronous (`mapChunksSync`): an effect per chunk would keep the rows reachable until a full GC
    return mapChunksSync(rows, (chunk) => {
      for (const row of chunk) {
        const bad = readRow(() => check(row, index), index)
        if (bad !== undefined) throw bad
        index++
      }
      return chunk
    }, isInvalidInput)
  })

// ---------------------------------------------------------------------------------------------
// raw CSV
// ---------------------------------------------------------------------------------------------

/** What the raw-CSV checks need: the operation's context and the CSV's column delimiter. */
export interface CsvCheckContext {
  readonly operation?: CheckContext["operation"] | undefined
  readonly externalIdFieldName?: string | undefined
  /** The column delimiter (default `,`). */
  readonly delimiter?: string | undefined
  /** The line ending the records must end with (a 2.0 job's `lineEnding`); default: LF or CRLF. */
  readonly lineEnding?: "LF" | "CRLF" | undefined
  /** The job, named in the line-ending error. */
  readonly jobId?: string | undefined
}

/**
 * An incremental raw-CSV checker: feed it the bytes (or text) as they flow, in any chunking, then
 * call `end`. Constant memory (one record at a time). Checks: valid UTF-8, a header and at least one
 * record, unique header names (at most 5,000; the operation's required columns when it is known),
 * every record as wide as the header, field and record sizes, ids, one line ending (LF or CRLF,
 * the job's when given) outside quoted values. Records are numbered from 0 (the first line after
 * the header). Blank lines are skipped, as Salesforce does, except in a one-column CSV: there a blank
 * line may be meant as an empty value, and Salesforce would skip the record, so it is refused.
 */
export const csvChecker = (ctx: CsvCheckContext) => {
  const delimiter = ctx.delimiter ?? ","
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false })
  let offset = 0
  let header: Array<string> | undefined
  let records = 0
  let rec: Array<string> = []
  let recChars = 0
  let field = ""
  let quoted = false
  let afterQuote = false
  let any = false
  /** A CR ended the last line outside quotes: a LF next makes it a CRLF. */
  let afterCr = false
  let eol: "LF" | "CRLF" | undefined
  let failed: InvalidInputError | undefined
  const opCtx: CheckContext = { operation: ctx.operation ?? "insert", externalIdFieldName: ctx.externalIdFieldName }
  const endRecord = (): InvalidInputError | undefined => {
    rec.push(field)
    field = ""
    const r = rec
    rec = []
    recChars = 0
    any = false
    if (header === undefined) {
      header = r
      // only the checks that hold for every operation unless it is known
      return checkColumns(r, ctx.operation === undefined ? { operation: "insert" } : opCtx)
    }
    const row = records++
    if (r.length !== header.length) return fail(`the record has ${r.length} fields but the header has ${header.length}`, row)
    if (r.length === 1 && r[0] === "") return fail(EMPTY_ONE_COLUMN, row, header[0])
    let total = 0
    for (let c = 0; c < r.length; c++) {
      total += r[c]!.length
      const e = checkCell(r[c]!, row, header[c]!)
      if (e) return e
    }
    if (total > MAX_RECORD_CHARS) {
      return fail(
        `the record is ${total.toLocaleString("en-US")} characters; Salesforce allows at most ${MAX_RECORD_CHARS.toLocaleString("en-US")}`,
        row
      )
    }
    return undefined
  }
  // the record whose line just ended
  const where = () => (header === undefined ? undefined : Math.max(0, records - 1))
  /**
   * A line break outside quotes (once the line is read): one kind per CSV, the job's when it is
   * known. Blank lines before the header are not looked at.
   */
  const lineBreak = (kind: "LF" | "CRLF" | "CR"): InvalidInputError | undefined => {
    if (header === undefined) return undefined
    if (kind === "CR") {
      return fail(
        "a line ends with a bare CR (as classic Mac files do), which Salesforce does not read as a line break: convert the line endings to LF or CRLF",
        where()
      )
    }
    if (eol === undefined) {
      eol = kind
      if (ctx.lineEnding !== undefined && kind !== ctx.lineEnding) {
        return fail(
          `the CSV's lines end with ${kind} but ${
            ctx.jobId === undefined ? "the job" : `job ${ctx.jobId}`
          } was created with lineEnding ${ctx.lineEnding}: ` +
            `create the job with lineEnding "${kind}" (Salesforce refuses the mismatch)`
        )
      }
    } else if (kind !== eol) {
      return fail(
        `a line ends with ${kind} but the lines before it end with ${eol}: use one line ending (Salesforce would keep the stray CR in a value)`,
        where()
      )
    }
    return undefined
  }
  /** A line that holds nothing. */
  const blankLine = (): InvalidInputError | undefined =>
    header !== undefined && header.length === 1
      ? fail(
        "a blank line in a one-column CSV: Salesforce skips it, so a record would be missing (a record of one empty value cannot be sent). Remove the line",
        records
      )
      : undefined
  const delimCode = delimiter.charCodeAt(0)
  const tooLong = () => field.length > MAX_FIELD_CHARS || recChars + field.length > MAX_RECORD_CHARS
  // scans runs of ordinary characters at once (one slice per run, not one string per character)
  const text = (t: string): InvalidInputError | undefined => {
    const n = t.length
    let i = 0
    while (i < n) {
      if (quoted) {
        if (afterQuote) {
          afterQuote = false
          if (t.charCodeAt(i) === 34) {
            field += "\""
            i++
            continue
          }
          // the character after a closing quote is read unquoted
          quoted = false
        } else {
          let j = t.indexOf("\"", i)
          if (j < 0) j = n
          if (j > i) field += t.slice(i, j)
          if (j < n) {
            afterQuote = true
            j++
          }
          i = j
          // no need to hold more of a value that is already too long: report it now
          if (tooLong()) return endRecordEarly()
          continue
        }
      }
      const ch = t.charCodeAt(i)
      if (afterCr) {
        afterCr = false
        const e = lineBreak(ch === 10 ? "CRLF" : "CR")
        if (e) return e
        if (ch === 10) {
          i++
          continue
        }
      }
      if (ch === 34 && field === "") {
        quoted = true
        any = true
        i++
      } else if (ch === delimCode) {
        recChars += field.length
        rec.push(field)
        field = ""
        any = true
        i++
        if (rec.length > MAX_FIELDS) {
          return fail(`a record has more than ${MAX_FIELDS.toLocaleString("en-US")} fields`, header === undefined ? undefined : records)
        }
      } else if (ch === 13 || ch === 10) {
        i++
        const e = any || field !== "" ? endRecord() : blankLine()
        if (e) return e
        if (ch === 13) afterCr = true
        else {
          const e = lineBreak("LF")
          if (e) return e
        }
      } else {
        let j = i + 1
        while (j < n) {
          const c = t.charCodeAt(j)
          if (c === delimCode || c === 13 || c === 10) break
          j++
        }
        field += t.slice(i, j)
        any = true
        i = j
        if (tooLong()) return endRecordEarly()
      }
    }
    return undefined
  }
  const endRecordEarly = (): InvalidInputError | undefined => {
    const column = header?.[rec.length] ?? ""
    const row = header === undefined ? undefined : records
    if (field.length > MAX_FIELD_CHARS) {
      return fail(
        `the value is more than ${MAX_FIELD_CHARS.toLocaleString("en-US")} characters, the most Salesforce allows per field`,
        row,
        column || undefined
      )
    }
    return fail(`the record is more than ${MAX_RECORD_CHARS.toLocaleString("en-US")} characters, the most Salesforce allows`, row)
  }
  const push = (data: string | Uint8Array): InvalidInputError | undefined => {
    if (failed) return failed
    let t: string
    if (typeof data === "string") t = data
    else {
      try {
        t = decoder.decode(data, { stream: true })
      } catch {
        failed = fail(`the CSV is not valid UTF-8 (bad byte near offset ${offset + badByte(data)}): save it as UTF-8`)
        return failed
      }
      offset += data.length
    }
    if (header === undefined && rec.length === 0 && field === "" && !quoted && t.charCodeAt(0) === 0xfeff) t = t.slice(1)
    failed = text(t)
    return failed
  }
  const end = (): InvalidInputError | undefined => {
    if (failed) return failed
    try {
      const rest = decoder.decode()
      if (rest !== "") failed = text(rest)
    } catch {
      failed = fail(`the CSV is not valid UTF-8 (it ends inside a character, near offset ${offset}): save it as UTF-8`)
    }
    if (failed) return failed
    if (afterCr && (failed = lineBreak("CR"))) return failed
    if (quoted && !afterQuote) {
      return (failed = fail("the CSV ends inside a quoted value: a closing quote is missing", header === undefined ? undefined : records))
    }
    quoted = false
    if (any || field !== "") failed = endRecord()
    if (failed) return failed
    if (header === undefined) return (failed = fail("the CSV is empty: it needs a header line and at least one record"))
    if (records === 0) return (failed = fail("the CSV has a header but no record to send"))
    return undefined
  }
  return {
    push,
    end,
    /** The line ending the CSV's records end with, once one is read. */
    lineEnding: (): "LF" | "CRLF" | undefined => eol
  }
}

/** The offset of the first invalid UTF-8 byte of a chunk (approximate at the chunk's start). */
const badByte = (data: Uint8Array): number => {
  let i = 0
  while (i < data.length) {
    const b = data[i]!
    const n = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0
    if (n === 0) return i
    if (i + n > data.length) return i
    for (let k = 1; k < n; k++) if ((data[i + k]! & 0xc0) !== 0x80) return i
    i += n
  }
  return i
}

/**
 * Checks raw CSV bytes or text before upload: valid UTF-8, a header and at least one record,
 * unique header names, at most 5,000 columns, field and record sizes (see `csvChecker`).
 */
export const checkCsv = (data: string | Uint8Array, ctx: CsvCheckContext): Effect.Effect<void, InvalidInputError> =>
  Effect.suspend(() => {
    const checker = csvChecker(ctx)
    // in slices: a large buffer is never decoded into one string
    const step = 1 << 20
    for (let at = 0; at < data.length; at += step) {
      const bad = checker.push(typeof data === "string" ? data.slice(at, at + step) : data.subarray(at, at + step))
      if (bad) return Effect.fail(bad)
    }
    const bad = checker.end()
    return bad ? Effect.fail(bad) : Effect.void
  })

/**
 * Checks a stream of CSV bytes as it flows (constant memory); the stream fails with the first
 * problem, at its end when the CSV has no record.
 */
export const checkedCsvStream = <E, R>(
  data: Stream.Stream<Uint8Array, E, R>,
  ctx: CsvCheckContext
): Stream.Stream<Uint8Array, E | InvalidInputError, R> =>
  Stream.suspend(() => {
    const checker = csvChecker(ctx)
    return Stream.concat(
      Stream.mapChunksEffect(data, (chunk) => {
        for (const c of chunk) {
          const bad = checker.push(c)
          if (bad) return Effect.fail(bad)
        }
        return Effect.succeed(chunk)
      }),
      Stream.suspend(() => {
        const bad = checker.end()
        return bad ? Stream.fail(bad) : Stream.empty
      })
    )
  })

const UTF8_BOM = [0xef, 0xbb, 0xbf] as const

/**
 * Raw CSV without its UTF-8 byte-order mark: Salesforce would read the mark as part of the first
 * column's name ("Field name not found : \uFEFFName"). Text or bytes are cut; a stream drops the
 * mark from its first bytes, however they are chunked.
 */
export const withoutBom = <E, R>(
  data: string | Uint8Array | Stream.Stream<Uint8Array, E, R>
): string | Uint8Array | Stream.Stream<Uint8Array, E, R> => {
  if (typeof data === "string") return data.charCodeAt(0) === 0xfeff ? data.slice(1) : data
  if (data instanceof Uint8Array) return hasBom(data) ? data.subarray(3) : data
  return Stream.suspend(() => {
    // the first bytes, held until three are seen (or the stream ends)
    let head: Uint8Array | undefined = new Uint8Array(0)
    const take = (bytes: Uint8Array): Uint8Array => {
      if (head === undefined) return bytes
      const all: Uint8Array = head.length === 0 ? bytes : Buffer.concat([head, bytes])
      if (all.length < 3 && UTF8_BOM.slice(0, all.length).every((b, i) => all[i] === b)) {
        head = all
        return new Uint8Array(0)
      }
      head = undefined
      return hasBom(all) ? all.subarray(3) : all
    }
    return Stream.concat(
      Stream.filter(Stream.map(data, take), (b) => b.length > 0),
      Stream.suspend(() => (head !== undefined && head.length > 0 ? Stream.make(head) : Stream.empty))
    )
  })
}

/** Whether bytes start with the UTF-8 byte-order mark. */
export const hasBom = (b: Uint8Array): boolean => b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf

/**
 * Raw CSV in another encoding (a WHATWG label: `windows-1252`, `utf-16le`, ...) re-encoded as UTF-8,
 * what Salesforce reads; a byte invalid in that encoding is an `InvalidInputError`. A stream is
 * transcoded as it flows (constant memory). `utf-8` leaves the data as it is.
 */
export const toUtf8 = <E, R>(
  data: string | Uint8Array | Stream.Stream<Uint8Array, E, R>,
  encoding: string | undefined
): Effect.Effect<string | Uint8Array | Stream.Stream<Uint8Array, E | InvalidInputError, R>, InvalidInputError> =>
  Effect.suspend((): Effect.Effect<string | Uint8Array | Stream.Stream<Uint8Array, E | InvalidInputError, R>, InvalidInputError> => {
    if (encoding === undefined || typeof data === "string") return Effect.succeed(data)
    let decoder: CsvReader.Decoder
    try {
      decoder = CsvReader.makeDecoder(encoding, { fatal: true })
    } catch {
      return Effect.fail(
        fail(`encoding ${JSON.stringify(encoding)} is not an encoding name (try utf-8, windows-1252, iso-8859-1, utf-16le)`)
      )
    }
    if (decoder.encoding === "utf-8") return Effect.succeed(data)
    const invalid = () => fail(`the CSV is not valid ${decoder.encoding}: check the encoding it was saved in`)
    if (data instanceof Uint8Array) {
      return Effect.try({ try: () => utf8.encode(decoder.decode(data)), catch: invalid })
    }
    return Effect.succeed(Stream.suspend(() => {
      const d = CsvReader.makeDecoder(encoding, { fatal: true })
      const step = (bytes: Uint8Array | undefined) =>
        Effect.try({ try: () => utf8.encode(bytes === undefined ? d.decode() : d.decode(bytes, { stream: true })), catch: invalid })
      return Stream.concat(
        Stream.mapEffect(data, step),
        Stream.fromEffect(Effect.suspend(() => step(undefined)))
      ).pipe(Stream.filter((b) => b.length > 0))
    }))
  })

const utf8 = new TextEncoder()

/** Whether an encoding label names UTF-8 (false for a label that names no encoding). */
export const isUtf8 = (label: string): boolean => {
  try {
    return new TextDecoder(label).encoding === "utf-8"
  } catch {
    return false
  }
}
