/**
 * API economy: `summary.apiRequests` counts every request an operation sends (polls included), as
 * the org sees them, and 2.0 polling follows the job's progress instead of a fixed cadence.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { afterEach, describe, expect, it } from "@effect/vitest"
import { BulkClient, SalesforceAuth } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"

let emus: Array<Awaited<ReturnType<typeof Emulator.start>>> = []
afterEach(async () => {
  await Promise.all(emus.map((e) => e.close()))
  emus = []
})

const start = async (options: Parameters<typeof Emulator.start>[0]) => {
  const emu = await Emulator.start(options)
  emus.push(emu)
  const layer = BulkClient.layer.pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.orDie
  )
  const run = <A, E>(effect: Effect.Effect<A, E, BulkClient.BulkClient>) => Effect.runPromise(Effect.provide(effect, layer))
  return { emu, run }
}

const accounts = (tag: string, n: number) => Array.from({ length: n }, (_, i) => ({ Name: `${tag} ${i}` }))

describe("summary.apiRequests", () => {
  for (const api of ["2.0", "1.0"] as const) {
    it(`counts every request the ${api} operation sent, polls included, as the org counted them`, async () => {
      const { emu, run } = await start({ latencyMs: 20 })
      const before = emu.stats().requests
      const out = await run(
        BulkClient.insert("Account", accounts(`req${api}`, 1200), { api, batchSize: 500, pollSchedule: Schedule.spaced("10 millis") })
      )
      expect(out.summary.succeeded).toBe(1200)
      expect(out.summary.apiRequests).toBe(emu.stats().requests - before)
      expect(out.summary.apiRequests).toBe(emu.stats().usage.apiRequests)
    })
  }
})

describe("adaptive polling (ingest, no pollSchedule given)", () => {
  for (const api of ["2.0", "1.0"] as const) {
    it(`${api}: polls fewer times than a fixed 250 ms cadence on a load that takes seconds`, async () => {
      // 3,000 records at 1,000 per second in one slot: about 3 s of processing
      const processing = {
        recordsPerSecond: { insert: 1_000 },
        parallelBatches: 1,
        bulk2BatchSize: 1_000,
        requestLatencyMs: 0,
        lockFailureRate: 0
      }
      const options = { api, batchSize: api === "1.0" ? 1_000 : 3_000 }
      const adaptive = await start({ latencyMs: 0, profile: "realistic", processing })
      const a = await adaptive.run(BulkClient.insert("Account", accounts("adaptive", 3_000), options))
      const fixed = await start({ latencyMs: 0, profile: "realistic", processing })
      const f = await fixed.run(
        BulkClient.insert("Account", accounts("fixed", 3_000), { ...options, pollSchedule: Schedule.spaced("250 millis") })
      )
      expect(a.summary.succeeded).toBe(3_000)
      expect(f.summary.succeeded).toBe(3_000)
      expect(a.summary.apiRequests!).toBeLessThan(f.summary.apiRequests!)
    })
  }
})
