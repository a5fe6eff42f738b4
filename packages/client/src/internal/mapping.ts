/**
 * Field mapping: input columns renamed to Salesforce fields while the rows stream (one row at a time,
 * constant memory), the way Data Loader's `.sdl` mapping files work. Parsers for Data Loader's `.sdl`
 * format (a Java properties file: `CsvColumn=Field`, `#` comments, `\`-escapes, `"constant"=Field`)
 * and for a two-column CSV (`csv column,field`).
 */
import { CsvReader } from "@sfbulk/csv"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { InvalidInputError } from "../BulkError.js"

/** A mapping, as the `mapping` ingest option takes it. */
export interface FieldMapping {
  /**
   * Input column → Salesforce field (or fields: one column may fill several). `null` or an empty
   * list drops the column. Column names match case-insensitively; a column of the input that is
   * not listed is an `InvalidInputError` naming it.
   */
  readonly columns: Readonly<Record<string, string | ReadonlyArray<string> | null>>
  /** Salesforce field → a constant value set on every row (Data Loader's `"value"=Field`). */
  readonly constants?: Readonly<Record<string, string>> | undefined
}

const fail = (what: string, extra: { row?: number; field?: string } = {}) => new InvalidInputError({ what, ...extra })

const targets = (v: string | ReadonlyArray<string> | null | undefined): ReadonlyArray<string> =>
  v === null || v === undefined ? [] : typeof v === "string" ? (v === "" ? [] : [v]) : v

/** Every field a mapping fills: its columns' targets, then its constants' fields. */
export const fieldsOf = (mapping: FieldMapping): ReadonlyArray<string> => [
  ...Object.values(mapping.columns).flatMap(targets),
  ...Object.keys(mapping.constants ?? {})
]

/** The mapping with each field it fills renamed by `rename` (columns and constants alike). */
export const renameFields = (mapping: FieldMapping, rename: (field: string) => string): FieldMapping => {
  const columns: Record<string, ReadonlyArray<string>> = {}
  for (const [c, v] of Object.entries(mapping.columns)) columns[c] = targets(v).map(rename)
  const constants: Record<string, string> = {}
  for (const [f, v] of Object.entries(mapping.constants ?? {})) constants[rename(f)] = v
  return { columns, constants }
}

/** A mapping checked against an input's columns: for each column, the fields it fills. */
export interface Plan {
  /** [input column, its fields], in input order; dropped columns have no fields. */
  readonly columns: ReadonlyArray<readonly [string, ReadonlyArray<string>]>
  readonly constants: ReadonlyArray<readonly [string, string]>
  /** The fields of every mapped row, in order (what the upload's header holds). */
  readonly header: ReadonlyArray<string>
}

/**
 * Checks `mapping` against the input's columns: every column must be mapped (or dropped), every
 * column the mapping names must be in the input, and no field may be filled twice.
 */
export const plan = (mapping: FieldMapping, columns: ReadonlyArray<string>, source = "the input"): Plan | InvalidInputError => {
  const byLower = new Map<string, string>()
  for (const k of Object.keys(mapping.columns)) byLower.set(k.toLowerCase(), k)
  const present = new Set(columns.map((c) => c.toLowerCase()))
  for (const [lower, k] of byLower) {
    if (!present.has(lower)) {
      return fail(
        `the mapping names the column "${k}" but ${source} has no such column (its columns: ${
          columns.join(", ")
        }): fix the mapping or the file`,
        { field: k }
      )
    }
  }
  const out: Array<readonly [string, ReadonlyArray<string>]> = []
  const header: Array<string> = []
  const seen = new Set<string>()
  const add = (field: string, from: string): InvalidInputError | undefined => {
    if (seen.has(field.toLowerCase())) return fail(`the mapping fills the field "${field}" twice (again from ${from}): keep one`, { field })
    seen.add(field.toLowerCase())
    header.push(field)
    return undefined
  }
  for (const c of columns) {
    const key = byLower.get(c.toLowerCase())
    if (key === undefined) {
      return fail(
        `${source} has the column "${c}", which the mapping does not map: map it to a field, or drop it ` +
          `(in a .sdl file a line "${c}=" with nothing after the =; in a CSV mapping a row "${c}," with an empty field)`,
        { field: c }
      )
    }
    const fields = targets(mapping.columns[key])
    for (const f of fields) {
      const bad = add(f, `column "${c}"`)
      if (bad) return bad
    }
    out.push([c, fields])
  }
  const constants = Object.entries(mapping.constants ?? {})
  for (const [f] of constants) {
    const bad = add(f, "a constant")
    if (bad) return bad
  }
  return { columns: out, constants, header }
}

/** One input row (keyed by input column) as the row to send (keyed by field). */
export const applyPlan = <V>(p: Plan, row: Readonly<Record<string, V>>): Record<string, V | string> => {
  const out: Record<string, V | string> = {}
  for (const [c, fields] of p.columns) {
    if (fields.length === 0 || !Object.hasOwn(row, c)) continue
    const v = row[c]!
    for (const f of fields) out[f] = v
  }
  for (const [f, v] of p.constants) out[f] = v
  return out
}

