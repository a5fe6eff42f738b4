/**
 * Counting the HTTP requests one operation sends (`summary.apiRequests`): the transport bumps the
 * counter in force for each attempt it sends (retries and polls included). A FiberRef holding a
 * mutable cell, so fibers an operation forks (uploads, pollers) count into the same cell, and
 * concurrent operations on one transport keep separate counts.
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"

/** The cell of the operation in progress, if one is counting. */
export const currentRequestCounter: FiberRef.FiberRef<{ n: number } | undefined> = FiberRef.unsafeMake<{ n: number } | undefined>(
  undefined
)

/** One request sent (called by the transport per attempt). */
export const countRequest: Effect.Effect<void> = Effect.withFiberRuntime((fiber) => {
  // one step, read and bumped in place: this runs for every request of a load
  const cell = fiber.getFiberRef(currentRequestCounter)
  if (cell !== undefined) cell.n++
  return Effect.void
})

/** Runs `effect` with a fresh counter; `cell.n` is the number of requests it has sent so far. */
export const counting = <A, E, R>(cell: { n: number }, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.locally(effect, currentRequestCounter, cell)
