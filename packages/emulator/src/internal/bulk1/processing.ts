/**
 * Asynchronous batch processing: Queued -> InProgress -> Completed | Failed (| NotProcessed).
 * Parallel jobs run every batch on its own timer; Serial jobs run one batch at a time in order.
 */
import type { EmulatorState } from "../context.js"
import type { IngestOperation, RowOutcome } from "../model.js"
import { addBatch, type Batch, isQuery, type Job, newBatch, Outcomes, type ResultFile, storeOf } from "./jobs.js"
import { BatchFailure, readCsvRows, readRows, type Row, yieldNow } from "./records.js"
import { readZip } from "./zip.js"
import { referenceFields, retriesExceeded, type Slot } from "../processing.js"

/** Queue a batch for processing according to the job's concurrency mode. */
export const schedule = (state: EmulatorState, job: Job, batch: Batch): void => {
  if (job.concurrencyMode === "Serial") {
    job.serialQueue.push(batch)
    pumpSerial(state, job)
  } else {
    later(state.settings.latencyMs, () => run(state, job, batch))
  }
}

const later = (ms: number, f: () => Promise<void>): void => {
  const t = setTimeout(() => {
    f().catch(() => undefined)
  }, Math.max(0, ms))
  t.unref?.()
}

const pumpSerial = (state: EmulatorState, job: Job): void => {
  if (job.serialBusy) return
  const next = job.serialQueue.shift()
  if (!next) return
  job.serialBusy = true
  later(state.settings.latencyMs, async () => {
    try {
      await run(state, job, next)
    } finally {
      job.serialBusy = false
      pumpSerial(state, job)
    }
  })
}

const touch = (state: EmulatorState, job: Job, batch: Batch): void => {
  const now = state.now()
  batch.systemModstamp = now
  job.systemModstamp = now
}

const finish = (state: EmulatorState, job: Job, batch: Batch, started: number, outcome: "Completed" | "Failed", message?: string) => {
  const elapsed = Math.max(0, state.now() - started)
  batch.totalProcessingTime = elapsed
  batch.apiActiveProcessingTime = elapsed
  batch.state = outcome
  if (message !== undefined) batch.stateMessage = message
  touch(state, job, batch)
}

const FAULT_MESSAGES = [
  "InternalServerError : An unexpected error occurred while processing the batch. Please retry the batch.",
  "TooManyLockFailure : Too many lock failure 200 Trying again later."
] as const

/**
 * Process one batch if it is still Queued (an abort turns queued batches into NotProcessed). Under
 * the processing model the batch first waits, Queued, for one of the org's parallel slots.
 */
export const run = (state: EmulatorState, job: Job, batch: Batch): Promise<void> =>
  batch.state !== "Queued"
    ? Promise.resolve()
    : state.processing.modelled
    ? state.processing.inSlot((slot) => runNow(state, job, batch, slot))
    : runNow(state, job, batch)

const runNow = async (state: EmulatorState, job: Job, batch: Batch, slot?: Slot): Promise<void> => {
  if (batch.state !== "Queued") return
  if (state.faults.batchFail()) {
    const started = state.now()
    finish(state, job, batch, started, "Failed", FAULT_MESSAGES[storeOf(state).faults++ % FAULT_MESSAGES.length])
    return
  }
  batch.state = "InProgress"
  touch(state, job, batch)
  const started = state.now()
  try {
    if (isQuery(job.operation)) await runQuery(state, job, batch)
    else await runIngest(state, job, batch, job.operation, slot)
    if (batch.state === "InProgress") finish(state, job, batch, started, "Completed")
  } catch (e) {
    const message = e instanceof BatchFailure
      ? e.message
      : `InternalServerError : ${e instanceof Error ? e.message : String(e)}`
    // A PK-chunked query that cannot be split fails its original batch only; the job keeps its
    // state (doc: PK Chunking, "Interpret Batch State").
    finish(state, job, batch, started, "Failed", message)
  }
}

