/**
 * Lock contention against the emulator's realistic processing model: Contacts whose parents are
 * shared across parallel batches fail UNABLE_TO_LOCK_ROW; `retryLockedRows` re-submits them
 * serially and merges the outcome (every row landed exactly once, each row's outcome its last
 * attempt's, the accounting invariant intact); `orderByParent` keeps each parent in one batch.
 */
import { NodeHttpClient } from "@effect/platform-node"
import * as HttpClient from "@effect/platform/HttpClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient, SalesforceAuth } from "@sfbulk/client"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { clientLayer, collect, type Emu, fast, interleavedContacts, landedBy, pacedEmulator, seedParents } from "./EmulatorSupport.js"

let emu: Emu
let layer: Layer.Layer<BulkClient.BulkClient>
const parents: Array<string> = []

beforeAll(async () => {
  // fast enough for a test, slow enough that parallel batches overlap; every contended row fails
  emu = await pacedEmulator({ insertsPerSecond: 4_000, parallelBatches: 4 })
  parents.push(...seedParents(emu, 6, "Lock parent"))
  layer = clientLayer(emu)
})
afterAll(async () => {
  await emu?.close()
})

const run = <A, E>(effect: Effect.Effect<A, E, BulkClient.BulkClient>) => Effect.runPromise(Effect.provide(effect, layer))

const contacts = (tag: string) => interleavedContacts(tag, parents)

const landed = (tag: string): Map<string, number> => landedBy(emu, "Contact", "LastName", tag)

for (const api of ["2.0", "1.0"] as const) {
  // 1.0: 100-record batches of one Parallel job; 2.0: 100-record jobs, four at a time.
  const split = { api, batchSize: 100, concurrency: 4 }
  const tagOf = (what: string) => `lk${api.replace(".", "")}${what}`

  describe(`lock contention on Bulk API ${api}`, () => {
    it("without the option, shared parents leave rows failed UNABLE_TO_LOCK_ROW (the workload contends)", () =>
      run(Effect.gen(function*() {
        const tag = tagOf("off")
        const out = yield* BulkClient.insert("Contact", contacts(tag), { ...fast, ...split })
        expect(out.summary.succeeded + out.summary.failed + out.summary.unprocessed).toBe(600)
        expect(out.summary.failed).toBeGreaterThan(0)
        const failures = yield* collect(out.failures)
        expect(failures.every((f) => f.code === "UNABLE_TO_LOCK_ROW")).toBe(true)
      })))

    it("retryLockedRows re-submits the locked rows serially: every row lands exactly once, outcomes merged", () =>
      run(Effect.gen(function*() {
        const tag = tagOf("on")
        const out = yield* BulkClient.insert("Contact", contacts(tag), { ...fast, ...split, retryLockedRows: 3 })
        const s = out.summary
        expect(s).toMatchObject({ rowsRead: 600, succeeded: 600, failed: 0, unprocessed: 0, processed: 600, created: 600 })
        const ok = yield* collect(out.successes)
        const failures = yield* collect(out.failures)
        const unprocessed = yield* collect(out.unprocessed)
        // each row's outcome is its last attempt's: no lock failure left, one success per row
        expect(failures).toEqual([])
        expect(unprocessed).toEqual([])
        expect(ok).toHaveLength(600)
        expect(new Set(ok.map((x) => x.id)).size).toBe(600)
        expect(new Set(ok.map((x) => x.row.LastName)).size).toBe(600)
        if (api === "1.0") expect([...ok.map((x) => x.position!)].sort((a, b) => a - b)).toEqual(Array.from({ length: 600 }, (_, i) => i))
        // follow-up jobs are part of the outcome
        expect(s.jobIds.length).toBeGreaterThan(api === "1.0" ? 1 : 6)
        const inOrg = landed(tag)
        expect(inOrg.size).toBe(600)
        expect([...inOrg.values()].every((n) => n === 1)).toBe(true)
        for (const x of ok) expect(emu.org.get(x.id)?.values.AccountId).toBe(x.row.AccountId)
      })))

    it("a follow-up round re-submits its rows as groups of disjoint parents side by side: one round clears every lock failure", () =>
      run(Effect.gen(function*() {
        const tag = tagOf("par")
        const out = yield* BulkClient.insert("Contact", contacts(tag), { ...fast, ...split, retryLockedRows: 1 })
        expect(out.summary).toMatchObject({ rowsRead: 600, succeeded: 600, failed: 0, unprocessed: 0 })
        const ok = yield* collect(out.successes)
        // the main round's jobs come first (2.0: 6 jobs of 100 rows; 1.0: one job)
        const followUps = new Set(out.summary.jobIds.slice(api === "1.0" ? 1 : 6))
        const parentsOf = new Map<string, Set<string>>()
        for (const x of ok) {
          if (!followUps.has(x.jobId)) continue
          const set = parentsOf.get(x.jobId) ?? new Set<string>()
          set.add(emu.org.get(x.id)!.values.AccountId as string)
          parentsOf.set(x.jobId, set)
        }
        // several follow-up jobs at once, and no parent written by two of them (so none contends)
        expect(parentsOf.size).toBeGreaterThan(1)
        const seen = new Map<string, string>()
        for (const [job, ps] of parentsOf) {
          for (const p of ps) {
            expect(seen.get(p) ?? job).toBe(job)
            seen.set(p, job)
          }
        }
        const inOrg = landed(tag)
        expect(inOrg.size).toBe(600)
        expect([...inOrg.values()].every((n) => n === 1)).toBe(true)
      })))

    it("orderByParent keeps each parent's children together, so parallel batches do not contend", () =>
      run(Effect.gen(function*() {
        const tag = tagOf("ord")
        const out = yield* BulkClient.insert("Contact", contacts(tag), { ...fast, ...split, orderByParent: "AccountId" })
        expect(out.summary).toMatchObject({ rowsRead: 600, succeeded: 600, failed: 0 })
        expect(landed(tag).size).toBe(600)
      })))
  })
}

