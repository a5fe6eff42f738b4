/**
 * Synchronous per-chunk stream stages that may fail (CSV parsing, row checks, encoding, the spool
 * cut). Their output is written straight to the channel, with no Effect per chunk: an effect per
 * chunk holding the chunk (`Stream.mapChunksEffect(c => Effect.succeed(...))`, `Stream.retry`,
 * `Stream.runForEachChunk(s, c => Effect.sync(() => ...c...))`) keeps each chunk reachable from
 * objects already in V8's old generation, so every chunk that passes is promoted (nepotism) and
 * freed only by a full GC. Measured on a million rows: a `mapChunksEffect` stage promoted about
 * 190 MB, these stages 7-11 MB.
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"

/**
 * `Stream.mapChunks` for a step that may fail: `f` maps each chunk (a `Left` ends the stream with
 * that error, after the chunks before it), `end` gives the last chunk when the input ends. Empty
 * chunks are written only with `writeEmpty` (as `Stream.mapChunks` does: a stage downstream may
 * count chunks, e.g. the spool cut's event-loop turns).
 */
export const mapChunksOrFail = <A, B, E, E2, R>(
  self: Stream.Stream<A, E, R>,
  f: (chunk: Chunk.Chunk<A>) => Either.Either<Chunk.Chunk<B>, E2>,
  end: () => Either.Either<Chunk.Chunk<B>, E2> = () => Either.right(Chunk.empty()),
  writeEmpty = false
): Stream.Stream<B, E | E2, R> => {
  const emit = (r: Either.Either<Chunk.Chunk<B>, E2>, then: Channel.Channel<Chunk.Chunk<B>, Chunk.Chunk<A>, E | E2, E, unknown, unknown>) =>
    Either.isLeft(r)
      ? Channel.fail(r.left)
      : r.right.length === 0 && !writeEmpty
      ? then
      : Channel.zipRight(Channel.write(r.right), then)
  const loop: Channel.Channel<Chunk.Chunk<B>, Chunk.Chunk<A>, E | E2, E, unknown, unknown> = Channel.readWithCause({
    onInput: (chunk: Chunk.Chunk<A>) => emit(f(chunk), Channel.suspend(() => loop)),
    onFailure: (cause) => Channel.failCause(cause),
    onDone: () => Channel.suspend(() => emit(end(), Channel.void))
  })
  return Stream.pipeThroughChannel(self, loop)
}

/**
 * `mapChunksOrFail` for a step that throws its failure: `f` returns the chunk's output or throws
 * an error `isFailure` recognizes (the stream then fails with it, the input no further read);
 * anything else thrown is a defect. Every input chunk gives one output chunk, empty or not (as
 * `Stream.mapChunks`).
 */
export const mapChunksSync = <A, B, E, R, E2>(
  self: Stream.Stream<A, E, R>,
  f: (chunk: Chunk.Chunk<A>) => Chunk.Chunk<B>,
  isFailure: (e: unknown) => e is E2
): Stream.Stream<B, E | E2, R> =>
  mapChunksOrFail(
    self,
    (chunk): Either.Either<Chunk.Chunk<B>, E2> => {
      try {
        return Either.right(f(chunk))
      } catch (e) {
        if (isFailure(e)) return Either.left(e)
        throw e
      }
    },
    () => Either.right(Chunk.empty()),
    true
  )
