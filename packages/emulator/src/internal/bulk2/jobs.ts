/**
 * Bulk API 2.0 job records (ingest and query), kept per emulator instance, and their JSON
 * renderings with the field presence of each endpoint (§4.4, §4.9).
 */
import type { EmulatorState, RequestContext } from "../context.js"
import type { IngestOperation, QueryResult } from "../model.js"
import type { ColumnDelimiter, LineEnding } from "./csv.js"

export type IngestState = "Open" | "UploadComplete" | "InProgress" | "JobComplete" | "Failed" | "Aborted"

/** Outcome codes per uploaded row (index = data row number, 0-based). */
export const OUT_NONE = 0
export const OUT_CREATED = 1
export const OUT_UPDATED = 2
export const OUT_FAILED = 3

interface JobBase {
  readonly id: string
  readonly createdById: string
  readonly createdDate: number
  systemModstamp: number
  readonly apiVersion: string
  readonly columnDelimiter: ColumnDelimiter
  readonly lineEnding: LineEnding
  readonly object: string
  state: IngestState
  errorMessage?: string
  numberRecordsProcessed: number
  totalProcessingTime: number
  startedAt?: number
  deleted: boolean
}

export interface IngestJob extends JobBase {
  readonly kind: "ingest"
  readonly operation: IngestOperation
  readonly externalIdFieldName?: string
  readonly assignmentRuleId?: string
  numberRecordsFailed: number
  /** The uploaded bytes as received; undefined until a PUT (or multipart create). */
  upload?: Array<Buffer>
  uploadBytes: number
  /** A file-level problem found while the upload was parsed; fails the job when it runs. */
  uploadFailure?: string
  /** Header as uploaded, and the number of data rows. */
  header?: ReadonlyArray<string>
  rowCount: number
  /** Per data row: OUT_* code (rows never processed stay OUT_NONE). */
  outcome?: Uint8Array
  /** The successfulResults and failedResults data lines, rendered as the rows are processed. */
  successful?: ResultFile
  failed?: ResultFile
  /** Internal batches re-queued after running out of time (JobInfo `retries`). */
  retries?: number
}

export interface QueryJob extends JobBase {
  readonly kind: "query"
  readonly operation: "query" | "queryAll"
  readonly query: string
  result?: QueryResult
}

export type Job = IngestJob | QueryJob

/**
 * A result file's data lines, built as rows are processed and kept as UTF-8 chunks of about 64 KB:
 * answering the download is then a copy, not a second parse of the upload.
 */
export class ResultFile {
  readonly chunks: Array<Buffer> = []
  private pending = ""
  add(line: string): void {
    this.pending += line
    if (this.pending.length >= 64 * 1024) this.flush()
  }
  /** The lines so far, as chunks (the pending text is moved into a chunk first). */
  flush(): ReadonlyArray<Buffer> {
    if (this.pending.length > 0) {
      this.chunks.push(Buffer.from(this.pending, "utf8"))
      this.pending = ""
    }
    return this.chunks
  }
}

export interface Store {
  readonly jobs: Map<string, Job>
  /** Cursor id used in list `queryLocator`s. */
  readonly cursor: string
  faults: number
}

const stores = new WeakMap<EmulatorState, Store>()

export const storeOf = (state: EmulatorState): Store => {
  let s = stores.get(state)
  if (!s) {
    s = { jobs: new Map(), cursor: state.newId("01g"), faults: 0 }
    stores.set(state, s)
  }
  return s
}

/** A job by 15- or 18-character id, of the given kind; deleted jobs are not found. */
export const findJob = <K extends Job["kind"]>(
  state: EmulatorState,
  kind: K,
  id: string | undefined
): Extract<Job, { kind: K }> | undefined => {
  if (id === undefined || (id.length !== 15 && id.length !== 18)) return undefined
  const job = storeOf(state).jobs.get(id.slice(0, 15))
  return job && job.kind === kind && !job.deleted ? (job as Extract<Job, { kind: K }>) : undefined
}

export const addJob = (state: EmulatorState, job: Job): void => {
  storeOf(state).jobs.set(job.id.slice(0, 15), job)
}

export const isTerminal = (s: IngestState): boolean => s === "JobComplete" || s === "Failed" || s === "Aborted"

export const touch = (state: EmulatorState, job: Job): void => {
  job.systemModstamp = Math.max(state.now(), job.systemModstamp)
}

/** An API error answered as `[{"errorCode","message"}]`. */
export class Bulk2Error extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message)
  }
}

export const notFound = (): Bulk2Error => new Bulk2Error(404, "NOT_FOUND", "The requested resource does not exist")

export const JSON_TYPE = "application/json;charset=UTF-8"
export const CSV_TYPE = "text/csv; charset=UTF-8"

export const errorBody = (code: string, message: string): string => JSON.stringify([{ errorCode: code, message }])

/** A number rendered with at least one decimal (`66.0`), as Salesforce's JSON does for apiVersion. */
export class Decimal {
  constructor(readonly text: string) {}
}

