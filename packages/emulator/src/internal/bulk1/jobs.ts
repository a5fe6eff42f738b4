/**
 * Bulk API 1.0 job and batch records, kept per emulator instance. Job counters are derived from
 * the batch list at read time, so every read sees a consistent picture.
 */
import type { EmulatorState } from "../context.js"
import type { IngestOperation, QueryResult, RowOutcome } from "../model.js"

export type ContentType = "CSV" | "XML" | "JSON" | "ZIP_CSV" | "ZIP_XML" | "ZIP_JSON"
export type Operation = IngestOperation | "query" | "queryAll"
export type JobState = "Open" | "Closed" | "Aborted" | "Failed"
export type BatchState = "Queued" | "InProgress" | "Completed" | "Failed" | "NotProcessed"
export type ConcurrencyMode = "Parallel" | "Serial"

export const CONTENT_TYPES: ReadonlyArray<ContentType> = ["CSV", "XML", "JSON", "ZIP_CSV", "ZIP_XML", "ZIP_JSON"]
export const OPERATIONS: ReadonlyArray<Operation> = [
  "insert",
  "update",
  "upsert",
  "delete",
  "hardDelete",
  "query",
  "queryAll"
]

export interface PkChunking {
  readonly chunkSize: number
  readonly parent?: string
  readonly startRow?: string
}

/** One query result file: rows `[start, end)` of the batch's query result. */
export interface ResultFile {
  readonly id: string
  readonly start: number
  readonly end: number
}

export interface Batch {
  readonly id: string
  readonly jobId: string
  state: BatchState
  stateMessage?: string
  readonly createdDate: number
  systemModstamp: number
  numberRecordsProcessed: number
  numberRecordsFailed: number
  totalProcessingTime: number
  apiActiveProcessingTime: number
  apexProcessingTime: number
  /** The body as received (after gunzip); served by `/request`. */
  readonly payload: Buffer
  /** Content-Type the batch was posted with (for `/request`). */
  readonly payloadType: string
  /**
   * A PK-chunked original (`NotProcessed`) that the job's `numberBatchesTotal` still counts: set at
   * the split when the emulator runs with `pkChunkingCountsOriginal` (Salesforce's behaviour here is
   * not settled; see FIDELITY.md).
   */
  countedInTotal?: boolean
  /** PK-chunk batches: the Id range and the SOQL shown by `/request`. */
  readonly chunk?: { readonly lo: string; readonly hi?: string; readonly soql: string; readonly request: string }
  /** Ingest outcomes in input order. */
  results?: Outcomes
  /** Query outcome: the snapshot and its split into result files. */
  query?: { readonly result: QueryResult; readonly files: ReadonlyArray<ResultFile> }
}

/**
 * A batch's ingest outcomes in input order, compact: a successful row costs 19 bytes (its 18-character
 * id and a created flag) instead of an object and a string that live as long as the job.
 */
export class Outcomes {
  length = 0
  private codes: Uint8Array
  private ids: Buffer
  /** Outcomes that do not fit the compact form (failures), by row. */
  private readonly others = new Map<number, RowOutcome>()
  constructor(capacity: number) {
    this.codes = new Uint8Array(Math.max(1, capacity))
    this.ids = Buffer.alloc(18 * Math.max(1, capacity))
  }
  push(o: RowOutcome): void {
    const i = this.length++
    if (i === this.codes.length) {
      const codes = new Uint8Array(2 * i)
      codes.set(this.codes)
      this.codes = codes
      const ids = Buffer.alloc(36 * i)
      this.ids.copy(ids)
      this.ids = ids
    }
    // Record ids are base-62 text: 18 latin-1 bytes.
    if (o.success && o.id.length === 18) {
      this.ids.write(o.id, 18 * i, 18, "latin1")
      this.codes[i] = o.created ? CREATED : UPDATED
    } else {
      this.codes[i] = OTHER
      this.others.set(i, o)
    }
  }
  at(i: number): RowOutcome {
    const code = this.codes[i]
    if (code === OTHER) return this.others.get(i)!
    return { success: true, id: this.ids.toString("latin1", 18 * i, 18 * i + 18), created: code === CREATED }
  }
}

const CREATED = 1
const UPDATED = 2
const OTHER = 3

