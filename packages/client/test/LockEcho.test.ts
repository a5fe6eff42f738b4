/**
 * `retryLockedRows` re-submits a lock failure from the row its outcome carries; on Bulk API 2.0 that
 * row is Salesforce's echo in `failedResults`, which may come without values (protocol reference
 * §4.11). Such a row is left failed with its lock error, never re-sent blank (a blank insert creates
 * a record without its data; an update without its Id cannot be sent at all).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as BulkClient from "../src/BulkClient.js"
import { resendable, withLockRetry } from "../src/internal/lockRetry.js"
import { Transport } from "../src/internal/transport.js"

const lock = (row: Record<string, string>, position: number): BulkClient.Failure => ({
  _tag: "Failure",
  jobId: "750A",
  position,
  row,
  code: "UNABLE_TO_LOCK_ROW",
  message: "unable to obtain exclusive access to this record",
  fields: [],
  errors: [{ code: "UNABLE_TO_LOCK_ROW", message: "unable to obtain exclusive access to this record", fields: [] }]
})

const outcome = (
  operation: BulkClient.Operation,
  jobId: string,
  successes: ReadonlyArray<BulkClient.Success>,
  failures: ReadonlyArray<BulkClient.Failure>
): BulkClient.Outcome<never> => ({
  summary: {
    api: "2.0",
    object: "Contact",
    operation,
    jobIds: [jobId],
    batchIds: [],
    rowsRead: successes.length + failures.length,
    processed: successes.length + failures.length,
    succeeded: successes.length,
    created: operation === "insert" ? successes.length : 0,
    failed: failures.length,
    unprocessed: 0,
    elapsed: Duration.millis(1)
  },
  successes: Stream.fromIterable(successes),
  failures: Stream.fromIterable(failures),
  unprocessed: Stream.empty
})

const ok = (row: Record<string, string>, i: number): BulkClient.Success => ({
  _tag: "Success",
  jobId: "750B",
  id: `003${String(i).padStart(15, "0")}`,
  created: true,
  row
})

describe("lock follow-ups and Salesforce's echo", () => {
  it.effect("a lock failure echoed without values stays failed; the echoed ones are re-sent and land", () =>
    Effect.gen(function*() {
      const echoed = [{ LastName: "A", AccountId: "001A" }, { LastName: "B", AccountId: "001B" }]
      const blank = { LastName: "", AccountId: "" }
      const sent: Array<ReadonlyArray<unknown>> = []
      let call = 0
      const once = (<A, E, R>(p: { readonly rows: Stream.Stream<A, E, R> }) =>
        Effect.gen(function*() {
          const rows = Chunk.toReadonlyArray(yield* Stream.runCollect(p.rows))
          sent.push(rows)
          call++
          return call === 1
            ? outcome("insert", "750A", [], [lock(echoed[0]!, 0), lock(blank, 1), lock(echoed[1]!, 2)])
            : outcome("insert", "750B", (rows as ReadonlyArray<Record<string, string>>).map(ok), [])
        })) as any
      const out = yield* withLockRetry(
        { object: "Contact", operation: "insert", rows: Stream.make({ x: 1 }, { x: 2 }, { x: 3 }), options: { retryLockedRows: 2 } },
        once
      ).pipe(Effect.provideService(Transport, {} as any))
      // the follow-up carried only the rows whose values were echoed
      expect(sent[1]).toEqual(echoed)
      expect(sent).toHaveLength(2)
      expect(out.summary).toMatchObject({ succeeded: 2, failed: 1, unprocessed: 0 })
      const failures = Chunk.toReadonlyArray(yield* Stream.runCollect(out.failures))
      expect(failures.map((f) => [f.code, f.row])).toEqual([["UNABLE_TO_LOCK_ROW", blank]])
      expect(Chunk.size(yield* Stream.runCollect(out.successes))).toBe(2)
    }))

  it("an update row without its Id (any case) is not re-sent; sf__ columns do not count as values", () => {
    expect(resendable(lock({ Id: "003X", Title: "t" }, 0), "Id")).toBe(true)
    expect(resendable(lock({ id: "003X", Title: "t" }, 0), "Id")).toBe(true)
    expect(resendable(lock({ Id: "", Title: "t" }, 0), "Id")).toBe(false)
    expect(resendable(lock({ sf__Id: "", sf__Error: "UNABLE_TO_LOCK_ROW", Name: "" }, 0), undefined)).toBe(false)
    expect(resendable(lock({ Name: "x" }, 0), undefined)).toBe(true)
  })
})
