/**
 * The records of the ingest outcome streams (issue 15): built by constructors rather than object
 * literals (so V8 cannot pretenure them), they stay plain objects with the same own keys in the
 * same order; and 1.0's lean success stream (`successRows: false`), whose result files are now
 * fetched ahead as bytes and parsed when read, still reports every row once, at its position, when
 * those downloads are cut.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient } from "../packages/client/src/index.js"
import * as Effect from "effect/Effect"
import { clientLayer, collect, type Emu, poll, startEmulator } from "./FaultsSupport.js"

let emu: Emu
beforeAll(async () => {
  emu = await startEmulator(11)
})
afterAll(async () => {
  await emu?.close()
})

const run = <A, E>(effect: Effect.Effect<A, E, BulkClient.BulkClient>) => Effect.runPromise(Effect.provide(effect, clientLayer(emu)))

/** Rows where every 10th has no Name (a REQUIRED_FIELD_MISSING failure). */
const rows = (tag: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ Name: i % 10 === 3 ? "" : `${tag} ${i}`, NumberOfEmployees: i }))

const isPlain = (x: object) => Object.getPrototypeOf(x) === Object.prototype

const cases = [
  {
    label: "2.0",
    options: { api: "2.0" as const },
    success: ["_tag", "jobId", "id", "created", "row"],
    failure: ["_tag", "jobId", "code", "message", "fields", "errors", "row"]
  },
  {
    label: "1.0",
    options: { api: "1.0" as const, batchSize: 40 },
    success: ["_tag", "jobId", "batchId", "position", "row", "id", "created"],
    failure: ["_tag", "jobId", "batchId", "position", "row", "code", "message", "fields", "errors"]
  },
  {
    label: "1.0 with successRows: false",
    options: { api: "1.0" as const, batchSize: 40, successRows: false },
    success: ["_tag", "jobId", "batchId", "position", "row", "id", "created"],
    failure: ["_tag", "jobId", "batchId", "position", "row", "code", "message", "fields", "errors"]
  }
]

describe("outcome records", () => {
  for (const c of cases) {
    it(`${c.label}: successes and failures are plain objects with the documented keys, in order`, () =>
      run(Effect.gen(function*() {
        emu.setFaults("", { seed: 11 })
        const input = rows(`rr${c.label.length}`, 100)
        const outcome = yield* BulkClient.insert("Account", input, { ...poll, ...c.options })
        expect(outcome.summary).toMatchObject({ rowsRead: 100, succeeded: 90, failed: 10, unprocessed: 0 })
        const ok = yield* collect(outcome.successes)
        const bad = yield* collect(outcome.failures)
        expect(ok).toHaveLength(90)
        expect(bad).toHaveLength(10)
        for (const s of ok) {
          expect(isPlain(s)).toBe(true)
          expect(Object.keys(s)).toEqual(c.success)
          // a copy is the same record: nothing hides in a prototype
          expect({ ...s }).toStrictEqual(s)
          expect(emu.org.get(s.id)?.values.NumberOfEmployees).toBeDefined()
        }
        for (const f of bad) {
          expect(isPlain(f)).toBe(true)
          expect(Object.keys(f)).toEqual(c.failure)
          expect({ ...f }).toStrictEqual(f)
          expect(f.code).toBe("REQUIRED_FIELD_MISSING")
        }
        if (c.options.api === "1.0") {
          expect(ok.map((s) => s.position)).toEqual(input.flatMap((r, i) => (r.Name === "" ? [] : [i])))
          expect(bad.map((f) => f.position)).toEqual(input.flatMap((r, i) => (r.Name === "" ? [i] : [])))
        }
      })))
  }

  it("1.0 with successRows: false: result downloads cut part way are fetched again; every success once, at its position", () =>
    run(Effect.gen(function*() {
      emu.setFaults("", { seed: 11 })
      const input = rows("rrcut", 3_000)
      const outcome = yield* BulkClient.insert("Account", input, { ...poll, api: "1.0", batchSize: 250, successRows: false })
      expect(outcome.summary).toMatchObject({ rowsRead: 3_000, succeeded: 2_700, failed: 300 })
      // connections reset while the batches' result files download
      const before = emu.stats().faults.reset
      emu.setFaults("reset=0.3", { seed: 11, match: "^GET /services/async/[^/]+/job/[^/]+/batch/[^/]+/result$" })
      const ok = yield* collect(outcome.successes)
      emu.setFaults("", { seed: 11 })
      expect(emu.stats().faults.reset).toBeGreaterThan(before)
      expect(ok.map((s) => s.position)).toEqual(input.flatMap((r, i) => (r.Name === "" ? [] : [i])))
      expect(new Set(ok.map((s) => s.id)).size).toBe(2_700)
      for (const s of ok) expect(emu.org.get(s.id)?.values.Name).toBe(input[s.position!]!.Name)
    })))
})
