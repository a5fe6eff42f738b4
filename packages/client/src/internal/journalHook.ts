/**
 * The hook through which the ingest pipelines report each piece to a journal (see `journal.ts`):
 * 2.0 "created" right after the job exists and "uploaded" once it is closed; 1.0 "created" before
 * the batch is sent and "uploaded" once it is added. A FiberRef, so the pipelines need no journal knowledge.
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Crypto from "node:crypto"

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
}

/** The listener in force (none outside a journaled run). */
export const currentListener: FiberRef.FiberRef<((e: PieceEvent) => void) | undefined> = FiberRef.unsafeMake<
  ((e: PieceEvent) => void) | undefined
>(undefined)

/** Reports a piece to the journal, if one is listening. */
export const notify = (event: PieceEvent): Effect.Effect<void> =>
  Effect.flatMap(FiberRef.get(currentListener), (listener) => Effect.sync(() => listener?.(event)))

/** The SHA-256 (hex) of a batch body or of a batch request read back, as journals record it. */
export const bodyHash = (data: Uint8Array | string): string => Crypto.createHash("sha256").update(data).digest("hex")
