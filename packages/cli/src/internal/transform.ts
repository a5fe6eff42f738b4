/**
 * What the CLI does to each input row before it is sent, one row at a time (constant memory), in
 * this order: `--mapping` renames the columns to fields (the client's `Mapping`), cells become null
 * (`#N/A` always, as Salesforce reads it; an empty cell with `--insert-nulls`), and the date fields
 * (`--date-fields`, else the fields the object's describe types `date` or `datetime`) are read with
 * `--date-format` in `--time-zone` and written in Salesforce's ISO forms (`yyyy-MM-dd`; datetimes in
 * UTC with `Z`). A cell that does not read is an input error naming its line and column. Dates use
 * `Intl` only (no date library).
 */
import { BulkError, Describe, Mapping } from "@sfbulk/client"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"

const InvalidInputError = BulkError.InvalidInputError
type InvalidInputError = BulkError.InvalidInputError

/** A row as sent: text, or null to set the field to null. */
export type Cells = Record<string, string | null>

/** A mapping file as read (and as the journal keeps it, so a resume maps the same way). */
export interface MappingFile {
  /** Absolute path, for messages. */
  readonly file: string
  readonly sha256: string
  readonly text: string
}

/** The transform flags. */
export interface Options {
  readonly mapping?: MappingFile | undefined
  /** `--date-format`: a pattern of yyyy yy MM M MMM dd d HH H hh h mm m ss s SSS a and literals. */
  readonly dateFormat?: string | undefined
  /** `--time-zone`: an IANA zone (resolved: the machine's when not given). */
  readonly timeZone?: string | undefined
  /** `--date-fields`: `Field` or `Field:date` / `Field:datetime`. */
  readonly dateFields?: ReadonlyArray<string> | undefined
  /**
   * Without `--date-fields`: the object's date and datetime fields (lower-cased name → type), from
   * its describe; the fields sent among them are converted.
   */
  readonly fieldTypes?: Readonly<Record<string, "date" | "datetime">> | undefined
  /** Mapping targets fitted to the object (`Account:Parent.Ext__c` → `Parent.Ext__c`), from its describe. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly insertNulls?: boolean | undefined
}

/** The machine's time zone (Data Loader's default too). */
export const localTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone

/** Whether `zone` is an IANA time zone `Intl` knows. */
export const isTimeZone = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone })
    return true
  } catch {
    return false
  }
}

/** Reads a mapping file (checking that it parses), before anything is sent. */
export const readMapping = (path: string): Effect.Effect<MappingFile, InvalidInputError> =>
  Effect.flatMap(
    Effect.try({
      try: () => Fs.readFileSync(path),
      catch: (e) =>
        new InvalidInputError({ what: `the mapping file ${path} cannot be read (${(e as Error).message}): check the --mapping path` })
    }),
    (bytes) => {
      const text = utf8(bytes)
      if (typeof text !== "string") {
        // read leniently, its column names would hold U+FFFD and match no column of the file
        return Effect.fail(
          new InvalidInputError({
            what: `${path}: line ${text.line} is not UTF-8 text: save the mapping file as UTF-8` +
              (/\.csv$/i.test(path) ? "" : `, or write its non-ASCII letters as \\u escapes as Data Loader does (é is \\u00e9)`),
            row: text.line
          })
        )
      }
      const parsed = Mapping.parse(text, path)
      if (parsed instanceof InvalidInputError) return Effect.fail(inMappingFile(parsed, path))
      return Effect.succeed({ file: Path.resolve(path), sha256: Crypto.createHash("sha256").update(text).digest("hex"), text })
    }
  )

/** Strict UTF-8 (a leading BOM dropped), or the line of the first byte that is not. */
const utf8 = (bytes: Uint8Array): string | { readonly line: number } => {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes)
  } catch {
    const lenient = new TextDecoder("utf-8").decode(bytes)
    return { line: lenient.slice(0, lenient.indexOf("\uFFFD")).split("\n").length }
  }
}

const inMappingFile = (e: InvalidInputError, file: string) =>
  new InvalidInputError({
    what: `${file}: ${e.what}`,
    ...(e.row === undefined ? {} : { row: e.row }),
    ...(e.field === undefined ? {} : { field: e.field })
  })

