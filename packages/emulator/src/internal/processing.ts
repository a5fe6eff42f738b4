/**
 * The opt-in processing model (`profile: "realistic"`): how fast Salesforce works through records,
 * how many batches an org runs at once, record locks between batches in progress, and the daily
 * allocations. Loopback (the default) turns every knob off: instant processing, unlimited
 * parallelism, no locks, allocations counted but never enforced. Sources of every default figure
 * are in FIDELITY.md ("Processing model").
 */
import type { IngestOperation, OrgApi, RecordError } from "./model.js"
import { mulberry32 } from "./faults.js"

/** The knobs of the processing model. */
export interface ProcessingSettings {
  readonly profile: "loopback" | "realistic"
  /** Records per second one batch processes, by operation (`query`: rows a query job produces); 0 = instant. */
  readonly recordsPerSecond: Readonly<Record<IngestOperation | "query", number>>
  /** Batches the org processes at the same time (1.0 batches and 2.0 internal batches); 0 = unlimited. */
  readonly parallelBatches: number
  /** Records per internal batch of a Bulk API 2.0 ingest job (documented: 10,000). */
  readonly bulk2BatchSize: number
  /** Records per transaction within a batch: the unit that holds record locks (documented: 200). */
  readonly transactionRows: number
  /** Added to every API request before it is handled, in ms. */
  readonly requestLatencyMs: number
  /**
   * Probability that a record whose parent reference is locked by another batch's transaction in
   * progress fails `UNABLE_TO_LOCK_ROW`. 0 turns lock contention off.
   */
  readonly lockFailureRate: number
  /**
   * Time one batch may run before what is left of it goes back in the queue (documented: 5 minutes,
   * both APIs). Applies to paced batches only (a rate above 0); 0 turns the limit off.
   */
  readonly batchTimeLimitMs: number
  /** Times a batch that ran out of time is re-queued before it fails for good (documented: 20). */
  readonly batchRetries: number
  /** Refuse work beyond the daily allocations (otherwise they are only counted). */
  readonly enforceLimits: boolean
  readonly dailyApiRequests: number
  readonly dailyBulkApiBatches: number
  readonly dailyBulkV2QueryJobs: number
  /** Bulk API 2.0 query results stored per rolling 24 hours, in MB (documented: 1 TB). */
  readonly dailyBulkV2QueryFileStorageMB: number
  /** Records Bulk API 2.0 ingest processes per rolling 24 hours (documented: 150,000,000). */
  readonly dailyBulkV2Records: number
}

/** Knobs a user may set; anything omitted comes from the profile. */
export type ProcessingInput = Partial<Omit<ProcessingSettings, "recordsPerSecond">> & {
  readonly recordsPerSecond?: Partial<Record<IngestOperation | "query", number>>
}

const LOOPBACK: ProcessingSettings = {
  profile: "loopback",
  recordsPerSecond: { insert: 0, update: 0, upsert: 0, delete: 0, hardDelete: 0, query: 0 },
  parallelBatches: 0,
  bulk2BatchSize: 10_000,
  transactionRows: 200,
  requestLatencyMs: 0,
  lockFailureRate: 0,
  batchTimeLimitMs: 300_000,
  batchRetries: 20,
  enforceLimits: false,
  dailyApiRequests: 15_000,
  dailyBulkApiBatches: 15_000,
  dailyBulkV2QueryJobs: 10_000,
  // "1 TB" in the documentation; 976,562 is the Max real orgs report (1e12 bytes / 1024^2)
  dailyBulkV2QueryFileStorageMB: 976_562,
  dailyBulkV2Records: 150_000_000
}

/** Realistic defaults; FIDELITY.md says which are documented and which are estimates. */
const REALISTIC: ProcessingSettings = {
  ...LOOPBACK,
  profile: "realistic",
  recordsPerSecond: { insert: 1_000, update: 1_000, upsert: 800, delete: 1_500, hardDelete: 2_000, query: 50_000 },
  parallelBatches: 10,
  requestLatencyMs: 50,
  lockFailureRate: 0.5
}

