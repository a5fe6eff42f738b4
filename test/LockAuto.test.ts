/**
 * `orderByParent: "auto"` (issue 15): the client reads the object's describe once and orders the
 * rows by the columns holding a parent whose record a child's write locks (lookups other than
 * owner, record type and audit fields; by name case-insensitively, or a relationship column such
 * as `Account.ExternalId__c`). Against the emulator's realistic model: interleaved Contacts load
 * with no lock failure in the first pass; rows without such a column pass through unsorted and
 * unbuffered; a journaled run resumes; an unknown object fails typed before any job.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient, BulkError } from "@sfbulk/client"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { contendedRecords, disjointGroups, orderedByParent, type ParentOrder } from "../packages/client/src/internal/lockRetry.js"
import { clientLayer, collect, contactsIn, type Emu, fast, interleavedContacts, pacedEmulator, seedParents } from "./EmulatorSupport.js"

let emu: Emu
let layer: Layer.Layer<BulkClient.BulkClient>
const parents: Array<string> = []
const externalIds: Array<string> = []

beforeAll(async () => {
  // parallel batches overlap and every contended row fails UNABLE_TO_LOCK_ROW
  emu = await pacedEmulator({ insertsPerSecond: 4_000, parallelBatches: 4 })
  for (const id of seedParents(emu, 6, "Auto parent")) parents.push(id)
  parents.forEach((id, i) => {
    const ext = `AUTO-EXT-${i}`
    const out = emu.org.apply("update", "Account", { Id: id, ExternalId__c: ext })
    if (!out.success) throw new Error("seed failed")
    externalIds.push(ext)
  })
  layer = clientLayer(emu)
})
afterAll(async () => {
  await emu?.close()
})

const run = <A, E>(effect: Effect.Effect<A, E, BulkClient.BulkClient>) => Effect.provide(effect, layer)

/** The Contacts of `tag` in the org: LastName -> [AccountId, Description] per record. */
const landed = (tag: string) => contactsIn(emu, tag)

/** The org's 2.0 ingest jobs, by the REST list. */
const ingestJobs = async (): Promise<number> => {
  const res = await fetch(`${emu.instanceUrl}/services/data/v${emu.apiVersion}/jobs/ingest`, {
    headers: { Authorization: `Bearer ${emu.accessToken}` }
  })
  const body = (await res.json()) as { records: ReadonlyArray<unknown> }
  return body.records.length
}

/** Every Contact of `tag` once, with its parent and its Description as sent. */
const expectLandedOnce = (tag: string, rows: ReadonlyArray<{ LastName: string; AccountId: string; Description: string }>) => {
  const inOrg = landed(tag)
  expect(inOrg.size).toBe(rows.length)
  for (const r of rows) expect(inOrg.get(r.LastName)).toEqual([[r.AccountId, r.Description]])
}

