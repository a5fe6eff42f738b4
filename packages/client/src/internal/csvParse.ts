/**
 * Streaming CSV -> records with csv-parse's synchronous core (`Parser#api.parse`), driven chunk by
 * chunk from an Effect `Stream`, so a large result is never held whole and back-pressure is the
 * stream's own.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { Parser } from "csv-parse"

interface ParserApi {
  parse(
    buf: Buffer | undefined,
    end: boolean,
    push: (record: Record<string, string>) => void,
    close: () => void
  ): Error | undefined
}

/** Thrown (as a defect-free failure) when the CSV cannot be parsed. */
export class CsvParseFailure {
  readonly _tag = "CsvParseFailure"
  constructor(readonly message: string) {}
}

/**
 * Parses bytes into records keyed by the header row. `delimiter` is the job's column delimiter.
 */
export const parseRecords = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  delimiter: string
): Stream.Stream<Record<string, string>, E | CsvParseFailure, R> =>
  Stream.suspend(() => {
    const api = (new Parser({ columns: true, delimiter, bom: true, relax_column_count: false }) as unknown as {
      api: ParserApi
    }).api
    const run = (buf: Buffer | undefined, end: boolean) => {
      const out: Array<Record<string, string>> = []
      const err = api.parse(buf, end, (r) => void out.push(r), () => {})
      return err ? Effect.fail(new CsvParseFailure(err.message)) : Effect.succeed(Chunk.unsafeFromArray(out))
    }
    return Stream.concat(
      Stream.mapChunksEffect(bytes, (chunk) => {
        if (chunk.length === 0) return Effect.succeed(Chunk.empty())
        const one = Chunk.unsafeGet(chunk, 0)
        const buf = chunk.length === 1
          ? Buffer.from(one.buffer, one.byteOffset, one.byteLength)
          : Buffer.concat(Chunk.toReadonlyArray(chunk) as Array<Uint8Array>)
        return run(buf, false)
      }),
      Stream.flatMap(Stream.fromEffect(Effect.suspend(() => run(undefined, true))), Stream.fromChunk)
    )
  })