/** A parsed mapping with its targets renamed by `headers` (see {@link Options.headers}). */
const fitted = (
  m: Mapping.FieldMapping | InvalidInputError,
  headers: Readonly<Record<string, string>> | undefined
): Mapping.FieldMapping | InvalidInputError =>
  m instanceof InvalidInputError || headers === undefined ? m : Mapping.renameFields(m, (f) => headers[f] ?? f)

/** Whether the transform needs the object's describe: dates without `--date-fields`, or a mapping to check and fit. */
export const needsDescribe = (o: Options): boolean =>
  (o.dateFormat !== undefined && (o.dateFields === undefined || o.dateFields.length === 0)) || o.mapping !== undefined

/**
 * The transform fitted to the object's description: its date and datetime fields (unless
 * `--date-fields` names them), and the mapping's targets checked against its fields (a field or
 * relationship it lacks is an input error naming the mapping file, before anything is sent) and
 * fitted as Bulk API headers (an object type kept only on a polymorphic lookup). The result is what
 * the journal keeps, so a resume converts the same way without describing again.
 */
export const fitToObject = (o: Options, d: Describe.SObjectDescription): Options | InvalidInputError => {
  let out: Options = o
  if (o.dateFormat !== undefined && (o.dateFields === undefined || o.dateFields.length === 0)) {
    const fieldTypes: Record<string, "date" | "datetime"> = {}
    for (const f of d.fields) if (f.type === "date" || f.type === "datetime") fieldTypes[f.name.toLowerCase()] = f.type
    out = { ...out, fieldTypes }
  }
  if (o.mapping !== undefined) {
    const m = Mapping.parse(o.mapping.text, o.mapping.file)
    if (m instanceof InvalidInputError) return inMappingFile(m, o.mapping.file)
    const headers: Record<string, string> = {}
    for (const target of Mapping.fields(m)) {
      const h = Describe.header(d, target)
      const bad = Describe.checkColumn(d, h)
      if (bad !== undefined) {
        return new InvalidInputError({ what: `${o.mapping.file}: the mapping fills ${target}, but ${bad}`, field: target })
      }
      if (h !== target) headers[target] = h
    }
    if (Object.keys(headers).length > 0) out = { ...out, headers }
  }
  return out
}

/** The mapping's lookups that name an object type (`Contact:Who.Email`), which only a describe can fit. */
export const typedLookups = (o: Options): ReadonlyArray<string> => {
  if (o.mapping === undefined) return []
  const m = Mapping.parse(o.mapping.text, o.mapping.file)
  return m instanceof InvalidInputError ? [] : Mapping.fields(m).filter((t) => /^[^:.]+:[^:.]+\.[^:.]+$/.test(t))
}

// ---------------------------------------------------------------------------------------------
// dates
// ---------------------------------------------------------------------------------------------

const MONTHS = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december"
]

/** A month written as its English name or its three-letter abbreviation (as SimpleDateFormat reads MMM and MMMM alike). */
const monthOf = (name: string): number | undefined => {
  const n = name.toLowerCase()
  const i = MONTHS.findIndex((m) => m === n || m.slice(0, 3) === n)
  return i < 0 ? undefined : i + 1
}

type Part = "y" | "M" | "d" | "H" | "h" | "m" | "s" | "S" | "a"

/** A compiled `--date-format`: a regular expression and what each group holds. */
export interface DatePattern {
  readonly source: string
  readonly regex: RegExp
  readonly parts: ReadonlyArray<{ readonly part: Part; readonly token: string }>
  readonly hasTime: boolean
  /** The pattern's date part alone, when it has a time part. */
  readonly dateOnly?: DatePattern | undefined
}

const TOKENS: Readonly<Record<string, { readonly part: Part; readonly re: string }>> = {
  yyyy: { part: "y", re: "(\\d{4})" },
  yy: { part: "y", re: "(\\d{2})" },
  MMMM: { part: "M", re: "([A-Za-z]{3,9})" },
  MMM: { part: "M", re: "([A-Za-z]{3,9})" },
  MM: { part: "M", re: "(\\d{2})" },
  M: { part: "M", re: "(\\d{1,2})" },
  dd: { part: "d", re: "(\\d{2})" },
  d: { part: "d", re: "(\\d{1,2})" },
  HH: { part: "H", re: "(\\d{2})" },
  H: { part: "H", re: "(\\d{1,2})" },
  hh: { part: "h", re: "(\\d{2})" },
  h: { part: "h", re: "(\\d{1,2})" },
  mm: { part: "m", re: "(\\d{2})" },
  m: { part: "m", re: "(\\d{1,2})" },
  ss: { part: "s", re: "(\\d{2})" },
  s: { part: "s", re: "(\\d{1,2})" },
  SSS: { part: "S", re: "(\\d{3})" },
  a: { part: "a", re: "([AaPp][Mm])" }
}