for (const api of ["2.0", "1.0"] as const) {
  // 1.0: 100-record batches of one Parallel job; 2.0: 100-record jobs, four at a time
  const split = { api, batchSize: 100, concurrency: 4 }
  const tagOf = (what: string) => `au${api.replace(".", "")}${what}`
  // the parent column cased unlike the describe: Salesforce matches header names case-insensitively
  const contacts = (tag: string) =>
    interleavedContacts(tag, parents).map((r, i) => ({ LastName: r.LastName, accountid: r.AccountId, Description: `d "${i}", ✓` }))

  describe(`orderByParent "auto" on Bulk API ${api}`, () => {
    it.live("interleaved Contacts: the parent column found by the describe, no lock failure in the first pass, every row once", () =>
      run(Effect.gen(function*() {
        const tag = tagOf("int")
        // no follow-up round: a lock failure would stay in the outcome
        const out = yield* BulkClient.insert("Contact", contacts(tag), { ...fast, ...split, orderByParent: "auto" })
        expect(out.summary).toMatchObject({ rowsRead: 600, succeeded: 600, failed: 0, unprocessed: 0 })
        expect(yield* collect(out.failures)).toEqual([])
        // one describe, then the load's requests: all counted
        expect(out.summary.apiRequests).toBeGreaterThan(1)
        expectLandedOnce(tag, contacts(tag).map((r) => ({ LastName: r.LastName, AccountId: r.accountid, Description: r.Description })))
      })))

    it.live("with retryLockedRows as well: no follow-up job is needed", () =>
      run(Effect.gen(function*() {
        const tag = tagOf("retry")
        const out = yield* BulkClient.insert("Contact", contacts(tag), {
          ...fast,
          ...split,
          orderByParent: "auto",
          retryLockedRows: 3
        })
        expect(out.summary).toMatchObject({ rowsRead: 600, succeeded: 600, failed: 0 })
        // 2.0: the first pass's six jobs; 1.0: its one job
        expect(out.summary.jobIds).toHaveLength(api === "2.0" ? 6 : 1)
      })))

    it.live("a relationship column (Account.ExternalId__c) orders the rows too", () =>
      run(Effect.gen(function*() {
        const tag = tagOf("rel")
        const rows = Array.from({ length: 600 }, (_, i) => ({ LastName: `${tag}-${i}`, "Account.ExternalId__c": externalIds[i % 6]! }))
        // one job at a time (2.0) / a Serial job (1.0): the results come in the order sent
        const out = yield* BulkClient.insert("Contact", rows, { ...fast, api, batchSize: 100, concurrency: 1, orderByParent: "auto" })
        expect(out.summary).toMatchObject({ rowsRead: 600, succeeded: 600, failed: 0 })
        const ok = yield* collect(out.successes)
        const sent = api === "2.0"
          ? ok.map((s) => String((s.row as Record<string, unknown>)["Account.ExternalId__c"]))
          : [...ok].sort((a, b) => a.position! - b.position!).map((s) =>
            String((s.row as Record<string, unknown>)["Account.ExternalId__c"])
          )
        // each parent's rows together, the parents in order
        expect(sent).toEqual([...sent].sort())
        const inOrg = landed(tag)
        expect(inOrg.size).toBe(600)
        for (let i = 0; i < 600; i++) expect(inOrg.get(`${tag}-${i}`)).toEqual([[parents[i % 6]!, ""]])
      })))
  })
}

describe(`orderByParent "auto" without a parent column`, () => {
  it.live("the rows pass through unsorted as they are read: a partial upload sends pieces before the input's end", () =>
    run(Effect.gen(function*() {
      const tag = "aunone"
      // past the 1,000 rows auto looks at first to find the parent columns
      const rows = Stream.concat(
        Stream.fromIterable(Array.from({ length: 1_300 }, (_, i) => ({ LastName: `${tag}-${i}`, Description: `${i}` }))),
        Stream.fail("source broke")
      )
      const err = yield* Effect.flip(BulkClient.insert("Contact", rows, {
        ...fast,
        api: "2.0",
        batchSize: 100,
        concurrency: 1,
        allowPartialUpload: true,
        orderByParent: "auto"
      }))
      expect(err).toBe("source broke")
      // sorted, nothing would have been sent (a sort reads its whole input first)
      expect(landed(tag).size).toBeGreaterThan(0)
    })))

  it.live("the order is kept and every row lands once", () =>
    run(Effect.gen(function*() {
      const tag = "aunoneord"
      const rows = Array.from({ length: 250 }, (_, i) => ({ LastName: `${tag}-${i}`, Description: `${(i * 7919) % 250}` }))
      const out = yield* BulkClient.insert("Contact", rows, { ...fast, api: "2.0", batchSize: 100, concurrency: 1, orderByParent: "auto" })
      expect(out.summary).toMatchObject({ rowsRead: 250, succeeded: 250 })
      const ok = yield* collect(out.successes)
      expect(ok.map((s) => (s.row as Record<string, unknown>).LastName)).toEqual(rows.map((r) => r.LastName))
    })))

  it.effect("a stream of rows without a parent column is not buffered: its first rows come before the input ends", () =>
    Effect.gen(function*() {
      const order = { _tag: "Auto" as const, references: [{ name: "AccountId", relationshipName: "Account" }] }
      // an input that never ends: sorting it would never emit; auto looks at its first 1,000 rows
      // (one per chunk, as an AsyncIterable gives them) and then passes every row on as it comes
      const head = Array.from({ length: 1_000 }, (_, i) => ({ LastName: `r${i}` }))
      const rows = Stream.concat(Stream.rechunk(Stream.fromIterable(head), 1), Stream.never)
      const first = yield* collect(Stream.take(orderedByParent(rows, order), 1_000))
      expect(first).toEqual(head)
      // with the column, the same order sorts
      const sorted = yield* collect(
        orderedByParent(Stream.make({ AccountId: "b", n: 0 }, { AccountId: "a", n: 1 }, { AccountId: "a", n: 2 }), order)
      )
      expect(sorted.map((r) => r.n)).toEqual([1, 2, 0])
    }))
})