export const decimal = (v: string): Decimal => {
  const n = Number(v)
  return new Decimal(Number.isInteger(n) ? n.toFixed(1) : String(n))
}

type JsonValue = string | number | boolean | null | Decimal | ReadonlyArray<JsonValue> | { readonly [k: string]: JsonValue }

/** JSON text in which `Decimal` values keep their `.0`. */
export const toJson = (v: JsonValue): string => {
  if (v instanceof Decimal) return v.text
  if (Array.isArray(v)) return `[${v.map(toJson).join(",")}]`
  if (v !== null && typeof v === "object") {
    return `{${Object.entries(v as Record<string, JsonValue>).map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`).join(",")}}`
  }
  return JSON.stringify(v)
}

/** `2026-03-02T10:20:00.000+0000`. */
export const timestamp = (ms: number): string => new Date(ms).toISOString().replace("Z", "+0000")

export type View = "create" | "patch" | "get" | "list"

/** A job's JobInfo with the fields the given endpoint emits. */
export const jobInfo = (job: Job, view: View): Record<string, JsonValue> => {
  const o: Record<string, JsonValue> = {
    id: job.id,
    operation: job.operation,
    object: job.object,
    createdById: job.createdById,
    createdDate: timestamp(job.createdDate),
    systemModstamp: timestamp(job.systemModstamp),
    state: job.state
  }
  if (job.kind === "ingest") {
    if (job.externalIdFieldName !== undefined) o["externalIdFieldName"] = job.externalIdFieldName
    if (job.assignmentRuleId !== undefined) o["assignmentRuleId"] = job.assignmentRuleId
  }
  o["concurrencyMode"] = "Parallel"
  o["contentType"] = "CSV"
  o["apiVersion"] = decimal(job.apiVersion)
  if (view === "patch" && job.kind === "ingest") return o
  if (view === "get" || view === "list") o["jobType"] = job.kind === "ingest" ? "V2Ingest" : "V2Query"
  if (job.kind === "ingest" && (view === "create" || view === "get") && job.state === "Open") {
    o["contentUrl"] = `services/data/v${job.apiVersion}/jobs/ingest/${job.id}/batches`
  }
  o["lineEnding"] = job.lineEnding
  o["columnDelimiter"] = job.columnDelimiter
  if (view !== "get") return o
  const elapsed = job.totalProcessingTime
  if (job.kind === "ingest") {
    if (job.state !== "Open" && job.state !== "UploadComplete") {
      o["numberRecordsProcessed"] = job.numberRecordsProcessed
      o["numberRecordsFailed"] = job.numberRecordsFailed
    }
    o["retries"] = job.retries ?? 0
    o["totalProcessingTime"] = elapsed
    o["apiActiveProcessingTime"] = elapsed
    o["apexProcessingTime"] = 0
  } else {
    o["numberRecordsProcessed"] = job.numberRecordsProcessed
    o["retries"] = 0
    o["totalProcessingTime"] = elapsed
    o["isPkChunkingSupported"] = true
  }
  if (job.errorMessage !== undefined) o["errorMessage"] = job.errorMessage
  return o
}

export const sendJson = (ctx: RequestContext, status: number, body: JsonValue): void => {
  ctx.send(status, JSON_TYPE, toJson(body))
}

/** `GET /jobs/ingest` / `GET /jobs/query`: jobs of this API family, 1,000 per page. */
export const listJobs = (ctx: RequestContext, state: EmulatorState, kind: Job["kind"]): void => {
  const store = storeOf(state)
  const q = ctx.query
  const jobType = q.get("jobType")
  const pk = q.get("isPkChunkingEnabled")
  const mode = q.get("concurrencyMode")
  const sizeParam = q.get("pageSize")
  const size = sizeParam !== null && /^\d+$/.test(sizeParam) && Number(sizeParam) > 0 ? Math.min(1000, Number(sizeParam)) : 1000
  const wanted = kind === "ingest" ? "V2Ingest" : "V2Query"
  let offset = 0
  const locator = q.get("queryLocator")
  if (locator !== null) {
    const m = /^(.+)-(\d+)$/.exec(locator)
    if (!m || m[1] !== store.cursor) throw new Bulk2Error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    offset = Number(m[2])
  }
  const matching: Array<Job> = []
  const none = (jobType !== null && jobType !== wanted) || pk === "true" || (mode !== null && mode !== "Parallel")
  if (!none) { for (const j of store.jobs.values()) if (j.kind === kind && !j.deleted) matching.push(j) }
  const page = matching.slice(offset, offset + size)
  const done = offset + size >= matching.length
  const next = new URLSearchParams(q)
  next.set("queryLocator", `${store.cursor}-${offset + size}`)
  sendJson(ctx, 200, {
    done,
    records: page.map((j) => jobInfo(j, "list")),
    nextRecordsUrl: done ? null : `/services/data/v${ctx.version}/jobs/${kind}?${next.toString()}`
  })
}