/** Compiles a Java-style date pattern (`dd/MM/yyyy`, `MM/dd/yyyy HH:mm`, `'T'` quotes literals). */
export const compilePattern = (pattern: string): DatePattern | string => {
  let re = "^"
  const parts: Array<{ part: Part; token: string }> = []
  let i = 0
  while (i < pattern.length) {
    const c = pattern[i]!
    if (c === "'") {
      const end = pattern.indexOf("'", i + 1)
      if (end < 0) return `the quote at position ${i + 1} is not closed`
      re += end === i + 1 ? "'" : escapeRe(pattern.slice(i + 1, end))
      i = end + 1
      continue
    }
    if (/[A-Za-z]/.test(c)) {
      let j = i
      while (j < pattern.length && pattern[j] === c) j++
      const token = pattern.slice(i, j)
      const t = TOKENS[token]
      if (t === undefined) {
        return `"${token}" is not a pattern letter sfbulk reads (use yyyy yy MM M MMM dd d HH H hh h mm m ss s SSS a; quote literal letters as 'T')`
      }
      if (parts.some((p) => p.part === t.part)) return `"${token}" repeats a part already in the pattern`
      parts.push({ part: t.part, token })
      // as Java's SimpleDateFormat (Data Loader's): a two-letter number field also reads one digit
      // (1/2/2024 with dd/MM/yyyy), unless another number field follows it directly (yyyyMMdd)
      const adjacent = j < pattern.length && /[yMdHhmsS]/.test(pattern[j]!)
      re += !adjacent && /^(MM|dd|HH|hh|mm|ss)$/.test(token) ? "(\\d{1,2})" : t.re
      i = j
      continue
    }
    re += c === " " ? "\\s+" : escapeRe(c)
    i++
  }
  const has = (p: Part) => parts.some((x) => x.part === p)
  if (!has("y") || !has("M") || !has("d")) return "a date pattern needs a year (yyyy), a month (MM) and a day (dd)"
  if (has("h") !== has("a")) return "hh (1-12) needs a (AM/PM), and a needs hh"
  const hasTime = has("H") || has("h")
  // a date field's cells may leave the time out: the pattern up to its first time letter also reads
  const cut = hasTime ? pattern.slice(0, pattern.search(/[Hh]/)).replace(/[\sT'.,:-]+$/, "") : ""
  const dateOnly = hasTime && cut !== "" ? compilePattern(cut) : undefined
  return {
    source: pattern,
    regex: new RegExp(re + "$"),
    parts,
    hasTime,
    ...(dateOnly !== undefined && typeof dateOnly !== "string" ? { dateOnly } : {})
  }
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** Local date-time fields read off a cell. */
interface Local {
  readonly y: number
  readonly M: number
  readonly d: number
  readonly H: number
  readonly m: number
  readonly s: number
  readonly S: number
}

/** Reads a cell with the pattern; undefined when it does not match or names no real date. */
export const readLocal = (p: DatePattern, text: string): Local | undefined => {
  const match = p.regex.exec(text.trim())
  if (match === null) return p.dateOnly === undefined ? undefined : readLocal(p.dateOnly, text)
  const v = { y: 0, M: 0, d: 0, H: 0, m: 0, s: 0, S: 0 }
  let pm: boolean | undefined
  for (let k = 0; k < p.parts.length; k++) {
    const { part, token } = p.parts[k]!
    const g = match[k + 1]!
    if (part === "a") pm = g.toLowerCase() === "pm"
    else if (part === "M" && token.length >= 3) {
      const month = monthOf(g)
      if (month === undefined) return undefined
      v.M = month
    } else if (part === "y" && token === "yy") v.y = twoDigitYear(Number(g))
    else if (part === "h") v.H = Number(g)
    else v[part] = Number(g)
  }
  if (pm !== undefined) {
    if (v.H < 1 || v.H > 12) return undefined
    v.H = (v.H % 12) + (pm ? 12 : 0)
  }
  if (v.H > 23 || v.m > 59 || v.s > 59) return undefined
  const check = new Date(Date.UTC(v.y, v.M - 1, v.d))
  if (v.M < 1 || v.M > 12 || check.getUTCFullYear() !== v.y || check.getUTCMonth() !== v.M - 1 || check.getUTCDate() !== v.d) {
    return undefined
  }
  return v
}

/**
 * A two-digit year as Java's SimpleDateFormat reads it: within 80 years before and 20 years after
 * today (in 2026: 46 is 2046, 47 is 1947).
 */
export const twoDigitYear = (yy: number, now = new Date().getUTCFullYear()): number => {
  const year = Math.floor(now / 100) * 100 + yy
  return year > now + 20 ? year - 100 : year <= now - 80 ? year + 100 : year
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0")

/** `yyyy-MM-dd` of a local date. */
export const isoDate = (l: Local): string => `${pad(l.y, 4)}-${pad(l.M)}-${pad(l.d)}`

/** The offset (ms, local minus UTC) of `zone` at the instant `ms`. */
const offsetAt = (formatter: Intl.DateTimeFormat, ms: number): number => {
  const parts: Record<string, number> = {}
  for (const p of formatter.formatToParts(new Date(ms))) if (p.type !== "literal") parts[p.type] = Number(p.value)
  const asUtc = Date.UTC(parts["year"]!, parts["month"]! - 1, parts["day"]!, parts["hour"]! % 24, parts["minute"]!, parts["second"]!)
  return asUtc - Math.floor(ms / 1000) * 1000
}

/** A formatter giving a zone's wall-clock fields. */
export const zoneFormatter = (zone: string): Intl.DateTimeFormat =>
  new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric"
  })

/**
 * The UTC instant of a wall-clock time in a zone, as java.util.Calendar (Data Loader's
 * SimpleDateFormat) reads it: a time skipped by a DST change reads as the same wall time after the
 * change; a repeated one as its second occurrence, in the offset after the change (standard time
 * when summer time ends). java.time would take the first: Data Loader's answer is the one its users
 * have in their orgs.
 */
export const toUtc = (formatter: Intl.DateTimeFormat, l: Local): number => {
  const wall = Date.UTC(l.y, l.M - 1, l.d, l.H, l.m, l.s, l.S)
  const day = 86_400_000
  // the zone's offsets a day before and after: around a change they differ
  const before = wall - offsetAt(formatter, wall - day)
  const after = wall - offsetAt(formatter, wall + day)
  const fits = [before, after].filter((c) => c + offsetAt(formatter, c) === wall).sort((a, b) => b - a)
  return fits[0] ?? before
}

/** An ISO UTC instant rendered as wall-clock time in `zone` with its offset (`2024-12-31T10:00:00.000+01:00`). */
export const renderInZone = (formatter: Intl.DateTimeFormat, iso: string): string => {
  const ms = Date.parse(iso)
  if (Number.isNaN(ms)) return iso
  const off = offsetAt(formatter, ms)
  const local = new Date(ms + off)
  const sign = off < 0 ? "-" : "+"
  // offsets before standard time were local mean time, to the second (Paris until 1911: +00:09:21)
  const abs = Math.abs(off) / 1000
  const seconds = abs % 60
  return local.toISOString().slice(0, 23) + `${sign}${pad(Math.floor(abs / 3600))}:${pad(Math.floor(abs / 60) % 60)}` +
    (seconds === 0 ? "" : `:${pad(seconds)}`)
}

/** ISO-8601 datetimes as Salesforce writes them in query results. */
export const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})$/

