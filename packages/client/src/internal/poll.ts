/**
 * The one polling loop: run a check on a `Schedule` until it yields a value. Every wait on a Bulk
 * API 1.0 job or batch (and the job-level batch watcher) goes through it, so a schedule that ends
 * and an overall timeout behave the same everywhere.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"

/** Default polling: 0.5 s growing by 1.5x up to every 5 s, forever (bound it with `timeout`). */
export const defaultPollSchedule: Schedule.Schedule<unknown> = Schedule.exponential("500 millis", 1.5).pipe(
  Schedule.union(Schedule.spaced("5 seconds"))
)

/** How to poll: the schedule between checks and an overall time limit. */
export interface PollOptions {
  readonly schedule?: Schedule.Schedule<unknown, unknown> | undefined
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * Runs `check` until it gives `Some`, waiting between checks as the schedule says (default
 * {@link defaultPollSchedule}). When the schedule ends, or `timeout` passes, fails with
 * `timedOut(timeoutMillis)` (`timeoutMillis` only for the timeout). A failing check ends the loop
 * with its error.
 */
export const pollUntil = <A, E, R, E2>(
  check: Effect.Effect<Option.Option<A>, E, R>,
  options: PollOptions | undefined,
  timedOut: (timeoutMillis?: number) => E2
): Effect.Effect<A, E | E2, R> => {
  const loop = Effect.gen(function*() {
    const driver = yield* Schedule.driver(options?.schedule ?? defaultPollSchedule)
    while (true) {
      const done = yield* check
      if (Option.isSome(done)) return done.value
      const next = yield* Effect.option(driver.next(undefined))
      if (Option.isNone(next)) return yield* Effect.fail(timedOut())
    }
  })
  const timeout = options?.timeout
  if (timeout === undefined) return loop
  return Effect.timeoutFail(loop, {
    duration: timeout,
    onTimeout: () => timedOut(Duration.toMillis(Duration.decode(timeout)))
  })
}
