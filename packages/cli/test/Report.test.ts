/**
 * The CLI's text summary says how long an operation took in units a person reads at a glance,
 * whatever the length of the run; the JSON summary keeps the exact milliseconds.
 */
import { describe, expect, it } from "@effect/vitest"
import { elapsedText, ingestText, type IngestSummary } from "../src/internal/report.js"

const summary = (elapsedMs: number): IngestSummary => ({
  ok: true,
  command: "insert",
  object: "Account",
  operation: "insert",
  api: "2.0",
  jobIds: ["750000000000001AAA"],
  rowsRead: 3,
  processed: 3,
  succeeded: 3,
  created: 3,
  failed: 0,
  unprocessed: 0,
  elapsedMs,
  rowsPerSecond: 7,
  errorsByCode: {},
  exitCode: 0
})

describe("elapsed time in the CLI summary", () => {
  it("reads as ms, seconds, minutes or hours", () => {
    expect(elapsedText(412)).toBe("412 ms")
    expect(elapsedText(12_345)).toBe("12.3 s")
    expect(elapsedText(59_999)).toBe("59.9 s")
    expect(elapsedText(245_000)).toBe("4 min 05 s")
    expect(elapsedText(7_380_000)).toBe("2 h 03 min")
    expect(elapsedText(Number.NaN)).toBe("-")
  })

  it("the text summary of a long run names minutes, not thousands of seconds", () => {
    const text = ingestText(summary(3_725_000))
    expect(text).toContain("in 1 h 02 min (7 rows/s)")
    expect(text).not.toMatch(/\d{4}\.\ds/)
  })

  it("the JSON summary keeps elapsedMs as a number", () => {
    const json = JSON.parse(JSON.stringify(summary(412)))
    expect(json.elapsedMs).toBe(412)
  })
})
