import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { mapChunksOrFail } from "../src/internal/chunkStage.js"
import { CsvParseFailure, parseRecords } from "../src/internal/csvParse.js"

const pieces = (text: string, cut: number) => {
  const all = new TextEncoder().encode(text)
  const parts: Array<Uint8Array> = []
  for (let i = 0; i < all.length; i += cut) parts.push(all.slice(i, i + cut))
  return parts
}

describe("CSV records written straight to the stream (mapChunksOrFail)", () => {
  it.effect("every record arrives once, in order, whatever the byte pieces and their grouping into chunks", () =>
    Effect.gen(function*() {
      // multi-byte UTF-8, a quoted field with CRLF inside, and a last record without a line end
      const text = "Id,Name\r\n1,\"Zoë\r\nline\"\r\n2,日本\r\n3,\"a,\"\"b\"\"\"\r\n4,last"
      const want = [
        { Id: "1", Name: "Zoë\r\nline" },
        { Id: "2", Name: "日本" },
        { Id: "3", Name: "a,\"b\"" },
        { Id: "4", Name: "last" }
      ]
      for (const cut of [1, 2, 3, 5, 64]) {
        for (const group of [1, 3, 1000]) {
          const bytes = Stream.rechunk(Stream.fromIterable(pieces(text, cut)), group)
          const got = Chunk.toArray(yield* Stream.runCollect(parseRecords(bytes, ",")))
          expect(got).toEqual(want)
        }
      }
    }))

  it.effect("a CSV error ends the stream after the records before it, as a CsvParseFailure", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const bytes = Stream.rechunk(Stream.fromIterable(pieces("Id,Name\n1,a\n2,b\n3\n4,d\n", 4)), 1)
      const exit = yield* Stream.runForEach(parseRecords(bytes, ","), (r) => Effect.sync(() => void seen.push(r.Id!))).pipe(
        Effect.either
      )
      expect(seen).toEqual(["1", "2"])
      expect(Either.isLeft(exit) && exit.left instanceof CsvParseFailure).toBe(true)
      expect(Either.isLeft(exit) ? (exit.left as CsvParseFailure).message : "").toContain("Invalid Record Length")
    }))

  it.effect("mapChunksOrFail: upstream errors pass through; the end's chunk comes last; empty chunks are not written", () =>
    Effect.gen(function*() {
      const chunks: Array<ReadonlyArray<number>> = []
      yield* Stream.runForEachChunk(
        mapChunksOrFail(
          Stream.rechunk(Stream.make(1, 2, 3, 4), 1),
          (c) => Either.right(Chunk.filter(c, (n) => n % 2 === 0)),
          () => Either.right(Chunk.of(99))
        ),
        (c) => Effect.sync(() => void chunks.push(Chunk.toArray(c)))
      )
      expect(chunks).toEqual([[2], [4], [99]])
      const failed = yield* Stream.runCollect(
        mapChunksOrFail(Stream.concat(Stream.make(1), Stream.fail("boom")), (c) => Either.right(c), () => Either.right(Chunk.of(0)))
      ).pipe(Effect.flip)
      expect(failed).toBe("boom")
    }))
})
