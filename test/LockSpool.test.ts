/**
 * A lock follow-up round's rows live in a private spool file, not in memory: the rows that failed
 * UNABLE_TO_LOCK_ROW (75,000 in the first round of a 200,000-row contention load) used to be
 * collected into an array for the whole round. The file is 0600 in a 0700 directory and is gone
 * once the round ends, and when the run is interrupted part way.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient } from "@sfbulk/client"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { clientLayer, collect, type Emu, fast, interleavedContacts, landedBy, pacedEmulator, seedParents } from "./EmulatorSupport.js"
import { ownTmpdir } from "./FaultsSupport.js"

const tmp = ownTmpdir("sfbulk-lockspool-")
let emu: Emu
let layer: Layer.Layer<BulkClient.BulkClient>
const parents: Array<string> = []

beforeAll(async () => {
  emu = await pacedEmulator({ insertsPerSecond: 4_000, parallelBatches: 4 })
  for (const id of seedParents(emu, 6, "Spool parent")) parents.push(id)
  layer = clientLayer(emu)
})
afterAll(async () => {
  await emu?.close()
})

/** Everything under the test's temp dir, with modes. */
const entries = () =>
  Fs.readdirSync(tmp(), { recursive: true }).map(String).map((p) => ({
    path: p,
    mode: Fs.statSync(Path.join(tmp(), p), { throwIfNoEntry: false })?.mode
  }))

/** The lock spool files seen under the temp dir while `effect` runs (polled every millisecond), with their directories' modes. */
const watching = <A, E>(effect: Effect.Effect<A, E, BulkClient.BulkClient>) =>
  Effect.gen(function*() {
    const seen = new Map<string, { file: number; dir: number }>()
    const watcher = yield* Effect.fork(Effect.forever(Effect.zipRight(
      Effect.sync(() => {
        for (const e of entries()) {
          if (!/locked[-\d]*\.bin$/.test(e.path) || e.mode === undefined) continue
          const dir = Fs.statSync(Path.join(tmp(), Path.dirname(e.path)), { throwIfNoEntry: false })?.mode
          if (dir !== undefined) seen.set(e.path, { file: e.mode & 0o777, dir: dir & 0o777 })
        }
      }),
      Effect.sleep("1 millis")
    )))
    const out = yield* effect
    yield* Fiber.interrupt(watcher)
    return { out, seen }
  })

for (const api of ["2.0", "1.0"] as const) {
  const split = { api, batchSize: 100, concurrency: 4 }
  const tagOf = (what: string) => `ls${api.replace(".", "")}${what}`

  describe(`lock follow-up spool on Bulk API ${api}`, () => {
    it("a round's locked rows are spooled to a private file, removed at the end; every row lands once", () =>
      Effect.runPromise(Effect.provide(
        Effect.gen(function*() {
          const tag = tagOf("ok")
          const { out, seen } = yield* watching(
            BulkClient.insert("Contact", interleavedContacts(tag, parents), { ...fast, ...split, retryLockedRows: 3 })
          )
          expect(out.summary).toMatchObject({ rowsRead: 600, succeeded: 600, failed: 0, unprocessed: 0 })
          expect(yield* collect(out.failures)).toEqual([])
          // failed before: the round's rows were an array in memory, no spool file was ever written
          expect(seen.size).toBeGreaterThan(0)
          for (const { file, dir } of seen.values()) {
            expect(file).toBe(0o600)
            expect(dir).toBe(0o700)
          }
          expect(entries()).toEqual([])
          const inOrg = landedBy(emu, "Contact", "LastName", tag)
          expect(inOrg.size).toBe(600)
          expect([...inOrg.values()].every((n) => n === 1)).toBe(true)
        }),
        layer
      )))

    it("ordered by parent with batches that still share a parent: the round's rows are sorted through the spool, every row lands once", () =>
      Effect.runPromise(Effect.provide(
        Effect.gen(function*() {
          const tag = tagOf("ord")
          // 2 parents, 300 rows each once sorted: 100-row batches of one parent still contend with each other
          const rows = interleavedContacts(tag, parents.slice(0, 2))
          const out = yield* BulkClient.insert("Contact", rows, {
            ...fast,
            ...split,
            orderByParent: "AccountId",
            retryLockedRows: 3
          })
          expect(out.summary).toMatchObject({ rowsRead: 600, succeeded: 600, failed: 0, unprocessed: 0 })
          const ok = yield* collect(out.successes)
          expect(new Set(ok.map((x) => x.row.LastName)).size).toBe(600)
          for (const x of ok) expect(emu.org.get(x.id)?.values.AccountId).toBe(x.row.AccountId)
          expect(out.summary.jobIds.length).toBeGreaterThan(api === "1.0" ? 1 : 6)
          const inOrg = landedBy(emu, "Contact", "LastName", tag)
          expect(inOrg.size).toBe(600)
          expect([...inOrg.values()].every((n) => n === 1)).toBe(true)
          expect(entries()).toEqual([])
        }),
        layer
      )))

    // live clock: the wait for the spool file sleeps
    it("interrupted during a follow-up round, no spool file is left", () =>
      Effect.runPromise(Effect.provide(
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(
            BulkClient.insert("Contact", interleavedContacts(tagOf("int"), parents), { ...fast, ...split, retryLockedRows: 3 })
          )
          let found = false
          for (let i = 0; i < 10_000 && !found; i++) {
            found = entries().some((e) => /locked[-\d]*\.bin$/.test(e.path))
            if (!found) yield* Effect.sleep("1 millis")
          }
          expect(found).toBe(true)
          yield* Fiber.interrupt(fiber)
          expect(entries()).toEqual([])
        }),
        layer
      )))
  })
}
