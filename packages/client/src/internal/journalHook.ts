/**
 * The hook through which the ingest pipelines report each piece to a journal (see `journal.ts`):
 * 2.0 "created" right after the job exists and "uploaded" once it is closed; 1.0 "created" before
 * the batch is sent and "uploaded" once it is added. A FiberRef, so the pipelines need no journal knowledge.
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"


/** One piece of an ingest as the pipelines report it (positions in the stream they read). */
export interface PieceEvent {
  readonly stage: "created" | "uploaded"
  readonly jobId: string
  readonly batchId?: string | undefined
  readonly firstRow: number
  readonly records: number
}

/** The listener in force (none outside a journaled run). */
export const currentListener: FiberRef.FiberRef<((e: PieceEvent) => void) | undefined> = FiberRef.unsafeMake<
  ((e: PieceEvent) => void) | undefined
>(undefined)

/** Reports a piece to the journal, if one is listening. */
export const notify = (event: PieceEvent): Effect.Effect<void> =>
  Effect.flatMap(FiberRef.get(currentListener), (listener) => Effect.sync(() => listener?.(event)))

