/**
 * Lock follow-up rounds under interruption (issue 15): a journaled insert with `retryLockedRows`
 * is interrupted while a follow-up round is being sent; the journal names the follow-up jobs (a
 * caller's `Journal.read` sees them), and re-running with the same journal finishes them, merges
 * their outcomes and goes on with the remaining rounds: every row lands exactly once and each
 * row's outcome is its last attempt's (none doubled, none lost, none left failed on a lock).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient, Journal } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { clientLayer, collect, type Emu, fast, interleavedContacts, landedBy, seedParents } from "./EmulatorSupport.js"

let emu: Emu
let layer: Layer.Layer<BulkClient.BulkClient>
const parents: Array<string> = []

beforeAll(async () => {
  emu = await Emulator.start({
    latencyMs: 0,
    profile: "realistic",
    seed: 7,
    // parallel batches overlap and every contended row fails; a follow-up round takes long enough to be interrupted
    processing: { recordsPerSecond: { insert: 2_000 }, parallelBatches: 4, transactionRows: 25, requestLatencyMs: 0, lockFailureRate: 1 }
  })
  parents.push(...seedParents(emu, 6, "LockResume parent"))
  layer = clientLayer(emu)
})
afterAll(async () => {
  await emu?.close()
})

const run = <A, E>(effect: Effect.Effect<A, E, BulkClient.BulkClient>) => Effect.runPromise(Effect.provide(effect, layer))

const contacts = (tag: string) => interleavedContacts(tag, parents)

const landed = (tag: string): Map<string, number> => landedBy(emu, "Contact", "LastName", tag)

/** Whether the journal records a piece of follow-up round 1. */
const followUpJournaled = (path: string): boolean =>
  Fs.existsSync(path) && Fs.readFileSync(path, "utf8").split("\n").some((l) => l.includes(`"jobId"`) && l.includes(`"round":1`))

for (const api of ["2.0", "1.0"] as const) {
  const split = { api, batchSize: 100, concurrency: 4 }
  describe(`Bulk API ${api}: interrupted during a lock follow-up round`, () => {
    it(
      "the journal names the follow-up jobs; the re-run finishes them and the remaining rounds, every row once",
      () =>
        run(Effect.gen(function*() {
          const tag = `lkres${api.replace(".", "")}`
          const journal = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-lockres-")), "j.jsonl")
          const options = { ...fast, ...split, retryLockedRows: 4, journal }
          const fiber = yield* Effect.fork(BulkClient.insert("Contact", contacts(tag), options))
          // interrupted as soon as the first follow-up piece is journaled (before it finished)
          for (let i = 0; i < 3000 && !followUpJournaled(journal); i++) yield* Effect.sleep("5 millis")
          expect(followUpJournaled(journal)).toBe(true)
          yield* Fiber.interrupt(fiber)

          // a caller's Journal sees the follow-up round and its jobs
          const j = yield* Journal.read(journal)
          expect(j.followUps.length).toBeGreaterThan(0)
          expect(j.followUps.every((p) => p.round === 1)).toBe(true)
          expect(j.roundRows[0]).toBeGreaterThan(0)
          for (const p of j.followUps) expect(j.jobIds).toContain(p.jobId)
          expect(j.finished).toBe(false)

          const out = yield* BulkClient.insert("Contact", contacts(tag), options)
          const s = out.summary
          expect(s).toMatchObject({ rowsRead: 600, succeeded: 600, failed: 0, unprocessed: 0, processed: 600 })
          // a follow-up job uploaded is finished and merged; one only created (interrupted during its
          // upload, still Open) is aborted and its rows sent again: timing decides which the test meets
          for (const p of j.followUps) if (p.stage === "uploaded") expect(s.jobIds).toContain(p.jobId)
          const ok = yield* collect(out.successes)
          expect(yield* collect(out.failures)).toEqual([])
          expect(ok).toHaveLength(600)
          expect(new Set(ok.map((x) => x.row.LastName)).size).toBe(600)
          const inOrg = landed(tag)
          expect(inOrg.size).toBe(600)
          expect([...inOrg.values()].every((n) => n === 1)).toBe(true)
          expect((yield* Journal.read(journal)).finished).toBe(true)
        })),
      60_000
    )
  })
}

