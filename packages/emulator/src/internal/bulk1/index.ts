/**
 * Bulk API 1.0 (`/services/async/{ver}/...`): routing, job and batch endpoints.
 * The server has authenticated the request; this layer answers in the Bulk 1.0 formats (§3).
 */
import type { EmulatorState, Handler, RequestContext } from "../context.js"
import {
  Bulk1Error,
  type DocFormat,
  docFormatOfJob,
  docFormatOfRequest,
  MIME,
  renderBatch,
  renderBatchList,
  renderError,
  renderJob,
  renderResultList
} from "./formats.js"
import {
  addBatch,
  type Batch,
  CONTENT_TYPES,
  type ContentType,
  type ConcurrencyMode,
  findBatch,
  findJob,
  isQuery,
  type Job,
  newBatch,
  type Operation,
  OPERATIONS,
  type PkChunking,
  storeOf
} from "./jobs.js"
import { schedule } from "./processing.js"
import { LIMITS } from "./records.js"
import { applySpec, foreign, parseSpec, specs } from "./spec.js"
import { ingestResults, queryCsv, queryJson, queryXml } from "./results.js"
import { isNil, parseXml, XmlSyntaxError } from "./xml.js"

/** Handle one Bulk API 1.0 request. */
export const handle: Handler = async (ctx, state) => {
  // Until a job is identified, errors follow the request Content-Type (§3.3 rule 3).
  const format: { current: DocFormat } = { current: docFormatOfRequest(ctx) }
  try {
    await route(ctx, state, format)
  } catch (e) {
    const err = e instanceof Bulk1Error
      ? e
      : new Bulk1Error("InternalServerError", e instanceof Error ? e.message : String(e), 500)
    if (!ctx.req.readableEnded) ctx.req.resume()
    if (ctx.res.headersSent) {
      ctx.res.destroy()
      return
    }
    ctx.send(err.status, MIME[format.current], renderError(err.code, err.message, format.current))
  }
}

const route = async (ctx: RequestContext, state: EmulatorState, format: { current: DocFormat }): Promise<void> => {
  const [root, jobId, sub, batchId, leaf, resultId, ...extra] = ctx.segments
  const m = ctx.method.toUpperCase()
  if (root !== "job") {
    throw new Bulk1Error("InvalidUrl", `Unknown Bulk API resource: /${ctx.segments.join("/")}`, 404)
  }
  if (jobId === undefined) {
    if (m !== "POST") throw methodNotAllowed(m, "POST")
    return createJob(ctx, state)
  }
  const job = findJob(state, jobId)
  if (!job) throw new Bulk1Error("InvalidJob", `Invalid job id: ${jobId}`)
  format.current = docFormatOfJob(job.contentType)
  const fmt = format.current
  if (versionKey(ctx.version) !== versionKey(job.apiVersion)) {
    throw new Bulk1Error(
      "InvalidVersion",
      `Job ${job.id} was created with API version ${job.apiVersion}; use /services/async/${job.apiVersion}/ for its resources`
    )
  }
  if (extra.length > 0) throw new Bulk1Error("InvalidUrl", `Unknown Bulk API resource: /${ctx.segments.join("/")}`, 404)
  if (sub === undefined) {
    if (m === "GET") return ctx.send(200, MIME[fmt], renderJob(job, fmt))
    if (m === "POST") return updateJob(ctx, state, job)
    throw methodNotAllowed(m, "GET, POST")
  }
  if (sub === "spec") {
    if (batchId !== undefined) throw new Bulk1Error("InvalidUrl", `Unknown Bulk API resource: /${ctx.segments.join("/")}`, 404)
    if (m !== "POST") throw methodNotAllowed(m, "POST")
    return uploadSpec(ctx, state, job)
  }
  if (sub !== "batch") throw new Bulk1Error("InvalidUrl", `Unknown Bulk API resource: /${ctx.segments.join("/")}`, 404)
  if (batchId === undefined) {
    if (m === "GET") return ctx.send(200, MIME[fmt], renderBatchList(job.batches, fmt))
    if (m === "POST") return createBatch(ctx, state, job)
    throw methodNotAllowed(m, "GET, POST")
  }
  if (m !== "GET") throw methodNotAllowed(m, "GET")
  const batch = findBatch(job, batchId)
  if (!batch) throw new Bulk1Error("InvalidBatch", `Invalid batch id: ${batchId}`)
  if (leaf === undefined) return ctx.send(200, MIME[fmt], renderBatch(batch, fmt))
  if (leaf === "request") return sendRequest(ctx, job, batch)
  if (leaf !== "result") throw new Bulk1Error("InvalidUrl", `Unknown Bulk API resource: /${ctx.segments.join("/")}`, 404)
  return sendResult(ctx, state, job, batch, resultId)
}

