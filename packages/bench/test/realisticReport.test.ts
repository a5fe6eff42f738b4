import { describe, expect, it } from "vitest"
import { aggregate, realisticSection, renderMarkdown, type Run } from "../src/internal/report.js"

const run = (wallMs: number, extra: Partial<Run> = {}): Run => ({
  ok: true,
  wallMs,
  workMs: wallMs,
  cpuMs: 10,
  peakRssMb: 50,
  rows: 1000,
  ...extra
})
const env = { date: "2026-12-04", command: "pnpm bench --org realistic", node: "v22", machine: "test", method: "m" }

describe("realistic report", () => {
  it("aggregates API requests (median) and lock failures left (worst run)", () => {
    const r = aggregate("ingest-2.0-contention", "jsforce", 1000, [
      run(100, { apiRequests: 10, lockFailuresLeft: 3 }),
      run(200, { apiRequests: 14, lockFailuresLeft: 7 }),
      run(300, { apiRequests: 12, lockFailuresLeft: 0 })
    ])
    expect(r.apiRequests).toBe(12)
    expect(r.lockFailuresLeft).toBe(7)
  })

  it("shows wall time as a multiple of the limit, with API requests, for realistic entries only", () => {
    const realistic = {
      ...aggregate("ingest-2.0", "sfbulk", 1000, [run(11_500, { apiRequests: 9 })]),
      profile: "realistic" as const,
      limitMs: 10_000
    }
    const loopback = { ...aggregate("ingest-2.0", "jsforce", 1000, [run(500)]), profile: "loopback" as const }
    const lines = realisticSection([realistic, loopback])
    expect(lines.join("\n")).toContain("| ingest-2.0 | 1,000 | sfbulk | 11.5 s | 10 s | 1.15x | 9 |  |")
    expect(lines.join("\n")).not.toContain("jsforce")
    expect(realisticSection([loopback])).toEqual([])
    expect(renderMarkdown([realistic], env)).toContain("## Realistic org")
  })
})
