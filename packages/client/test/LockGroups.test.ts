/**
 * How a lock follow-up round splits its rows: groups that share no contended record (parent
 * reference, or the records Salesforce's lock message names) can be re-submitted side by side
 * without contending with each other; a failure whose contended record is unknown keeps the round
 * serial.
 */
import { describe, expect, it } from "@effect/vitest"
import type * as BulkClient from "../src/BulkClient.js"
import { disjointGroups, lockedIds } from "../src/internal/lockRetry.js"

const lock = (message: string): BulkClient.Failure => ({
  _tag: "Failure",
  jobId: "750A",
  row: {},
  code: "UNABLE_TO_LOCK_ROW",
  message,
  fields: [],
  errors: [{ code: "UNABLE_TO_LOCK_ROW", message, fields: [] }]
})

describe("lockedIds", () => {
  it("reads the records Salesforce names at the end of its lock message (15-character form)", () => {
    expect(lockedIds(lock("unable to obtain exclusive access to this record or 1 records: 001000000000001AAA"))).toEqual([
      "001000000000001"
    ])
    expect(lockedIds(lock("unable to obtain exclusive access to this record or 2 records: 001000000000001, 001000000000002AAA")))
      .toEqual(["001000000000001", "001000000000002"])
  })

  it("names nothing when the message names no record", () => {
    expect(lockedIds(lock("unable to obtain exclusive access to this record"))).toEqual([])
  })
})

describe("disjointGroups", () => {
  const rows = Array.from({ length: 40 }, (_, i) => ({ i, parents: i % 10 === 9 ? [`P${i % 5}`, "Q"] : [`P${i % 5}`] }))

  it("no two groups share a record, every row is in exactly one group, input order kept within a group", () => {
    const groups = disjointGroups(rows, (r) => r.parents, 4)!
    expect(groups.flat().map((r) => r.i).sort((a, b) => a - b)).toEqual(rows.map((r) => r.i))
    const keysOf = groups.map((g) => new Set(g.flatMap((r) => r.parents)))
    for (let a = 0; a < keysOf.length; a++) {
      for (let b = a + 1; b < keysOf.length; b++) expect([...keysOf[a]!].filter((k) => keysOf[b]!.has(k))).toEqual([])
    }
    for (const g of groups) expect(g.map((r) => r.i)).toEqual([...g.map((r) => r.i)].sort((x, y) => x - y))
    // Q only ever comes with P4 (i % 10 === 9 has i % 5 === 4): 5 components into 4 groups
    expect(groups).toHaveLength(4)
  })

  it("balances the groups by rows (largest component first into the smallest group)", () => {
    const even = Array.from({ length: 400 }, (_, i) => `P${i % 8}`)
    const groups = disjointGroups(even, (p) => [p], 4)!
    expect(groups.map((g) => g.length)).toEqual([100, 100, 100, 100])
  })

  it("is undefined when a row's contended record is unknown (the round stays serial)", () => {
    expect(disjointGroups([["P1"], []], (ks) => ks, 4)).toBeUndefined()
    expect(disjointGroups([["P1"], [""]], (ks) => ks, 4)).toBeUndefined()
  })

  it("one group when every row shares a record", () => {
    expect(disjointGroups([["P1"], ["P1", "P2"], ["P2"]], (ks) => ks, 4)).toHaveLength(1)
  })
})
