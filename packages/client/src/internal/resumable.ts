/**
 * Downloads that survive a dropped or stalled connection: the parsed stream is fetched again and
 * the records already emitted are skipped (result files are fixed once a job or batch is done, and
 * ordered).
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { BulkError } from "../BulkError.js"
import { safeToResend, Transport, wasRetried } from "./transport.js"

/**
 * Whether a failed download is worth fetching again: its body dropped or stalled (not a bad
 * answer), by the transport's one rule for re-sending a GET. A request the transport gave up on
 * (refused, or no answer within its budget) is not asked again: that would spend the budget anew.
 */
export const isDroppedDownload = (e: BulkError): boolean => e._tag === "TransportError" && safeToResend(e, true, true) && !wasRetried(e)

/**
 * The chunks of `stream` without their first `n` elements. The rest of a chunk is copied rather
 * than taken with `Chunk.drop`: effect 3.22's `Chunk.appendAll` loses the elements of a slice once
 * more chunks are appended after it (Effect-TS/effect#7616), which `Stream.runCollect` does.
 */
const skip = <A, E, R>(stream: Stream.Stream<A, E, R>, n: number): Stream.Stream<A, E, R> =>
  n <= 0 ? stream : Stream.suspend(() => {
    let left = n
    return Stream.mapChunks(stream, (chunk) => {
      if (left === 0) return chunk
      if (left >= chunk.length) {
        left -= chunk.length
        return Chunk.empty()
      }
      const rest = Chunk.unsafeFromArray(Chunk.toReadonlyArray(chunk).slice(left))
      left = 0
      return rest
    })
  })

/** Resumes of one download in a row without a new record before it fails. */
const MAX_RESUMES = 6

/** The transport's default request budget, when none is in context. */
const DEFAULT_BUDGET_MILLIS = 120_000

/**
 * The resume rule of one download, shared by `resumable` (records) and the 1.0 result bytes
 * (`ingest1.ts`): `again(e, progress)` says whether to fetch again after the failure `e`, with
 * `progress` what the download has read so far (records or bytes), and waits before the resume:
 * 100 ms, doubled for each resume in a row that brought nothing new. Resumes in a row without
 * progress are counted here, not by a schedule: a body that always stalls at the same place was
 * fetched for ever when `Stream.retry` reset its schedule on every (even empty) chunk. They also
 * end once the transport's request budget has passed since the first of them: each resume may
 * wait out an idle timeout of its own, and six of them are six minutes.
 */
export const resumeRule = (): { readonly again: (e: BulkError, progress: number) => Effect.Effect<boolean> } => {
  let fruitless = 0
  let before = 0
  let since = 0
  return {
    again: (e, progress) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        if (fruitless === 0 || progress > before) {
          fruitless = 0
          since = now
        }
        fruitless++
        before = progress
        const budget = Option.match(yield* Effect.serviceOption(Transport), {
          onNone: () => DEFAULT_BUDGET_MILLIS,
          onSome: (t) => t.budgetMillis ?? DEFAULT_BUDGET_MILLIS
        })
        if (!(isDroppedDownload(e) && fruitless <= MAX_RESUMES && now - since < budget)) return false
        yield* Effect.sleep(Duration.millis(100 * 2 ** (fruitless - 1)))
        return true
      })
  }
}

/** `make()` as one stream that resumes after a dropped download, skipping what it already emitted. */
export const resumable = <A, R>(make: () => Stream.Stream<A, BulkError, R>): Stream.Stream<A, BulkError, R> =>
  Stream.suspend(() => {
    let emitted = 0
    const rule = resumeRule()
    // Not `Stream.retry`: it runs an effect per chunk holding that chunk (`mapOutEffect`), and
    // those effects kept every chunk of records reachable from not-yet-collected garbage until a
    // full GC, so V8 promoted every record of a download to the old generation.
    const attempt = (): Stream.Stream<A, BulkError, R> =>
      Stream.suspend(() => skip(make(), emitted)).pipe(
        Stream.mapChunks((chunk) => {
          emitted += chunk.length
          return chunk
        }),
        Stream.catchAll((e) => Stream.unwrap(Effect.map(rule.again(e, emitted), (again) => again ? attempt() : Stream.fail(e))))
      )
    return attempt()
  })
