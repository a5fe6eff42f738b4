/**
 * Bulk API 2.0 ingest jobs: create (JSON or multipart), upload, close/abort, delete, processing
 * and the three result files (§4.3–§4.7).
 */
import type { Readable } from "node:stream"
import type { EmulatorState, RequestContext } from "../context.js"
import type { IngestOperation, RecordError, RowOutcome } from "../model.js"
import {
  type ColumnDelimiter,
  type CsvDialect,
  CsvFailure,
  DELIMITERS,
  isDelimiter,
  isLineEnding,
  LIMITS,
  LINE_ENDINGS,
  type LineEnding,
  parseFailure,
  quote,
  RowReader
} from "./csv.js"
import {
  addJob,
  Bulk2Error,
  CSV_TYPE,
  type IngestJob,
  isTerminal,
  jobInfo,
  OUT_CREATED,
  OUT_FAILED,
  OUT_NONE,
  OUT_UPDATED,
  ResultFile,
  sendJson,
  storeOf,
  touch
} from "./jobs.js"
import { referenceFields, retriesExceeded } from "../processing.js"

const OPERATIONS: ReadonlyArray<IngestOperation> = ["insert", "update", "upsert", "delete", "hardDelete"]

/** A parsed JSON request body, with its text for error positions. */
export interface JsonBody {
  readonly text: string
  readonly value: Record<string, unknown>
}