/**
 * Renames the rows' fields by `mapping` as they stream. The input's columns are those of its first
 * row unless `columns` gives them (a CSV's header); the mapping is checked against them there.
 */
export const mapRows = <E, R>(
  rows: Stream.Stream<Readonly<Record<string, unknown>>, E, R>,
  mapping: FieldMapping,
  columns?: () => ReadonlyArray<string>
): Stream.Stream<Record<string, unknown>, E | InvalidInputError, R> =>
  Stream.suspend(() => {
    let p: Plan | undefined
    return Stream.mapEffect(rows, (row) => {
      if (p === undefined) {
        const planned = plan(mapping, columns?.() ?? Object.keys(row))
        if (planned instanceof InvalidInputError) return Effect.fail(planned)
        p = planned
      }
      return Effect.succeed(applyPlan(p, row))
    })
  })

// ---------------------------------------------------------------------------------------------
// .sdl (Java properties, as Data Loader writes them)
// ---------------------------------------------------------------------------------------------

/** The logical lines of a properties file: comments and blank lines skipped, `\` continuations joined. */
const logicalLines = (text: string): Array<{ readonly line: number; readonly text: string }> => {
  const physical = text.replace(/^\uFEFF/, "").split(/\r\n|\r|\n/)
  const out: Array<{ line: number; text: string }> = []
  for (let i = 0; i < physical.length; i++) {
    const start = i
    let t = physical[i]!.replace(/^[ \t\f]+/, "")
    if (t === "" || t.startsWith("#") || t.startsWith("!")) continue
    // an odd number of trailing backslashes continues the line (Java's Properties.load)
    while (/(^|[^\\])(\\\\)*\\$/.test(t) && i + 1 < physical.length) {
      t = t.slice(0, -1) + physical[++i]!.replace(/^[ \t\f]+/, "")
    }
    out.push({ line: start + 1, text: t })
  }
  return out
}

/** Java properties unescaping: `\t \n \r \f`, `\uXXXX`, and `\x` for any other x. */
const unescape = (s: string, line: number): string | InvalidInputError => {
  let out = ""
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c !== "\\") {
      out += c
      continue
    }
    const n = s[++i]
    if (n === undefined) break
    if (n === "u") {
      const hex = s.slice(i + 1, i + 5)
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
        return fail(`line ${line} of the mapping has a malformed \\u escape ("\\u${hex}"): write four hex digits`, { row: line })
      }
      out += String.fromCharCode(parseInt(hex, 16))
      i += 4
    } else out += n === "t" ? "\t" : n === "n" ? "\n" : n === "r" ? "\r" : n === "f" ? "\f" : n
  }
  return out
}

/** Splits a logical line into its raw key and value at the first unescaped `=`, `:` or blank. */
const splitKeyValue = (t: string): readonly [string, string] => {
  let i = 0
  // a quoted constant may hold blanks, = and : unescaped (as the documentation's examples write it)
  if (t.startsWith("\"")) {
    const close = t.indexOf("\"", 1)
    if (close > 0) i = close + 1
  }
  while (i < t.length) {
    const c = t[i]!
    if (c === "\\") {
      i += 2
      continue
    }
    if (c === "=" || c === ":" || c === " " || c === "\t" || c === "\f") break
    i++
  }
  const key = t.slice(0, i)
  let j = i
  while (j < t.length && /[ \t\f]/.test(t[j]!)) j++
  if (j < t.length && (t[j] === "=" || t[j] === ":")) j++
  while (j < t.length && /[ \t\f]/.test(t[j]!)) j++
  return [key, t.slice(j)]
}

/**
 * Data Loader's lookup by an indexed field as the Bulk API header names it: the older
 * `Parent:Oracle_Id__c` (relationship, field) is `Parent.Oracle_Id__c`; the newer
 * `Who:Contact-Email` (relationship, parent object, field) is `Contact:Who.Email`, the header of a
 * polymorphic lookup. Salesforce takes the object type only on polymorphic lookups:
 * `Describe.header` (which the CLI applies) drops it from the others. A target already in Bulk API
 * form (`Lead:Who.Email`, `Owner.Username`) is left as it is.
 */
const lookupField = (f: string): string => {
  const m = /^([^:.-]+):(?:([^:.-]+)-)?([^:.-]+)$/.exec(f)
  if (m === null) return f
  return m[2] === undefined ? `${m[1]}.${m[3]}` : `${m[2]}:${m[1]}.${m[3]}`
}

/**
 * Parses Data Loader's `.sdl` mapping file: `CsvColumn=Field` per line (several fields separated
 * by commas), `CsvColumn=` drops the column, `"constant"=Field` sets a constant value, `#` and `!`
 * start comments, and keys and values take Java properties escapes (`\:`, `\=`, `\ `, `\uXXXX`), as
 * Data Loader's Save Mapping writes them.
 */
