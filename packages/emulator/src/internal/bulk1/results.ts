/**
 * Streaming renderers for Bulk 1.0 batch results: ingest outcomes and query result files.
 * Each yields text in slices of a few hundred rows so large answers never exist as one string.
 */
import type { FieldType, OrgApi, QueryResult, QueryValue } from "../model.js"
import { csvCell, type DocFormat, INGEST_CSV_HEADER, NS, PROLOG, renderOutcome, XSI } from "./formats.js"
import type { Outcomes } from "./jobs.js"
import { escapeXml } from "./xml.js"

const SLICE = 500

/** Ingest results in input order: CSV for CSV jobs, else the job's document format. */
export function* ingestResults(results: Outcomes, format: DocFormat | "csv"): Generator<string> {
  if (format === "csv") yield INGEST_CSV_HEADER
  else if (format === "xml") yield `${PROLOG}<results xmlns="${NS}" xmlns:xsi="${XSI}">`
  else yield "["
  for (let i = 0; i < results.length; i += SLICE) {
    let out = ""
    const end = Math.min(results.length, i + SLICE)
    for (let j = i; j < end; j++) {
      if (format === "json" && j > 0) out += ","
      out += renderOutcome(results.at(j), format)
    }
    yield out
  }
  if (format === "xml") yield "</results>"
  else if (format === "json") yield "]"
}

const csvValue = (v: QueryValue): string => (v === null ? "\"\"" : csvCell(String(v)))

/** One query result file as CSV (every value quoted; no rows -> `Records not found for this query`). */
export function* queryCsv(q: QueryResult, start: number, end: number): Generator<string> {
  if (end <= start) {
    yield "Records not found for this query"
    return
  }
  yield `${q.columns.map(csvCell).join(",")}\n`
  for (let i = start; i < end; i += SLICE) {
    let out = ""
    const stop = Math.min(end, i + SLICE)
    for (let j = i; j < stop; j++) out += `${q.row(j).map(csvValue).join(",")}\n`
    yield out
  }
}

/** A tree of columns: `Account.Owner.Name` nests under `Account` then `Owner`. */
interface ColumnNode {
  readonly name: string
  /** Leaf: index into the row. */
  readonly index?: number
  readonly type?: FieldType
  /** Branch: the related object's name (for `attributes.type`) and children. */
  readonly object?: string
  readonly children?: Array<ColumnNode>
}

const relatedObject = (org: OrgApi, object: string | undefined, rel: string): string | undefined => {
  if (!object) return undefined
  const def = org.describe(object)
  const f = def?.fields.find((x) => x.relationshipName?.toLowerCase() === rel.toLowerCase())
  return f?.referenceTo?.[0]
}

const columnTree = (org: OrgApi, q: QueryResult): Array<ColumnNode> => {
  const root: Array<ColumnNode> = []
  q.columns.forEach((col, index) => {
    const parts = col.split(".")
    let level = root
    let object: string | undefined = q.object
    for (let p = 0; p < parts.length - 1; p++) {
      const name = parts[p]!
      object = relatedObject(org, object, name)
      let node = level.find((n) => n.children && n.name === name)
      if (!node) {
        node = { name, ...(object ? { object } : {}), children: [] }
        level.push(node)
      }
      level = node.children!
    }
    level.push({ name: parts[parts.length - 1]!, index, type: q.types[index]! })
  })
  return root
}

const jsonValue = (v: QueryValue, type: FieldType | undefined): string => {
  if (v === null) return "null"
  if (type === "datetime" && typeof v === "string") {
    const ms = Date.parse(v)
    return Number.isNaN(ms) ? JSON.stringify(v) : String(ms)
  }
  return JSON.stringify(v)
}

const jsonObject = (nodes: ReadonlyArray<ColumnNode>, row: ReadonlyArray<QueryValue>, type: string, version: string): string => {
  const idNode = nodes.find((n) => n.index !== undefined && n.name === "Id")
  const id = idNode ? row[idNode.index!] : null
  const attrs = id
    ? `{"type":${JSON.stringify(type)},"url":${JSON.stringify(`/services/data/v${version}/sobjects/${type}/${id}`)}}`
    : `{"type":${JSON.stringify(type)}}`
  let out = `{"attributes":${attrs}`
  for (const n of nodes) {
    out += `,${JSON.stringify(n.name)}:`
    if (n.children) out += allNull(n, row) ? "null" : jsonObject(n.children, row, n.object ?? n.name, version)
    else out += jsonValue(row[n.index!]!, n.type)
  }
  return `${out}}`
}

const allNull = (n: ColumnNode, row: ReadonlyArray<QueryValue>): boolean =>
  n.children ? n.children.every((c) => allNull(c, row)) : row[n.index!] === null

/** One query result file as a JSON array of records with `attributes`, datetimes as epoch ms. */
export function* queryJson(org: OrgApi, q: QueryResult, start: number, end: number, version: string): Generator<string> {
  const tree = columnTree(org, q)
  yield "["
  for (let i = start; i < end; i += SLICE) {
    let out = ""
    const stop = Math.min(end, i + SLICE)
    for (let j = i; j < stop; j++) {
      if (j > start) out += ","
      out += jsonObject(tree, q.row(j), q.object, version)
    }
    yield out
  }
  yield "]"
}

const xmlValue = (name: string, v: QueryValue): string =>
  v === null ? `<${name} xsi:nil="true"/>` : `<${name}>${escapeXml(String(v))}</${name}>`

const xmlObject = (nodes: ReadonlyArray<ColumnNode>, row: ReadonlyArray<QueryValue>, type: string): string => {
  // sObject's own Id comes first; a selected Id column therefore appears twice (doc note).
  const idNode = nodes.find((n) => n.index !== undefined && n.name === "Id")
  let out = `<type>${escapeXml(type)}</type>${xmlValue("Id", idNode ? row[idNode.index!]! : null)}`
  for (const n of nodes) {
    if (n.children) {
      out += allNull(n, row)
        ? `<${n.name} xsi:nil="true"/>`
        : `<${n.name} xsi:type="sObject">${xmlObject(n.children, row, n.object ?? n.name)}</${n.name}>`
    } else out += xmlValue(n.name, row[n.index!]!)
  }
  return out
}

/** One query result file as `<queryResult>` with `<records>`. */
export function* queryXml(org: OrgApi, q: QueryResult, start: number, end: number): Generator<string> {
  const tree = columnTree(org, q)
  yield `${PROLOG}<queryResult xmlns="${NS}" xmlns:xsi="${XSI}">`
  for (let i = start; i < end; i += SLICE) {
    let out = ""
    const stop = Math.min(end, i + SLICE)
    for (let j = i; j < stop; j++) out += `<records xsi:type="sObject">${xmlObject(tree, q.row(j), q.object)}</records>`
    yield out
  }
  yield "</queryResult>"
}