const checkNumber = (name: string, v: number, min: number, max = Infinity): number => {
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
    throw new Error(`${name} must be a number in [${min}, ${max === Infinity ? "∞" : max}], got ${String(v)}`)
  }
  return v
}

/** Resolve a profile name plus overrides into settings; throws with what to fix. */
export const resolve = (profile: string | undefined, input: ProcessingInput = {}): ProcessingSettings => {
  const p = profile ?? input.profile ?? "loopback"
  if (p !== "loopback" && p !== "realistic") throw new Error(`profile must be "loopback" or "realistic", got "${p}"`)
  const base = p === "realistic" ? REALISTIC : LOOPBACK
  const rates = { ...base.recordsPerSecond }
  for (const [k, v] of Object.entries(input.recordsPerSecond ?? {})) {
    if (!(k in rates)) throw new Error(`recordsPerSecond: unknown operation "${k}" (insert, update, upsert, delete, hardDelete, query)`)
    if (v !== undefined) rates[k as keyof typeof rates] = checkNumber(`recordsPerSecond.${k}`, v, 0)
  }
  const pick = <K extends keyof ProcessingSettings>(k: K, min: number, max = Infinity): number => {
    const v = input[k as keyof ProcessingInput]
    return v === undefined ? (base[k] as number) : checkNumber(k, v as number, min, max)
  }
  return {
    profile: p,
    recordsPerSecond: rates,
    parallelBatches: Math.floor(pick("parallelBatches", 0)),
    bulk2BatchSize: Math.floor(pick("bulk2BatchSize", 1)),
    transactionRows: Math.floor(pick("transactionRows", 1)),
    requestLatencyMs: pick("requestLatencyMs", 0),
    lockFailureRate: pick("lockFailureRate", 0, 1),
    batchTimeLimitMs: pick("batchTimeLimitMs", 0),
    batchRetries: Math.floor(pick("batchRetries", 0)),
    enforceLimits: input.enforceLimits ?? base.enforceLimits,
    dailyApiRequests: Math.floor(pick("dailyApiRequests", 0)),
    dailyBulkApiBatches: Math.floor(pick("dailyBulkApiBatches", 0)),
    dailyBulkV2QueryJobs: Math.floor(pick("dailyBulkV2QueryJobs", 0)),
    dailyBulkV2QueryFileStorageMB: pick("dailyBulkV2QueryFileStorageMB", 0),
    dailyBulkV2Records: Math.floor(pick("dailyBulkV2Records", 0))
  }
}

/** Counting semaphore for the org's parallel batch slots (0 = unlimited). */
class Slots {
  private busy = 0
  private readonly waiting: Array<() => void> = []
  constructor(private readonly size: number) {}
  acquire(): Promise<void> {
    if (this.size <= 0 || this.busy < this.size) {
      this.busy++
      return Promise.resolve()
    }
    return new Promise((resolve) => this.waiting.push(resolve))
  }
  release(): void {
    const next = this.waiting.shift()
    if (next) next()
    else this.busy = Math.max(0, this.busy - 1)
  }
}

/** Daily allocations used so far (the emulator's "rolling 24 hours" is its lifetime). */
export interface Usage {
  apiRequests: number
  bulkApiBatches: number
  bulkV2QueryJobs: number
  /** Bytes of Bulk API 2.0 query results stored. */
  bulkV2QueryBytes: number
  /** Records Bulk API 2.0 ingest jobs processed. */
  bulkV2Records: number
}

/** How a batch run ended. */
export type BatchEnd =
  /** every row was processed */
  | "done"
  /** the batch or its job stopped it (abort, delete, failure elsewhere) */
  | "stopped"
  /** it ran out of time on its last allowed attempt: the rows left were not processed */
  | "timedOut"
  /** DailyBulkV2Records ran out (enforced): the rows left were not processed */
  | "exhausted"

/** One of the org's parallel batch slots, held by a batch. */
export interface Slot {
  /** Gives the slot back (idempotent). */
  readonly release: () => void
  /** Gives the slot back and waits, behind every batch already waiting, for one again. */
  readonly requeue: () => Promise<void>
}

