/**
 * State changes (1.0 close and abort, 2.0 `UploadComplete` and abort) that survive a lost answer.
 *
 * A state change whose answer is lost is sent again, and Salesforce refuses the repeat: the first
 * one took effect ("Job already closed", "Aborting already Aborted Job not allowed"). The refusal
 * (`InvalidJobState`) is then checked against the job as it now is: when the job is in the state
 * asked for, or in one only reachable through it, the change is done and the job's info is returned.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
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
 * Runs `change`; when it is refused with `InvalidJobState`, reads the job and succeeds with its
 * info if its state is one of `accepted`. Otherwise (or if the job cannot be read) the refusal
 * stands.
 */
export const changeState = <A extends { readonly state: string }, R>(
  change: Effect.Effect<A, BulkError, R>,
  read: Effect.Effect<A, BulkError, R>,
  accepted: ReadonlyArray<string>
): Effect.Effect<A, BulkError, R> =>
  Effect.catchIf(change, isInvalidJobState, (refused) =>
    Effect.flatMap(
      Effect.either(read),
      (now) => now._tag === "Right" && accepted.includes(now.right.state) ? Effect.succeed(now.right) : Effect.fail(refused)
    ))