export const parseJsonBody = (buf: Buffer): JsonBody => {
  const text = buf.toString("utf8")
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw new Bulk2Error(400, "API_ERROR", `Unable to parse the request body as JSON: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Bulk2Error(400, "API_ERROR", "Value does not match expected type at [line:1, column:1]")
  }
  return { text, value: value as Record<string, unknown> }
}

/** `[line:L, column:C]` of a property's value in the request text (1-based), as Jackson reports. */
const position = (text: string, key: string): string => {
  const m = new RegExp(`"${key}"\\s*:\\s*`).exec(text)
  const at = m ? m.index + m[0].length : 0
  const before = text.slice(0, at)
  const line = before.split("\n").length
  const column = at - (before.lastIndexOf("\n") + 1) + 1
  return `[line:${line}, column:${column}]`
}

/** A string property, or undefined when absent/null; wrong JSON type -> API_ERROR. */
export const stringProp = (body: JsonBody, key: string): string | undefined => {
  const v = body.value[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== "string") {
    throw new Bulk2Error(400, "API_ERROR", `Value does not match expected type at ${position(body.text, key)}`)
  }
  return v
}

export const invalidValue = (value: string | undefined, key: string): Bulk2Error =>
  new Bulk2Error(400, "API_ERROR", `Invalid value: '${value ?? "null"}' supplied for property: '${key}'`)

/** The CSV dialect and content type properties shared by ingest and query jobs. */
export const dialectOf = (body: JsonBody): CsvDialect => {
  const contentType = stringProp(body, "contentType")
  if (contentType !== undefined && contentType !== "CSV") throw invalidValue(contentType, "contentType")
  const columnDelimiter = stringProp(body, "columnDelimiter") ?? "COMMA"
  if (!isDelimiter(columnDelimiter)) throw invalidValue(columnDelimiter, "columnDelimiter")
  const lineEnding = stringProp(body, "lineEnding") ?? "LF"
  if (!isLineEnding(lineEnding)) throw invalidValue(lineEnding, "lineEnding")
  return { columnDelimiter, lineEnding }
}

const invalidJob = (text: string): Bulk2Error => new Bulk2Error(400, "INVALIDJOB", `InvalidJob : ${text}`)

const newJob = (ctx: RequestContext, state: EmulatorState, body: JsonBody): IngestJob => {
  const operation = stringProp(body, "operation")
  if (operation === undefined || !OPERATIONS.includes(operation as IngestOperation)) throw invalidValue(operation, "operation")
  const objectName = stringProp(body, "object")
  const dialect = dialectOf(body)
  const externalId = stringProp(body, "externalIdFieldName")
  const assignmentRuleId = stringProp(body, "assignmentRuleId")
  if (objectName === undefined || objectName === "") throw invalidJob("Object is required")
  const def = state.org.describe(objectName)
  if (!def) throw invalidJob(`Unable to find object: ${objectName}`)
  let externalIdFieldName: string | undefined
  if (operation === "upsert") {
    if (externalId === undefined || externalId === "") {
      throw invalidJob(`External ID was blank for ${def.name}. An External ID must be specified for upsert.`)
    }
    const f = def.fields.find((x) => x.name.toLowerCase() === externalId.toLowerCase())
    if (!f || !(f.type === "id" || f.externalId === true || f.idLookup === true)) {
      throw invalidJob(`Field name provided, ${externalId} does not match an External ID for ${def.name}`)
    }
    externalIdFieldName = f.name
  }
  const now = state.now()
  return {
    kind: "ingest",
    id: state.newId("750"),
    operation: operation as IngestOperation,
    object: def.name,
    createdById: ctx.session.userId,
    createdDate: now,
    systemModstamp: now,
    apiVersion: ctx.version,
    columnDelimiter: dialect.columnDelimiter,
    lineEnding: dialect.lineEnding,
    state: "Open",
    numberRecordsProcessed: 0,
    numberRecordsFailed: 0,
    totalProcessingTime: 0,
    deleted: false,
    uploadBytes: 0,
    rowCount: 0,
    ...(externalIdFieldName !== undefined ? { externalIdFieldName } : {}),
    ...(assignmentRuleId !== undefined ? { assignmentRuleId } : {})
  }
}

/** `POST /jobs/ingest`: a JSON job, or a multipart job + CSV that is closed at once. */
export const createIngest = async (ctx: RequestContext, state: EmulatorState): Promise<void> => {
  const type = String(ctx.req.headers["content-type"] ?? "")
  if (/^multipart\/form-data/i.test(type)) return createMultipart(ctx, state, type)
  const job = newJob(ctx, state, parseJsonBody(await ctx.readBody()))
  addJob(state, job)
  sendJson(ctx, 200, jobInfo(job, "create"))
}

interface Part {
  readonly headers: string
  readonly body: Buffer
}

const multipartParts = (body: Buffer, boundary: string): Array<Part> => {
  const delim = Buffer.from(`--${boundary}`)
  const parts: Array<Part> = []
  let at = body.indexOf(delim)
  while (at >= 0) {
    let start = at + delim.length
    if (body.subarray(start, start + 2).toString() === "--") break
    if (body[start] === 0x0d) start++
    if (body[start] === 0x0a) start++
    const next = body.indexOf(delim, start)
    if (next < 0) break
    let end = next
    if (body[end - 1] === 0x0a) end--
    if (body[end - 1] === 0x0d) end--
    const chunk = body.subarray(start, end)
    let split = chunk.indexOf("\r\n\r\n")
    let skip = 4
    if (split < 0) {
      split = chunk.indexOf("\n\n")
      skip = 2
    }
    if (split >= 0) parts.push({ headers: chunk.subarray(0, split).toString("utf8"), body: chunk.subarray(split + skip) })
    at = next
  }
  return parts
}

const createMultipart = async (ctx: RequestContext, state: EmulatorState, type: string): Promise<void> => {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(type)
  const boundary = m?.[1] ?? m?.[2]
  if (!boundary) throw new Bulk2Error(400, "API_ERROR", "The multipart request has no boundary in its Content-Type header")
  const parts = multipartParts(await ctx.readBody(), boundary)
  const named = (name: string) => parts.find((p) => new RegExp(`name="?${name}"?(;|\\s|$)`, "im").test(p.headers))
  const jobPart = named("job")
  const content = named("content")
  if (!jobPart) throw new Bulk2Error(400, "API_ERROR", "The multipart request must contain a part named 'job' with the job definition")
  if (!content) throw new Bulk2Error(400, "API_ERROR", "The multipart request must contain a part named 'content' with the CSV data")
  const job = newJob(ctx, state, parseJsonBody(jobPart.body))
  const text = content.body.toString("utf8")
  if (text.length > LIMITS.multipartCharacters) {
    throw new Bulk2Error(
      400,
      "API_ERROR",
      `The CSV data of a multipart request exceeds ${LIMITS.multipartCharacters} characters (${text.length}). Create the job, upload the data with PUT to its contentUrl, then close the job.`
    )
  }
  addJob(state, job)
  const ingest = new Ingestion(job)
  ingest.write(content.body)
  ingest.end()
  job.state = "UploadComplete"
  schedule(state, job)
  sendJson(ctx, 200, jobInfo(job, "create"))
}

/** failedResults carries sf__Id only from API 53.0 on (doc: Get Job Failed Record Results). */
const failedHasId = (job: { readonly apiVersion: string }): boolean => Number(job.apiVersion) >= 53

/** Stores an upload's bytes while parsing them as they arrive (header, row count, limits). */
class Ingestion {
  private readonly parser: RowReader
  private readonly onRow = (rec: Array<string>): void => {
    if (this.job.header === undefined) this.job.header = rec
    else this.job.rowCount++
  }
  constructor(private readonly job: IngestJob) {
    job.upload = []
    job.uploadBytes = 0
    job.rowCount = 0
    this.parser = new RowReader(job)
  }
  private fail(e: unknown) {
    if (this.job.uploadFailure === undefined) this.job.uploadFailure = parseFailure(e).message
  }
  write(chunk: Buffer) {
    this.job.upload!.push(chunk)
    this.job.uploadBytes += chunk.length
    if (this.job.uploadFailure !== undefined) return
    try {
      this.parser.push(chunk, this.onRow)
    } catch (e) {
      this.fail(e)
    }
  }
  end() {
    if (this.job.uploadFailure !== undefined) return
    try {
      this.parser.end(this.onRow)
    } catch (e) {
      this.fail(e)
    }
  }
}

/** Feeds a request body to `onChunk`; after a rejection the rest is drained and discarded. */
const consume = (body: Readable, onChunk: (chunk: Buffer) => void): Promise<Bulk2Error | undefined> =>
  new Promise((resolve, reject) => {
    let rejected: Bulk2Error | undefined
    body.on("data", (chunk: Buffer) => {
      if (rejected) return
      try {
        onChunk(typeof chunk === "string" ? Buffer.from(chunk) : chunk)
      } catch (e) {
        if (e instanceof Bulk2Error) rejected = e
        else reject(e)
      }
    })
    body.on("end", () => resolve(rejected))
    body.on("error", reject)
  })

const maxRawBytes = Math.floor((LIMITS.uploadBase64Bytes * 3) / 4)

/** `PUT /jobs/ingest/{id}/batches`: the job's one CSV upload, 201 with an empty body. */
export const upload = async (ctx: RequestContext, state: EmulatorState, job: IngestJob): Promise<void> => {
  if (job.upload !== undefined) {
    throw new Bulk2Error(
      400,
      "BULK_API_ERROR",
      `Found multipe contents for job: <${
        job.id.slice(0, 15)
      }>, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job.`
    )
  }
  if (job.state !== "Open") {
    throw new Bulk2Error(400, "INVALIDJOBSTATE", `InvalidJobState : Data can only be uploaded to an Open job; this job is ${job.state}`)
  }
  const ingest = new Ingestion(job)
  const rejected = await consume(ctx.bodyStream(), (chunk) => {
    if (job.uploadBytes + chunk.length > maxRawBytes) {
      throw new Bulk2Error(
        400,
        "API_ERROR",
        `The upload exceeds the maximum size of 150 MB after base64 encoding (about ${maxRawBytes} bytes of raw CSV). Split the data into several jobs.`
      )
    }
    ingest.write(chunk)
  }).catch((e: unknown) => {
    clearUpload(job)
    throw e
  })
  if (rejected) {
    clearUpload(job)
    throw rejected
  }
  ingest.end()
  touch(state, job)
  ctx.send(201, undefined, "")
}

const clearUpload = (job: IngestJob): void => {
  delete job.upload
  delete job.uploadFailure
  delete job.header
  job.uploadBytes = 0
  job.rowCount = 0
}

/** `PATCH /jobs/ingest/{id}` with `{"state":"UploadComplete"|"Aborted"}`. */
export const patchIngest = (ctx: RequestContext, state: EmulatorState, job: IngestJob, target: string | undefined): void => {
  if (target === "UploadComplete") {
    if (job.state !== "Open") {
      // "Closing already Completed Job not allowed" is a real text (FIDELITY.md); the other states
      // follow its pattern and the documented abort text's ("Aborting already Completed Job not allowed").
      const label = job.state === "JobComplete" ? "Completed" : job.state
      throw new Bulk2Error(400, "INVALIDJOBSTATE", `Closing already ${label} Job not allowed`)
    }
    job.state = "UploadComplete"
    touch(state, job)
    schedule(state, job)
  } else if (target === "Aborted") {
    abort(state, job)
  } else if (target === "Open" || target === "InProgress" || target === "JobComplete" || target === "Failed") {
    throw new Bulk2Error(400, "INVALIDJOBSTATE", `InvalidJobState : Changing the job state to ${target} is not allowed`)
  } else {
    throw new Bulk2Error(400, "API_ERROR", `Invalid value: '${target ?? "null"}' supplied for property: 'state'`)
  }
  sendJson(ctx, 200, jobInfo(job, "patch"))
}

/** Abort rules shared by ingest and query jobs. */
export const abort = (state: EmulatorState, job: { state: string; systemModstamp: number }): void => {
  if (job.state === "JobComplete") throw new Bulk2Error(400, "INVALIDJOBSTATE", "Aborting already Completed Job not allowed")
  if (job.state === "Failed") throw new Bulk2Error(400, "INVALIDJOBSTATE", "Aborting already Failed Job not allowed")
  if (job.state === "Aborted") throw new Bulk2Error(400, "INVALIDJOBSTATE", "Aborting already Aborted Job not allowed")
  job.state = "Aborted"
  job.systemModstamp = Math.max(job.systemModstamp, state.now())
}

// ---------------------------------------------------------------------------------------------
// Processing

const FAULT_MESSAGES = [
  "InternalServerError : An unexpected error occurred while processing the job. Please create a new job for the unprocessed records.",
  "TooManyLockFailure : Too many lock failure 200 Trying again later."
] as const

const yieldNow = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

const schedule = (state: EmulatorState, job: IngestJob): void => {
  setTimeout(() => {
    run(state, job).catch((e: unknown) => {
      if (job.state === "InProgress" || job.state === "UploadComplete") {
        finish(state, job, "Failed", `InternalServerError : ${e instanceof Error ? e.message : String(e)}`)
      }
    })
  }, Math.max(0, state.settings.latencyMs))
}

const finish = (state: EmulatorState, job: IngestJob, to: "JobComplete" | "Failed", message?: string): void => {
  job.state = to
  if (message !== undefined) job.errorMessage = message
  if (job.startedAt !== undefined) job.totalProcessingTime = Math.max(0, state.now() - job.startedAt)
  touch(state, job)
}

const errorText = (errors: ReadonlyArray<RecordError>): string =>
  errors.map((e) => `${e.statusCode}:${e.message}:${e.fields.length > 0 ? `${e.fields.join(",")} ` : ""}--`).join(" ")

const run = async (state: EmulatorState, job: IngestJob): Promise<void> => {
  if (job.state !== "UploadComplete" || job.deleted) return
  job.state = "InProgress"
  job.startedAt = state.now()
  touch(state, job)
  if (job.uploadFailure !== undefined) return finish(state, job, "Failed", job.uploadFailure)
  if (job.upload === undefined || job.header === undefined) {
    return finish(state, job, "Failed", "InvalidBatch : No data was uploaded for this job before it was closed")
  }
  const check = state.org.checkHeader(job.object, job.operation, job.header)
  if (!check.ok) return finish(state, job, "Failed", `InvalidBatch : ${check.message}`)
  const columns = check.columns
  const n = job.rowCount
  // Bulk API 2.0 ingest spends the shared batch allocation: a batch per 10,000 records (the empty
  // parent batch does not count; "Understanding Bulk API 2.0 Ingest", see FIDELITY.md)
  // (the modelled run takes its batches one by one as it processes them)
  if (!state.processing.modelled) { for (let k = 0; k < Math.ceil(n / 10_000); k++) state.processing.takeBatch() }
  job.outcome = new Uint8Array(n)
  if (job.operation === "insert" || job.operation === "upsert") state.org.reserve(job.object, n)
  const successful = (job.successful = new ResultFile())
  const failed = (job.failed = new ResultFile())
  let failAt = -1
  if (state.faults.batchFail()) failAt = Math.floor(n / 2)
  const chunk = Math.max(1, state.settings.processingChunk)
  const idColumn = job.operation === "insert" ? -1 : columns.findIndex((c) => c === "Id")
  const options = job.externalIdFieldName !== undefined ? { externalIdField: job.externalIdFieldName } : undefined
  const d = DELIMITERS[job.columnDelimiter]
  const eol = LINE_ENDINGS[job.lineEnding]
  const width = columns.length
  const failedId = failedHasId(job)
  const created = `${d}"true"${d}`
  const updated = `${d}"false"${d}`
  /** Apply row `i` (or record its lock failure) and render its result line. */
  const applyRow = (i: number, rec: Array<string>, lockError?: RecordError): void => {
    const out: RowOutcome = lockError !== undefined
      ? { success: false, id: null, errors: [lockError] }
      : state.org.applyValues(job.operation, job.object, columns, rec, options)
    if (out.success) {
      job.outcome![i] = out.created ? OUT_CREATED : OUT_UPDATED
      successful.add(`"${out.id}"${out.created ? created : updated}${echo(rec, width, d)}${eol}`)
    } else {
      job.outcome![i] = OUT_FAILED
      // sf__Id names the record that failed; a deleted or unknown Id leaves it blank, as captured
      // from real orgs (`"","ENTITY_IS_DELETED:entity is deleted:--"`).
      const own = idColumn >= 0 && rec[idColumn] ? rec[idColumn]! : null
      const live = own !== null && state.org.get(own)?.deleted === false
      const id = out.id ?? (live ? own : null)
      failed.add(`${failedId ? `${quote(id ?? "")}${d}` : ""}${quote(errorText(out.errors))}${d}${echo(rec, width, d)}${eol}`)
      job.numberRecordsFailed++
    }
    job.numberRecordsProcessed++
  }
  const faultMessage = () => FAULT_MESSAGES[storeOf(state).faults++ % FAULT_MESSAGES.length]
  if (state.processing.modelled) return runModelled(state, job, columns, failAt, applyRow, faultMessage)
  let i = -1
  for (const batch of rowBatches(job.upload, job)) {
    for (const rec of batch) {
      if (i >= 0) {
        if (i === failAt) return finish(state, job, "Failed", faultMessage())
        if (!state.processing.takeRecord()) return finish(state, job, "Failed", RECORDS_EXHAUSTED)
        applyRow(i, rec)
        if ((i + 1) % chunk === 0) {
          job.totalProcessingTime = Math.max(0, state.now() - job.startedAt)
          touch(state, job)
          await yieldNow()
          const now: string = job.state
          if (now !== "InProgress" || job.deleted) {
            if (now === "Aborted") job.totalProcessingTime = Math.max(0, state.now() - job.startedAt)
            return
          }
        }
      }
      i++
    }
  }
  if (failAt >= 0 && failAt >= n) return finish(state, job, "Failed", faultMessage())
  finish(state, job, "JobComplete")
}

/**
 * Processing under the model: the upload is cut into internal batches of `bulk2BatchSize` records
 * (doc: "a separate batch for every 10,000 records"), each counted against DailyBulkApiBatches and
 * run in one of the org's parallel slots, so batches of one job contend for their parents' locks.
 * Only the batches holding a slot are in memory.
 */
const runModelled = async (
  state: EmulatorState,
  job: IngestJob,
  columns: ReadonlyArray<string>,
  failAt: number,
  applyRow: (i: number, rec: Array<string>, lockError?: RecordError) => void,
  faultMessage: () => string
): Promise<void> => {
  const model = state.processing
  const size = Math.max(1, model.settings.bulk2BatchSize)
  const locking = model.lockColumns(columns, referenceFields(state.org, job.object))
  const live = () => job.state === "InProgress" && !job.deleted
  const running: Array<Promise<void>> = []
  /** Why the job stops taking new batches: an allocation ran out, or a batch ran out of retries. */
  let stopped: string | undefined
  const launch = async (rows: Array<Array<string>>, first: number): Promise<void> => {
    if (!model.takeBatch()) {
      stopped = BATCHES_EXHAUSTED
      return
    }
    const slot = await model.holdSlot()
    running.push(
      model.runBatch({
        operation: job.operation,
        rows,
        parentsOf: (rec) => locking.map((c) => rec[c] ?? "").filter((v) => v !== ""),
        live,
        slot,
        countsRecords: true,
        onRetry: () => {
          job.retries = (job.retries ?? 0) + 1
        },
        apply: (rec, k, lockError) => {
          const i = first + k
          if (!live()) return
          if (i === failAt) return finish(state, job, "Failed", faultMessage())
          applyRow(i, rec, lockError)
          job.totalProcessingTime = Math.max(0, state.now() - job.startedAt!)
        }
      }).then((end) => {
        // Doc: a batch still unfinished after its retries moves the whole job to Failed and the
        // remaining job data isn't processed (batches in progress stop at their next transaction).
        if (end === "timedOut" && live()) {
          stopped ??= retriesExceeded(model.settings.batchRetries)
          finish(state, job, "Failed", stopped)
        } else if (end === "exhausted") {
          stopped ??= RECORDS_EXHAUSTED
        }
      }).finally(() => {
        slot.release()
        touch(state, job)
      })
    )
  }
  let group: Array<Array<string>> = []
  let first = 0
  let i = -1
  for (const batch of rowBatches(job.upload!, job)) {
    for (const rec of batch) {
      if (i >= 0) {
        group.push(rec)
        if (group.length === size) {
          await launch(group, first)
          first += size
          group = []
        }
      }
      i++
    }
    if (stopped !== undefined || !live()) break
  }
  if (group.length > 0 && stopped === undefined && live()) await launch(group, first)
  await Promise.all(running)
  if (!live()) return
  // Doc: when a daily allocation runs out mid-job "the remaining data isn't processed" and the
  // job fails. The message texts are the emulator's own.
  if (stopped !== undefined) return finish(state, job, "Failed", stopped)
  if (failAt >= 0 && failAt >= job.rowCount) return finish(state, job, "Failed", faultMessage())
  finish(state, job, "JobComplete")
}

const BATCHES_EXHAUSTED =
  "LimitExceeded : The daily Bulk API batch allocation (DailyBulkApiBatches) is exhausted; the remaining records were not processed"
const RECORDS_EXHAUSTED =
  "LimitExceeded : The Bulk API 2.0 allocation of records per rolling 24 hours is exhausted; the remaining records were not processed"

// ---------------------------------------------------------------------------------------------
// Results

export type ResultKind = "successful" | "failed" | "unprocessed"

const SLICE = 64 * 1024

/** `GET .../successfulResults|failedResults|unprocessedrecords`, streamed in the job's dialect. */
export const results = async (ctx: RequestContext, job: IngestJob, kind: ResultKind): Promise<void> => {
  if (!isTerminal(job.state)) {
    throw new Bulk2Error(
      400,
      "INVALIDJOBSTATE",
      `InvalidJobState : Results are available once the job is JobComplete, Failed or Aborted; this job is ${job.state}`
    )
  }
  await ctx.sendStream(200, CSV_TYPE, resultLines(job, kind))
}

/**
 * The stored upload's rows (header first), parsed synchronously one stored chunk at a time and
 * handed over as a batch, so a million rows cost no per-row promise. The batch array is reused:
 * consume it before asking for the next. A parse failure is thrown after the rows before it.
 */
function* rowBatches(source: ReadonlyArray<Buffer>, dialect: CsvDialect): Generator<ReadonlyArray<Array<string>>> {
  const reader = new RowReader(dialect)
  const batch: Array<Array<string>> = []
  const push = (rec: Array<string>) => void batch.push(rec)
  for (let i = 0; i <= source.length; i++) {
    let failure: unknown
    try {
      if (i < source.length) reader.push(source[i]!, push)
      else reader.end(push)
    } catch (e) {
      failure = e
    }
    yield batch
    batch.length = 0
    if (failure !== undefined) throw failure
  }
}

/** A row's values echoed into a result line: every value quoted, missing trailing values blank. */
const echo = (rec: ReadonlyArray<string>, width: number, d: string): string => {
  let line = width > 0 ? quote(rec[0] ?? "") : ""
  for (let c = 1; c < width; c++) line += d + quote(rec[c] ?? "")
  return line
}

async function* resultLines(job: IngestJob, kind: ResultKind): AsyncGenerator<string | Buffer> {
  const d = DELIMITERS[job.columnDelimiter as ColumnDelimiter]
  const eol = LINE_ENDINGS[job.lineEnding as LineEnding]
  const header = job.header ?? []
  const echoed = header.join(d)
  const failedId = failedHasId(job)
  const prefix = kind === "successful"
    ? `"sf__Id"${d}"sf__Created"`
    : kind === "failed"
    ? `${failedId ? `"sf__Id"${d}` : ""}"sf__Error"`
    : ""
  yield kind === "unprocessed" ? `${echoed}${eol}` : `${prefix}${header.length > 0 ? d : ""}${echoed}${eol}`
  if (job.upload === undefined || job.header === undefined) return
  // Processed rows were rendered as they ran; only rows left unprocessed need the upload again.
  if (kind !== "unprocessed") {
    const file = kind === "successful" ? job.successful : job.failed
    if (file !== undefined) yield* file.flush()
    return
  }
  const outcome = job.outcome
  const width = header.length
  let out = ""
  let i = -1
  try {
    for (const batch of rowBatches(job.upload, job)) {
      for (const rec of batch) {
        if (i >= 0) {
          const code = outcome && i < outcome.length ? outcome[i]! : OUT_NONE
          if (code === OUT_NONE) {
            out += echo(rec, width, d) + eol
            if (out.length >= SLICE) {
              yield out
              out = ""
            }
          }
        }
        i++
      }
    }
  } catch (e) {
    if (!(e instanceof CsvFailure)) throw e
  }
  if (out.length > 0) yield out
}
