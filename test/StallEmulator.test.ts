/**
 * Stalled answers from the emulator (`stall`: the head and part of the body, then silence for
 * `slowMs`), far longer than the client's idle timeout: a query's results download resumes with
 * every row once and in order, and job-info answers are asked again. Time-bounded by the idle
 * timeout, not by the stall.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Bulk2, BulkClient, SalesforceAuth, Transport } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"

let emu: Awaited<ReturnType<typeof Emulator.start>>
const N = 2_500

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 2, pageSize: 700, seed: 11 })
  const rows = Array.from({ length: N }, (_, i) => `Stall ${String(i).padStart(5, "0")},${i}`)
  const layer = Bulk2.layer().pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
    Layer.orDie
  )
  await Effect.runPromise(
    Effect.gen(function*() {
      const job = yield* Bulk2.createIngestJob({ object: "Account", operation: "insert" })
      yield* Bulk2.uploadJobData(job, `Name,NumberOfEmployees\n${rows.join("\n")}\n`)
      yield* Bulk2.closeIngestJob(job.id)
      yield* Bulk2.waitForIngestJob(job.id, { schedule: Schedule.spaced("20 millis"), timeout: "30 seconds" })
    }).pipe(Effect.provide(layer))
  )
})
afterAll(async () => {
  await emu?.close()
})

/** The client with a short idle timeout (the emulator stalls for 5 minutes). */
const layer = () =>
  Layer.provideMerge(
    Layer.effect(BulkClient.BulkClient, BulkClient.make),
    Bulk2.layer({
      idleTimeout: "300 millis",
      retrySchedule: Transport.defaultRetrySchedule({ initialDelay: "10 millis", maxDelay: "100 millis" })
    })
  ).pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.orDie
  )

const SOQL = "SELECT Name, NumberOfEmployees FROM Account WHERE Name LIKE 'Stall %' ORDER BY Name"

describe("stalled answers from the emulator", () => {
  for (const concurrency of [1, 3]) {
    it.live(`a query whose result pages stall reads every row once, in order (concurrency ${concurrency})`, () =>
      Effect.gen(function*() {
        emu.setFaults("stall=0.5", { seed: 3, slowMs: 300_000, match: "^GET /services/data/[^/]+/jobs/query/[^/]+/results" })
        const before = emu.stats().faults.stall
        const rows = yield* BulkClient.query(SOQL, {
          api: "2.0",
          concurrency,
          pollSchedule: Schedule.spaced("20 millis"),
          // several pages, so that some of them stall (the client's default page holds every row here)
          maxRecords: 500
        }).pipe(
          Stream.runCollect,
          Effect.map(Chunk.toReadonlyArray)
        )
        expect(emu.stats().faults.stall - before).toBeGreaterThan(0)
        expect(rows.map((r) => r.Name)).toEqual(Array.from({ length: N }, (_, i) => `Stall ${String(i).padStart(5, "0")}`))
        expect(rows.every((r) => r.NumberOfEmployees === String(Number(String(r.Name).slice(6))))).toBe(true)
      }).pipe(Effect.provide(layer()), Effect.ensuring(Effect.sync(() => emu.setFaults(undefined)))), 60_000)
  }

  it.live("job-info answers that stall are asked again", () =>
    Effect.gen(function*() {
      const job = yield* Bulk2.createQueryJob({ query: SOQL })
      emu.setFaults("stall=0.5", { seed: 5, slowMs: 300_000, match: "^GET /services/data/[^/]+/jobs/query/[^/]+$" })
      const before = emu.stats().faults.stall
      for (let i = 0; i < 8; i++) {
        const info = yield* Bulk2.getQueryJob(job.id)
        expect(info.id).toBe(job.id)
      }
      expect(emu.stats().faults.stall - before).toBeGreaterThan(0)
    }).pipe(Effect.provide(layer()), Effect.ensuring(Effect.sync(() => emu.setFaults(undefined)))), 60_000)
})