/**
 * A query row with its ISO datetimes rendered in a zone (`export --time-zone`); relationship
 * objects are walked. Other values are left as they are.
 */
export const localizer = (zone: string) => {
  const formatter = zoneFormatter(zone)
  const walk = (row: Readonly<Record<string, unknown>>): Record<string, unknown> => {
    const out: Record<string, unknown> = {}
    for (const k in row) {
      const v = row[k]
      out[k] = typeof v === "string" && ISO_DATETIME.test(v)
        ? renderInZone(formatter, v)
        : typeof v === "object" && v !== null && !Array.isArray(v)
        ? walk(v as Record<string, unknown>)
        : v
    }
    return out
  }
  return walk
}

// ---------------------------------------------------------------------------------------------
// the transform
// ---------------------------------------------------------------------------------------------

/** Parses `--date-fields` entries: `Field`, `Field:date`, `Field:datetime`. */
export const dateFieldsOf = (
  entries: ReadonlyArray<string>,
  pattern: DatePattern
): Array<{ readonly field: string; readonly datetime: boolean }> | string => {
  const out: Array<{ field: string; datetime: boolean }> = []
  for (const raw of entries.flatMap((e) => e.split(","))) {
    const e = raw.trim()
    if (e === "") continue
    const m = /^([^:]+?)(?::(date|datetime))?$/i.exec(e)
    if (m === null) return `--date-fields: "${e}" is not Field, Field:date or Field:datetime`
    out.push({ field: m[1]!.trim(), datetime: m[2] === undefined ? pattern.hasTime : m[2].toLowerCase() === "datetime" })
  }
  return out
}

