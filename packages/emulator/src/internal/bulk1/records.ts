/**
 * Reading ingest batch payloads (CSV, XML, JSON) into rows, enforcing Bulk API 1.0 batch limits.
 * Failures are batch-level: the thrown `BatchFailure` carries the batch's `stateMessage`.
 */
import { CsvReader } from "@sfbulk/csv"
import { isBlankRecord, isUnescapedQuote, UNESCAPED_QUOTE } from "../csvFidelity.js"
import type { InputValue, IngestOperation, OrgApi } from "../model.js"
import { isNil, parseXml, type XmlElement, XmlSyntaxError } from "./xml.js"

/** Per-batch limits (Bulk API 1.0 quick reference). */
export const LIMITS = {
  recordsPerBatch: 10_000,
  charactersPerBatch: 10_000_000,
  charactersPerField: 131_072,
  charactersPerRecord: 400_000,
  fieldsPerRecord: 5_000
} as const

/** A batch-level failure; `message` is the full `stateMessage` (`InvalidBatch : ...`). */
export class BatchFailure extends Error {}

const invalid = (detail: string): BatchFailure => new BatchFailure(`InvalidBatch : ${detail}`)

export type Row = Record<string, InputValue>

/** A CSV ingest batch: its (checked) columns and each row's values in column order. */
export interface CsvRows {
  readonly columns: ReadonlyArray<string>
  readonly records: ReadonlyArray<ReadonlyArray<string>>
}

/**
 * A CSV ingest batch validated against the org and the limits, as value arrays (no object per row:
 * `OrgApi.applyValues` takes them as they are).
 */
export const readCsvRows = async (
  org: OrgApi,
  object: string,
  operation: IngestOperation,
  payload: Buffer,
  yieldEvery: number
): Promise<CsvRows> => {
  const limiter = new Limiter()
  const headers = new HeaderCache(org, object, operation)
  // Parse the whole payload first (synchronously), keeping a syntax error until the rows before it
  // have been checked, so the first problem in the file is the one reported. The header row is
  // kept apart, so the records need no copy without it.
  let head: Array<string> | undefined
  const recs: Array<Array<string>> = []
  let syntax: unknown
  try {
    // No BOM stripping: Salesforce reads a UTF-8 BOM as part of the first column name.
    const reader = CsvReader.make({ delimiter: ",", bom: false, skipEmptyLines: true, relaxColumnCount: true })
    const push = (rec: Array<string>) => {
      if (isBlankRecord(rec)) return
      if (head === undefined) head = rec
      else recs.push(rec)
    }
    reader.push(payload, push)
    reader.end(push)
  } catch (e) {
    syntax = e
  }
  let columns: ReadonlyArray<string> | undefined
  if (head !== undefined) {
    if (head.length > LIMITS.fieldsPerRecord) throw tooManyFields()
    columns = headers.check(head)
  }
  let n = 0
  // without a header there are no records either
  for (const rec of columns === undefined ? [] : recs) {
    if (rec.length !== columns!.length) {
      throw invalid(`Failed to parse CSV: row ${n + 1} has ${rec.length} values but the header has ${columns!.length} columns`)
    }
    let chars = 0
    for (let i = 0; i < rec.length; i++) {
      const len = rec[i]!.length
      limiter.field(len)
      chars += len
    }
    limiter.record(chars)
    n++
    if (n % yieldEvery === 0) await yieldNow()
  }
  if (syntax !== undefined) {
    throw invalid(
      isUnescapedQuote(syntax) ? UNESCAPED_QUOTE : `Failed to parse CSV: ${syntax instanceof Error ? syntax.message : String(syntax)}`
    )
  }
  if (!columns) throw invalid("Records not processed")
  return { columns, records: recs }
}

