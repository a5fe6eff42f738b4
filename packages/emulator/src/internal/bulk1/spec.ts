/**
 * Transformation specs (Bulk API 1.0 "Map Data Fields"): `POST /job/{jobId}/spec` with a CSV
 * `Salesforce Field,Csv Header,Value,Hint`; later CSV batches of the job ("foreign" CSV, in the
 * charset their Content-Type names) are rewritten with it before processing. Per spec row: the
 * field takes the `Csv Header` column's value, or `Value` when the spec names no column or the
 * cell is empty; `Hint` is a Java date pattern for date/datetime fields, or a regular expression
 * defining true for boolean fields. Columns the spec does not name are ignored. See FIDELITY.md.
 */
import { CsvReader } from "@sfbulk/csv"
import type { FieldDef, ObjectDef } from "../model.js"
import { Bulk1Error } from "./formats.js"

/** The spec uploaded to each job (kept beside the job: specs are scoped to their job). */
export const specs = new WeakMap<object, ReadonlyArray<SpecRow>>()

/** The foreign CSV of a batch mapped by a spec, as sent (its `/request`), with its Content-Type. */
export const foreign = new WeakMap<object, { readonly body: Buffer; readonly type: string }>()

/** One spec row. */
export interface SpecRow {
  readonly field: string
  readonly header: string
  readonly value: string
  readonly hint: string
}

/** The documented limit: a spec of less than 8,192 characters. */
export const MAX_SPEC_CHARS = 8192

const HEADER = ["salesforce field", "csv header", "value", "hint"]

const readCsv = (text: string): Array<Array<string>> => {
  const rows: Array<Array<string>> = []
  const reader = CsvReader.make({ delimiter: ",", skipEmptyLines: true, relaxColumnCount: true })
  reader.push(text, (r) => rows.push(r))
  reader.end((r) => rows.push(r))
  return rows
}

/** Parses and checks a spec against the job's object. */
export const parseSpec = (body: Buffer, def: ObjectDef | undefined): ReadonlyArray<SpecRow> => {
  let text: string
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body)
  } catch {
    throw new Bulk1Error("ClientInputError", "Transformation specs must use UTF-8 encoding")
  }
  if (text.length >= MAX_SPEC_CHARS) {
    throw new Bulk1Error("ClientInputError", `Transformation specs must have a file size less than ${MAX_SPEC_CHARS} characters`)
  }
  let rows: Array<Array<string>>
  try {
    rows = readCsv(text)
  } catch (e) {
    throw new Bulk1Error("ClientInputError", `Failed to parse transformation spec: ${(e as Error).message}`)
  }
  const header = rows[0]?.map((h) => h.trim().toLowerCase()) ?? []
  if (HEADER.some((h, i) => header[i] !== h)) {
    throw new Bulk1Error("ClientInputError", "Transformation spec header must be: Salesforce Field,Csv Header,Value,Hint")
  }
  return rows.slice(1).map((r) => {
    const [field = "", header = "", value = "", hint = ""] = r
    const f = field.trim()
    if (f === "") throw new Bulk1Error("ClientInputError", "Every transformation spec row needs a Salesforce Field")
    if (def && !def.fields.some((d) => d.name.toLowerCase() === f.toLowerCase())) {
      throw new Bulk1Error("InvalidBatch", `Field name not found : ${f}`)
    }
    return { field: f, header: header.trim(), value, hint }
  })
}

/** Java `SimpleDateFormat` letters the emulator reads in a hint. */
const TOKEN: Readonly<Record<string, string>> = { y: "y", M: "M", d: "d", H: "H", m: "m", s: "s", S: "S" }

