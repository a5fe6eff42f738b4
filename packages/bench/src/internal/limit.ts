/**
 * The server-bound limit of a realistic-org workload: when the org could finish its batches at best.
 */
import { apiOf, type WorkloadName } from "./spec.js"

/**
 * When the last of `batches` (their record counts, in the order the org queues them) finishes, ms,
 * each running at `rate` records per second in the first of `slots` parallel slots to come free
 * (the emulator's FIFO slot queue; Infinity = unlimited). Exact for full batches and for a short
 * last batch alike: waves of full batches would charge a short last batch a full batch's time.
 */
export const makespanMs = (batches: ReadonlyArray<number>, slots: number, rate: number): number => {
  if (rate <= 0 || batches.length === 0) return 0
  const free: Array<number> = new Array<number>(Math.max(1, Math.min(slots, batches.length))).fill(0)
  for (const records of batches) {
    let i = 0
    for (let k = 1; k < free.length; k++) if (free[k]! < free[i]!) i = k
    free[i] = free[i]! + (records / rate) * 1000
  }
  return Math.max(...free)
}

/** `rows` cut into batches of `size` records (the last one shorter). */
export const cutBatches = (rows: number, size: number): Array<number> =>
  Array.from({ length: Math.ceil(rows / size) }, (_, k) => Math.min(size, rows - k * size))

/** The emulator's processing model, as its `/__emulator/stats` reports it. */
export interface ProcessingModel {
  readonly recordsPerSecond: Readonly<Record<string, number>>
  /** Batches the org processes at once (0 = unlimited). */
  readonly parallelBatches: number
  /** Records per 2.0 internal batch. */
  readonly bulk2BatchSize: number
}

/**
 * The server-bound limit of a workload, ms: its batches at the model's rate, as many at once as
 * the org's parallel slots allow (`makespanMs`; request latency and queueing excluded). A 2.0 query
 * job is one unit at the query rate. Undefined for the floor.
 *
 * Contention workloads, sorted (`-ordered`) or not, get the same limit as their ingest: every row
 * processed once, no lock failure. That is reachable (rows ordered by parent put each parent's
 * children in one batch, and batches with disjoint parents do not contend), and it is a property of
 * the work, not of a run: a limit that also charged the rows a run let fail on locks, and
 * re-processed, would grow with the contention a client causes and reward it. Salesforce's model
 * only widens the gap: a row waits for a held lock before it fails (the emulator charges it an
 * ordinary row's time), so contention costs a real org more than the emulator, never less.
 */
export const workloadLimitMs = (
  w: WorkloadName,
  rows: number,
  p: ProcessingModel,
  sizes: { readonly batchRows: number; readonly chunkSize: number }
): number | undefined => {
  const slots = p.parallelBatches > 0 ? p.parallelBatches : Number.POSITIVE_INFINITY
  const insert = p.recordsPerSecond["insert"] ?? 0
  const query = p.recordsPerSecond["query"] ?? 0
  if (w.startsWith("ingest-")) {
    return Math.round(makespanMs(cutBatches(rows, apiOf(w) === "1.0" ? sizes.batchRows : p.bulk2BatchSize), slots, insert))
  }
  if (w === "query-1.0-pk") return Math.round(makespanMs(cutBatches(rows, sizes.chunkSize), slots, query))
  if (w.startsWith("query-2.0")) return query <= 0 ? 0 : Math.round((rows / query) * 1000)
  return undefined
}
