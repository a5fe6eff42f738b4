/**
 * What the harness tells a workload process (argv[2], JSON) and what the process answers (its last
 * stdout line, `RESULT {json}`).
 */

/** Clients measured side by side. */
export type ClientName = "sfbulk" | "jsforce" | "floor"

/** Workload names. */
export const workloadNames = [
  "ingest-2.0",
  "ingest-1.0",
  "ingest-2.0-contention",
  "ingest-1.0-contention",
  "ingest-2.0-contention-ordered",
  "ingest-1.0-contention-ordered",
  "ingest-2.0-contention-auto",
  "ingest-1.0-contention-auto",
  "query-2.0",
  "query-2.0-parallel",
  "query-1.0-pk",
  "floor"
] as const
export type WorkloadName = (typeof workloadNames)[number]

/** Contention workloads (Contacts sharing parents): the unsorted ones and their `-ordered`/`-auto` variants. */
export const isContention = (w: WorkloadName): boolean => w.includes("-contention")

/**
 * The `orderByParent` sfbulk sorts a contention workload's input by: the field named (`-ordered`:
 * `"AccountId"`), the object's parent lookups from its describe (`-auto`: `"auto"`), or none.
 */
export const orderByParentOf = (w: WorkloadName): string | undefined =>
  w.endsWith("-contention-ordered") ? "AccountId" : w.endsWith("-contention-auto") ? "auto" : undefined

/** Ordered contention workloads: sfbulk sorts the input by parent (`-ordered` and `-auto`). */
export const isOrdered = (w: WorkloadName): boolean => orderByParentOf(w) !== undefined

/**
 * Whether `c` runs workload `w`. jsforce has no ordering option, so the ordered contention
 * workloads (`-ordered`, `-auto`) are sfbulk's alone: the same input unsorted would only repeat jsforce's unsorted row,
 * and input the user sorted beforehand would leave the sort out of jsforce's time while sfbulk's
 * includes it (packages/bench/README.md, "Contention"). jsforce has no parallel 2.0 query either.
 */
export const runsOn = (w: WorkloadName, c: ClientName): boolean => !(c === "jsforce" && (w === "query-2.0-parallel" || isOrdered(w)))

/** The Bulk API a workload uses. */
export const apiOf = (w: WorkloadName): "1.0" | "2.0" => (w.includes("-1.0") ? "1.0" : "2.0")

/** Input of one workload process. */
export interface RunSpec {
  readonly workload: WorkloadName
  readonly client: ClientName
  readonly rows: number
  readonly instanceUrl: string
  readonly accessToken: string
  readonly apiVersion: string
  /** Poll interval both clients use while a job/batch runs (ms). */
  readonly pollMs: number
  /** Bulk 1.0 batches in flight / 2.0 pages downloaded in parallel. */
  readonly concurrency: number
  /** Rows per 1.0 ingest batch and per PK chunk. */
  readonly batchRows: number
  /** sfbulk ingest: read the ids back through `outcome.successes` (jsforce always returns them). */
  readonly readIds: boolean
  /** Rows per PK chunk (Bulk 1.0 query). */
  readonly chunkSize: number
  /** The emulator's processing model: `realistic` lets sfbulk poll as it does by default (adaptive). */
  readonly org?: "loopback" | "realistic"
  /** Contention workloads: the parent Account ids the Contacts point at (row i -> parentIds[i % n]). */
  readonly parentIds?: ReadonlyArray<string>
}

/** What a workload reports (its own view; the harness checks it against the org). */
export interface WorkloadOutcome {
  readonly ok: boolean
  /** Rows the client reports done (successful results / records received). */
  readonly rows: number
  /** Order-independent digest of ids (ingest) or of id+values (query); see `digest.ts`. */
  readonly digest?: string
  /** Failed or mismatched rows the client saw. */
  readonly failures?: number
  /** Contention workloads: rows whose final outcome is still UNABLE_TO_LOCK_ROW. */
  readonly lockFailuresLeft?: number
  readonly detail?: string
}

/** The `RESULT` line. */
export interface ProcessReport extends WorkloadOutcome {
  /** Time spent in the workload itself (after module loading), ms. */
  readonly workMs: number
  /** User + system CPU of the whole process, ms. */
  readonly cpuMs: number
  /** Peak resident set size of the process, MB. */
  readonly peakRssMb: number
  /** Peak V8 heap size and peak memory outside it (external + array buffers), sampled every 100 ms. */
  readonly peakHeapTotalMb: number
  readonly peakExternalMb: number
  readonly node: string
}

export const resultPrefix = "RESULT "
