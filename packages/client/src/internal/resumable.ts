/**
 * Downloads that survive a dropped connection: the parsed stream is fetched again and the records
 * already emitted are skipped (result files are fixed once a job or batch is done, and ordered).
 */
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { BulkError } from "../BulkError.js"

/** An answer that arrived whole but cannot be parsed: fetching it again would not change it. */
export const isUnparseable = (e: BulkError): boolean =>
  e._tag === "TransportError" && e.unparseable === true

/** Whether a failed download is worth fetching again: a dropped connection, not a bad answer. */
export const isDroppedDownload = (e: BulkError): boolean => e._tag === "TransportError" && !isUnparseable(e)

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
