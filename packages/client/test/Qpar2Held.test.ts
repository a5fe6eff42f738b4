/**
 * Pages the parallel query download holds (`heldBody`) are kept in buffers of their own and handed
 * back the moment they are used (`heldRecords`): the rows still come out whole, once, in order,
 * whatever the gzip looks like (one member, several, larger than what is inflated at once, none).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Zlib from "node:zlib"
import { heldRecords } from "../src/internal/bulk2.js"
import { OwnedBytes } from "../src/internal/ownedBytes.js"

const req = { method: "GET", path: "/services/data/v66.0/jobs/query/750x/results", api: "2.0" } as const

const rowsOf = (from: number, n: number) =>
  Array.from({ length: n }, (_, k) => ({ Id: `001${String(from + k).padStart(15, "0")}`, Name: `Zoë ${from + k} 東京 🚀` }))
const csvOf = (rows: ReadonlyArray<{ Id: string; Name: string }>) => `Id,Name\n${rows.map((r) => `${r.Id},"${r.Name}"`).join("\n")}\n`

/** `bytes` in a buffer of its own, as `heldBody` gives a page. */
const own = (bytes: Uint8Array) => new Uint8Array(bytes)

const read = (held: Uint8Array) => Stream.runCollect(heldRecords(req, held, ",")).pipe(Effect.map(Chunk.toReadonlyArray))

describe("held pages of the parallel query download", () => {
  it.effect("a gzip page: every row once, in order, multi-byte text intact; its held bytes handed back once inflated", () =>
    Effect.gen(function*() {
      const rows = rowsOf(0, 5_000)
      const held = own(Zlib.gzipSync(csvOf(rows)))
      expect(held.byteLength).toBeGreaterThan(0)
      expect(yield* read(held)).toEqual(rows)
      // detached: its memory is back now, not at V8's next full GC (before this, nothing freed it)
      expect(held.byteLength).toBe(0)
    }))

  it.effect("a page the server did not compress is read as it is, and handed back once read", () =>
    Effect.gen(function*() {
      const rows = rowsOf(7, 3_000)
      const held = own(new TextEncoder().encode(csvOf(rows)))
      expect(yield* read(held)).toEqual(rows)
      expect(held.byteLength).toBe(0)
    }))

  it.effect("a gzip of several members (its trailer names only the last one's size): every row once", () =>
    Effect.gen(function*() {
      const rows = rowsOf(0, 2_000)
      const text = csvOf(rows)
      const cut = text.indexOf("\n", text.length >> 1) + 1
      const held = own(Buffer.concat([Zlib.gzipSync(text.slice(0, cut)), Zlib.gzipSync(text.slice(cut))]))
      expect(yield* read(held)).toEqual(rows)
    }))

  it.effect(
    "a page larger once inflated than what is inflated at once (16 MB), its trailer understating it: every row once",
    () =>
      Effect.gen(function*() {
        const n = 450_000 // ~19 MB of UTF-8
        const text = csvOf(rowsOf(0, n))
        expect(Buffer.byteLength(text)).toBeGreaterThan(16 * 1024 * 1024)
        // two gzip members, the last one a single row: the trailer names 1 row's size, so the inflate
        // at once is tried and stops at its bound, and the page is read as it inflates instead
        const cut = text.lastIndexOf("\n", text.length - 2) + 1
        const gz = own(Buffer.concat([Zlib.gzipSync(text.slice(0, cut), { level: 1 }), Zlib.gzipSync(text.slice(cut))]))
        let count = 0
        let last = ""
        yield* Stream.runForEachChunk(heldRecords(req, gz, ","), (c) =>
          Effect.sync(() => {
            count += c.length
            if (c.length > 0) last = Chunk.unsafeLast(c)["Id"]!
          }))
        expect(count).toBe(n)
        expect(last).toBe(`001${String(n - 1).padStart(15, "0")}`)
        expect(gz.byteLength).toBe(0)
      }),
    60_000
  )

  it.effect("a gzip cut short fails as an answer cut off (so the page is fetched again)", () =>
    Effect.gen(function*() {
      const gz = Zlib.gzipSync(csvOf(rowsOf(0, 1_000)))
      // (its trailer is then deflate data: most often read as over 16 MB, so inflated as it is read,
      // whose held bytes are left to the GC on a failure: the inflater may still be reading them)
      const held = own(gz.subarray(0, gz.length >> 1))
      const error = yield* Effect.flip(read(held))
      expect(error._tag).toBe("TransportError")
      expect(error.message).toMatch(/cut off/)
    }))
})

describe("OwnedBytes", () => {
  it("pieces copied as they come give the bytes whole, in a buffer of their own and of their exact size", () => {
    const bytes = new OwnedBytes(16)
    const pieces = Array.from({ length: 50 }, (_, i) => Uint8Array.from({ length: 1 + (i * 7) % 33 }, (_, k) => (i + k) & 0xff))
    for (const p of pieces) bytes.push(p)
    const whole = bytes.take()
    expect(Array.from(whole)).toEqual(pieces.flatMap((p) => Array.from(p)))
    expect(whole.byteOffset).toBe(0)
    expect(whole.buffer.byteLength).toBe(whole.byteLength)
  })
})
