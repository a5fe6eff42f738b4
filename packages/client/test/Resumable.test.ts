/**
 * `resumable`: a download cut off after some rows is fetched again and the rows already emitted are
 * skipped, so the collected result holds every row once, in order.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { TransportError } from "../src/BulkError.js"
import { resumable } from "../src/internal/resumable.js"

const cut = new TransportError({ description: "the answer was cut off", method: "GET", url: "/results", mayHaveReachedServer: true })
const rows = Array.from({ length: 3000 }, (_, i) => i)
const chunks = (...sizes: Array<number>) => {
  let at = 0
  return Stream.fromChunks(...sizes.map((n) => Chunk.unsafeFromArray(rows.slice(at, at += n))))
}

describe("resumable", () => {
  it.live("a download cut mid-way resumes: every row once, in order (skip inside a chunk)", () =>
    Effect.gen(function*() {
      let fetches = 0
      const got = yield* Stream.runCollect(resumable(() => {
        fetches++
        // the second answer arrives in other chunks than the first: the skip ends inside one (this
        // shape lost the rest of that chunk when collected, through a Chunk.drop slice)
        return fetches === 1 ? Stream.concat(chunks(1517), Stream.fail(cut)) : chunks(2076, 924)
      }))
      expect(fetches).toBe(2)
      expect(Chunk.toReadonlyArray(got)).toEqual(rows)
    }))

  it.effect("an answer that cannot be parsed is not fetched again", () =>
    Effect.gen(function*() {
      let fetches = 0
      const bad = new TransportError({
        description: "bad CSV",
        method: "GET",
        url: "/results",
        mayHaveReachedServer: true,
        unparseable: true
      })
      const error = yield* Effect.flip(Stream.runCollect(resumable(() => {
        fetches++
        return Stream.concat(chunks(10), Stream.fail(bad))
      })))
      expect(error).toBe(bad)
      expect(fetches).toBe(1)
    }))
})