export interface Job {
  readonly id: string
  readonly operation: Operation
  readonly object: string
  readonly createdById: string
  readonly createdDate: number
  systemModstamp: number
  state: JobState
  readonly externalIdFieldName?: string
  readonly concurrencyMode: ConcurrencyMode
  readonly contentType: ContentType
  readonly apiVersion: string
  readonly assignmentRuleId?: string
  readonly pkChunking?: PkChunking
  /** `Sforce-Disable-Batch-Retry: TRUE`: a batch that runs out of time fails at once. */
  readonly disableBatchRetry?: boolean
  readonly batches: Array<Batch>
  readonly batchIndex: Map<string, Batch>
  /** Serial mode: batches waiting their turn, and whether one is running. */
  readonly serialQueue: Array<Batch>
  serialBusy: boolean
}

export interface JobCounters {
  readonly numberBatchesQueued: number
  readonly numberBatchesInProgress: number
  readonly numberBatchesCompleted: number
  readonly numberBatchesFailed: number
  readonly numberBatchesTotal: number
  readonly numberRecordsProcessed: number
  readonly numberRecordsFailed: number
  readonly totalProcessingTime: number
  readonly apiActiveProcessingTime: number
  readonly apexProcessingTime: number
}

/**
 * Counters as Salesforce reports them: NotProcessed batches are not counted, except a PK-chunked
 * original marked `countedInTotal` (in the total only, in no state counter).
 */
export const counters = (job: Job): JobCounters => {
  let queued = 0
  let inProgress = 0
  let completed = 0
  let failed = 0
  let processed = 0
  let recFailed = 0
  let total = 0
  let active = 0
  let apex = 0
  let countedOriginals = 0
  for (const b of job.batches) {
    switch (b.state) {
      case "Queued":
        queued++
        break
      case "InProgress":
        inProgress++
        break
      case "Completed":
        completed++
        break
      case "Failed":
        failed++
        break
      case "NotProcessed":
        if (b.countedInTotal === true) countedOriginals++
        continue
    }
    processed += b.numberRecordsProcessed
    recFailed += b.numberRecordsFailed
    total += b.totalProcessingTime
    active += b.apiActiveProcessingTime
    apex += b.apexProcessingTime
  }
  return {
    numberBatchesQueued: queued,
    numberBatchesInProgress: inProgress,
    numberBatchesCompleted: completed,
    numberBatchesFailed: failed,
    numberBatchesTotal: queued + inProgress + completed + failed + countedOriginals,
    numberRecordsProcessed: processed,
    numberRecordsFailed: recFailed,
    totalProcessingTime: total,
    apiActiveProcessingTime: active,
    apexProcessingTime: apex
  }
}

/** Ids are matched on their case-sensitive 15-character form. */
export const idKey = (id: string): string | undefined => (id.length === 15 || id.length === 18 ? id.slice(0, 15) : undefined)

export interface Store {
  readonly jobs: Map<string, Job>
  /** Injected batch failures so far (alternates the failure message). */
  faults: number
}

const stores = new WeakMap<EmulatorState, Store>()

/** The Bulk 1.0 store of one emulator instance. */
export const storeOf = (state: EmulatorState): Store => {
  let s = stores.get(state)
  if (!s) {
    s = { jobs: new Map(), faults: 0 }
    stores.set(state, s)
  }
  return s
}

export const findJob = (state: EmulatorState, id: string): Job | undefined => {
  const key = idKey(id)
  return key === undefined ? undefined : storeOf(state).jobs.get(key)
}

export const findBatch = (job: Job, id: string): Batch | undefined => {
  const key = idKey(id)
  return key === undefined ? undefined : job.batchIndex.get(key)
}

/** A fresh `Queued` batch of `job` with zeroed counters (not yet added: see `addBatch`). */
export const newBatch = (
  state: EmulatorState,
  job: Job,
  now: number,
  payload: Buffer,
  payloadType: string,
  chunk?: Batch["chunk"]
): Batch => ({
  id: state.newId("751"),
  jobId: job.id,
  state: "Queued",
  createdDate: now,
  systemModstamp: now,
  numberRecordsProcessed: 0,
  numberRecordsFailed: 0,
  totalProcessingTime: 0,
  apiActiveProcessingTime: 0,
  apexProcessingTime: 0,
  payload,
  payloadType,
  ...(chunk !== undefined ? { chunk } : {})
})

export const addBatch = (job: Job, batch: Batch): void => {
  job.batches.push(batch)
  job.batchIndex.set(batch.id.slice(0, 15), batch)
}

export const isQuery = (op: Operation): op is "query" | "queryAll" => op === "query" || op === "queryAll"