/** Reads `text` with a Java date pattern (y M d H m s S letters, other characters literal), as UTC. */
const readDate = (pattern: string, text: string): number | undefined => {
  let re = "^"
  const parts: Array<string> = []
  for (let i = 0; i < pattern.length;) {
    const c = pattern[i]!
    let j = i
    while (j < pattern.length && pattern[j] === c) j++
    if (TOKEN[c]) {
      parts.push(c)
      re += c === "y" && j - i === 2 ? "(\\d{2})" : `(\\d{1,${c === "y" ? 4 : c === "S" ? 3 : 2}})`
    } else re += pattern.slice(i, j).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    i = j
  }
  const m = new RegExp(re + "$").exec(text.trim())
  if (m === null) return undefined
  const v: Record<string, number> = { y: 1970, M: 1, d: 1, H: 0, m: 0, s: 0, S: 0 }
  parts.forEach((p, k) => (v[p] = Number(m[k + 1])))
  // two-digit years as Java's SimpleDateFormat reads them: within 80 years before and 20 after now
  if (v["y"]! < 100 && /(^|[^y])yy([^y]|$)/.test(pattern)) {
    const now = new Date().getUTCFullYear()
    const year = Math.floor(now / 100) * 100 + v["y"]!
    v["y"] = year > now + 20 ? year - 100 : year <= now - 80 ? year + 100 : year
  }
  const ms = Date.UTC(v["y"]!, v["M"]! - 1, v["d"]!, v["H"]!, v["m"]!, v["s"]!, v["S"]!)
  const back = new Date(ms)
  return back.getUTCMonth() === v["M"]! - 1 && back.getUTCDate() === v["d"] ? ms : undefined
}

/** A cell as the field's type reads it with the hint (unreadable values are left for the type check). */
const hinted = (f: FieldDef | undefined, hint: string, value: string): string => {
  if (hint === "" || value === "" || f === undefined) return value
  if (f.type === "date" || f.type === "datetime") {
    const ms = readDate(hint, value)
    if (ms === undefined) return value
    const iso = new Date(ms).toISOString()
    return f.type === "date" ? iso.slice(0, 10) : iso
  }
  if (f.type === "boolean") {
    try {
      return new RegExp(`^(?:${hint})$`).test(value) ? "true" : "false"
    } catch {
      return value
    }
  }
  return value
}

const quote = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, "\"\"")}"` : v)

/**
 * Rewrites a foreign CSV batch with the spec: decoded with `charset` (default UTF-8), returned as
 * the UTF-8 CSV of the spec's fields.
 */
export const applySpec = (
  spec: ReadonlyArray<SpecRow>,
  def: ObjectDef | undefined,
  payload: Buffer,
  charset: string | undefined
): Buffer => {
  let text: string
  try {
    text = new TextDecoder(charset ?? "utf-8", { fatal: true }).decode(payload)
  } catch {
    throw new Bulk1Error("InvalidBatch", `Failed to read the batch as ${charset ?? "UTF-8"}`)
  }
  let rows: Array<Array<string>>
  try {
    rows = readCsv(text)
  } catch (e) {
    throw new Bulk1Error("InvalidBatch", `Failed to parse CSV: ${(e as Error).message}`)
  }
  const header = (rows[0] ?? []).map((h) => h.trim())
  const index = spec.map((s) => (s.header === "" ? -1 : header.findIndex((h) => h.toLowerCase() === s.header.toLowerCase())))
  spec.forEach((s, k) => {
    if (s.header !== "" && index[k] === -1) throw new Bulk1Error("InvalidBatch", `Csv Header not found in the batch : ${s.header}`)
  })
  const fieldDefs = spec.map((s) => def?.fields.find((f) => f.name.toLowerCase() === s.field.toLowerCase()))
  const out = [spec.map((s) => quote(s.field)).join(",")]
  for (const r of rows.slice(1)) {
    out.push(
      spec.map((s, k) => {
        const cell = index[k]! >= 0 ? r[index[k]!] ?? "" : ""
        return quote(hinted(fieldDefs[k], s.hint, cell === "" ? s.value : cell))
      }).join(",")
    )
  }
  return Buffer.from(out.join("\n") + "\n", "utf8")
}