describe("ids in 18 and 15 characters", () => {
  it.effect("one parent given in both forms is one key: its rows keep their input order (explicit field and auto)", () =>
    Effect.gen(function*() {
      const a15 = "001000000000001"
      const a18 = `${a15}AAA`
      const rows = [
        { AccountId: a18, n: 0 },
        { AccountId: "001000000000000", n: 1 },
        { AccountId: a15, n: 2 },
        { AccountId: a18, n: 3 }
      ]
      const field = yield* collect(orderedByParent(Stream.fromIterable(rows), { _tag: "Field", field: "AccountId" }))
      expect(field.map((r) => r.n)).toEqual([1, 0, 2, 3])
      const auto = yield* collect(
        orderedByParent(Stream.fromIterable(rows), { _tag: "Auto", references: [{ name: "AccountId", relationshipName: "Account" }] })
      )
      expect(auto.map((r) => r.n)).toEqual([1, 0, 2, 3])
    }))

  it.live("two updates of one Contact under its Account's 18- and 15-char id: the later row's value wins", () =>
    run(Effect.gen(function*() {
      const tag = "au1815"
      const created = emu.org.apply("insert", "Contact", { LastName: `${tag}-0`, AccountId: parents[0]! })
      if (!created.success) throw new Error("seed failed")
      const a18 = parents[0]!
      expect(a18).toHaveLength(18)
      const rows = [
        { Id: created.id, AccountId: a18, Description: "first" },
        { Id: created.id, AccountId: a18.slice(0, 15), Description: "second" }
      ]
      // one row per job, one job at a time: the jobs run in the order the rows are sent
      const out = yield* BulkClient.update("Contact", rows, {
        ...fast,
        api: "2.0",
        batchSize: 1,
        concurrency: 1,
        orderByParent: "AccountId"
      })
      expect(out.summary).toMatchObject({ rowsRead: 2, succeeded: 2 })
      expect(landed(tag).get(`${tag}-0`)).toEqual([[a18, "second"]])
    })))
})

describe(`orderByParent "auto" and the lock rounds' groups`, () => {
  const auto: ParentOrder = {
    _tag: "Auto",
    references: [{ name: "AccountId", relationshipName: "Account" }, { name: "ReportsToId", relationshipName: "ReportsTo" }]
  }
  const message = "unable to obtain exclusive access to this record"
  const failure = (row: Record<string, string>): BulkClient.Failure =>
    ({
      _tag: "Failure",
      jobId: "750000000000001AAA",
      code: "UNABLE_TO_LOCK_ROW",
      message,
      fields: [],
      errors: [{ code: "UNABLE_TO_LOCK_ROW", message, fields: [] }],
      row
    }) as BulkClient.Failure
  const groupsOf = (fs: ReadonlyArray<BulkClient.Failure>) => {
    const groups = disjointGroups(fs, contendedRecords("insert", undefined, auto), 4)!
    return (name: string) => groups.findIndex((g) => g.some((f) => f.row.LastName === name))
  }

  it("the columns the sort takes: an 18- and a 15-char parent are one group, any cased column, a second lookup joins groups", () => {
    const p18 = "001000000000001AAA"
    const groupOf = groupsOf([
      failure({ LastName: "a", accountid: p18, reportstoid: "" }),
      failure({ LastName: "b", accountid: p18.slice(0, 15), reportstoid: "" }),
      failure({ LastName: "c", accountid: "001000000000002AAA", reportstoid: "003000000000009AAA" }),
      failure({ LastName: "d", accountid: "001000000000003AAA", reportstoid: "003000000000009" }),
      failure({ LastName: "e", accountid: "001000000000004AAA", reportstoid: "" })
    ])
    expect(groupOf("a")).toBe(groupOf("b"))
    // c and d share the Contact they report to
    expect(groupOf("c")).toBe(groupOf("d"))
    expect(new Set(["a", "c", "e"].map(groupOf)).size).toBe(3)
  })

  it("a relationship column's external ids (case-insensitive) key the groups", () => {
    const groupOf = groupsOf([
      failure({ LastName: "a", "Account.ExternalId__c": "X-1" }),
      failure({ LastName: "b", "Account.ExternalId__c": "x-1" }),
      failure({ LastName: "c", "Account.ExternalId__c": "X-2" })
    ])
    expect(groupOf("a")).toBe(groupOf("b"))
    expect(groupOf("a")).not.toBe(groupOf("c"))
  })

  it("without a parent column, a failure names no record: the round stays serial (no groups)", () => {
    expect(disjointGroups([failure({ LastName: "a" })], contendedRecords("insert", undefined, auto), 4)).toBeUndefined()
  })
})

