/**
 * 300,000 rows through BulkClient against the emulator: several 1.0 batches within 10,000 records,
 * and with a small `maxJobBytes`, several 2.0 jobs; nothing lost, the invariant holds.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient, SalesforceAuth } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let layer: Layer.Layer<BulkClient.BulkClient>

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 5 })
  layer = BulkClient.layer().pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.orDie
  )
})
afterAll(async () => {
  await emu?.close()
})

const N = 300_000
// rows are generated as they are pulled: the input is never an array in memory
const rows = (tag: string) =>
  Stream.iterate(0, (i) => i + 1).pipe(
    Stream.take(N),
    Stream.map((i) => ({ Name: i % 50_000 === 7 ? "" : `${tag} ${i}`, ExternalId__c: `${tag}-${i}` }))
  )
const run = <A, E>(effect: Effect.Effect<A, E, BulkClient.BulkClient>) => Effect.runPromise(Effect.provide(effect, layer))

describe("300,000-row inserts", () => {
  it("Bulk API 1.0: 30+ batches of at most 10,000 records", () =>
    run(Effect.gen(function*() {
      const before = emu.org.count("Account")
      const outcome = yield* BulkClient.insert("Account", rows("big1"), {
        api: "1.0",
        concurrency: 4,
        pollSchedule: Schedule.spaced("50 millis")
      })
      const s = outcome.summary
      expect(s.succeeded + s.failed + s.unprocessed).toBe(s.rowsRead)
      expect(s.rowsRead).toBe(N)
      expect(s.batchIds.length).toBe(30)
      expect(s.jobIds).toHaveLength(1)
      expect(s.failed).toBe(6)
      expect(s.succeeded).toBe(N - 6)
      expect(emu.org.count("Account") - before).toBe(N - 6)
      const failures = yield* Stream.runCollect(outcome.failures)
      expect([...failures].map((f) => f.position)).toEqual([7, 50_007, 100_007, 150_007, 200_007, 250_007])
    })), 300_000)

  it("Bulk API 2.0: a small maxJobBytes makes several jobs", () =>
    run(Effect.gen(function*() {
      const before = emu.org.count("Account")
      const outcome = yield* BulkClient.insert("Account", rows("big2"), {
        maxJobBytes: 2_000_000,
        concurrency: 3,
        pollSchedule: Schedule.spaced("50 millis")
      })
      const s = outcome.summary
      expect(s.succeeded + s.failed + s.unprocessed).toBe(s.rowsRead)
      expect(s.rowsRead).toBe(N)
      expect(s.jobIds.length).toBeGreaterThanOrEqual(4)
      expect(s.failed).toBe(6)
      expect(emu.org.count("Account") - before).toBe(N - 6)
      const failures = yield* Stream.runCollect(outcome.failures)
      expect([...failures].map((f) => f.row.ExternalId__c).sort()).toEqual(
        [7, 50_007, 100_007, 150_007, 200_007, 250_007].map((i) => `big2-${i}`).sort()
      )
    })), 300_000)
})