const versionKey = (v: string): number => Number(v)

const methodNotAllowed = (m: string, allowed: string) =>
  new Bulk1Error("InvalidUrl", `HTTP method '${m}' not allowed. Allowed are ${allowed}`, 405)

// ---------------------------------------------------------------------------------------------
// Jobs

type Fields = Map<string, unknown>

/** Parse a jobInfo body (XML or JSON) into field name -> value, in any element order. */
const readJobInfo = async (ctx: RequestContext): Promise<Fields> => {
  const text = (await ctx.readBody()).toString("utf8").trim()
  const ct = String(ctx.req.headers["content-type"] ?? "").toLowerCase()
  const fields: Fields = new Map()
  // The body's own syntax wins over a mislabelled Content-Type (clients mix them up).
  const json = text.startsWith("{") || (!text.startsWith("<") && ct.includes("json"))
  if (json) {
    let doc: unknown
    try {
      doc = JSON.parse(text)
    } catch (e) {
      throw new Bulk1Error("InvalidJob", `Unable to parse the JSON jobInfo: ${e instanceof Error ? e.message : String(e)}`)
    }
    if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
      throw new Bulk1Error("InvalidJob", "The jobInfo JSON body must be an object")
    }
    for (const [k, v] of Object.entries(doc)) fields.set(k, v)
    return fields
  }
  if (text === "") throw new Bulk1Error("InvalidXML", "The request body is empty; send a jobInfo document")
  try {
    const root = parseXml(text)
    if (root.name !== "jobInfo") {
      throw new Bulk1Error("InvalidXML", `Expected root element <jobInfo>, found <${root.name}>`)
    }
    for (const c of root.children) fields.set(c.name, isNil(c) ? null : c.text.trim())
  } catch (e) {
    if (e instanceof XmlSyntaxError) throw new Bulk1Error("InvalidXML", `Unable to parse the XML jobInfo: ${e.message}`)
    throw e
  }
  return fields
}

const str = (v: unknown): string | undefined =>
  v === undefined || v === null ? undefined : typeof v === "string" ? (v === "" ? undefined : v) : String(v)

/** Read-only jobInfo fields: WSC beans may carry them as null/0, which is tolerated. */
const READ_ONLY = [
  "id",
  "createdById",
  "createdDate",
  "systemModstamp",
  "numberBatchesQueued",
  "numberBatchesInProgress",
  "numberBatchesCompleted",
  "numberBatchesFailed",
  "numberBatchesTotal",
  "numberRecordsProcessed",
  "numberRecordsFailed",
  "numberRetries",
  "apiVersion",
  "totalProcessingTime",
  "apiActiveProcessingTime",
  "apexProcessingTime"
]

const isBlank = (v: unknown): boolean => v === undefined || v === null || v === "" || v === 0 || v === "0" || v === false

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)

