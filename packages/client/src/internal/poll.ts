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
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleInterval from "effect/ScheduleInterval"

/** Default polling of a fixed schedule: 0.5 s growing by 1.5x up to every 5 s, forever (bound it with `timeout`). */
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
  timedOut: (timeoutMillis?: number) => E2,
  /** What the schedule is fed after each check (e.g. the progress an adaptive schedule follows). */
  observe?: () => unknown
): Effect.Effect<A, E | E2, R> => {
  const loop = Effect.gen(function*() {
    const driver = yield* Schedule.driver(options?.schedule ?? defaultPollSchedule)
    while (true) {
      const done = yield* check
      if (Option.isSome(done)) return done.value
      const next = yield* Effect.option(driver.next(observe?.()))
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

/** What {@link adaptivePollSchedule} remembers between polls. */
export interface Observed {
  /** When the first poll answered (ms), undefined before it. */
  readonly first: number | undefined
  /** When the last poll answered (ms), undefined before the first. */
  readonly at: number | undefined
  /** Records processed at the last poll. */
  readonly done: number
  /** The last wait (ms). */
  readonly wait: number
}

/** Bounds of {@link adaptivePollSchedule}, in ms. */
export interface AdaptiveBounds {
  readonly firstMs: number
  readonly minMs: number
  readonly maxMs: number
  /** Without visible progress: the shortest back-off (default 2 s) and the share of the time waited it may grow to (default 0.1). */
  readonly backoffFloorMs?: number | undefined
  readonly backoffShare?: number | undefined
}

/**
 * Without visible progress the waits grow by 1.5x up to a tenth of the time waited so far, kept
 * within [2 s, 5 s]: a job that ends unseen is noticed at most about 10% of its time late (or 2 s),
 * where a flat 5 s ceiling made a 20 s job up to 25% late, for a few more polls per job.
 */
const BACKOFF_FLOOR_MS = 2_000
const BACKOFF_CAP_MS = 5_000
const BACKOFF_SHARE = 0.1

const ADAPTIVE: AdaptiveBounds = { firstMs: 500, minMs: 250, maxMs: 30_000 }

/**
 * A 2.0 query job shows no progress until it is done, and its rows cannot be read before, so the
 * back-off is all there is: every 1 s (a twentieth of the time waited past 20 s, at most 5 s). A
 * 20 s query is seen done 0.5 s late on average instead of 1 s, for about 8 more polls than the
 * ingest back-off ([2 s, 5 s], a tenth of the time waited); past 100 s both poll every 5 s.
 */
export const QUERY_POLL_BOUNDS: AdaptiveBounds = { ...ADAPTIVE, backoffFloorMs: 1_000, backoffShare: 0.05 }

const numberIn = (input: unknown, key: string): number | undefined => {
  if (input === null || typeof input !== "object") return undefined
  const v = (input as Record<string, unknown>)[key]
  const n = Number(v ?? Number.NaN)
  return Number.isFinite(n) ? n : undefined
}

/**
 * The wait before the next poll, ms: `done` of `total` records processed at `now`, after the
 * previous poll's state `s`. Exported for tests.
 */
export const nextWait = (s: Observed, now: number, done: number, total: number, bounds: AdaptiveBounds = ADAPTIVE): number => {
  let wait: number
  if (s.at === undefined) wait = bounds.firstMs
  else if (done > s.done && now > s.at && total > done) {
    const perMs = (done - s.done) / (now - s.at)
    // a little before the estimate: the next poll re-estimates from fresher progress
    wait = (0.9 * (total - done)) / perMs
  } else if (total > 0 && done >= total && s.done < total) {
    // every record processed, the job not yet complete (Salesforce finishing up): its end is near,
    // so poll again soon, then back off from there as without progress
    wait = bounds.firstMs
  } else {
    const waited = now - (s.first ?? now)
    const cap = Math.min(
      BACKOFF_CAP_MS,
      Math.max(bounds.backoffFloorMs ?? BACKOFF_FLOOR_MS, (bounds.backoffShare ?? BACKOFF_SHARE) * waited)
    )
    wait = Math.min(s.wait * 1.5, cap)
  }
  return Math.min(bounds.maxMs, Math.max(bounds.minMs, wait))
}

/**
 * Polling that follows the job's observed progress instead of a fixed cadence, for a job of
 * `expected` records (or the input's `expectedRecords`). Fed each poll's `numberRecordsProcessed`:
 * once two polls show progress, the next poll is due when the job should finish at the observed
 * rate (so a long job costs a handful of polls, and its end is seen soon after it happens); once
 * every record shows processed but the job is not yet complete, the next poll comes after 0.5 s;
 * without visible progress (a queued job, a query, which reports no progress) it backs off from
 * 0.5 s by 1.5x up to a tenth of the time waited so far, within [2 s, 5 s]. Every wait is kept
 * within [`minMs`, `maxMs`] (0.25 s, 30 s).
 */
export const adaptivePollSchedule = (expected: number, bounds: AdaptiveBounds = ADAPTIVE): Schedule.Schedule<number, unknown> =>
  Schedule.makeWithState<Observed, unknown, number>({ first: undefined, at: undefined, done: 0, wait: 0 }, (now, input, s) => {
    const done = numberIn(input, "numberRecordsProcessed") ?? 0
    // an input may carry its own total (1.0: the records of every batch added so far)
    const total = numberIn(input, "expectedRecords") ?? expected
    const wait = nextWait(s, now, done, total, bounds)
    return Effect.succeed(
      [
        { first: s.first ?? now, at: now, done, wait },
        wait,
        ScheduleDecision.continueWith(ScheduleInterval.after(now + wait))
      ] as const
    )
  })