/** Checks the flags' combination (a usage message, or undefined). */
export const checkFlags = (o: Options): string | undefined => {
  if (o.timeZone !== undefined && !isTimeZone(o.timeZone)) {
    return `--time-zone: "${o.timeZone}" is not an IANA time zone (e.g. Europe/Paris, America/New_York, UTC)`
  }
  if (o.dateFormat === undefined) {
    if (o.dateFields !== undefined && o.dateFields.length > 0) return "--date-fields needs --date-format (how the cells write their dates)"
    // without a format nothing is converted: a zone alone would be silently ignored
    return o.timeZone !== undefined
      ? "--time-zone on a load applies to --date-format datetimes: add --date-format"
      : undefined
  }
  const p = compilePattern(o.dateFormat)
  if (typeof p === "string") return `--date-format "${o.dateFormat}": ${p}`
  // without --date-fields, the object's describe says which fields hold dates (see fitToObject)
  if (o.dateFields === undefined || o.dateFields.length === 0) return undefined
  const f = dateFieldsOf(o.dateFields, p)
  return typeof f === "string" ? f : undefined
}

/** Whether any transform applies (else the records go to the client untouched). */
export const isActive = (o: Options): boolean => o.mapping !== undefined || o.dateFormat !== undefined || o.insertNulls === true

/**
 * The records, transformed as they stream, and the header of what is sent (the mapped fields).
 * `lineOf` gives a record's line in the input, for messages.
 */
