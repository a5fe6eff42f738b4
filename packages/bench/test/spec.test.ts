import { describe, expect, it } from "vitest"
import { apiOf, isContention, isOrdered, orderByParentOf, runsOn, workloadNames } from "../src/internal/spec.js"

describe("contention workloads", () => {
  it("the sorted contention runs are workloads of their own, next to the unsorted ones (one run reports both; --merge keeps both)", () => {
    for (const api of ["2.0", "1.0"] as const) {
      const plain = `ingest-${api}-contention` as const
      const ordered = `ingest-${api}-contention-ordered` as const
      expect(workloadNames).toContain(plain)
      expect(workloadNames).toContain(ordered)
      expect([isContention(plain), isOrdered(plain)]).toEqual([true, false])
      expect([isContention(ordered), isOrdered(ordered)]).toEqual([true, true])
      expect([apiOf(plain), apiOf(ordered)]).toEqual([api, api])
    }
    expect(isContention("ingest-2.0")).toBe(false)
  })

  it("jsforce, which cannot order rows, runs the unsorted contention workloads only; sfbulk runs both", () => {
    expect(runsOn("ingest-2.0-contention", "jsforce")).toBe(true)
    expect(runsOn("ingest-1.0-contention", "jsforce")).toBe(true)
    expect(runsOn("ingest-2.0-contention-ordered", "jsforce")).toBe(false)
    expect(runsOn("ingest-1.0-contention-ordered", "jsforce")).toBe(false)
    expect(runsOn("ingest-2.0-contention-ordered", "sfbulk")).toBe(true)
    expect(runsOn("ingest-1.0-contention-ordered", "sfbulk")).toBe(true)
    expect(runsOn("query-2.0-parallel", "jsforce")).toBe(false)
  })

  it("the -auto workloads: sfbulk alone, sorted by orderByParent \"auto\" (the -ordered ones by AccountId)", () => {
    for (const api of ["2.0", "1.0"] as const) {
      const auto = `ingest-${api}-contention-auto` as const
      expect(workloadNames).toContain(auto)
      expect([isContention(auto), isOrdered(auto), apiOf(auto)]).toEqual([true, true, api])
      expect(orderByParentOf(auto)).toBe("auto")
      expect(orderByParentOf(`ingest-${api}-contention-ordered`)).toBe("AccountId")
      expect(orderByParentOf(`ingest-${api}-contention`)).toBeUndefined()
      expect([runsOn(auto, "jsforce"), runsOn(auto, "sfbulk")]).toEqual([false, true])
    }
  })
})