/** Text of a batch that ran out of time on every allowed attempt (see FIDELITY.md). */
export const retriesExceeded = (retries: number): string => `InternalServerError : Retried more than ${retries} times`

const MB = 1024 * 1024

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const yieldNow = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** Parent references that take part in locking: every reference column except ownership/record type. */
const NOT_LOCKING = new Set(["ownerid", "recordtypeid", "createdbyid", "lastmodifiedbyid"])

/** Lower-cased names of an object's reference fields that lock their parent. */
export const referenceFields = (org: OrgApi, object: string): ReadonlySet<string> =>
  new Set(
    (org.describe(object)?.fields ?? [])
      .filter((f) => f.type === "reference" && !NOT_LOCKING.has(f.name.toLowerCase()))
      .map((f) => f.name.toLowerCase())
  )

/** What one batch needs to run its rows through the model. */
export interface BatchRun<R> {
  readonly operation: IngestOperation
  /** The batch's rows, in order. */
  readonly rows: ReadonlyArray<R>
  /** Parent ids a row references (locked while its transaction runs). */
  readonly parentsOf: (row: R) => ReadonlyArray<string>
  /** Apply one row, or record it as failed on a lock when `lockError` is given. */
  readonly apply: (row: R, index: number, lockError: RecordError | undefined) => void
  /** False once the batch/job was aborted or deleted: processing stops. */
  readonly live: () => boolean
  /** The slot the caller holds: handed back and waited for again when an attempt runs out of time. */
  readonly slot: Slot
  /** Called each time the batch goes back in the queue (2.0 counts it in the job's `retries`). */
  readonly onRetry?: () => void
  /** Bulk API 2.0 ingest: each row spends DailyBulkV2Records. */
  readonly countsRecords?: boolean
  /** Re-queues allowed for this batch, if not `batchRetries` (1.0 `Sforce-Disable-Batch-Retry`: 0). */
  readonly retries?: number
}

/** The processing model of one emulator instance. */
export class Processing {
  readonly usage: Usage = { apiRequests: 0, bulkApiBatches: 0, bulkV2QueryJobs: 0, bulkV2QueryBytes: 0, bulkV2Records: 0 }
  private readonly slots: Slots
  private readonly locks = new Map<string, number>()
  private readonly rng: () => number
  constructor(readonly settings: ProcessingSettings, seed: number) {
    this.slots = new Slots(settings.parallelBatches)
    this.rng = mulberry32(seed ^ 0x1b873593)
  }

  /** True when batches are paced, limited or can contend: the realistic paths apply. */
  get modelled(): boolean {
    const s = this.settings
    return s.parallelBatches > 0 || s.lockFailureRate > 0 || Object.values(s.recordsPerSecond).some((r) => r > 0)
  }

  /** Wait for one of the org's parallel batch slots; call the answer to give it back. */
  async acquireSlot(): Promise<() => void> {
    await this.slots.acquire()
    let released = false
    return () => {
      if (!released) this.slots.release()
      released = true
    }
  }

  /** Wait for one of the org's parallel batch slots, as a `Slot` that can also be re-queued. */
  async holdSlot(): Promise<Slot> {
    let release = await this.acquireSlot()
    return {
      release: () => release(),
      requeue: async () => {
        release()
        release = await this.acquireSlot()
      }
    }
  }

  /** Hold one of the org's parallel batch slots for the duration of `f`. */
  async inSlot<A>(f: (slot: Slot) => Promise<A>): Promise<A> {
    const slot = await this.holdSlot()
    try {
      return await f(slot)
    } finally {
      slot.release()
    }
  }

  /** Count one batch against DailyBulkApiBatches; false when enforced and exhausted. */
  takeBatch(): boolean {
    if (this.settings.enforceLimits && this.usage.bulkApiBatches >= this.settings.dailyBulkApiBatches) return false
    this.usage.bulkApiBatches++
    return true
  }

