/**
 * Bulk API 1.0 documents: format negotiation, jobInfo/batchInfo/error rendering, timestamps.
 */
import type { RequestContext } from "../context.js"
import type { RecordError, RowOutcome } from "../model.js"
import { type Batch, counters, type ContentType, type Job } from "./jobs.js"
import { ASYNC_NS as NS, PROLOG } from "../xml.js"
import { escapeXml } from "./xml.js"

export { NS, PROLOG }
export const XSI = "http://www.w3.org/2001/XMLSchema-instance"

/** The control-document format: XML or JSON. */
export type DocFormat = "xml" | "json"

export const MIME: Record<DocFormat | "csv", string> = {
  xml: "application/xml",
  json: "application/json",
  csv: "text/csv"
}

/** A request-level error, answered with an `<error>` / `{"exceptionCode"}` body. */
export class Bulk1Error extends Error {
  constructor(readonly code: string, message: string, readonly status: number = 400) {
    super(message)
  }
}

/** Rule 1 of §3.3: an existing job's content type decides. */
export const docFormatOfJob = (ct: ContentType): DocFormat => (ct === "JSON" || ct === "ZIP_JSON" ? "json" : "xml")

/** Rule 3 of §3.3: without a job, the request Content-Type decides; absent means XML. */
export const docFormatOfRequest = (ctx: RequestContext): DocFormat => {
  const ct = String(ctx.req.headers["content-type"] ?? "").toLowerCase()
  return ct.includes("json") ? "json" : "xml"
}

/** `2026-03-02T10:15:01.000Z` (XML) or `2026-03-02T10:15:01.000+0000` (JSON). */
export const formatDate = (ms: number, format: DocFormat): string => {
  const iso = new Date(ms).toISOString()
  return format === "xml" ? iso : `${iso.slice(0, -1)}+0000`
}

/** API versions print as doubles: `66.0`. */
export const versionText = (v: string): string => (v.includes(".") ? v : `${v}.0`)

type Field = readonly [string, string | number | undefined]

/** `<k>v</k>` for each field in order, skipping undefined values. */
const xmlFields = (fields: ReadonlyArray<Field>): string => {
  let out = ""
  for (const [k, v] of fields) {
    if (v === undefined) continue
    out += `<${k}>${escapeXml(String(v))}</${k}>`
  }
  return out
}

const xmlDoc = (root: string, fields: ReadonlyArray<Field>): string => `${PROLOG}<${root} xmlns="${NS}">${xmlFields(fields)}</${root}>`

/** JSON object with keys sorted (as in Salesforce's samples) and raw numeric `apiVersion`. */
const jsonDoc = (fields: ReadonlyArray<Field>): string => {
  const sorted = [...fields].filter((f) => f[1] !== undefined).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  return `{${sorted.map(([k, v]) => `${JSON.stringify(k)}:${k === "apiVersion" ? versionText(String(v)) : JSON.stringify(v)}`).join(",")}}`
}

const jobFields = (job: Job, format: DocFormat): ReadonlyArray<Field> => {
  const c = counters(job)
  return [
    ["id", job.id],
    ["operation", job.operation],
    ["object", job.object],
    ["createdById", job.createdById],
    ["createdDate", formatDate(job.createdDate, format)],
    ["systemModstamp", formatDate(job.systemModstamp, format)],
    ["state", job.state],
    ["externalIdFieldName", job.externalIdFieldName],
    ["concurrencyMode", job.concurrencyMode],
    ["contentType", job.contentType],
    ["numberBatchesQueued", c.numberBatchesQueued],
    ["numberBatchesInProgress", c.numberBatchesInProgress],
    ["numberBatchesCompleted", c.numberBatchesCompleted],
    ["numberBatchesFailed", c.numberBatchesFailed],
    ["numberBatchesTotal", c.numberBatchesTotal],
    ["numberRecordsProcessed", c.numberRecordsProcessed],
    ["numberRetries", 0],
    ["apiVersion", versionText(job.apiVersion)],
    ["assignmentRuleId", job.assignmentRuleId],
    ["numberRecordsFailed", c.numberRecordsFailed],
    ["totalProcessingTime", c.totalProcessingTime],
    ["apiActiveProcessingTime", c.apiActiveProcessingTime],
    ["apexProcessingTime", c.apexProcessingTime]
  ]
}

