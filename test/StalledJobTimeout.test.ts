/**
 * A timeout or an interruption around a `BulkClient` operation takes effect while the client waits
 * on a job that never finishes (queued forever) or on an answer that never comes (a poll stalled
 * forever, an upload whose answer never comes), on both APIs: nothing in the wait is uninterruptible, and the emulator layer is released
 * afterwards. The 1-second timeouts are what the tests set, not asserted durations; a hang fails
 * through the test timeout.
 */
import { describe, expect, it } from "@effect/vitest"
import { BulkClient } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import { BulkClientEmulator } from "@sfbulk/testing"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"

const HOUR = 3_600_000
const apis = ["1.0", "2.0"] as const
const options = (api: "1.0" | "2.0") => ({ api, pollSchedule: Schedule.spaced("20 millis") })
const rows = [{ Name: "Stalled 1" }, { Name: "Stalled 2" }]

/** Every poll of a job's state (2.0 job info, 1.0 batch list or job info): any GET. */
const POLLS = "^GET /services/"
/** The upload: a 1.0 batch POST, a 2.0 data PUT. */
const UPLOADS = { "1.0": "^POST /services/async/[^/]+/job/[^/]+/batch$", "2.0": "^PUT /services/data/[^/]+/jobs/ingest/[^/]+/batches$" }

describe("a timeout around an insert whose job stalls forever fires", () => {
  for (const api of apis) {
    it.effect(`the job stays queued forever (Bulk API ${api})`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(BulkClient.insert("Account", rows, options(api)).pipe(Effect.timeout("1 second")))
        expect(Cause.isTimeoutException(error)).toBe(true)
      }).pipe(Effect.provide(BulkClientEmulator.layer({ latencyMs: HOUR }))), 30_000)

    it.effect(`the answer to a poll never comes (Bulk API ${api})`, () =>
      Effect.gen(function*() {
        const emulator = yield* Emulator.Emulator
        emulator.setFaults("stall=1", { slowMs: HOUR, match: POLLS })
        const error = yield* Effect.flip(BulkClient.insert("Account", rows, options(api)).pipe(Effect.timeout("1 second")))
        expect(Cause.isTimeoutException(error)).toBe(true)
      }).pipe(Effect.provide(BulkClientEmulator.layer({ latencyMs: HOUR }))), 30_000)

    // 1.0 used to finish a batch POST uninterruptibly (so its batch is known): a stalled one held
    // the timeout for the transport's whole budget
    it.effect(`the answer to the upload never comes (Bulk API ${api})`, () =>
      Effect.gen(function*() {
        const emulator = yield* Emulator.Emulator
        emulator.setFaults("stall=1", { slowMs: HOUR, match: UPLOADS[api] })
        const error = yield* Effect.flip(BulkClient.insert("Account", rows, options(api)).pipe(Effect.timeout("1 second")))
        expect(Cause.isTimeoutException(error)).toBe(true)
      }).pipe(Effect.provide(BulkClientEmulator.layer({ latencyMs: HOUR }))), 30_000)

    it.effect(`interrupting an insert that waits on its job ends it (Bulk API ${api})`, () =>
      Effect.gen(function*() {
        const uploaded = yield* Deferred.make<void>()
        const fiber = yield* Effect.fork(BulkClient.insert("Account", rows, {
          ...options(api),
          onProgress: (p) => {
            if (p.last?.state === "Uploaded") Deferred.unsafeDone(uploaded, Effect.void)
          }
        }))
        yield* Deferred.await(uploaded)
        const exit = yield* Fiber.interrupt(fiber)
        expect(Exit.isInterrupted(exit)).toBe(true)
      }).pipe(Effect.provide(BulkClientEmulator.layer({ latencyMs: HOUR }))), 30_000)
  }
})