  /** Count one query job against DailyBulkV2QueryJobs; false when enforced and exhausted. */
  takeQueryJob(): boolean {
    if (this.settings.enforceLimits && this.usage.bulkV2QueryJobs >= this.settings.dailyBulkV2QueryJobs) return false
    this.usage.bulkV2QueryJobs++
    return true
  }

  /** Count one 2.0 ingest record against DailyBulkV2Records; false when enforced and exhausted. */
  takeRecord(): boolean {
    if (this.settings.enforceLimits && this.usage.bulkV2Records >= this.settings.dailyBulkV2Records) return false
    this.usage.bulkV2Records++
    return true
  }

  /** False when DailyBulkV2QueryFileStorageMB is enforced and already spent: a new query job is refused. */
  queryStorageLeft(): boolean {
    return !this.settings.enforceLimits || this.queryStorageUsedMB() < this.settings.dailyBulkV2QueryFileStorageMB
  }

  /** Query result storage spent, in whole MB rounded up (as `/limits` shows it). */
  queryStorageUsedMB(): number {
    return Math.ceil(this.usage.bulkV2QueryBytes / MB)
  }

  /** Count a 2.0 query job's stored results (bytes) against DailyBulkV2QueryFileStorageMB. */
  storeQueryResults(bytes: number): void {
    this.usage.bulkV2QueryBytes += Math.max(0, bytes)
  }

  /** Count one API request; false when enforced and exhausted (the request is refused, not counted). */
  takeRequest(): boolean {
    if (this.settings.enforceLimits && this.usage.apiRequests >= this.settings.dailyApiRequests) return false
    this.usage.apiRequests++
    return true
  }

  /**
   * Wait until a query producing `rows` rows, started at `startedMs` (`Date.now()`), has taken its
   * time at the query rate. The time counts from the start, so the emulator's own work on the
   * snapshot (about a second for a million rows on a busy machine) is part of it, not added to it:
   * the model's processing time is the rate's, whatever the emulator's speed.
   */
  async queryTime(rows: number, startedMs: number = Date.now()): Promise<void> {
    const r = this.settings.recordsPerSecond.query
    if (r > 0 && rows > 0) {
      const left = startedMs + (rows / r) * 1000 - Date.now()
      if (left > 0) await sleep(left)
    }
  }

  /** Columns (by position) whose values are parent ids that lock, given the object's reference fields. */
  lockColumns(columns: ReadonlyArray<string>, referenceFields: ReadonlySet<string>): ReadonlyArray<number> {
    if (this.settings.lockFailureRate <= 0) return []
    const out: Array<number> = []
    columns.forEach((c, i) => {
      const k = c.toLowerCase()
      if (referenceFields.has(k) && !NOT_LOCKING.has(k)) out.push(i)
    })
    return out
  }

  /**
   * Run one batch's rows transaction by transaction (`transactionRows` each) at the operation's
   * rate. A transaction locks the parents its rows reference until it ends; a row whose parent is
   * held by another batch's transaction fails `UNABLE_TO_LOCK_ROW` with `lockFailureRate` (seeded
   * PRNG, so `--seed` replays the same draws). The caller holds a slot.
   *
   * Time limit (doc: "If it takes longer than 5 minutes to process a whole batch, the Bulk API
   * places the remainder of the batch back in the queue ... reprocessed up to 20 times before the
   * batch is permanently marked as failed"): an attempt processes what fits in `batchTimeLimitMs`
   * at the rate (counted in rows, so the outcome does not depend on timer jitter); the rows done
   * stay done, the rest goes back in the queue (the slot is handed back and waited for again),
   * and after `batchRetries` re-queues the batch ends `timedOut` with the rest unprocessed.
   */
  async runBatch<R>(run: BatchRun<R>): Promise<BatchEnd> {
    const s = this.settings
    const rate = s.recordsPerSecond[run.operation]
    const size = Math.max(1, s.transactionRows)
    const perAttempt = rate > 0 && s.batchTimeLimitMs > 0 ? Math.floor((rate * s.batchTimeLimitMs) / 1000) : Infinity
    let at = 0
    for (let attempt = 0;; attempt++) {
      const started = Date.now()
      const stop = Math.min(run.rows.length, at + perAttempt)
      let done = 0
      while (at < stop) {
        if (!run.live()) return "stopped"
        const end = Math.min(stop, at + size)
        const held = new Set<string>()
        for (let i = at; i < end; i++) {
          if (run.countsRecords === true && !this.takeRecord()) {
            this.unlock(held)
            return "exhausted"
          }
          const row = run.rows[i]!
          run.apply(row, i, s.lockFailureRate > 0 ? this.lockFor(run.parentsOf(row), held) : undefined)
        }
        done += end - at
        at = end
        // The transaction keeps its locks for as long as its records take at the rate.
        if (rate > 0) {
          const wait = started + (done / rate) * 1000 - Date.now()
          if (wait > 0) await sleep(wait)
          else await yieldNow()
        } else {
          await yieldNow()
        }
        this.unlock(held)
      }
      if (at >= run.rows.length) return "done"
      if (!run.live()) return "stopped"
      if (attempt >= (run.retries ?? s.batchRetries)) return "timedOut"
      run.onRetry?.()
      await run.slot.requeue()
    }
  }