export const parseSdl = (text: string): FieldMapping | InvalidInputError => {
  const columns: Record<string, ReadonlyArray<string>> = {}
  const constants: Record<string, string> = {}
  for (const { line, text: t } of logicalLines(text)) {
    const [rawKey, rawValue] = splitKeyValue(t)
    // a blank ends a properties key: a hand-written `Full Name=Name` reads as the column "Full"
    // filling the field "Name=Name", which no field is named; say how to write it
    if (/^[ \t\f]/.test(t.slice(rawKey.length)) && /^[^=]*[^\\]=/.test(rawValue) && !rawKey.startsWith("\"")) {
      const column = t.slice(0, t.search(/[^\\]=/) + 1).trimEnd()
      return fail(
        `line ${line} of the mapping reads as the column "${rawKey}" (in a .sdl file a blank ends the column name): ` +
          `escape the blanks in "${column}" with a backslash, as Data Loader writes them: ${column.replace(/(?<!\\) /g, "\\ ")}=...`,
        { row: line }
      )
    }
    const key = unescape(rawKey, line)
    if (key instanceof InvalidInputError) return key
    const value = unescape(rawValue, line)
    if (value instanceof InvalidInputError) return value
    const fields = value.split(",").map((f) => lookupField(f.trim())).filter((f) => f !== "")
    if (key === "" && fields.length > 0) {
      // `=Field`: no source at all, as an empty constant (Data Loader's tests load it as null)
      for (const f of fields) constants[f] = ""
      continue
    }
    if (key.length >= 2 && key.startsWith("\"") && key.endsWith("\"")) {
      if (fields.length === 0) {
        return fail(`line ${line} of the mapping gives the constant ${key} but no field to set: write ${key}=Field`, { row: line })
      }
      for (const f of fields) constants[f] = key.slice(1, -1)
      continue
    }
    if (key === "") return fail(`line ${line} of the mapping has no column name before the =`, { row: line })
    if (Object.keys(columns).some((k) => k.toLowerCase() === key.toLowerCase())) {
      return fail(`line ${line} of the mapping maps the column "${key}" a second time: keep one line per column`, { row: line, field: key })
    }
    columns[key] = fields
  }
  if (Object.keys(columns).length === 0 && Object.keys(constants).length === 0) {
    return fail("the mapping file maps nothing: write one CsvColumn=Field line per column")
  }
  return { columns, constants }
}

/**
 * Parses a CSV mapping: rows `csv column,field` (an optional header row `csv column,field`; `;` or
 * tab separates the cells when the first line has no comma, as Excel saves in many locales); an
 * empty field drops the column; a column on several rows fills several fields; a row with an empty
 * first cell and a third cell sets a constant (`,BillingCountry,Canada`).
 */
export const parseCsvMapping = (text: string): FieldMapping | InvalidInputError => {
  const rows: Array<{ readonly line: number; readonly cells: ReadonlyArray<string> }> = []
  try {
    // a mapping saved by Excel where the list separator is `;` (most of Europe), or as Unicode text
    // (tab), has no comma on its first line: it is read with that separator
    const first = text.replace(/^\uFEFF/, "").split(/\r\n|\r|\n/).find((l) => l.trim() !== "") ?? ""
    const delimiter = first.includes(",") ? "," : first.includes(";") ? ";" : first.includes("\t") ? "\t" : ","
    const reader = CsvReader.make({ delimiter, skipEmptyLines: true, relaxColumnCount: true })
    const onRow = (cells: Array<string>) => rows.push({ line: reader.line, cells })
    reader.push(text, onRow)
    reader.end(onRow)
  } catch (e) {
    return fail(`the mapping is not valid CSV: ${(e as Error).message}`)
  }
  const columns: Record<string, Array<string>> = {}
  const constants: Record<string, string> = {}
  const first = rows[0]?.cells.map((c) => c.trim().toLowerCase())
  const skip = first !== undefined && (first[0] === "csv column" || first[0] === "column") && first[1] === "field" ? 1 : 0
  for (const { line, cells } of rows.slice(skip)) {
    const [column = "", field = "", value] = cells.map((c) => c.trim())
    if (cells.length > 3) {
      return fail(`line ${line} of the mapping has ${cells.length} cells: write csv column,field (or ,field,value for a constant)`, {
        row: line
      })
    }
    if (column === "") {
      if (value === undefined || field === "") {
        return fail(`line ${line} of the mapping has no csv column: write csv column,field (or ,field,value for a constant)`, { row: line })
      }
      constants[field] = cells[2]!
      continue
    }
    if (value !== undefined && value !== "") {
      return fail(`line ${line} of the mapping gives both a column and a value: a constant row leaves the first cell empty`, { row: line })
    }
    const key = Object.keys(columns).find((k) => k.toLowerCase() === column.toLowerCase()) ?? column
    const list = (columns[key] ??= [])
    if (field !== "") list.push(field)
  }
  if (Object.keys(columns).length === 0 && Object.keys(constants).length === 0) {
    return fail("the mapping file maps nothing: write one csv column,field row per column")
  }
  return { columns, constants }
}

/** Parses a mapping file's text: `.csv` files as CSV, anything else (`.sdl`) as Data Loader's format. */
export const parseMapping = (text: string, fileName: string): FieldMapping | InvalidInputError =>
  /\.csv$/i.test(fileName) ? parseCsvMapping(text) : parseSdl(text)
