import { describe, expect, it } from "vitest"
import { Digest } from "../src/internal/digest.js"
import { accountRow, matchesGenerated, rowIndex } from "../src/internal/data.js"
import { owner } from "../src/internal/profile.js"
import { aggregate, median, memoryGrowth, ratios, renderMarkdown, renderSvg, type Run } from "../src/internal/report.js"

const run = (wallMs: number, cpuMs: number, peakRssMb: number, ok = true, detail?: string): Run => ({
  ok,
  wallMs,
  workMs: wallMs - 100,
  cpuMs,
  peakRssMb,
  rows: 1000,
  ...(detail ? { detail } : {})
})

const env = { date: "2026-11-29", command: "pnpm bench", node: "v22", machine: "test", method: "m" }

describe("report", () => {
  it("median of odd and even counts", () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
  })

  it("aggregates medians, min and max over the runs", () => {
    const r = aggregate("query-2.0", "sfbulk", 1000, [run(300, 30, 90), run(100, 10, 70), run(200, 20, 80)])
    expect(r.ok).toBe(true)
    expect([r.wallMs, r.cpuMs, r.peakRssMb]).toEqual([200, 20, 80])
    expect(r.min).toEqual({ wallMs: 100, cpuMs: 10, peakRssMb: 70 })
    expect(r.max).toEqual({ wallMs: 300, cpuMs: 30, peakRssMb: 90 })
    expect(r.runs).toHaveLength(3)
  })

  it("a failing run leaves no number in the cell, and says why", () => {
    const r = aggregate("ingest-2.0", "jsforce", 1000, [run(100, 10, 70), run(0, 0, 0, false, "hung: killed after 30 min")])
    expect(r.ok).toBe(false)
    expect(r.wallMs).toBeNull()
    expect(r.note).toContain("hung: killed after 30 min")
    const md = renderMarkdown([r], env)
    expect(md).toContain("**failed: hung: killed after 30 min**")
  })

  it("ratios: throughput vs jsforce (parallel compared with jsforce's sequential query) and CPU vs floor", () => {
    const rs = [
      aggregate("query-2.0-parallel", "sfbulk", 1000, [run(100, 150, 80)]),
      aggregate("query-2.0", "jsforce", 1000, [run(250, 400, 300)]),
      aggregate("floor", "floor", 1000, [run(90, 100, 60)])
    ]
    expect(ratios(rs, "query-2.0-parallel", 1000)).toEqual({ speedupVsJsforce: 2.5, cpuVsFloor: 1.5, rssVsJsforce: 0.27 })
    const md = renderMarkdown(rs, env)
    expect(md).toContain("sfbulk/jsforce throughput **2.5x** (target ≥ 2x met)")
    expect(md).toContain("sfbulk/floor CPU **1.5x** (target ≤ 1.5x met)")
  })

  it("memory growth between the smallest and largest row counts", () => {
    const rs = [
      aggregate("query-2.0", "sfbulk", 1_000_000, [run(100, 10, 100)]),
      aggregate("query-2.0", "sfbulk", 5_000_000, [run(500, 50, 130)])
    ]
    expect(memoryGrowth(rs, "query-2.0")).toMatchObject({ fromMb: 100, toMb: 130, growth: 1.3 })
    expect(renderMarkdown(rs, env)).toContain("(**1.3x**; target ≤ 1.2x and < 200 MB missed)")
  })

  it("the chart is well-formed SVG with one line per client and workload", () => {
    const rs = [
      aggregate("query-2.0", "sfbulk", 1_000_000, [run(100, 10, 100)]),
      aggregate("query-2.0", "sfbulk", 5_000_000, [run(500, 50, 130)]),
      aggregate("query-2.0", "jsforce", 1_000_000, [run(300, 10, 400)]),
      aggregate("ingest-2.0", "jsforce", 1_000_000, [run(0, 0, 0, false)])
    ]
    const svg = renderSvg(rs)
    expect(svg.startsWith("<svg")).toBe(true)
    expect(svg.trim().endsWith("</svg>")).toBe(true)
    // two panels x two series (the failed cell draws nothing)
    expect(svg.match(/<path /g)).toHaveLength(4)
    expect(svg).toContain("sfbulk query-2.0")
    expect(svg).not.toContain("ingest-2.0")
    expect(svg).not.toMatch(/NaN|Infinity|undefined/)
  })
})

describe("data and digests", () => {
  it("row i round-trips through its external id and is recognised", () => {
    expect(rowIndex(accountRow(12345).ExternalId__c)).toBe(12345)
    expect(matchesGenerated({ ...accountRow(97) })).toBe(true)
    expect(matchesGenerated({ ...accountRow(97), Name: "Account 97" })).toBe(false)
  })

  it("the digest ignores order and catches a changed row", () => {
    const a = new Digest()
    const b = new Digest()
    const c = new Digest()
    for (const k of ["x", "y", "z"]) a.add(k)
    for (const k of ["z", "x", "y"]) b.add(k)
    for (const k of ["z", "x", "w"]) c.add(k)
    expect(a.toString()).toBe(b.toString())
    expect(a.toString()).not.toBe(c.toString())
  })

  it("profile owners: npm packages, workspace packages, node internals", () => {
    expect(owner("file:///w/node_modules/.pnpm/csv-parse@6.1.0/node_modules/csv-parse/dist/esm/index.js")).toBe("csv-parse")
    expect(owner("file:///w/node_modules/.pnpm/x/node_modules/@effect/platform/dist/esm/a.js")).toBe("@effect/platform")
    expect(owner("file:///w/packages/client/src/internal/split.ts")).toBe("@sfbulk/client")
    expect(owner("node:internal/streams/readable")).toBe("node:internal")
  })
})
