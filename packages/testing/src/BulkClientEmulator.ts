/**
 * `BulkClient` over a real emulator on a free local port: the whole client (HTTP, CSV, polling,
 * result downloads) against a local Salesforce, for tests that must prove an integration works.
 * The layer also provides the `Emulator` service, to seed and inspect the org.
 *
 * @example
 * import { BulkClient } from "@sfbulk/client"
 * import { BulkClientEmulator } from "@sfbulk/testing"
 * import { expect, layer } from "@effect/vitest"
 * import { Effect } from "effect"
 *
 * layer(BulkClientEmulator.layer())("accounts", (it) => {
 *   it.effect("inserts", () =>
 *     Effect.gen(function*() {
 *       const outcome = yield* BulkClient.insert("Account", [{ Name: "Acme" }])
 *       expect(outcome.summary.succeeded).toBe(1)
 *     }))
 * })
 *
 * @since 0.1.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as BulkClient from "@sfbulk/client/BulkClient"
import type { AuthenticationError } from "@sfbulk/client/BulkError"
import * as SalesforceAuth from "@sfbulk/client/SalesforceAuth"
import * as Emulator from "@sfbulk/emulator/Emulator"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

// `@effect/vitest`'s `it.effect` runs on a TestClock that stands still: the client's polling would
// then wait forever whenever a job is not complete at the first look. The emulator answers in real
// time, so the tests that use it run on the live clock (the layer is built after the test services,
// so this wins over their TestClock).
const liveClock = Layer.scopedDiscard(Effect.withClockScoped(Clock.make()))

/**
 * Starts an emulator (closed when the layer is released) and provides `BulkClient` over it with
 * the emulator's session, plus the `Emulator` service itself. `options` are the emulator's
 * (`latencyMs`, `data`, `faults`, ...).
 *
 * Effects given this layer run on the live clock, even under `it.effect` (whose `TestClock` only
 * moves when a test adjusts it): the emulator processes jobs on real timers, so a poll or a
 * timeout waiting on a `TestClock` would never wake and the operation would hang.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Emulator.EmulatorOptions = {}
): Layer.Layer<BulkClient.BulkClient | Emulator.Emulator, Emulator.EmulatorError | AuthenticationError> =>
  Layer.unwrapEffect(Effect.map(Emulator.Emulator, (emulator) =>
    BulkClient.layer().pipe(
      Layer.provide(SalesforceAuth.fromSession({
        instanceUrl: emulator.instanceUrl,
        accessToken: emulator.accessToken,
        apiVersion: emulator.apiVersion
      })),
      Layer.provide(NodeHttpClient.layerUndici)
    ))).pipe(Layer.provideMerge(Emulator.layer(options)), Layer.provideMerge(liveClock))
