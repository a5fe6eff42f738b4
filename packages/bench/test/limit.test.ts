import { describe, expect, it } from "vitest"
import { cutBatches, makespanMs, workloadLimitMs } from "../src/internal/limit.js"

describe("server-bound limit (realistic org)", () => {
  it("full batches run in waves of the org's parallel slots", () => {
    // 1M rows, 10,000-record batches, 10 slots, 1,000 records/s: 10 waves of 10 s
    expect(makespanMs(cutBatches(1_000_000, 10_000), 10, 1_000)).toBe(100_000)
    expect(makespanMs(cutBatches(100_000, 10_000), 10, 1_000)).toBe(10_000)
  })

  it("a short last batch alone in its wave is charged its own time, not a full batch's", () => {
    // 105,000 rows: ten 10 s batches, then one of 5,000 records (5 s) — 15 s, not 20 s
    expect(cutBatches(105_000, 10_000).at(-1)).toBe(5_000)
    expect(makespanMs(cutBatches(105_000, 10_000), 10, 1_000)).toBe(15_000)
    // fewer rows than a batch: one short batch
    expect(makespanMs(cutBatches(2_500, 10_000), 10, 1_000)).toBe(2_500)
  })

  it("unlimited slots run every batch at once; a rate of 0 (instant) costs nothing", () => {
    expect(makespanMs(cutBatches(1_000_000, 10_000), Number.POSITIVE_INFINITY, 1_000)).toBe(10_000)
    expect(makespanMs(cutBatches(1_000_000, 10_000), 10, 0)).toBe(0)
  })
})

describe("workload limits", () => {
  // the emulator's realistic defaults
  const model = { recordsPerSecond: { insert: 1_000, query: 50_000 }, parallelBatches: 10, bulk2BatchSize: 10_000 }
  const sizes = { batchRows: 10_000, chunkSize: 100_000 }

  it("a contention workload, sorted or not, is charged its ingest's limit: every row once (lock failures are the client's cost)", () => {
    for (const api of ["2.0", "1.0"] as const) {
      const ingest = workloadLimitMs(`ingest-${api}`, 200_000, model, sizes)
      expect(ingest).toBe(20_000)
      expect(workloadLimitMs(`ingest-${api}-contention`, 200_000, model, sizes)).toBe(ingest)
      expect(workloadLimitMs(`ingest-${api}-contention-ordered`, 200_000, model, sizes)).toBe(ingest)
    }
  })

  it("1.0 ingest counts the bench's batches, 2.0 the org's internal batches", () => {
    expect(workloadLimitMs("ingest-1.0-contention-ordered", 200_000, model, { ...sizes, batchRows: 5_000 })).toBe(20_000)
    expect(workloadLimitMs("ingest-1.0-contention-ordered", 205_000, model, { ...sizes, batchRows: 5_000 })).toBe(25_000)
    expect(workloadLimitMs("ingest-2.0-contention-ordered", 200_000, { ...model, bulk2BatchSize: 40_000 }, sizes)).toBe(40_000)
  })

  it("the floor has no limit", () => {
    expect(workloadLimitMs("floor", 200_000, model, sizes)).toBeUndefined()
  })
})
