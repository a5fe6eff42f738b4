/**
 * Each operation's error type names what it can raise (checked by the compiler through
 * `expectTypeOf`), and the channel is kept to it at run time.
 */
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as BulkClient from "../src/BulkClient.js"
import type * as BulkError from "../src/BulkError.js"
import { narrowEffect, narrowStream } from "../src/internal/bulkClient.js"
import { InvalidInputError, JobFailedError, RowDecodeError } from "../src/BulkError.js"

type ErrorOf<T> = T extends Effect.Effect<any, infer E, any> ? E : T extends Stream.Stream<any, infer E, any> ? E : never

describe("error channels", () => {
  it("ingest operations never list RowDecodeError; queries list it only with a schema", () => {
    const _insert = BulkClient.insert("Account", [{ Name: "a" }])
    expectTypeOf<ErrorOf<typeof _insert>>().toEqualTypeOf<BulkError.IngestError>()
    expectTypeOf<RowDecodeError>().not.toMatchTypeOf<ErrorOf<typeof _insert>>()
    const _update = BulkClient.update("Account", [{ Id: "001" }])
    const _upsert = BulkClient.upsert("Account", "Ext__c", [{ Ext__c: "1" }])
    const _del = BulkClient.delete("Account", ["001"])
    const _hard = BulkClient.hardDelete("Account", ["001"])
    expectTypeOf<ErrorOf<typeof _update | typeof _upsert | typeof _del | typeof _hard>>().toEqualTypeOf<BulkError.IngestError>()
    expectTypeOf<ErrorOf<ReturnType<typeof BulkClient.resume>>>().toEqualTypeOf<BulkError.IngestError>()

    // the caller's own row source errors are kept
    const _fromStream = BulkClient.insert("Account", Stream.fail("mine" as const))
    expectTypeOf<ErrorOf<typeof _fromStream>>().toEqualTypeOf<BulkError.IngestError | "mine">()

    const _untyped = BulkClient.query("SELECT Id FROM Account")
    expectTypeOf<ErrorOf<typeof _untyped>>().toEqualTypeOf<BulkError.QueryError>()
    expectTypeOf<RowDecodeError>().not.toMatchTypeOf<ErrorOf<typeof _untyped>>()
    const _typed = BulkClient.queryAll("SELECT Id FROM Account", { schema: Schema.Struct({ Id: Schema.String }) })
    expectTypeOf<ErrorOf<typeof _typed>>().toEqualTypeOf<BulkError.TypedQueryError>()
    expectTypeOf<RowDecodeError>().toMatchTypeOf<ErrorOf<typeof _typed>>()
  })

  it("outcome streams fail only with request errors and ResultMismatchError", () => {
    type Streams = BulkClient.Outcome["successes"] | BulkClient.Outcome["failures"] | BulkClient.Outcome["unprocessed"]
    expectTypeOf<ErrorOf<Streams>>().toEqualTypeOf<BulkError.OutcomeError>()
    expectTypeOf<JobFailedError>().not.toMatchTypeOf<BulkError.OutcomeError>()
    expectTypeOf<RowDecodeError>().not.toMatchTypeOf<BulkError.OutcomeError>()
  })

  it.effect("an error outside an operation's declared set is a defect, not a mistyped failure", () =>
    Effect.gen(function*() {
      const tags = new Set(["InvalidInputError"])
      const kept = yield* Effect.flip(narrowEffect<InvalidInputError>(tags)(Effect.fail(new InvalidInputError({ what: "x" }))))
      expect(kept._tag).toBe("InvalidInputError")
      const alien = yield* Effect.exit(
        narrowEffect<InvalidInputError>(tags)(Effect.fail(new RowDecodeError({ row: 0, field: "f", description: "d" })))
      )
      expect(alien._tag === "Failure" && alien.cause._tag).toBe("Die")
      const mine = yield* Effect.flip(narrowEffect<InvalidInputError>(tags)(Effect.fail("mine" as const)))
      expect(mine).toBe("mine")
      const stream = yield* Effect.exit(
        Stream.runDrain(
          narrowStream<InvalidInputError>(tags)(Stream.fail(new JobFailedError({ jobId: "j", state: "Failed", stateMessage: "" })))
        )
      )
      expect(stream._tag === "Failure" && stream.cause._tag).toBe("Die")
    }))
})
