import { describe, expect, it } from "vitest"
import { cutBatches, makespanMs } from "../src/internal/limit.js"

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