/** jobInfo in XSD element order (XML) or as a flat JSON object. */
export const renderJob = (job: Job, format: DocFormat): string =>
  format === "xml" ? xmlDoc("jobInfo", jobFields(job, format)) : jsonDoc(jobFields(job, format))

const batchFields = (b: Batch, format: DocFormat): ReadonlyArray<Field> => [
  ["id", b.id],
  ["jobId", b.jobId],
  ["state", b.state],
  ["stateMessage", b.stateMessage],
  ["createdDate", formatDate(b.createdDate, format)],
  ["systemModstamp", formatDate(b.systemModstamp, format)],
  ["numberRecordsProcessed", b.numberRecordsProcessed],
  ["numberRecordsFailed", b.numberRecordsFailed],
  ["totalProcessingTime", b.totalProcessingTime],
  ["apiActiveProcessingTime", b.apiActiveProcessingTime],
  ["apexProcessingTime", b.apexProcessingTime]
]

const batchXmlBody = (b: Batch): string => xmlFields(batchFields(b, "xml"))

/** batchInfo (XML in XSD order, or JSON). */
export const renderBatch = (b: Batch, format: DocFormat): string =>
  format === "xml" ? xmlDoc("batchInfo", batchFields(b, format)) : jsonDoc(batchFields(b, format))

/** batchInfoList / `{"batchInfo":[...]}`. */
export const renderBatchList = (batches: ReadonlyArray<Batch>, format: DocFormat): string =>
  format === "xml"
    ? `${PROLOG}<batchInfoList xmlns="${NS}">${batches.map((b) => `<batchInfo>${batchXmlBody(b)}</batchInfo>`).join("")}</batchInfoList>`
    : `{"batchInfo":[${batches.map((b) => jsonDoc(batchFields(b, format))).join(",")}]}`

/** The error body in the chosen format. */
export const renderError = (code: string, message: string, format: DocFormat): string =>
  format === "xml"
    ? `${PROLOG}<error xmlns="${NS}"><exceptionCode>${escapeXml(code)}</exceptionCode><exceptionMessage>${
      escapeXml(message)
    }</exceptionMessage></error>`
    : JSON.stringify({ exceptionCode: code, exceptionMessage: message })

/** The result-id list of a query batch. */
export const renderResultList = (ids: ReadonlyArray<string>, format: DocFormat): string =>
  format === "xml"
    ? `${PROLOG}<result-list xmlns="${NS}">${ids.map((id) => `<result>${id}</result>`).join("")}</result-list>`
    : JSON.stringify(ids)

/** `CODE:message:fields --` (§5.1); several errors are joined with a space. */
export const errorText = (errors: ReadonlyArray<RecordError>): string =>
  errors.map((e) => `${e.statusCode}:${e.message}:${e.fields.length > 0 ? `${e.fields.join(",")} ` : ""}--`).join(" ")

/** A CSV cell, always quoted. */
export const csvCell = (s: string): string => `"${s.includes("\"") ? s.replace(/"/g, "\"\"") : s}"`

export const INGEST_CSV_HEADER = "\"Id\",\"Success\",\"Created\",\"Error\"\n"

/** One ingest result line/element/object in the job's result format. */
export const renderOutcome = (o: RowOutcome, format: DocFormat | "csv"): string => {
  if (format === "csv") {
    return o.success
      ? `${csvCell(o.id)},"true",${o.created ? "\"true\"" : "\"false\""},""\n`
      : `${csvCell(o.id ?? "")},"false","false",${csvCell(errorText(o.errors))}\n`
  }
  if (format === "xml") {
    if (o.success) return `<result><id>${o.id}</id><success>true</success><created>${o.created}</created></result>`
    const errs = o.errors.map((e) =>
      `<errors>${e.fields.map((f) => `<fields>${escapeXml(f)}</fields>`).join("")}<message>${escapeXml(e.message)}</message><statusCode>${
        escapeXml(e.statusCode)
      }</statusCode></errors>`
    ).join("")
    return `<result>${errs}${o.id ? `<id>${o.id}</id>` : `<id xsi:nil="true"/>`}<success>false</success><created>false</created></result>`
  }
  return o.success
    ? `{"success":true,"created":${o.created},"id":${JSON.stringify(o.id)},"errors":[]}`
    : JSON.stringify({
      success: false,
      created: false,
      id: o.id,
      errors: o.errors.map((e) => ({ fields: e.fields, message: e.message, statusCode: e.statusCode }))
    })
}