const runIngest = async (state: EmulatorState, job: Job, batch: Batch, op: IngestOperation, slot?: Slot): Promise<void> => {
  const chunk = Math.max(1, state.settings.processingChunk)
  const format = job.contentType === "JSON" || job.contentType === "ZIP_JSON"
    ? "JSON"
    : job.contentType === "XML" || job.contentType === "ZIP_XML"
    ? "XML"
    : "CSV"
  const zip = job.contentType.startsWith("ZIP_")
  const files = zip ? readZip(batch.payload) : undefined
  const manifest = files?.get("request.txt")
  if (files && !manifest) throw new BatchFailure("InvalidBatch : Failed to read zip: request.txt not found at the root of the zip")
  const options = job.externalIdFieldName ? { externalIdField: job.externalIdFieldName } : undefined
  // plain CSV: each row's values go to the org as they are, no object per row
  const model = state.processing
  const refs = model.settings.lockFailureRate > 0 ? referenceFields(state.org, job.object) : new Set<string>()
  const apply: {
    readonly n: number
    readonly one: (i: number) => RowOutcome
    readonly parents: (i: number) => ReadonlyArray<string>
  } = format === "CSV" && !files
    ? await readCsvRows(state.org, job.object, op, batch.payload, chunk).then(({ columns, records }) => {
      const locking = model.lockColumns(columns, refs)
      return {
        n: records.length,
        one: (i: number) => state.org.applyValues(op, job.object, columns, records[i]!, options),
        parents: (i: number) => locking.map((c) => records[i]![c] ?? "").filter((v) => v !== "")
      }
    })
    : await readRows(state.org, job.object, op, format, manifest ?? batch.payload, chunk).then((rows) => ({
      n: rows.length,
      one: (i: number) => (files ? resolveAttachments(rows[i]!, files) : undefined) ?? state.org.apply(op, job.object, rows[i]!, options),
      parents: (i: number) => {
        const row = rows[i]!
        return model.lockColumns(Object.keys(row), refs).map((c) => String(row[Object.keys(row)[c]!] ?? "")).filter((v) => v !== "")
      }
    }))
  const results = new Outcomes(apply.n)
  batch.results = results
  if (model.modelled && slot !== undefined) {
    // A batch still unfinished after its retries is "permanently marked as failed" (Bulk API
    // limits, "Batch processing time"); the rows it processed keep their results, the rest have none.
    const retries = job.disableBatchRetry === true ? 0 : model.settings.batchRetries
    const end = await model.runBatch({
      slot,
      retries,
      operation: op,
      rows: Array.from({ length: apply.n }, (_, i) => i),
      parentsOf: apply.parents,
      live: () => batch.state === "InProgress",
      apply: (i, _index, lockError) => {
        const o: RowOutcome = lockError ? { success: false, id: null, errors: [lockError] } : apply.one(i)
        results.push(o)
        batch.numberRecordsProcessed++
        if (!o.success) batch.numberRecordsFailed++
        if ((i + 1) % chunk === 0) touch(state, job, batch)
      }
    })
    if (end === "timedOut") throw new BatchFailure(retriesExceeded(retries))
    return
  }
  for (let i = 0; i < apply.n; i++) {
    const o = apply.one(i)
    results.push(o)
    batch.numberRecordsProcessed++
    if (!o.success) batch.numberRecordsFailed++
    if ((i + 1) % chunk === 0) {
      touch(state, job, batch)
      await yieldNow()
    }
  }
}

/**
 * Binary attachments: a `#path` value in a `Body` column names a file in the zip; it is replaced by
 * the file's base64 content. A missing file or a value without `#` is a per-record INVALID_FIELD.
 */