const parsePkChunking = (header: string | undefined): PkChunking | undefined => {
  if (header === undefined) return undefined
  let enabled = false
  let chunkSize = 100_000
  let parent: string | undefined
  let startRow: string | undefined
  for (const raw of header.split(";")) {
    const token = raw.trim()
    if (token === "") continue
    const eq = token.indexOf("=")
    const key = (eq < 0 ? token : token.slice(0, eq)).trim().toLowerCase()
    const value = eq < 0 ? "" : token.slice(eq + 1).trim()
    if (eq < 0 && key === "true") enabled = true
    else if (eq < 0 && key === "false") return undefined
    else if (key === "chunksize") {
      const n = Number(value)
      if (!Number.isInteger(n) || n < 1) {
        throw new Bulk1Error("InvalidJob", `Invalid PK chunking chunkSize: '${value}'. Use a whole number from 1 to 250000`)
      }
      if (n > 250_000) throw new Bulk1Error("InvalidJob", `Chunk size ${n} exceeds the maximum of 250000`)
      chunkSize = n
      enabled = true
    } else if (key === "parent") {
      parent = value
      enabled = true
    } else if (key === "startrow") {
      if (value.length !== 15 && value.length !== 18) {
        throw new Bulk1Error("InvalidJob", `Invalid PK chunking startRow: '${value}'. Use a 15- or 18-character record Id`)
      }
      startRow = value
      enabled = true
    } else {
      throw new Bulk1Error(
        "InvalidJob",
        `Unsupported Sforce-Enable-PKChunking option '${token}'. Use TRUE, FALSE, chunkSize=N, parent=Object or startRow=Id`
      )
    }
  }
  if (!enabled) return undefined
  return { chunkSize, ...(parent ? { parent } : {}), ...(startRow ? { startRow } : {}) }
}

