/**
 * State changes (1.0 close and abort, 2.0 `UploadComplete` and abort) that survive a lost answer.
 *
 * Salesforce refuses a repeated state change ("Closing already closed Job not allowed"), so a change
 * whose answer was lost must not simply be sent again: the job is read, and when it is in the state
 * asked for, or in one only reachable through it, the change is done and the job's info returned.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"
import type { BulkError } from "../BulkError.js"

/** Whether Salesforce refused a state change because of the job's state. */
export const isInvalidJobState = (e: BulkError): boolean =>
  e._tag === "ApiError" && (e.errorCode === "InvalidJobState" || e.errorCode === "INVALIDJOBSTATE")

/**
 * States that satisfy a requested state: the state itself and those only reachable through it
 * (a 2.0 job is processed only after `UploadComplete`).
 */
export const reached = (api: "1.0" | "2.0", target: string): ReadonlyArray<string> =>
  api === "2.0" && target === "UploadComplete" ? ["UploadComplete", "InProgress", "JobComplete", "Failed"] : [target]

/**
 * Sends a state change and makes sure it took effect once. `send` must not be re-sent by the
 * transport when it may have arrived (`idempotent: false`): after such a failure, or a refusal with
 * `InvalidJobState`, the job is read first, and the change is done when its state is one of
 * `accepted`. Otherwise a refusal stands, and a transient failure is sent again on `schedule`
 * (harmless: a repeat that finds the change made is refused, then accepted the same way).
 */
export const changeState = <A extends { readonly state: string }, R>(options: {
  readonly send: Effect.Effect<A, BulkError, R>
  readonly read: Effect.Effect<A, BulkError, R>
  readonly accepted: ReadonlyArray<string>
  readonly schedule: Schedule.Schedule<unknown, BulkError>
}): Effect.Effect<A, BulkError, R> => {
  const settled = (failure: BulkError) =>
    Effect.flatMap(
      Effect.either(options.read),
      (now) => now._tag === "Right" && options.accepted.includes(now.right.state) ? Effect.succeed(now.right) : Effect.fail(failure)
    )
  const attempt = Effect.catchIf(options.send, (e) => isInvalidJobState(e) || e.isRetryable, settled)
  return Effect.retry(attempt, { schedule: options.schedule, while: (e: BulkError) => e.isRetryable })
}
