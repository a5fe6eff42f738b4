/**
 * Found by breaking (helper BREAKDATA): a request whose every answer stalls (the emulator's
 * `stall`: head and part of the body, then silence far longer than the idle timeout) must end
 * within the transport's budget plus one idle timeout, with every row accounted for or a typed
 * error. Each kind of request is stalled in turn.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Bulk1, Bulk2, BulkClient, SalesforceAuth } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"

let emu: Awaited<ReturnType<typeof Emulator.start>>

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 2 })
})
afterAll(async () => {
  await emu?.close()
})

/** The client with a short idle timeout and budget (the emulator stalls for 10 minutes). */
const layer = () =>
  Layer.provideMerge(
    Layer.effect(BulkClient.BulkClient, BulkClient.make),
    Layer.merge(
      Bulk2.layer({
        idleTimeout: "500 millis",
        budget: "3 seconds",
        retrySchedule: Bulk1.defaultRetrySchedule({ initialDelay: "10 millis", maxDelay: "100 millis" })
      }),
      Bulk1.layer({
        idleTimeout: "500 millis",
        budget: "3 seconds",
        retrySchedule: Bulk1.defaultRetrySchedule({ initialDelay: "10 millis", maxDelay: "100 millis" })
      })
    )
  ).pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.orDie
  )

const KINDS: ReadonlyArray<readonly [string, "1.0" | "2.0", string]> = [
  ["1.0 job create", "1.0", "^POST /services/async/[^/]+/job$"],
  ["1.0 batch add", "1.0", "^POST /services/async/[^/]+/job/[^/]+/batch$"],
  ["1.0 close", "1.0", "^POST /services/async/[^/]+/job/[^/]+$"],
  ["2.0 job create", "2.0", "^POST /services/data/[^/]+/jobs/ingest/?$"],
  ["2.0 upload", "2.0", "^PUT "],
  ["2.0 close", "2.0", "^PATCH "]
]

describe("every answer of one kind stalls: the load ends (rows landed once, or a typed error)", () => {
  for (const [kind, api, match] of KINDS) {
    it.live(kind, () =>
      Effect.gen(function*() {
        const tag = `BreakStall ${kind}`
        const rows = Array.from({ length: 300 }, (_, i) => ({ Name: `${tag} ${i}` }))
        emu.setFaults("stall=1", { seed: 1, slowMs: 600_000, match })
        const r = yield* Effect.either(BulkClient.insert("Account", rows, { api, batchSize: 100 }))
        emu.setFaults(undefined)
        expect(emu.stats().faults.stall).toBeGreaterThan(0)
        const q = emu.org.query(`SELECT Name FROM Account WHERE Name LIKE '${tag} %'`, { all: true })
        const stored = q.ok ? q.result.size : -1
        if (r._tag === "Right") {
          expect(r.right.summary.succeeded).toBe(300)
          expect(stored).toBe(300)
        } else {
          expect(r.left._tag).toMatch(/TransportError|PollTimeoutError|ApiError/)
          expect(stored).toBeLessThanOrEqual(300)
        }
      }).pipe(Effect.provide(layer()), Effect.ensuring(Effect.sync(() => emu.setFaults(undefined)))), 60_000)
  }
})

describe("every answer of a query's results stalls: the query ends (all rows, or a typed error)", () => {
  for (
    const [api, match] of [
      ["2.0", "^GET /services/data/[^/]+/jobs/query/[^/]+/results"],
      ["1.0", "^GET /services/async/[^/]+/job/[^/]+/batch/[^/]+/result"]
    ] as const
  ) {
    it.live(`${api} query results`, () =>
      Effect.gen(function*() {
        const rows = Array.from({ length: 50 }, (_, i) => ({ Name: `BreakStallQ ${api} ${i}` }))
        yield* BulkClient.insert("Account", rows, { api })
        emu.setFaults("stall=1", { seed: 1, slowMs: 600_000, match })
        const r = yield* Effect.either(
          BulkClient.query(`SELECT Name FROM Account WHERE Name LIKE 'BreakStallQ ${api} %'`, { api }).pipe(
            Stream.runCollect,
            Effect.map(Chunk.size)
          )
        )
        emu.setFaults(undefined)
        expect(emu.stats().faults.stall).toBeGreaterThan(0)
        if (r._tag === "Right") expect(r.right).toBe(50)
        else expect(r.left._tag).toBe("TransportError")
      }).pipe(Effect.provide(layer()), Effect.ensuring(Effect.sync(() => emu.setFaults(undefined)))), 60_000)
  }
})

describe("a 2.0 upload that never gets an answer", () => {
  it.live("is not sent again to new jobs once the request budget is spent (one budget, not one per job)", () =>
    Effect.gen(function*() {
      // a PUT's answer has no body, so the stall holds back the whole answer: no headers at all
      emu.setFaults("stall=1", { seed: 1, slowMs: 600_000, match: "^PUT " })
      const before = emu.stats().faults.stall
      const rows = Array.from({ length: 100 }, (_, i) => ({ Name: `BreakStallPut ${i}` }))
      const r = yield* Effect.either(BulkClient.insert("Account", rows, { api: "2.0", batchSize: 100 }))
      emu.setFaults(undefined)
      expect(r._tag).toBe("Left")
      if (r._tag === "Left") expect(r.left._tag).toBe("TransportError")
      // the one piece's upload waited out the budget once; before, it went to two more new jobs
      expect(emu.stats().faults.stall - before).toBe(1)
    }).pipe(Effect.provide(layer()), Effect.ensuring(Effect.sync(() => emu.setFaults(undefined)))), 60_000)
})

describe("a results download that stalls every time", () => {
  it.live("resumes only within the request budget (each resume waits out an idle timeout of its own)", () =>
    Effect.gen(function*() {
      const rows = Array.from({ length: 50 }, (_, i) => ({ Name: `BreakStallB ${i}` }))
      yield* BulkClient.insert("Account", rows, { api: "2.0" })
      emu.setFaults("stall=1", { seed: 1, slowMs: 600_000, match: "^GET /services/data/[^/]+/jobs/query/[^/]+/results" })
      const before = emu.stats().faults.stall
      const r = yield* Effect.either(
        BulkClient.query("SELECT Name FROM Account WHERE Name LIKE 'BreakStallB %'", { api: "2.0" }).pipe(Stream.runDrain)
      )
      emu.setFaults(undefined)
      expect(r._tag).toBe("Left")
      // every fetch waits at least the 500 ms idle timeout, so a 1 s budget allows two resumes
      // after the first fetch; before, six were made whatever the budget
      expect(emu.stats().faults.stall - before).toBeLessThanOrEqual(3)
    }).pipe(
      Effect.provide(
        Layer.provideMerge(
          Layer.effect(BulkClient.BulkClient, BulkClient.make),
          Layer.merge(
            Bulk2.layer({ idleTimeout: "500 millis", budget: "1 second" }),
            Bulk1.layer({ idleTimeout: "500 millis", budget: "1 second" })
          )
        ).pipe(
          Layer.provide(
            SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })
          ),
          Layer.provide(NodeHttpClient.layerUndici),
          Layer.orDie
        )
      ),
      Effect.ensuring(Effect.sync(() => emu.setFaults(undefined)))
    ), 60_000)
})