const createJob = async (ctx: RequestContext, state: EmulatorState): Promise<void> => {
  const fmt = docFormatOfRequest(ctx)
  const f = await readJobInfo(ctx)
  for (const k of READ_ONLY) {
    if (!isBlank(f.get(k))) throw new Bulk1Error("InvalidJob", `${capitalize(k)} cannot be specified`)
  }
  const operation = str(f.get("operation"))
  if (operation === undefined) throw new Bulk1Error("InvalidJob", "Job operation is required. Allowed values: " + OPERATIONS.join(", "))
  if (!OPERATIONS.includes(operation as Operation)) {
    throw new Bulk1Error("InvalidJob", `Invalid job operation: '${operation}'. Allowed values (case-sensitive): ${OPERATIONS.join(", ")}`)
  }
  const op = operation as Operation
  const objectName = str(f.get("object"))
  if (objectName === undefined) throw new Bulk1Error("InvalidJob", "Job object is required (an sObject API name such as Account)")
  const def = state.org.describe(objectName)
  if (!def) throw new Bulk1Error("InvalidJob", `Unable to find object: ${objectName}`)
  const ctRaw = str(f.get("contentType")) ?? "XML"
  if (!CONTENT_TYPES.includes(ctRaw as ContentType)) {
    throw new Bulk1Error("InvalidJob", `Invalid content type: '${ctRaw}'. Allowed values: ${CONTENT_TYPES.join(", ")}`)
  }
  const contentType = ctRaw as ContentType
  if (contentType.startsWith("ZIP_") && Number(ctx.version) <= 19) {
    throw new Bulk1Error("InvalidJob", `Content type ${contentType} requires API version 20.0 or later`)
  }
  if (contentType.startsWith("ZIP_") && isQuery(op)) {
    throw new Bulk1Error("InvalidJob", `Content type ${contentType} is not supported for ${op} jobs; use CSV, XML or JSON`)
  }
  const cmRaw = f.get("concurrencyMode")
  let concurrencyMode: ConcurrencyMode = "Parallel"
  if (cmRaw === 1 || cmRaw === "1" || cmRaw === "Serial") concurrencyMode = "Serial"
  else if (!(cmRaw === undefined || cmRaw === null || cmRaw === 0 || cmRaw === "0" || cmRaw === "" || cmRaw === "Parallel")) {
    throw new Bulk1Error("InvalidJob", `Invalid concurrency mode: '${String(cmRaw)}'. Allowed values: Parallel, Serial`)
  }
  const stateRaw = str(f.get("state"))
  if (stateRaw !== undefined && stateRaw !== "Open") {
    throw new Bulk1Error("InvalidJob", `A new job's state can only be Open, not '${stateRaw}'`)
  }
  const externalIdRaw = str(f.get("externalIdFieldName"))
  let externalIdFieldName: string | undefined
  if (op === "upsert") {
    if (externalIdRaw === undefined) {
      throw new Bulk1Error("InvalidJob", "External ID field name is required for upsert (set externalIdFieldName)")
    }
    const field = def.fields.find((x) => x.name.toLowerCase() === externalIdRaw.toLowerCase())
    if (!field || !(field.externalId || field.type === "id")) {
      throw new Bulk1Error("InvalidJob", `Field name provided, ${externalIdRaw} does not match an External ID for ${def.name}`)
    }
    externalIdFieldName = field.name
  } else if (externalIdRaw !== undefined) {
    throw new Bulk1Error("InvalidJob", `External ID field name can only be specified for upsert jobs, not ${op}`)
  }
  const assignmentRuleId = str(f.get("assignmentRuleId"))
  const pkChunking = parsePkChunking(header(ctx, "sforce-enable-pkchunking"))
  if (pkChunking && !isQuery(op)) {
    throw new Bulk1Error("InvalidJob", "PK chunking (Sforce-Enable-PKChunking) is only supported for query and queryAll jobs")
  }
  if (pkChunking?.parent && !state.org.describe(pkChunking.parent)) {
    throw new Bulk1Error("InvalidJob", `Unable to find object: ${pkChunking.parent} (PK chunking parent)`)
  }
  // Sforce-Disable-Batch-Retry: TRUE: "Unfinished batches in this job aren't retried" (doc: Batch
  // Retry Header). Other values than TRUE/FALSE are taken as FALSE (Salesforce's answer unknown).
  const disableBatchRetry = (header(ctx, "sforce-disable-batch-retry") ?? "").trim().toUpperCase() === "TRUE"
  const now = state.now()
  const id = state.newId("750")
  const job: Job = {
    id,
    operation: op,
    object: def.name,
    createdById: ctx.session.userId,
    createdDate: now,
    systemModstamp: now,
    state: "Open",
    ...(externalIdFieldName ? { externalIdFieldName } : {}),
    concurrencyMode,
    contentType,
    apiVersion: ctx.version,
    ...(assignmentRuleId ? { assignmentRuleId } : {}),
    ...(pkChunking ? { pkChunking } : {}),
    ...(disableBatchRetry ? { disableBatchRetry } : {}),
    batches: [],
    batchIndex: new Map(),
    serialQueue: [],
    serialBusy: false
  }
  storeOf(state).jobs.set(id.slice(0, 15), job)
  ctx.send(201, MIME[fmt], renderJob(job, fmt))
}

const header = (ctx: RequestContext, name: string): string | undefined => {
  const v = ctx.req.headers[name]
  return Array.isArray(v) ? v.join(";") : v
}

