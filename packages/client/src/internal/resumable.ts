/**
 * Downloads that survive a dropped connection: the parsed stream is fetched again and the records
 * already emitted are skipped (result files are fixed once a job or batch is done, and ordered).
 */
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { BulkError } from "../BulkError.js"
import { safeToResend } from "./transport.js"

/**
 * Whether a failed download is worth fetching again: the connection dropped or stalled (not a bad
 * answer), by the transport's one rule for re-sending a GET. Answers refused by the server were
 * retried by the transport already.
 */
export const isDroppedDownload = (e: BulkError): boolean => e._tag === "TransportError" && safeToResend(e, true, true)

/** `make()` as one stream that resumes after a dropped download, skipping what it already emitted. */
export const resumable = <A, R>(make: () => Stream.Stream<A, BulkError, R>): Stream.Stream<A, BulkError, R> =>
  Stream.suspend(() => {
    let emitted = 0
    return Stream.suspend(() => Stream.drop(make(), emitted)).pipe(
      Stream.mapChunks((chunk) => {
        emitted += chunk.length
        return chunk
      }),
      Stream.retry(
        Schedule.recurWhile(isDroppedDownload).pipe(
          Schedule.intersect(Schedule.exponential("100 millis")),
          Schedule.intersect(Schedule.recurs(6))
        )
      )
    )
  })
