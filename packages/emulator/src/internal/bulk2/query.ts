/**
 * Bulk API 2.0 query jobs: create, processing (a snapshot taken at completion), CSV result pages
 * with locators, and `/resultPages` (§4.9, §4.10).
 */
import type { EmulatorState, RequestContext } from "../context.js"
import type { QueryResult, QueryValue } from "../model.js"
import { DELIMITERS, LINE_ENDINGS, quote } from "./csv.js"
import { dialectOf, invalidValue, parseJsonBody, stringProp } from "./ingest.js"
import { addJob, Bulk2Error, CSV_TYPE, jobInfo, type QueryJob, sendJson, touch } from "./jobs.js"

/** `POST /jobs/query`. */
export const createQuery = async (ctx: RequestContext, state: EmulatorState): Promise<void> => {
  const body = parseJsonBody(await ctx.readBody())
  const operation = stringProp(body, "operation")
  if (operation !== "query" && operation !== "queryAll") throw invalidValue(operation, "operation")
  const soql = stringProp(body, "query")
  const dialect = dialectOf(body)
  if (soql === undefined || soql.trim() === "") {
    throw new Bulk2Error(400, "API_ERROR", "Invalid value: 'null' supplied for property: 'query'")
  }
  const checked = state.org.query(soql, { all: operation === "queryAll" })
  if (!checked.ok) {
    // Message captured from a real org (OpenFn/adaptors#395); the errorCode is not documented.
    const message = checked.error.message.endsWith("Aggregate Relationships not supported in Bulk Query")
      ? "Aggregate Relationships not supported in Bulk V2 Query with CSV content type."
      : checked.error.message
    throw new Bulk2Error(400, checked.error.errorCode, message)
  }
  // DailyBulkV2QueryJobs (Bulk API 2.0 limits). The error code and text are the emulator's own.
  if (!state.processing.takeQueryJob()) {
    throw new Bulk2Error(400, "LIMIT_EXCEEDED", "The daily allocation of Bulk API 2.0 query jobs (DailyBulkV2QueryJobs) is exhausted")
  }
  // DailyBulkV2QueryFileStorageMB, the same way (code and text are the emulator's own).
  if (!state.processing.queryStorageLeft()) {
    throw new Bulk2Error(
      400,
      "LIMIT_EXCEEDED",
      "The daily allocation of Bulk API 2.0 query result storage (DailyBulkV2QueryFileStorageMB) is exhausted"
    )
  }
  const now = state.now()
  const job: QueryJob = {
    kind: "query",
    id: state.newId("750"),
    operation,
    query: soql,
    object: checked.result.object,
    createdById: ctx.session.userId,
    createdDate: now,
    systemModstamp: now,
    apiVersion: ctx.version,
    columnDelimiter: dialect.columnDelimiter,
    lineEnding: dialect.lineEnding,
    state: "UploadComplete",
    numberRecordsProcessed: 0,
    totalProcessingTime: 0,
    deleted: false
  }
  addJob(state, job)
  setTimeout(() => run(state, job), Math.max(0, state.settings.latencyMs))
  sendJson(ctx, 200, jobInfo(job, "create"))
}

const run = (state: EmulatorState, job: QueryJob): void => {
  if (job.state !== "UploadComplete" || job.deleted) return
  job.state = "InProgress"
  job.startedAt = state.now()
  // the processing time counts from here (state.now() may be a test's clock)
  const started = Date.now()
  touch(state, job)
  // Let one poll observe InProgress, then take the snapshot.
  setImmediate(async () => {
    if (job.state !== "InProgress" || job.deleted) return
    const out = state.org.query(job.query, { all: job.operation === "queryAll" })
    // Under the processing model the job stays InProgress as long as its rows take at the query rate,
    // counted from its start (the snapshot's own time included).
    if (out.ok) await state.processing.queryTime(out.result.size, started)
    if (job.state !== "InProgress" || job.deleted) return
    job.totalProcessingTime = Math.max(0, state.now() - job.startedAt!)
    if (!out.ok) {
      job.state = "Failed"
      job.errorMessage = `${out.error.errorCode} : ${out.error.message}`
    } else {
      job.result = out.result
      job.numberRecordsProcessed = out.result.size
      state.processing.storeQueryResults(resultBytes(out.result))
      job.state = "JobComplete"
    }
    touch(state, job)
  })
}

/** Unpadded base64 of a row offset (`MTAwMDA` = 10000). */
export const encodeLocator = (offset: number): string => Buffer.from(String(offset)).toString("base64").replace(/=+$/, "")

const decodeLocator = (locator: string): number => {
  const text = /^[A-Za-z0-9+/_-]+$/.test(locator) ? Buffer.from(locator, "base64").toString("utf8") : ""
  if (!/^\d+$/.test(text)) throw new Bulk2Error(400, "INVALID_LOCATOR", `Invalid locator: ${locator}`)
  return Number(text)
}

