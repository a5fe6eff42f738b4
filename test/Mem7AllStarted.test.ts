/**
 * MEM7: `allStarted` (the 1.0 batches' and 2.0 jobs' driver) runs each piece's start and finish in
 * one fiber instead of two stream stages. Its contract, as the pipelines rely on it: results in
 * input order; at most `concurrency` starts at a time while finishes wait side by side; after a
 * failure no piece is started but every started one is finished, and the whole fails with every
 * failure; an input failure counts as one more; interrupting the whole interrupts the pieces.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { allStarted } from "../packages/client/src/internal/ingest2.js"

describe("allStarted", () => {
  it.live(
    "gives every result in input order, finishes running side by side, starts at most `concurrency` at a time",
    () =>
      Effect.gen(function*() {
        let starting = 0
        let maxStarting = 0
        let finishing = 0
        let maxFinishing = 0
        const out = yield* allStarted(
          Stream.range(1, 40),
          (n) =>
            Effect.gen(function*() {
              maxStarting = Math.max(maxStarting, ++starting)
              // later pieces start faster: completion order is not input order
              yield* Effect.sleep(`${(40 - n) % 5} millis`)
              starting--
              return n * 10
            }),
          3,
          (s) =>
            Effect.gen(function*() {
              maxFinishing = Math.max(maxFinishing, ++finishing)
              yield* Effect.sleep(`${s % 7} millis`)
              finishing--
              return s + 1
            })
        )
        expect(out).toEqual(Array.from({ length: 40 }, (_, i) => (i + 1) * 10 + 1))
        expect(maxStarting).toBeLessThanOrEqual(3)
        // finishes do not hold a start's permit
        expect(maxFinishing).toBeGreaterThan(1)
      }),
    { timeout: 20_000 }
  )

  it.live("after a failed start nothing new starts, every started piece is finished, all failures reported", () =>
    Effect.gen(function*() {
      const started: Array<number> = []
      const finished: Array<number> = []
      const exit = yield* Effect.exit(allStarted(
        Stream.range(1, 20),
        (n) =>
          Effect.gen(function*() {
            started.push(n)
            yield* Effect.sleep(`${n === 3 ? 1 : 20} millis`)
            if (n === 3 || n === 4) return yield* Effect.fail(`start ${n}`)
            return n
          }),
        4,
        (n) => Effect.sync(() => finished.push(n)).pipe(Effect.zipRight(n === 2 ? Effect.fail("finish 2") : Effect.succeed(n)))
      ))
      expect(Exit.isFailure(exit)).toBe(true)
      const errors = Exit.isFailure(exit) ? [...Cause.failures(exit.cause)].sort() : []
      expect(errors).toEqual(["finish 2", "start 3", "start 4"])
      // pieces 1-4 were started together; 5 got piece 3's permit only after it failed
      expect([...started].sort((a, b) => a - b)).toEqual([1, 2, 3, 4])
      expect([...finished].sort((a, b) => a - b)).toEqual([1, 2])
    }))

  it.live("an input failure stops reading but the started pieces are finished; it is reported with theirs", () =>
    Effect.gen(function*() {
      const finished: Array<number> = []
      const input = Stream.concat(Stream.make(1, 2), Stream.fail("bad row"))
      const exit = yield* Effect.exit(allStarted(
        input,
        (n) => Effect.as(Effect.sleep("5 millis"), n),
        2,
        (n) => Effect.sync(() => finished.push(n))
      ))
      expect(Exit.isFailure(exit) ? [...Cause.failures(exit.cause)] : []).toEqual(["bad row"])
      expect([...finished].sort()).toEqual([1, 2])
    }))

  it.live("interrupting the whole interrupts the pieces running and returns", () =>
    Effect.gen(function*() {
      const waiting = yield* Deferred.make<void>()
      let interrupted = 0
      const fiber = yield* Effect.fork(allStarted(
        Stream.range(1, 3),
        (n) => Effect.succeed(n),
        3,
        () =>
          Effect.zipRight(Deferred.succeed(waiting, undefined), Effect.never).pipe(
            Effect.onInterrupt(() => Effect.sync(() => interrupted++))
          )
      ))
      yield* Deferred.await(waiting)
      yield* Effect.sleep("10 millis")
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(interrupted).toBe(3)
    }))

  it.live("an empty input gives nothing", () =>
    Effect.gen(function*() {
      expect(yield* allStarted(Stream.empty, (n: number) => Effect.succeed(n), 4, Effect.succeed)).toEqual([])
    }))

  it.live("what a piece acquires in the caller's Scope lives as long as the caller's scope, not only as long as allStarted", () =>
    Effect.gen(function*() {
      const released: Array<number> = []
      const afterRun = yield* Effect.scoped(Effect.gen(function*() {
        yield* allStarted(
          Stream.range(1, 3),
          (n) => Effect.acquireRelease(Effect.succeed(n), (m) => Effect.sync(() => released.push(m))),
          2,
          (n) => Effect.succeed(n)
        )
        // the operation still uses what its pieces acquired (spool files, journal handles)
        return [...released]
      }))
      expect(afterRun).toEqual([])
      expect([...released].sort()).toEqual([1, 2, 3])
    }))
})
