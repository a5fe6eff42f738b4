/**
 * `preflightLimits`: the org's remaining DailyBulkApiBatches is read before the load; an input that
 * needs more batches fails with a typed LimitExceededError before anything is uploaded.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient, SalesforceAuth } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let layer: Layer.Layer<BulkClient.BulkClient>

beforeAll(async () => {
  // two batches left for the day
  emu = await Emulator.start({ latencyMs: 0, processing: { dailyBulkApiBatches: 2 } })
  layer = BulkClient.layer.pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.orDie
  )
})
afterAll(async () => {
  await emu?.close()
})

const fast = { pollSchedule: Schedule.spaced("20 millis") }
const run = <A, E>(effect: Effect.Effect<A, E, BulkClient.BulkClient>) => Effect.runPromise(Effect.provide(effect, layer))
const accounts = (tag: string, n: number) => Array.from({ length: n }, (_, i) => ({ Name: `${tag} ${i}` }))
const count = (tag: string) => {
  const q = emu.org.query(`SELECT Id FROM Account WHERE Name LIKE '${tag} %'`)
  return q.ok ? q.result.size : -1
}

describe("preflightLimits", () => {
  it("2.0: 20,001 records need 3 internal batches; with 2 left it fails typed, before any job", () =>
    run(Effect.gen(function*() {
      const bulk2Before = emu.stats().byApi.bulk2
      const e = yield* Effect.flip(BulkClient.insert("Account", accounts("pf2", 20_001), { ...fast, preflightLimits: true }))
      expect(e._tag).toBe("LimitExceededError")
      expect(e.message).toMatch(/DailyBulkApiBatches/)
      if (e._tag === "LimitExceededError") expect(e.isRetryable).toBe(false)
      expect(emu.stats().byApi.bulk2).toBe(bulk2Before)
      expect(count("pf2")).toBe(0)
    })))

  it("1.0: counts batches of batchSize records", () =>
    run(Effect.gen(function*() {
      const e = yield* Effect.flip(
        BulkClient.insert("Account", accounts("pf1", 2_500), { ...fast, api: "1.0", batchSize: 1_000, preflightLimits: true })
      )
      expect(e._tag).toBe("LimitExceededError")
      expect(count("pf1")).toBe(0)
    })))

  it("a load the allocation covers goes ahead", () =>
    run(Effect.gen(function*() {
      const out = yield* BulkClient.insert("Account", accounts("pfok", 1_500), {
        ...fast,
        api: "1.0",
        batchSize: 1_000,
        preflightLimits: true
      })
      expect(out.summary.succeeded).toBe(1_500)
      expect(count("pfok")).toBe(1_500)
    })))
})
