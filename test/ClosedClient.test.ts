/**
 * Outcome streams used after the client that made them is gone (the layer released by
 * `Effect.provide` around the operation alone, or a disposed `ManagedRuntime`): on both APIs they
 * fail at once with a typed `TransportError` (`clientClosed`) that says what to do, instead of
 * retrying on a destroyed connection pool. Inside the scope they read normally.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient, SalesforceAuth } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let layer: Layer.Layer<BulkClient.BulkClient>

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 1 })
  layer = BulkClient.layer().pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.orDie
  )
})
afterAll(async () => {
  await emu?.close()
})

const fast = { pollSchedule: Schedule.spaced("20 millis") }
const rows = [{ Name: "closed 1" }, { Name: null }, { Name: "closed 3" }]

/** The stream's failure, which must come well before the transport's budget (2 minutes). */
const failureOf = <A, E>(stream: Stream.Stream<A, E>) =>
  Effect.runPromise(
    Effect.flip(Stream.runDrain(stream)).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => "hung" as const }))
  )

const expectClosed = (error: unknown) => {
  expect(error).toMatchObject({ _tag: "TransportError", clientClosed: true, mayHaveReachedServer: false })
  expect((error as Error).message).toContain("inside the scope that provides BulkClient")
  expect((error as { isRetryable: boolean }).isRetryable).toBe(false)
}

for (const api of ["2.0", "1.0"] as const) {
  describe(`outcome streams after the client closed (Bulk API ${api})`, () => {
    it("Effect.provide around the operation only: the streams fail at once with clientClosed", async () => {
      const outcome = await Effect.runPromise(BulkClient.insert("Account", rows, { ...fast, api }).pipe(Effect.provide(layer)))
      expect(outcome.summary).toMatchObject({ succeeded: 2, failed: 1 })
      expectClosed(await failureOf(outcome.failures))
      expectClosed(await failureOf(outcome.successes))
    })

    it("a disposed ManagedRuntime: the streams fail at once with clientClosed", async () => {
      const runtime = ManagedRuntime.make(layer)
      const outcome = await runtime.runPromise(BulkClient.insert("Account", rows, { ...fast, api }))
      await runtime.dispose()
      expectClosed(await failureOf(outcome.failures))
    })

    it("inside the scope (Layer.build) and before dispose the same streams read every outcome", async () => {
      const read = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const ctx = yield* Layer.build(layer)
        const outcome = yield* BulkClient.insert("Account", rows, { ...fast, api }).pipe(Effect.provide(ctx))
        return Chunk.size(yield* Stream.runCollect(outcome.failures))
      })))
      expect(read).toBe(1)
      const runtime = ManagedRuntime.make(layer)
      const outcome = await runtime.runPromise(BulkClient.insert("Account", rows, { ...fast, api }))
      const failures = await runtime.runPromise(Stream.runCollect(outcome.failures))
      await runtime.dispose()
      expect(Chunk.size(failures)).toBe(1)
    })
  })
}