const pageSize = (ctx: RequestContext, state: EmulatorState): number => {
  const raw = ctx.query.get("maxRecords")
  if (raw === null || raw === "") return Math.max(1, state.settings.pageSize)
  if (!/^\d+$/.test(raw) || Number(raw) < 1) {
    throw new Bulk2Error(400, "API_ERROR", `Invalid value: '${raw}' supplied for parameter: 'maxRecords'. It must be a positive integer.`)
  }
  return Number(raw)
}

const ready = (ctx: RequestContext, job: QueryJob) => {
  if (ctx.version !== job.apiVersion) {
    throw new Bulk2Error(
      409,
      "API_VERSION_MISMATCH",
      `The job was created with API version ${
        Number(job.apiVersion).toFixed(1)
      }; request its results with the same version (this request used ${Number(ctx.version).toFixed(1)})`
    )
  }
  if (job.state !== "JobComplete" || !job.result) {
    throw new Bulk2Error(
      400,
      "INVALIDJOBSTATE",
      `InvalidJobState : Results are available once the job is JobComplete; this job is ${job.state}`
    )
  }
  return job.result
}

const cell = (v: QueryValue): string => (v === null ? "\"\"" : quote(String(v)))

/** Rows measured exactly; above this the size is extrapolated from evenly spaced rows. */
const MEASURED_ROWS = 1_000

/**
 * Size of a query's result data as the CSV results render it (comma, LF), in UTF-16 code units
 * (= bytes for ASCII data): what the job stores against DailyBulkV2QueryFileStorageMB. Large
 * results are measured on 1,000 evenly spaced rows so a million-row query costs no second pass.
 */
const resultBytes = (result: QueryResult): number => {
  const lineOf = (cells: ReadonlyArray<string>) => cells.join(",").length + 1
  const header = lineOf(result.columns.map(quote))
  const n = result.size
  const sample = Math.min(n, MEASURED_ROWS)
  let measured = 0
  for (let k = 0; k < sample; k++) measured += lineOf(result.row(Math.floor((k * n) / sample)).map(cell))
  return header + (sample === 0 ? 0 : Math.round((measured * n) / sample))
}

const SLICE = 500

/** `GET /jobs/query/{id}/results?locator=&maxRecords=`. */
export const queryResults = async (ctx: RequestContext, state: EmulatorState, job: QueryJob): Promise<void> => {
  const result = ready(ctx, job)
  const size = pageSize(ctx, state)
  const locator = ctx.query.get("locator")
  // Up to API 48.0 the locator is a plain number; from 49.0 an opaque string (doc: Get Results for a Query Job).
  const numeric = Number(job.apiVersion) <= 48
  const start = locator === null || locator === "" || locator === "null"
    ? 0
    : numeric && /^\d+$/.test(locator)
    ? Number(locator)
    : decodeLocator(locator)
  const from = Math.min(start, result.size)
  const end = Math.min(result.size, from + size)
  const d = DELIMITERS[job.columnDelimiter]
  const eol = LINE_ENDINGS[job.lineEnding]
  function* body(): Generator<string> {
    yield `${result.columns.map(quote).join(d)}${eol}`
    for (let i = from; i < end; i += SLICE) {
      let out = ""
      const stop = Math.min(end, i + SLICE)
      for (let j = i; j < stop; j++) out += `${result.row(j).map(cell).join(d)}${eol}`
      yield out
    }
  }
  await ctx.sendStream(200, CSV_TYPE, body(), {
    "Sforce-Locator": end < result.size ? (numeric ? String(end) : encodeLocator(end)) : "null",
    "Sforce-NumberOfRecords": String(end - from)
  })
}

/** `GET /jobs/query/{id}/resultPages` (≥58.0): five result URLs per answer. */
export const resultPages = (ctx: RequestContext, state: EmulatorState, job: QueryJob): void => {
  const result = ready(ctx, job)
  const explicit = ctx.query.get("maxRecords")
  const size = pageSize(ctx, state)
  const locator = ctx.query.get("locator")
  const start = locator === null || locator === "" ? 0 : decodeLocator(locator)
  const base = `/services/data/v${ctx.version}/jobs/query/${job.id}`
  const extra = explicit !== null && explicit !== "" ? `maxRecords=${size}` : ""
  const pages: Array<{ resultUrl: string }> = []
  let at = start
  while (pages.length < 5 && (at < result.size || (at === 0 && pages.length === 0))) {
    const params = [at > 0 ? `locator=${encodeLocator(at)}` : "", extra].filter((x) => x !== "").join("&")
    pages.push({ resultUrl: `${base}/results${params ? `?${params}` : ""}` })
    at += size
  }
  const done = at >= result.size
  sendJson(ctx, 200, {
    resultPages: pages,
    nextRecordsUrl: done ? null : `${base}/resultPages?${[`locator=${encodeLocator(at)}`, extra].filter((x) => x !== "").join("&")}`,
    done
  })
}
