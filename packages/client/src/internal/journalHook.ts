/**
 * The hook through which the ingest pipelines report each piece to a journal (see `journal.ts`):
 * 2.0 "created" right after the job exists and "uploaded" once it is closed; 1.0 "created" before
 * the batch is sent and "uploaded" once it is added. A FiberRef, so the pipelines need no journal knowledge.
 *
 * Lock follow-up rounds (`lockRetry.ts`) run the same pipelines under `currentRound`, so their pieces
 * reach the journal marked with their round (their positions are then in the round's own list of
 * re-submitted rows, not in the input), after a "round" event announcing how many rows the round carries.
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Crypto from "node:crypto"
import type * as BulkClient from "../BulkClient.js"
import type { BulkError } from "../BulkError.js"
import type { ParentOrder } from "./lockRetry.js"
import type { Transport } from "./transport.js"

/** One piece of an ingest as the pipelines report it (positions in the stream they read). */
export interface PieceEvent {
  readonly stage: "created" | "uploaded"
  readonly jobId: string
  readonly batchId?: string | undefined
  readonly firstRow: number
  readonly records: number
  /**
   * 1.0 "created": the SHA-256 (hex) of the batch body about to be sent, so a journal can tell
   * which of the job's batches holds this piece when the process died before the answer came.
   */
  readonly sha256?: string | undefined
  /** The lock follow-up round the piece belongs to (absent: the first pass over the input). */
  readonly round?: number | undefined
}

/** A lock follow-up round about to send `rows` rows (lockRetry.ts). */
export interface RoundEvent {
  readonly stage: "round"
  readonly round: number
  readonly rows: number
}

/** What a journal listens to. */
export type JournalEvent = PieceEvent | RoundEvent

/** The listener in force (none outside a journaled run). */
export const currentListener: FiberRef.FiberRef<((e: JournalEvent) => void) | undefined> = FiberRef.unsafeMake<
  ((e: JournalEvent) => void) | undefined
>(undefined)

/** The lock follow-up round being sent (0: the first pass over the input). */
export const currentRound: FiberRef.FiberRef<number> = FiberRef.unsafeMake(0)

/** Reports a piece to the journal, if one is listening (marked with the round in force). */
export const notify = (event: PieceEvent): Effect.Effect<void> =>
  Effect.flatMap(FiberRef.get(currentListener), (listener) =>
    listener === undefined
      ? Effect.void
      : Effect.flatMap(FiberRef.get(currentRound), (round) => Effect.sync(() => listener(round === 0 ? event : { ...event, round }))))

/** Reports the start of a lock follow-up round to the journal, if one is listening. */
export const notifyRound = (round: number, rows: number): Effect.Effect<void> =>
  Effect.flatMap(FiberRef.get(currentListener), (listener) => Effect.sync(() => listener?.({ stage: "round", round, rows })))

/**
 * What a journaled run resumed before sending anything (journal.ts), for `withLockRetry` to carry
 * on from: the outcome of every job the journal lists, follow-up rounds merged (its `failures`
 * end with `pending`), the lock failures still to re-submit, the follow-up rounds already done,
 * and whether the input handed over is already ordered by parent (the journal's positions are
 * positions in that order).
 */
export interface Resumed {
  readonly outcome: BulkClient.Outcome<BulkError> | undefined
  readonly pending: ReadonlyArray<BulkClient.Failure>
  readonly rounds: number
  readonly ordered: boolean
  /**
   * The `orderByParent` order the input was sorted by (lockRetry.ts `parentOrderOf`, memoized: an
   * `"auto"` describe is read once, when first run, inside the operation's request count).
   */
  readonly parents?: Effect.Effect<ParentOrder | undefined, BulkError, Transport> | undefined
}

/** Set by a journaled run for the `withLockRetry` it runs (read once, at its start). */
export const currentResumed: FiberRef.FiberRef<Resumed | undefined> = FiberRef.unsafeMake<Resumed | undefined>(undefined)

/** The SHA-256 (hex) of a batch body or of a batch request read back, as journals record it. */
export const bodyHash = (data: Uint8Array | string): string => Crypto.createHash("sha256").update(data).digest("hex")