const updateJob = async (ctx: RequestContext, state: EmulatorState, job: Job): Promise<void> => {
  const fmt = docFormatOfJob(job.contentType)
  const f = await readJobInfo(ctx)
  // WSC's closeJob/abortJob send the job id along with the state; other fields must be absent,
  // blank, or unchanged.
  const current: Record<string, string | undefined> = {
    id: job.id,
    operation: job.operation,
    object: job.object,
    contentType: job.contentType,
    concurrencyMode: job.concurrencyMode,
    externalIdFieldName: job.externalIdFieldName,
    assignmentRuleId: job.assignmentRuleId
  }
  for (const [k, v] of f) {
    if (k === "state" || isBlank(v)) continue
    const now = current[k]
    if (now !== undefined && (String(v) === now || (k === "id" && String(v).slice(0, 15) === now.slice(0, 15)))) continue
    throw new Bulk1Error("InvalidJob", `Only the job state can be updated; remove ${k} from the request`)
  }
  const target = str(f.get("state"))
  if (target !== "Closed" && target !== "Aborted") {
    throw new Bulk1Error("InvalidJobState", `Invalid job state: '${target ?? ""}'. A job can only be set to Closed or Aborted`)
  }
  // A repeated state change is refused, never answered as a no-op: "Closing already closed Job not
  // allowed" and "Closing already aborted Job not allowed" are real texts (FIDELITY.md); the other
  // combinations follow their pattern. A Closed job may still be aborted.
  if (job.state !== "Open" && !(job.state === "Closed" && target === "Aborted")) {
    const verb = target === "Closed" ? "Closing" : "Aborting"
    throw new Bulk1Error("InvalidJobState", `${verb} already ${job.state.toLowerCase()} Job not allowed`)
  }
  const now = state.now()
  job.state = target
  job.systemModstamp = now
  if (target === "Aborted") {
    for (const b of job.batches) {
      if (b.state === "Queued") {
        b.state = "NotProcessed"
        b.systemModstamp = now
      }
    }
    job.serialQueue.length = 0
  }
  ctx.send(200, MIME[fmt], renderJob(job, fmt))
}

// ---------------------------------------------------------------------------------------------
// Batches

const BATCH_MIME: Record<ContentType, string> = {
  CSV: "text/csv",
  XML: "application/xml",
  JSON: "application/json",
  ZIP_CSV: "zip/csv",
  ZIP_XML: "zip/xml",
  ZIP_JSON: "zip/json"
}

/** Read a batch body, refusing more than 10,000,000 characters without buffering beyond that. */
const readBatchBody = async (ctx: RequestContext): Promise<Buffer> => {
  const parts: Array<Buffer> = []
  let bytes = 0
  const tooBig = () => new Bulk1Error("ClientInputError", `Failed to read request. Exceeded max size limit of ${LIMITS.charactersPerBatch}`)
  // A UTF-8 character takes at most 4 bytes: past that many bytes the text is surely too long.
  for await (const chunk of ctx.bodyStream()) {
    const b = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer)
    bytes += b.length
    if (bytes > LIMITS.charactersPerBatch * 4) {
      ctx.req.resume()
      throw tooBig()
    }
    parts.push(b)
  }
  const body = Buffer.concat(parts, bytes)
  if (bytes > LIMITS.charactersPerBatch && body.toString("utf8").length > LIMITS.charactersPerBatch) throw tooBig()
  return body
}