describe("retryLockedRows off on the re-run", () => {
  it(
    "the follow-up already journaled is still finished and merged: rows it landed are successes, none counted twice",
    () =>
      run(Effect.gen(function*() {
        const tag = "lkresoff"
        const journal = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-lockres-")), "j.jsonl")
        const options = { ...fast, api: "2.0" as const, batchSize: 100, concurrency: 4, journal }
        const fiber = yield* Effect.fork(BulkClient.insert("Contact", contacts(tag), { ...options, retryLockedRows: 4 }))
        for (let i = 0; i < 3000 && !followUpJournaled(journal); i++) yield* Effect.sleep("5 millis")
        yield* Fiber.interrupt(fiber)
        const out = yield* BulkClient.insert("Contact", contacts(tag), options)
        const s = out.summary
        expect(s.succeeded + s.failed + s.unprocessed).toBe(600)
        const failures = yield* collect(out.failures)
        const ok = yield* collect(out.successes)
        expect(failures).toHaveLength(s.failed)
        // the outcome matches the org: what it calls a success is there once, what it calls failed is not there
        const inOrg = landed(tag)
        expect([...inOrg.values()].every((n) => n === 1)).toBe(true)
        expect(inOrg.size).toBe(ok.length)
        for (const f of failures) expect(inOrg.has(String(f.row.LastName))).toBe(false)
      })),
    60_000
  )
})

describe("orderByParent with a journal", () => {
  it(
    "an interrupted ordered insert re-run with its journal stores every row exactly once (the journal's positions are in the sorted order)",
    () =>
      run(Effect.gen(function*() {
        const tag = "lkresord"
        const journal = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-lockres-")), "j.jsonl")
        // one piece at a time, so the interruption lands with some pieces uploaded and others not
        const options = { ...fast, api: "2.0" as const, batchSize: 100, concurrency: 1, orderByParent: "AccountId", journal }
        const fiber = yield* Effect.fork(BulkClient.insert("Contact", contacts(tag), options))
        const uploaded = () => Fs.existsSync(journal) ? (Fs.readFileSync(journal, "utf8").match(/"stage":"uploaded"/g) ?? []).length : 0
        for (let i = 0; i < 3000 && uploaded() < 2; i++) yield* Effect.sleep("2 millis")
        yield* Fiber.interrupt(fiber)
        expect(uploaded()).toBeGreaterThanOrEqual(2)
        expect(uploaded()).toBeLessThan(6)
        const out = yield* BulkClient.insert("Contact", contacts(tag), options)
        expect(out.summary).toMatchObject({ rowsRead: 600, succeeded: 600, failed: 0 })
        const inOrg = landed(tag)
        expect(inOrg.size).toBe(600)
        expect([...inOrg.values()].every((n) => n === 1)).toBe(true)
      })),
    60_000
  )
})

describe("interrupted before the first follow-up round", () => {
  it("the re-run re-submits the lock failures of the jobs it resumed too, not only of the rows it sends", () =>
    run(Effect.gen(function*() {
      const tag = "lkresfirst"
      const journal = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-lockres-")), "j.jsonl")
      const options = { ...fast, api: "2.0" as const, batchSize: 100, concurrency: 2, retryLockedRows: 4, journal }
      const fiber = yield* Effect.fork(BulkClient.insert("Contact", contacts(tag), options))
      const uploaded = () => Fs.existsSync(journal) ? (Fs.readFileSync(journal, "utf8").match(/"stage":"uploaded"/g) ?? []).length : 0
      for (let i = 0; i < 3000 && uploaded() < 3; i++) yield* Effect.sleep("2 millis")
      yield* Fiber.interrupt(fiber)
      const text = Fs.readFileSync(journal, "utf8")
      expect(text).not.toMatch(/"round"/)
      const out = yield* BulkClient.insert("Contact", contacts(tag), options)
      expect(out.summary).toMatchObject({ rowsRead: 600, succeeded: 600, failed: 0, unprocessed: 0 })
      expect(yield* collect(out.failures)).toEqual([])
      const inOrg = landed(tag)
      expect(inOrg.size).toBe(600)
      expect([...inOrg.values()].every((n) => n === 1)).toBe(true)
    })), 60_000)
})