describe("lock follow-ups on Bulk API 1.0", () => {
  it("side-by-side groups are Parallel jobs of one batch (Salesforce runs every Serial job's batches one at a time)", () =>
    run(Effect.gen(function*() {
      const tag = "lk10mode"
      const out = yield* BulkClient.insert("Contact", contacts(tag), {
        ...fast,
        api: "1.0",
        batchSize: 300,
        concurrency: 4,
        retryLockedRows: 1
      })
      expect(out.summary).toMatchObject({ rowsRead: 600, succeeded: 600, failed: 0, unprocessed: 0 })
      const followUps = out.summary.jobIds.slice(1)
      expect(followUps.length).toBeGreaterThan(1)
      for (const id of followUps) {
        const info = yield* Effect.promise(() =>
          fetch(`${emu.instanceUrl}/services/async/${emu.apiVersion}/job/${id}`, { headers: { "X-SFDC-Session": emu.accessToken } }).then((
            r
          ) => r.text())
        )
        expect(/<concurrencyMode>(\w+)</.exec(info)?.[1]).toBe("Parallel")
        expect(/<numberBatchesTotal>(\d+)</.exec(info)?.[1]).toBe("1")
      }
      const inOrg = landed(tag)
      expect(inOrg.size).toBe(600)
      expect([...inOrg.values()].every((n) => n === 1)).toBe(true)
    })))
})

describe("lock options", () => {
  it("a bad retryLockedRows or orderByParent is an InvalidInputError before anything is sent", () =>
    run(Effect.gen(function*() {
      const before = emu.stats().requests
      const bad = yield* Effect.flip(BulkClient.insert("Contact", contacts("lkbad"), { ...fast, retryLockedRows: -1 }))
      expect(bad._tag).toBe("InvalidInputError")
      expect(bad.message).toMatch(/retryLockedRows/)
      const bad2 = yield* Effect.flip(BulkClient.insert("Contact", contacts("lkbad"), { ...fast, orderByParent: "" }))
      expect(bad2._tag).toBe("InvalidInputError")
      expect(emu.stats().requests).toBe(before)
    })))
})

describe("lock follow-ups that have nothing to re-submit", () => {
  it("Bulk API 2.0: with no row failed, no job's failedResults is read (a request and its time per job, for nothing)", async () => {
    const paths: Array<string> = []
    const recording = BulkClient.layer.pipe(
      Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
      Layer.provide(
        Layer.effect(
          HttpClient.HttpClient,
          Effect.map(
            HttpClient.HttpClient,
            HttpClient.tapRequest((r) => Effect.sync(() => paths.push(`${r.method} ${new URL(r.url).pathname}`)))
          )
        ).pipe(Layer.provide(NodeHttpClient.layerUndici))
      ),
      Layer.orDie
    )
    const tag = "lk20none"
    // ordered by parent, in 100-record jobs: no job contends, so no row fails
    const out = await Effect.runPromise(Effect.provide(
      BulkClient.insert("Contact", contacts(tag), {
        ...fast,
        api: "2.0",
        batchSize: 100,
        concurrency: 4,
        orderByParent: "AccountId",
        retryLockedRows: 3
      }),
      recording
    ))
    expect(out.summary).toMatchObject({ rowsRead: 600, succeeded: 600, failed: 0, unprocessed: 0 })
    expect(paths.filter((p) => p.endsWith("/failedResults"))).toEqual([])
    const inOrg = landed(tag)
    expect(inOrg.size).toBe(600)
    expect([...inOrg.values()].every((n) => n === 1)).toBe(true)
  })
})