const createBatch = async (ctx: RequestContext, state: EmulatorState, job: Job): Promise<void> => {
  const fmt = docFormatOfJob(job.contentType)
  const ct = String(ctx.req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase()
  const expected = BATCH_MIME[job.contentType]
  if (ct !== "" && ct !== expected && !(isQuery(job.operation) && ct === "text/plain")) {
    throw new Bulk1Error(
      "InvalidBatch",
      `Content-Type '${ct}' does not match the job's content type ${job.contentType}; send the batch as '${expected}'`
    )
  }
  if (job.state !== "Open") {
    throw new Bulk1Error(
      "InvalidJobState",
      `Failed to create batch, since the Job is not Open. Current job state is '${job.state}'`
    )
  }
  const body = await readBatchBody(ctx)
  if (body.length === 0 || body.toString("utf8").trim() === "") {
    throw new Bulk1Error("ClientInputError", "Failed to read request. A batch must contain some content")
  }
  // Every submitted batch counts toward DailyBulkApiBatches (Bulk API limits, "Batch Allocations").
  if (!state.processing.takeBatch()) throw new Bulk1Error("ExceededQuota", "ApiBatchItems Limit exceeded.")
  // a job with a spec takes "foreign" CSV in the charset its Content-Type names, rewritten by the spec
  const spec = specs.get(job)
  const charset = /charset=([^;\s]+)/i.exec(String(ctx.req.headers["content-type"] ?? ""))?.[1]
  const payload = spec === undefined ? body : applySpec(spec, state.org.describe(job.object), body, charset)
  const now = state.now()
  const batch = newBatch(state, job, now, payload, expected)
  if (spec !== undefined) foreign.set(batch, { body, type: String(ctx.req.headers["content-type"] ?? expected) })
  addBatch(job, batch)
  job.systemModstamp = now
  schedule(state, job, batch)
  ctx.send(201, MIME[fmt], renderBatch(batch, fmt))
}

/** `POST /job/{jobId}/spec`: a transformation spec for the job's later CSV batches (201, no body). */
const uploadSpec = async (ctx: RequestContext, state: EmulatorState, job: Job): Promise<void> => {
  if (job.contentType !== "CSV" || isQuery(job.operation)) {
    throw new Bulk1Error("InvalidJob", "Transformation specs apply to CSV ingest jobs only")
  }
  if (job.state !== "Open") {
    throw new Bulk1Error(
      "InvalidJobState",
      `Failed to create transformation spec, since the Job is not Open. Current job state is '${job.state}'`
    )
  }
  const body = await readBatchBody(ctx)
  specs.set(job, parseSpec(body, state.org.describe(job.object)))
  ctx.send(201, "text/plain", "")
}

const sendRequest = async (ctx: RequestContext, job: Job, batch: Batch): Promise<void> => {
  // a batch mapped by a spec: the request as it was sent, not the mapped CSV
  const sent = foreign.get(batch)
  if (sent) return ctx.send(200, sent.type, sent.body)
  if (batch.chunk) return ctx.send(200, isQuery(job.operation) ? BATCH_MIME[job.contentType] : "text/plain", batch.chunk.request)
  ctx.send(200, batch.payloadType, batch.payload)
}

const notReady = (batch: Batch): Bulk1Error =>
  batch.state === "Queued" || batch.state === "InProgress"
    ? new Bulk1Error("InvalidBatch", `Batch not completed (state ${batch.state}); poll the batch until it is Completed`)
    : new Bulk1Error("InvalidBatch", "Records not processed")

const sendResult = async (
  ctx: RequestContext,
  state: EmulatorState,
  job: Job,
  batch: Batch,
  resultId: string | undefined
): Promise<void> => {
  const fmt = docFormatOfJob(job.contentType)
  const dataFormat = job.contentType === "CSV" || job.contentType === "ZIP_CSV" ? "csv" : fmt
  if (!isQuery(job.operation)) {
    if (resultId !== undefined) throw new Bulk1Error("InvalidUrl", "Result ids exist only for query batches", 404)
    const results = batch.results
    if (!results || batch.state === "Queued" || batch.state === "InProgress") throw notReady(batch)
    if (batch.state === "Failed" && results.length === 0) throw notReady(batch)
    return ctx.sendStream(200, MIME[dataFormat], ingestResults(results, dataFormat))
  }
  const q = batch.query
  if (!q || batch.state !== "Completed") throw notReady(batch)
  if (resultId === undefined) {
    return ctx.send(200, MIME[fmt], renderResultList(q.files.map((x) => x.id), fmt))
  }
  const file = resultId.length === 15 || resultId.length === 18
    ? q.files.find((x) => x.id === resultId.slice(0, 15))
    : undefined
  if (!file) throw new Bulk1Error("InvalidBatch", `Invalid result id: ${resultId}`)
  const body = dataFormat === "csv"
    ? queryCsv(q.result, file.start, file.end)
    : dataFormat === "json"
    ? queryJson(state.org, q.result, file.start, file.end, job.apiVersion)
    : queryXml(state.org, q.result, file.start, file.end)
  return ctx.sendStream(200, MIME[dataFormat], body)
}
