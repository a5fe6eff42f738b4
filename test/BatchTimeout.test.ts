/**
 * The client against batches that run out of time (the emulator's realistic batch time limit:
 * what is left of a batch goes back in the queue up to `batchRetries` times, then the batch — on
 * 2.0 the whole job — fails). What a user needs: every row accounted for (saved, failed or
 * unprocessed, the invariant intact), the unprocessed rows handed back to re-send, nothing saved
 * twice, and a typed error saying what happened when nothing was processed at all.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { clientLayer, collect, type Emu, fast, landedBy } from "./EmulatorSupport.js"

let emu: Emu
let layer: Layer.Layer<BulkClient.BulkClient>

beforeAll(async () => {
  emu = await Emulator.start({
    latencyMs: 0,
    profile: "realistic",
    // 20 records/s and a 500 ms limit: an attempt processes 10 rows; two re-queues, so a batch of
    // up to 30 rows finishes and a bigger one fails with 30 rows done
    processing: {
      recordsPerSecond: { insert: 20 },
      batchTimeLimitMs: 500,
      batchRetries: 2,
      parallelBatches: 4,
      transactionRows: 5,
      requestLatencyMs: 0,
      lockFailureRate: 0,
      bulk2BatchSize: 10_000
    }
  })
  layer = clientLayer(emu)
})
afterAll(async () => {
  await emu?.close()
})

const run = <A, E>(effect: Effect.Effect<A, E, BulkClient.BulkClient>) => Effect.runPromise(Effect.provide(effect, layer))

const accounts = (tag: string, n: number) => Array.from({ length: n }, (_, i) => ({ Name: `${tag}-${i}` }))

const landed = (tag: string): Map<string, number> => landedBy(emu, "Account", "Name", tag)

for (const api of ["2.0", "1.0"] as const) {
  describe(`batch time limit on Bulk API ${api}`, () => {
    it("rows a timed-out batch did not reach come back unprocessed; the rest saved once; the invariant holds", () =>
      run(Effect.gen(function*() {
        const tag = `bt${api.replace(".", "")}part`
        // 1.0: batches of 40 (each fails after 30); 2.0: jobs of 40 (each one internal batch)
        const out = yield* BulkClient.insert("Account", accounts(tag, 80), { ...fast, api, batchSize: 40, concurrency: 2 })
        const s = out.summary
        expect(s).toMatchObject({ rowsRead: 80, succeeded: 60, failed: 0, unprocessed: 20 })
        expect(s.succeeded + s.failed + s.unprocessed).toBe(s.rowsRead)
        const ok = yield* collect(out.successes)
        const left = yield* collect(out.unprocessed)
        expect(ok).toHaveLength(60)
        expect(left).toHaveLength(20)
        // each unprocessed row says why: the message of the job (2.0) / batch (1.0) that failed
        expect(left.every((x) => x.reason === "InternalServerError : Retried more than 2 times")).toBe(true)
        // each row is in exactly one place: saved (once, in the org) or handed back to re-send
        const saved = new Set(ok.map((x) => x.row.Name ?? emu.org.get(x.id)?.values.Name))
        const unsent = new Set(left.map((x) => x.row.Name))
        expect(unsent.size).toBe(20)
        for (const name of unsent) expect(saved.has(name)).toBe(false)
        const inOrg = landed(tag)
        expect(inOrg.size).toBe(60)
        expect([...inOrg.values()].every((n) => n === 1)).toBe(true)
        for (const name of unsent) expect(inOrg.has(name!)).toBe(false)
      })))
  })
}

describe("batch time limit: nothing processed", () => {
  it("2.0: a job none of whose rows could be processed is a JobFailedError carrying Salesforce's message and advice", () =>
    run(Effect.gen(function*() {
      const slow = yield* Effect.promise(() =>
        Emulator.start({
          latencyMs: 0,
          profile: "realistic",
          processing: { recordsPerSecond: { insert: 1 }, batchTimeLimitMs: 500, batchRetries: 1, requestLatencyMs: 0, lockFailureRate: 0 }
        })
      )
      const slowLayer = clientLayer(slow)
      const error = yield* Effect.flip(
        Effect.provide(BulkClient.insert("Account", accounts("btnone", 5), { ...fast, api: "2.0" }), slowLayer)
      ).pipe(
        Effect.ensuring(Effect.promise(() => slow.close()))
      )
      expect(error._tag).toBe("JobFailedError")
      if (error._tag !== "JobFailedError") return
      expect(error.stateMessage).toBe("InternalServerError : Retried more than 1 times")
      expect(error.message).toMatch(/time limit/)
      expect(error.message).toMatch(/smaller/)
    })))
})