describe(`orderByParent "auto" on every operation`, () => {
  it.live("a delete (Id rows: no parent column) deletes every row once, in one describe more", () =>
    run(Effect.gen(function*() {
      const tag = "audel"
      const ids = Array.from({ length: 120 }, (_, i) => {
        const out = emu.org.apply("insert", "Contact", { LastName: `${tag}-${i}`, AccountId: parents[i % 6]! })
        if (!out.success) throw new Error("seed failed")
        return out.id
      })
      const out = yield* BulkClient.delete("Contact", ids, { ...fast, api: "2.0", batchSize: 50, orderByParent: "auto" })
      expect(out.summary).toMatchObject({ rowsRead: 120, succeeded: 120, failed: 0 })
      expect(landed(tag).size).toBe(0)
    })))
})

describe(`orderByParent "auto" and the describe`, () => {
  it.live("an unknown object is an InvalidInputError naming it, before any job is created", () =>
    run(Effect.gen(function*() {
      const before = yield* Effect.promise(ingestJobs)
      const err = yield* Effect.flip(
        BulkClient.insert("NoSuchThing__c", [{ Name: "x" }], { ...fast, api: "2.0", orderByParent: "auto" })
      )
      expect(err).toBeInstanceOf(BulkError.InvalidInputError)
      expect(err.message).toMatch(/NoSuchThing__c/)
      // under a journal too (the describe is read before the input)
      const journal = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-auto-")), "j.jsonl")
      const journaled = yield* Effect.flip(
        BulkClient.insert("NoSuchThing__c", [{ Name: "x" }], { ...fast, api: "1.0", orderByParent: "auto", journal })
      )
      expect(journaled).toBeInstanceOf(BulkError.InvalidInputError)
      expect(journaled.message).toMatch(/NoSuchThing__c/)
      expect(yield* Effect.promise(ingestJobs)).toBe(before)
    })))

  it.live("\"Auto\" is not \"auto\": a field name no row has, and the error mentions \"auto\"", () =>
    run(Effect.gen(function*() {
      const err = yield* Effect.flip(BulkClient.insert("Contact", [{ LastName: "x" }], { ...fast, orderByParent: "Auto" }))
      expect(err).toBeInstanceOf(BulkError.InvalidInputError)
      expect(err.message).toMatch(/"auto"/)
      const bad = yield* Effect.flip(BulkClient.insert("Contact", [{ LastName: "x" }], { ...fast, orderByParent: "" }))
      expect(bad.message).toMatch(/"auto"/)
    })))
})

describe(`orderByParent "auto" with a journal`, () => {
  it.live(
    "an interrupted insert re-run with its journal stores every row exactly once, with no lock failure",
    () =>
      run(Effect.gen(function*() {
        const tag = "aujournal"
        const journal = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-auto-")), "j.jsonl")
        const rows = interleavedContacts(tag, parents).map((r, i) => ({ ...r, Description: `v${i}` }))
        // one piece at a time, so the interruption lands with some pieces uploaded and others not
        const options = { ...fast, api: "2.0" as const, batchSize: 100, concurrency: 1, orderByParent: "auto", journal }
        const fiber = yield* Effect.fork(BulkClient.insert("Contact", rows, options))
        const uploaded = () => Fs.existsSync(journal) ? (Fs.readFileSync(journal, "utf8").match(/"stage":"uploaded"/g) ?? []).length : 0
        for (let i = 0; i < 3000 && uploaded() < 2; i++) yield* Effect.sleep("2 millis")
        yield* Fiber.interrupt(fiber)
        expect(uploaded()).toBeGreaterThanOrEqual(2)
        expect(uploaded()).toBeLessThan(6)
        const out = yield* BulkClient.insert("Contact", rows, { ...options, concurrency: 4 })
        expect(out.summary).toMatchObject({ rowsRead: 600, succeeded: 600, failed: 0 })
        // the re-run's four jobs at once did not contend: it sent the rest in the same (sorted) order
        expect(yield* collect(out.failures)).toEqual([])
        expectLandedOnce(tag, rows)
      })),
    60_000
  )
})
