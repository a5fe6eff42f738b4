/**
 * Runs the installed packages as an application would: the packed client against the packed
 * emulator (insert, typed query, typed errors caught), then the test layers of `@sfbulk/testing`.
 * Prints one JSON line of what it observed; the consumer check asserts on it.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { BulkClient, BulkError, SalesforceAuth } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import { BulkClientEmulator, BulkClientMock } from "@sfbulk/testing"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { accounts, load } from "./load.js"

/** Insert, read back, and two typed failures, whatever `BulkClient` is provided. */
export const scenario = Effect.gen(function*() {
  const outcome = yield* load
  const rows = Chunk.toReadonlyArray(yield* Stream.runCollect(accounts))
  const unknownObject = yield* Stream.runCollect(BulkClient.query("SELECT Id FROM NoSuchObject__c")).pipe(
    Effect.as("no error"),
    Effect.catchTag("ApiError", (e) => Effect.succeed(`${e._tag} ${e.errorCode}`))
  )
  const empty = yield* BulkClient.insert("Account", []).pipe(
    Effect.as("no error"),
    Effect.catchTag("InvalidInputError", (e) => Effect.succeed(e instanceof BulkError.InvalidInputError ? e._tag : "?"))
  )
  return {
    succeeded: outcome.summary.succeeded,
    rows: rows.map((r) => `${r.Name}:${r.NumberOfEmployees}`).sort(),
    unknownObject,
    empty
  }
})

const overEmulator = Effect.gen(function*() {
  const emulator = yield* Emulator.Emulator
  return yield* scenario.pipe(Effect.provide(
    BulkClient.layer().pipe(
      Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emulator.instanceUrl, accessToken: emulator.accessToken })),
      Layer.provide(NodeHttpClient.layerUndici)
    )
  ))
}).pipe(Effect.provide(Emulator.layer({ latencyMs: 5 })))

const program = Effect.all({
  emulator: overEmulator,
  mock: scenario.pipe(Effect.provide(BulkClientMock.layer())),
  testing: scenario.pipe(Effect.provide(BulkClientEmulator.layer({ latencyMs: 5 })))
})

Effect.runPromise(program).then(
  (result) => console.log(JSON.stringify(result)),
  (error) => {
    console.error(error)
    process.exitCode = 1
  }
)