/** Rows of an ingest batch, validated against the org and the limits, in input order. */
export const readRows = async (
  org: OrgApi,
  object: string,
  operation: IngestOperation,
  format: "CSV" | "XML" | "JSON",
  payload: Buffer,
  yieldEvery: number
): Promise<Array<Row>> => {
  const rows: Array<Row> = []
  const limiter = new Limiter()
  const headers = new HeaderCache(org, object, operation)
  if (format === "CSV") {
    const { columns, records } = await readCsvRows(org, object, operation, payload, yieldEvery)
    for (const rec of records) {
      const row: Row = {}
      for (let i = 0; i < rec.length; i++) row[columns[i]!] = rec[i]!
      rows.push(row)
    }
    return rows
  }
  const text = payload.toString("utf8")
  const flat: Array<Array<readonly [string, InputValue]>> = []
  if (format === "JSON") {
    let doc: unknown
    try {
      doc = JSON.parse(text)
    } catch (e) {
      throw invalid(`Failed to parse JSON: ${e instanceof Error ? e.message : String(e)}`)
    }
    if (!Array.isArray(doc)) throw invalid("Records not processed")
    for (const item of doc) {
      if (item === null || typeof item !== "object" || Array.isArray(item)) throw invalid("Records not processed")
      limiter.count(flat.length + 1)
      flat.push(flattenJson(item as Record<string, unknown>))
    }
  } else {
    let root: XmlElement
    try {
      root = parseXml(text)
    } catch (e) {
      if (e instanceof XmlSyntaxError) throw invalid(`Failed to parse XML: ${e.message}`)
      throw e
    }
    if (root.name !== "sObjects") throw invalid(`Failed to parse XML: expected root element <sObjects>, found <${root.name}>`)
    for (const el of root.children) {
      if (el.name !== "sObject") continue
      limiter.count(flat.length + 1)
      flat.push(flattenXml(el, object))
    }
  }
  for (const pairs of flat) {
    if (pairs.length > LIMITS.fieldsPerRecord) throw tooManyFields()
    const columns = headers.check(pairs.map((p) => p[0]))
    const row: Row = {}
    let chars = 0
    for (let i = 0; i < pairs.length; i++) {
      const v = pairs[i]![1]
      const len = v === null || v === undefined ? 0 : String(v).length
      limiter.field(len)
      chars += len
      row[columns[i]!] = v
    }
    limiter.record(chars)
    rows.push(row)
    if (rows.length % yieldEvery === 0) await yieldNow()
  }
  return rows
}

const tooManyFields = () => invalid(`Exceeded max number of columns per record : ${LIMITS.fieldsPerRecord}`)

class Limiter {
  private n = 0
  count(n: number) {
    if (n > LIMITS.recordsPerBatch) {
      // Salesforce counts the header line too: "...: 10002. ... less than or equal to 10001".
      throw invalid(
        `Exceeded number of records: ${n + 1}. Number of records should be less than or equal to ${LIMITS.recordsPerBatch + 1}`
      )
    }
  }
  field(len: number) {
    if (len > LIMITS.charactersPerField) throw invalid(`Exceeded max field size: ${len}`)
  }
  record(chars: number) {
    this.n++
    this.count(this.n)
    if (chars > LIMITS.charactersPerRecord) {
      throw invalid(`Exceeded max record size: ${chars} characters (limit ${LIMITS.charactersPerRecord})`)
    }
  }
}

/** Header validation, cached per distinct column list (JSON/XML records may differ). */
class HeaderCache {
  private readonly cache = new Map<string, ReadonlyArray<string>>()
  constructor(private readonly org: OrgApi, private readonly object: string, private readonly operation: IngestOperation) {}
  check(columns: ReadonlyArray<string>): ReadonlyArray<string> {
    const key = columns.join("\u0000")
    const hit = this.cache.get(key)
    if (hit) return hit
    const res = this.org.checkHeader(this.object, this.operation, columns)
    if (!res.ok) throw invalid(res.message)
    this.cache.set(key, res.columns)
    return res.columns
  }
}

const scalar = (v: unknown): InputValue => {
  if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v
  if (v === undefined) return undefined
  throw invalid(`Records not processed: unsupported value ${JSON.stringify(v)}`)
}

/** `{"ReportsTo":{"Email":"x"}}` -> `ReportsTo.Email`; with `attributes.type` -> `Lead:Who.Email`. */
const flattenJson = (rec: Record<string, unknown>): Array<readonly [string, InputValue]> => {
  const out: Array<readonly [string, InputValue]> = []
  for (const [k, v] of Object.entries(rec)) {
    if (k === "attributes") continue
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const nested = v as Record<string, unknown>
      const attrs = nested["attributes"] as { type?: unknown } | undefined
      const prefix = attrs && typeof attrs.type === "string" ? `${attrs.type}:` : ""
      for (const [nk, nv] of Object.entries(nested)) {
        if (nk === "attributes") continue
        out.push([`${prefix}${k}.${nk}`, scalar(nv)])
      }
    } else {
      out.push([k, scalar(v)])
    }
  }
  return out
}

const flattenXml = (el: XmlElement, object: string): Array<readonly [string, InputValue]> => {
  const out: Array<readonly [string, InputValue]> = []
  for (const f of el.children) {
    const nested = f.children.find((c) => c.name === "sObject")
    if (nested) {
      const typeEl = nested.children.find((c) => c.name === "type")
      const prefix = typeEl ? `${typeEl.text.trim()}:` : ""
      for (const nf of nested.children) {
        if (nf === typeEl) continue
        out.push([`${prefix}${f.name}.${nf.name}`, isNil(nf) ? null : nf.text])
      }
    } else if (f.name === "type" && f.text.trim().toLowerCase() === object.toLowerCase()) {
      continue
    } else {
      out.push([f.name, isNil(f) ? null : f.text])
    }
  }
  return out
}

/** Let other requests run. */
export const yieldNow = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