const resolveAttachments = (row: Row, files: Map<string, Buffer>): RowOutcome | undefined => {
  for (const key of Object.keys(row)) {
    if (key.toLowerCase() !== "body") continue
    const v = row[key]
    if (typeof v !== "string" || v === "") continue
    const fail = (message: string): RowOutcome => ({
      success: false,
      id: null,
      errors: [{ statusCode: "INVALID_FIELD", message, fields: [key] }]
    })
    if (!v.startsWith("#")) return fail(`The binary file reference must start with '#': ${v}`)
    const data = files.get(v.slice(1).replace(/^\.?\//, ""))
    if (!data) return fail(`The binary file referenced could not be found in the zip: ${v.slice(1)}`)
    row[key] = data.toString("base64")
  }
  return undefined
}

const queryFailure = (code: string, message: string) => new BatchFailure(`InvalidBatch : Failed to process query: ${code}: ${message}`)

const soqlOf = (batch: Batch): string => batch.chunk?.soql ?? batch.payload.toString("utf8").trim()

const runQuery = async (state: EmulatorState, job: Job, batch: Batch): Promise<void> => {
  // the batch's processing time counts from here, the snapshot's own time included
  const started = Date.now()
  const soql = soqlOf(batch)
  const all = job.operation === "queryAll"
  const res = state.org.query(soql, {
    all,
    ...(batch.chunk ? { idRange: batch.chunk.hi !== undefined ? { lo: batch.chunk.lo, hi: batch.chunk.hi } : { lo: batch.chunk.lo } } : {})
  })
  if (!res.ok) {
    // Captured from a real org (jsforce#732): subqueries in a CSV query job.
    if (job.contentType === "CSV" && res.error.message.endsWith("Aggregate Relationships not supported in Bulk Query")) {
      throw new BatchFailure("FeatureNotEnabled : Aggregate Relationships not supported in Bulk Query with CSV content type")
    }
    throw queryFailure(res.error.errorCode, res.error.message)
  }
  if (res.result.object.toLowerCase() !== job.object.toLowerCase()) {
    throw queryFailure(
      "INVALID_TYPE_FOR_OPERATION",
      `The root entity of the requested query (${res.result.object}) does not match the entity of the requested Bulk API Job (${job.object}).`
    )
  }
  if (job.pkChunking && !batch.chunk) {
    splitIntoChunks(state, job, batch, soql)
    return
  }
  const q = res.result
  const perFile = Math.max(1, state.settings.resultFileRows)
  const files: Array<ResultFile> = []
  for (let start = 0; start < q.size || files.length === 0; start += perFile) {
    files.push({ id: state.newId("752").slice(0, 15), start, end: Math.min(q.size, start + perFile) })
  }
  batch.query = { result: q, files }
  await state.processing.queryTime(q.size, started)
  batch.numberRecordsProcessed = q.size
  await yieldNow()
}

/** Id-range suffix shown by a chunk batch's `/request`. */
const withRange = (soql: string, lo: string, hi: string | undefined): string => {
  const range = `Id >= '${lo}'${hi !== undefined ? ` AND Id < '${hi}'` : ""}`
  return /\bwhere\b/i.test(soql) ? `${soql} AND ${range}` : `${soql} WHERE ${range}`
}

/** PK chunking: the original batch becomes NotProcessed and one batch per Id range is queued. */
const splitIntoChunks = (state: EmulatorState, job: Job, original: Batch, soql: string): void => {
  const pk = job.pkChunking!
  const ranges = state.org.chunkRanges(pk.parent ?? job.object, pk.chunkSize, pk.startRow)
  const now = state.now()
  for (const r of ranges) {
    const chunk = newBatch(state, job, now, original.payload, original.payloadType, {
      lo: r.lo,
      ...(r.hi !== undefined ? { hi: r.hi } : {}),
      soql,
      request: withRange(soql, r.lo, r.hi)
    })
    addBatch(job, chunk)
    schedule(state, job, chunk)
  }
  original.state = "NotProcessed"
  if (state.settings.pkChunkingCountsOriginal) original.countedInTotal = true
  touch(state, job, original)
}