export const apply = <E>(
  records: Stream.Stream<Record<string, string>, E>,
  header: () => ReadonlyArray<string>,
  o: Options,
  source: string,
  lineOf: (record: object) => number | undefined
): { readonly records: Stream.Stream<Cells, E | InvalidInputError>; readonly header: () => ReadonlyArray<string> } => {
  const mapping = o.mapping === undefined ? undefined : fitted(Mapping.parse(o.mapping.text, o.mapping.file), o.headers)
  const pattern = o.dateFormat === undefined ? undefined : compilePattern(o.dateFormat)
  const fields = pattern === undefined || typeof pattern === "string" ? [] : dateFieldsOf(o.dateFields ?? [], pattern)
  const byType = o.dateFields === undefined || o.dateFields.length === 0 ? o.fieldTypes : undefined
  const zone = zoneFormatter(o.timeZone ?? localTimeZone())
  let sent: ReadonlyArray<string> | undefined
  const out = Stream.suspend(() => {
    if (mapping instanceof InvalidInputError) return Stream.fail(inMappingFile(mapping, o.mapping!.file))
    if (typeof pattern === "string" || typeof fields === "string") {
      return Stream.fail(new InvalidInputError({ what: `--date-format: ${pattern as string}` }))
    }
    // neither named nor described: converting nothing would pass the dates through silently
    if (pattern !== undefined && fields.length === 0 && byType === undefined) {
      return Stream.fail(new InvalidInputError({ what: "--date-format needs --date-fields here (the object's field types are not known)" }))
    }
    let plan: (<V>(row: Readonly<Record<string, V>>) => Record<string, V | string>) | undefined
    let dates: ReadonlyArray<{ readonly key: string; readonly datetime: boolean }> = []
    // with --mapping, where each field sent comes from: the file's column (what the user can find
    // in the file), or the mapping's constant
    const origin = new Map<string, string>()
    const start = (): InvalidInputError | undefined => {
      const columns = header()
      if (mapping !== undefined) {
        const f = Mapping.compile(mapping, columns)
        if (f instanceof InvalidInputError) {
          return new InvalidInputError({
            what: `${f.what.replace("the input", source)} (--mapping ${o.mapping!.file})`,
            row: 1,
            ...(f.field ? { field: f.field } : {})
          })
        }
        sent = f.fields
        plan = f.apply
        for (const [c, v] of Object.entries(mapping.columns)) {
          const column = columns.find((x) => x.toLowerCase() === c.toLowerCase()) ?? c
          for (const field of v === null ? [] : typeof v === "string" ? [v] : v) {
            if (field !== "" && field.toLowerCase() !== column.toLowerCase()) origin.set(field, `column ${column} (${field})`)
          }
        }
        for (const field of Object.keys(mapping.constants ?? {})) origin.set(field, `the constant ${field} of the mapping`)
      } else {
        sent = columns
        // the reader makes a fresh object per record: changed in place, no copy
        plan = (row) => row as Record<string, any>
      }
      const lower = new Map(sent.map((c) => [c.toLowerCase(), c]))
      const found: Array<{ key: string; datetime: boolean }> = []
      if (byType !== undefined) {
        for (const c of sent) {
          const type = byType[c.toLowerCase()]
          if (type !== undefined) found.push({ key: c, datetime: type === "datetime" })
        }
        if (found.length === 0) {
          return new InvalidInputError({
            what: `--date-format: none of the fields sent (${sent.join(", ")}) is a date or datetime field of the object: ` +
              `drop --date-format, or name the fields holding dates with --date-fields`
          })
        }
      }
      for (const d of fields as ReadonlyArray<{ field: string; datetime: boolean }>) {
        const key = lower.get(d.field.toLowerCase())
        if (key === undefined) {
          return new InvalidInputError({
            what: `--date-fields names ${d.field}, which is not among the fields sent (${sent.join(", ")})${
              mapping ? " after --mapping" : ""
            }`,
            field: d.field
          })
        }
        found.push({ key, datetime: d.datetime })
      }
      dates = found
      return undefined
    }
    const transform = (rec: Record<string, string>): Cells | InvalidInputError => {
      const row: Cells = plan!(rec)
      for (const k in row) {
        const v = row[k]
        // Salesforce reads #N/A as null; an empty cell is null only with --insert-nulls
        if (v === "#N/A" || (v === "" && o.insertNulls === true)) row[k] = null
      }
      for (const d of dates) {
        const v = row[d.key]
        if (v === null || v === undefined || v === "") continue
        const local = readLocal(pattern!, v)
        if (local === undefined) {
          const line = lineOf(rec)
          return new InvalidInputError({
            what:
              `${line === undefined ? "a line" : `line ${line}`} of ${source}, ${
                origin.get(d.key) ?? `column ${d.key}`
              }: "${v}" is not a date in the --date-format ${o.dateFormat}` +
              ` (fix the cell, or give the format the file uses)`,
            ...(line === undefined ? {} : { row: line }),
            field: d.key
          })
        }
        row[d.key] = d.datetime ? new Date(toUtc(zone, local)).toISOString() : isoDate(local)
      }
      return row
    }
    return Stream.mapChunksEffect(records, (chunk): Effect.Effect<Chunk.Chunk<Cells>, InvalidInputError> => {
      const rows: Array<Cells> = []
      for (const rec of chunk) {
        if (plan === undefined) {
          const bad = start()
          if (bad) return Effect.fail(bad)
        }
        const r = transform(rec)
        if (r instanceof InvalidInputError) return Effect.fail(r)
        rows.push(r)
      }
      return Effect.succeed(Chunk.unsafeFromArray(rows))
    })
  })
  return { records: out, header: () => sent ?? (mapping === undefined || mapping instanceof InvalidInputError ? header() : []) }
}
