/**
 * Pre-upload input checks: the rows Salesforce would refuse (or silently alter) are refused here,
 * each with an `InvalidInputError` naming the row (0-based input position) and field, before
 * anything is uploaded. Re-readable inputs (arrays, Sets, any Iterable that is not a one-shot
 * iterator) are checked whole before the first request unless the caller opts in to a partial
 * upload; one-shot inputs (Streams, AsyncIterables, generators) are checked row by row as they
 * flow, so an error stops the operation at the bad row.
 *
 * Limits (Salesforce Bulk API): a field of at most 131,072 characters, a record of at most 400,000
 * characters, at most 5,000 fields per record; ids are 15 or 18 characters.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { InvalidInputError } from "../BulkError.js"
import { flatten } from "./rows.js"

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

const isIdColumn = (c: string) => c === "Id" || /\.Id$/.test(c)

/** Checks one cell's text. */
const checkCell = (text: string, rowIndex: number, field: string, fromRecords = false): InvalidInputError | undefined => {
  if (fromRecords && text === "#N/A") {
    return fail("the text \"#N/A\" is how Salesforce writes null in CSV, so it would be stored as null: pass null to clear the field", rowIndex, field)
  }
  if (text.length > MAX_FIELD_CHARS) {
    return fail(`the value is ${text.length.toLocaleString("en-US")} characters; Salesforce allows at most ${MAX_FIELD_CHARS.toLocaleString("en-US")} per field`, rowIndex, field)
  }
  if (LONE_SURROGATE.test(text)) {
    return fail("the value is not valid Unicode (a lone UTF-16 surrogate cannot be written as UTF-8): fix the text's encoding", rowIndex, field)
  }
  if (text.includes("\u0000")) {
    return fail("the value contains a NUL character, which Salesforce does not store: remove it", rowIndex, field)
  }
  if (isIdColumn(field) && text !== "" && !(text.length === 15 || text.length === 18) && text !== "#N/A") {
    return fail(`"${text.length > 40 ? text.slice(0, 40) + "…" : text}" is not a Salesforce id (15 or 18 characters)`, rowIndex, field)
  }
  if (isIdColumn(field) && text !== "" && !/^[A-Za-z0-9]+$/.test(text)) {
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
    const flat = flatten(raw)
    const keys = Object.keys(flat)
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
            `field "${k}" is not one of the columns (${shape.join(", ")}): rows must all have the same fields; declare every column with the columns option`,
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
      return fail(`the record is ${total.toLocaleString("en-US")} characters; Salesforce allows at most ${MAX_RECORD_CHARS.toLocaleString("en-US")} per record`, index)
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
 * The rows with every check applied; the stream fails at the first bad row. (No row at all is not
 * an error for records: the operation reports zeros. Raw CSV without a record is, see `checkCsv`.)
 */
export const checkedRows = <A, E, R>(rows: Stream.Stream<A, E, R>, ctx: CheckContext): Stream.Stream<A, E | InvalidInputError, R> =>
  Stream.suspend(() => {
    const { check } = rowChecker(ctx)
    let index = 0
    const checked = Stream.mapChunksEffect(rows, (chunk) => {
      for (const row of chunk) {
        const bad = check(row, index)
        if (bad !== undefined) return Effect.fail(bad)
        index++
      }
      return Effect.succeed(chunk)
    })
    return checked
  })

/** True for inputs that can be read twice (so they can be checked whole before any upload). */
export const isReReadable = (rows: unknown): rows is Iterable<unknown> =>
  typeof rows === "object" && rows !== null && Symbol.iterator in rows &&
  // an iterator (generator) returns itself and can be read only once
  (rows as Iterable<unknown>)[Symbol.iterator]() !== (rows as unknown)

/** Checks a re-readable input whole; fails with the first problem. */
export const checkAll = (rows: Iterable<unknown>, ctx: CheckContext): Effect.Effect<void, InvalidInputError> =>
  Effect.suspend(() => Stream.runDrain(checkedRows(Stream.fromIterable(rows), ctx)))

// ---------------------------------------------------------------------------------------------
// raw CSV
// ---------------------------------------------------------------------------------------------

/**
 * Checks raw CSV bytes or text before upload: valid UTF-8, a header and at least one record,
 * unique header names, at most 5,000 columns, field and record sizes. Light parsing (RFC 4180
 * quotes) with the given delimiter.
 */
export const checkCsv = (
  data: string | Uint8Array,
  ctx: CheckContext & { readonly delimiter?: string | undefined }
): Effect.Effect<void, InvalidInputError> =>
  Effect.suspend(() => {
    let text: string
    if (typeof data === "string") text = data
    else {
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(data)
      } catch {
        let bad = 0
        // locate the first invalid byte for the message
        for (let i = 1; i <= data.length; i++) {
          try {
            new TextDecoder("utf-8", { fatal: true }).decode(data.subarray(0, i))
          } catch {
            bad = i - 1
            if (i - bad > 4) break
          }
        }
        return Effect.fail(fail(`the CSV is not valid UTF-8 (bad byte near offset ${bad}): save it as UTF-8`))
      }
    }
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    const records = parseCsvLight(text, ctx.delimiter ?? ",")
    if (records.length === 0) return Effect.fail(fail("the CSV is empty: it needs a header line and at least one record"))
    const header = records[0]!
    const bad = checkColumns(header, ctx)
    if (bad) return Effect.fail(bad)
    if (records.length === 1) return Effect.fail(fail("the CSV has a header but no record to send"))
    for (let r = 1; r < records.length; r++) {
      const rec = records[r]!
      if (rec.length !== header.length) {
        return Effect.fail(fail(`the record has ${rec.length} fields but the header has ${header.length}`, r - 1))
      }
      let total = 0
      for (let c = 0; c < rec.length; c++) {
        total += rec[c]!.length
        const e = checkCell(rec[c]!, r - 1, header[c]!)
        if (e) return Effect.fail(e)
      }
      if (total > MAX_RECORD_CHARS) {
        return Effect.fail(fail(`the record is ${total.toLocaleString("en-US")} characters; Salesforce allows at most ${MAX_RECORD_CHARS.toLocaleString("en-US")}`, r - 1))
      }
    }
    return Effect.void
  })

/** RFC 4180 records of a CSV text (blank lines skipped). */
const parseCsvLight = (text: string, delimiter: string): Array<Array<string>> => {
  const out: Array<Array<string>> = []
  let rec: Array<string> = []
  let field = ""
  let quoted = false
  let i = 0
  let any = false
  while (i < text.length) {
    const ch = text[i]!
    if (quoted) {
      if (ch === "\"") {
        if (text[i + 1] === "\"") {
          field += "\""
          i += 2
          continue
        }
        quoted = false
        i++
        continue
      }
      field += ch
      i++
      continue
    }
    if (ch === "\"" && field === "") {
      quoted = true
      any = true
      i++
    } else if (ch === delimiter) {
      rec.push(field)
      field = ""
      any = true
      i++
    } else if (ch === "\r" || ch === "\n") {
      if (any || field !== "") {
        rec.push(field)
        out.push(rec)
      }
      rec = []
      field = ""
      any = false
      i += ch === "\r" && text[i + 1] === "\n" ? 2 : 1
    } else {
      field += ch
      any = true
      i++
    }
  }
  if (any || field !== "") {
    rec.push(field)
    out.push(rec)
  }
  return out
}
