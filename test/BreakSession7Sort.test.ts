/**
 * Break session 7: spoolSort.ts's reused buffers (a run encoded into one arena, `RecordWriter`'s one
 * reused block) against rows larger than the arena and the block, rows of every kind in one run
 * (JSON text and `v8.serialize`), multi-byte keys and values, rows without the key or with a null
 * one; every row once, in stable key order, values intact, no file left.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { withOwnTmpdir } from "./FaultsSupport.js"
import { forEachRecord, recordsOf, RecordWriter, sortedBy } from "../packages/client/src/internal/spoolSort.js"

const withTmp = <A, E>(f: (tmp: string) => Effect.Effect<A, E>): Effect.Effect<A, E> => withOwnTmpdir("sfbulk-break7-sort-", f)
const under = (dir: string): Array<string> => Fs.readdirSync(dir, { recursive: true }).map(String)
const collect = <A, E>(s: Stream.Stream<A, E>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)

const PARENTS = ["001B", "001é", "001😀", "", "001A"]
const BIG = 9 * 1024 * 1024
const valueOf = (i: number): string =>
  i % 50 === 7 ? "😀é\r\n\"".repeat(BIG / 12) + `#${i}` : i % 50 === 8 ? "" : `v ${i} "q", \r\n€ ${"z".repeat(i % 300)}`

type Row = Record<string, unknown>
const rowsOf = (n: number): Array<Row> =>
  Array.from({ length: n }, (_, i) => {
    const p = PARENTS[i % PARENTS.length]!
    const base: Row = { Id: `r${i}`, Description: valueOf(i) }
    // without the key: absent, null, or empty; every 11th row not flat JSON (a Date, an undefined value)
    if (p !== "") base.AccountId = p
    else if (i % 2 === 1) base.AccountId = null
    if (i % 11 === 0) base.When = new Date(Date.UTC(2024, 0, 1 + (i % 28)))
    if (i % 13 === 0) base.Missing = undefined
    return base
  })
const keyOf = (r: Row) => (r.AccountId === undefined || r.AccountId === null ? "" : String(r.AccountId))
const expected = (rows: ReadonlyArray<Row>) =>
  rows.map((r, i) => ({ r, i, k: keyOf(r) })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i)).map((e) => e.r)

describe("spooled sort with rows larger than its buffers", () => {
  for (const limits of [{}, { runBytes: 64 * 1024 }, { runRows: 3, fanIn: 2 }]) {
    it.effect(
      `rows of 9 MiB among small ones, every kind in a run: order, values, no file left (${JSON.stringify(limits)})`,
      () =>
        withTmp((tmp) =>
          Effect.gen(function*() {
            const rows = rowsOf(160)
            const out = yield* collect(sortedBy(Stream.rechunk(Stream.fromIterable(rows), 7), keyOf, limits))
            const want = expected(rows)
            expect(out.length).toBe(want.length)
            expect(out.map((r) => r.Id)).toEqual(want.map((r) => r.Id))
            for (let k = 0; k < out.length; k++) {
              expect(out[k]!.Description === want[k]!.Description).toBe(true)
              expect(out[k]).toEqual(want[k])
              expect("Missing" in out[k]!).toBe("Missing" in want[k]!)
            }
            expect(under(tmp)).toEqual([])
          })
        ),
      120_000
    )
  }
})

describe("RecordWriter: one reused block, records larger than it", () => {
  it.effect(
    "records of every size, several over the block, read back in order byte for byte, and copied as stored",
    () =>
      withTmp((tmp) =>
        Effect.gen(function*() {
          const rows = Array.from({ length: 400 }, (_, i) => ({
            k: `key-${i}-é😀`,
            row: { n: String(i), v: i % 37 === 0 ? "é😀\r\n\"".repeat(60_000) : i % 5 === 0 ? "" : `small ${i} ,"\r\n` }
          }))
          const path = Path.join(tmp, "a.bin")
          // a 4 KiB block: most records fit, the big ones (~660 KB) do not
          const w = new RecordWriter(path, 4096)
          for (const r of rows) w.addJson(r.k, JSON.stringify(r.row))
          w.close()
          w.close()
          expect(Fs.statSync(path).mode & 0o777).toBe(0o600)
          const back = yield* collect(recordsOf(path, (key, row) => ({ k: key, row })))
          expect(back).toEqual(rows)
          // each record copied as stored into one of two files (the group split of a lock round)
          const paths = [Path.join(tmp, "g0.bin"), Path.join(tmp, "g1.bin")]
          const ws = paths.map((p) => new RecordWriter(p, 1024))
          let i = 0
          yield* forEachRecord(path, (_, record) => ws[i++ % 2]!.add(record))
          ws.forEach((x) => x.close())
          const g0 = yield* collect(recordsOf(paths[0]!, (key, row) => ({ k: key, row })))
          const g1 = yield* collect(recordsOf(paths[1]!, (key, row) => ({ k: key, row })))
          expect(g0).toEqual(rows.filter((_, j) => j % 2 === 0))
          expect(g1).toEqual(rows.filter((_, j) => j % 2 === 1))
        })
      ),
    60_000
  )
})