  /** The lock error of a row whose parents another batch holds (drawn at `lockFailureRate`), else takes its locks. */
  private lockFor(parents: ReadonlyArray<string>, held: Set<string>): RecordError | undefined {
    const s = this.settings
    for (const p of parents) {
      if (held.has(p)) continue
      if ((this.locks.get(p) ?? 0) > 0 && this.rng() < s.lockFailureRate) {
        return {
          statusCode: "UNABLE_TO_LOCK_ROW",
          message: `unable to obtain exclusive access to this record or 1 records: ${p}`,
          fields: []
        }
      }
    }
    for (const p of parents) {
      if (held.has(p)) continue
      held.add(p)
      this.locks.set(p, (this.locks.get(p) ?? 0) + 1)
    }
    return undefined
  }

  private unlock(held: Set<string>): void {
    for (const p of held) {
      const n = (this.locks.get(p) ?? 1) - 1
      if (n <= 0) this.locks.delete(p)
      else this.locks.set(p, n)
    }
    held.clear()
  }

  /** The `/limits` answer. */
  limitsBody(): string {
    const s = this.settings
    const u = this.usage
    return JSON.stringify({
      DailyApiRequests: { Max: s.dailyApiRequests, Remaining: Math.max(0, s.dailyApiRequests - u.apiRequests) },
      DailyBulkApiBatches: { Max: s.dailyBulkApiBatches, Remaining: Math.max(0, s.dailyBulkApiBatches - u.bulkApiBatches) },
      DailyBulkApiRequests: { Max: s.dailyApiRequests, Remaining: Math.max(0, s.dailyApiRequests - u.apiRequests) },
      DailyBulkV2QueryFileStorageMB: {
        Max: s.dailyBulkV2QueryFileStorageMB,
        // spent in whole MB, rounded up, as soon as a query's results are stored
        Remaining: Math.max(0, s.dailyBulkV2QueryFileStorageMB - this.queryStorageUsedMB())
      },
      DailyBulkV2QueryJobs: { Max: s.dailyBulkV2QueryJobs, Remaining: Math.max(0, s.dailyBulkV2QueryJobs - u.bulkV2QueryJobs) },
      // not spent by anything the emulator does; shown so `sfbulk limits --all` has the rest (values
      // are Developer Edition-like, unverified: FIDELITY.md)
      ConcurrentAsyncGetReportInstances: { Max: 200, Remaining: 200 },
      DailyAsyncApexExecutions: { Max: 250000, Remaining: 250000 },
      DataStorageMB: { Max: 5, Remaining: 5 },
      FileStorageMB: { Max: 20, Remaining: 20 },
      HourlyODataCallout: { Max: 20000, Remaining: 20000 },
      SingleEmail: { Max: 15, Remaining: 15 }
    })
  }

  /** The `Sforce-Limit-Info` header value. */
  limitInfo(): string {
    return `api-usage=${this.usage.apiRequests}/${this.settings.dailyApiRequests}`
  }
}
