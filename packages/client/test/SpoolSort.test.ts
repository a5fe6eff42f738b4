/**
 * The spooled external sort behind `orderByParent` (spoolSort.ts): the order it produces (by key,
 * input order within a key), every row exactly once with its values intact, and its private temp
 * files (0700 directory, 0600 files) gone after success, failure and interruption.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as DateTime from "effect/DateTime"
import * as Equal from "effect/Equal"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { orderedByParent } from "../src/internal/lockRetry.js"
import type { InvalidInputError } from "../src/BulkError.js"
import { compareKeys, sortedBy } from "../src/internal/spoolSort.js"

/** Runs `f` with `os.tmpdir()` pointing at a fresh directory, returned for inspection. */
const withTmp = <A, E>(f: (tmp: string) => Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const saved = process.env["TMPDIR"]
      const tmp = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-sorttest-"))
      process.env["TMPDIR"] = tmp
      return { saved, tmp }
    }),
    ({ tmp }) => f(tmp),
    ({ saved, tmp }) =>
      Effect.sync(() => {
        if (saved === undefined) delete process.env["TMPDIR"]
        else process.env["TMPDIR"] = saved
        Fs.rmSync(tmp, { recursive: true, force: true })
      })
  )

/** Everything under `dir`, as relative paths. */
const under = (dir: string): Array<string> => Fs.readdirSync(dir, { recursive: true }).map(String)

interface Row {
  readonly Id: number
  readonly AccountId?: string | null
  readonly Description: string
}

const PARENTS = ["001B", "001A", "001C", "001é", "001😀", ""]
const rowsOf = (n: number): Array<Row> =>
  Array.from({ length: n }, (_, i) => {
    const p = PARENTS[(i * 7) % PARENTS.length]!
    return {
      Id: i,
      // a row without the parent (absent, null or empty) sorts first
      ...(p === "" ? (i % 2 === 0 ? {} : { AccountId: null }) : { AccountId: p }),
      Description: `line one, "quoted"\nline two ✓ ${i}${i % 5 === 0 ? "\r\n" : ""}`
    }
  })

/** The reference: a stable in-memory sort by the same key. */
const expected = (rows: ReadonlyArray<Row>) =>
  rows.map((r, i) => ({ r, i, k: r.AccountId ?? "" })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i)).map((e) => e.r)

const collect = <A, E>(s: Stream.Stream<A, E>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)

describe("spooled sort by parent", () => {
  for (const limits of [{}, { runRows: 7 }, { runBytes: 300 }]) {
    it.effect(`orders by parent, input order within a parent, every row once with its values (${JSON.stringify(limits)})`, () =>
      withTmp((tmp) =>
        Effect.gen(function*() {
          const rows = rowsOf(500)
          // rechunked so runs end mid-chunk
          const out = yield* collect(
            sortedBy(Stream.rechunk(Stream.fromIterable(rows), 13), (r) => String(r.AccountId ?? ""), limits)
          )
          expect(out).toEqual(expected(rows))
          expect(new Set(out.map((r) => r.Id)).size).toBe(500)
          expect(under(tmp)).toEqual([])
        })
      ))
  }

  it.effect("orderedByParent: the same order on plain rows, Dates and nested values intact", () =>
    withTmp(() =>
      Effect.gen(function*() {
        const rows = rowsOf(200).map((r) => ({ ...r, When: new Date(Date.UTC(2024, 0, 1 + r.Id)), Tags: [r.Id, { n: r.Id }] }))
        const out = yield* collect(sortedBy(Stream.fromIterable(rows), (r) => String(r.AccountId ?? ""), { runRows: 16 }))
        const viaOption = yield* collect(orderedByParent(Stream.fromIterable(rows), { _tag: "Field", field: "AccountId" }))
        expect(out).toEqual(expected(rows))
        expect(viaOption).toEqual(out)
        expect(out[0]!.When).toBeInstanceOf(Date)
      })
    ))

  it.effect("a Schema class row comes back an instance of its class", () =>
    withTmp(() =>
      Effect.gen(function*() {
        class Contact extends Schema.Class<Contact>("Contact")({ LastName: Schema.String, AccountId: Schema.String }) {
          get label() {
            return `${this.LastName}@${this.AccountId}`
          }
        }
        const rows = Array.from({ length: 50 }, (_, i) => new Contact({ LastName: `c${i}`, AccountId: `p${i % 3}` }))
        const out = yield* collect(sortedBy(Stream.fromIterable(rows), (r) => r.AccountId, { runRows: 4 }))
        expect(out.every((r) => r instanceof Contact)).toBe(true)
        expect(out.map((r) => r.label)).toEqual(
          [...rows].sort((a, b) => (a.AccountId < b.AccountId ? -1 : a.AccountId > b.AccountId ? 1 : 0)).map((r) => r.label)
        )
      })
    ))

  it.effect("the run files are private while they exist: a 0700 directory of 0600 files", () =>
    withTmp((tmp) =>
      Effect.gen(function*() {
        let seen: Array<{ readonly path: string; readonly mode: number }> = []
        const out = yield* collect(
          sortedBy(Stream.fromIterable(rowsOf(100)), (r) => String(r.AccountId ?? ""), { runRows: 10 }).pipe(
            Stream.tap(() =>
              Effect.sync(() => {
                if (seen.length === 0) {
                  seen = under(tmp).map((p) => ({ path: p, mode: Fs.statSync(Path.join(tmp, p)).mode & 0o777 }))
                }
              })
            )
          )
        )
        expect(out).toHaveLength(100)
        const dirs = seen.filter((s) => !s.path.includes(Path.sep))
        const files = seen.filter((s) => s.path.includes(Path.sep))
        expect(dirs.length).toBe(1)
        expect(dirs[0]!.mode).toBe(0o700)
        expect(files.length).toBe(10)
        expect(files.every((f) => f.mode === 0o600)).toBe(true)
        expect(under(tmp)).toEqual([])
      })
    ))

  it.effect("temp files are removed when the input fails part way", () =>
    withTmp((tmp) =>
      Effect.gen(function*() {
        const failing = Stream.concat(Stream.fromIterable(rowsOf(100)), Stream.fail("input broke" as const))
        const exit = yield* Effect.exit(collect(sortedBy(failing, (r) => String(r.AccountId ?? ""), { runRows: 10 })))
        expect(exit).toEqual(Exit.fail("input broke"))
        expect(under(tmp)).toEqual([])
      })
    ))

  // live clock: the wait for the merge to start sleeps
  it.live("temp files are removed when the reader stops early or is interrupted mid-merge", () =>
    withTmp((tmp) =>
      Effect.gen(function*() {
        const sorted = () => sortedBy(Stream.fromIterable(rowsOf(300)), (r) => String(r.AccountId ?? ""), { runRows: 10 })
        expect(yield* collect(Stream.take(sorted(), 5))).toHaveLength(5)
        expect(under(tmp)).toEqual([])
        const fiber = yield* Effect.fork(Stream.runDrain(Stream.tap(sorted(), () => Effect.never)))
        // wait until the merge has started (run files exist), then interrupt
        for (let i = 0; i < 1000 && under(tmp).length === 0; i++) yield* Effect.sleep("2 millis")
        expect(under(tmp).length).toBeGreaterThan(0)
        yield* Fiber.interrupt(fiber)
        expect(under(tmp)).toEqual([])
      })
    ))

  it.effect("a parent field that no row has (misspelt, other case) is an InvalidInputError before any row comes out", () =>
    Effect.gen(function*() {
      const rows = [{ LastName: "a", AccountId: "001B" }, { LastName: "b", AccountId: "001A" }]
      const emitted: Array<unknown> = []
      const err = yield* Effect.flip(
        Stream.runForEach(
          orderedByParent(Stream.fromIterable(rows), { _tag: "Field", field: "accountid" }),
          (r) => Effect.sync(() => emitted.push(r))
        )
      )
      expect(err._tag).toBe("InvalidInputError")
      expect(err.message).toMatch(/"accountid".*did you mean "AccountId"/)
      expect(emitted).toEqual([])
      // rows lacking the field here and there (null, absent) still sort; no rows at all is no error
      expect(yield* collect(orderedByParent(Stream.fromIterable([{ LastName: "c" }, ...rows]), { _tag: "Field", field: "AccountId" })))
        .toHaveLength(3)
      expect(yield* collect(orderedByParent(Stream.fromIterable([] as Array<Row>), { _tag: "Field", field: "AccountId" }))).toEqual([])
    }))

  it.effect("more runs than the merge takes at once are merged in passes: order and values intact, at most fanIn run files open", () =>
    withTmp((tmp) =>
      Effect.gen(function*() {
        const rows = rowsOf(700)
        let runFiles = -1
        const out = yield* collect(
          sortedBy(Stream.fromIterable(rows), (r) => String(r.AccountId ?? ""), { runRows: 2, fanIn: 8 }).pipe(
            // the final merge has every run it reads open: counted when the first row comes out
            Stream.tap(() => Effect.sync(() => void (runFiles < 0 && (runFiles = under(tmp).filter((p) => p.endsWith(".bin")).length))))
          )
        )
        // failed before: all 350 runs were opened at once (EMFILE past the process's descriptor limit,
        // e.g. 1,024: an input of some 8 GB at the default 8 MiB runs, and the run files left behind)
        expect(runFiles).toBeGreaterThan(0)
        expect(runFiles).toBeLessThanOrEqual(8)
        expect(out).toEqual(expected(rows))
        expect(under(tmp)).toEqual([])
      })
    ))

  // live clock: the wait for the merge passes to start sleeps
  it.live("interrupted during the merge passes, no file is left", () =>
    withTmp((tmp) =>
      Effect.gen(function*() {
        const sorted = sortedBy(Stream.fromIterable(rowsOf(1200)), (r) => String(r.AccountId ?? ""), { runRows: 1, fanIn: 3 })
        const fiber = yield* Effect.fork(Stream.runDrain(sorted))
        for (let i = 0; i < 2000 && !under(tmp).some((p) => p.includes("run-p")); i++) yield* Effect.sleep("1 millis")
        expect(under(tmp).some((p) => p.includes("run-p"))).toBe(true)
        yield* Fiber.interrupt(fiber)
        expect(under(tmp)).toEqual([])
      })
    ))

  it.effect("a temp directory that cannot be made is an InvalidInputError saying to point TMPDIR elsewhere", () =>
    withTmp((tmp) =>
      Effect.gen(function*() {
        process.env["TMPDIR"] = Path.join(tmp, "missing")
        const err = yield* Effect.flip(
          collect(sortedBy(Stream.fromIterable(rowsOf(50)), (r) => String(r.AccountId ?? ""), { runRows: 10 }))
        )
        expect(err).toMatchObject({ _tag: "InvalidInputError" })
        // failed before: "cannot create a temp directory to spool uploads: Error: ENOENT ..." (no way out)
        expect((err as InvalidInputError).message).toMatch(/Point TMPDIR at a writable directory/)
      })
    ))

  /** Keys from every range where UTF-8 byte order and JavaScript's order could part: ASCII, 2- and 3-byte characters, U+E000-U+FFFF, astral ones. */
  const ALPHABET = [
    "",
    "0",
    "1",
    "A",
    "a",
    "\u00e9",
    "\u07ff",
    "\u0800",
    "\u4e2d",
    "\ud7ff",
    "\ue000",
    "\uf8ff",
    "\ufffd",
    "\uffff",
    "\u{10000}",
    "\u{1f600}",
    "\u{10ffff}"
  ]
  /** A small deterministic generator (no Math.random: a failure reproduces). */
  const keysOf = (n: number, seed: number): Array<string> => {
    let x = seed
    // MINSTD: exact in doubles
    const next = () => (x = (x * 48271) % 2147483647)
    return Array.from({ length: n }, () => {
      let k = "001"
      for (let len = next() % 4; len > 0; len--) k += ALPHABET[next() % ALPHABET.length]
      return k
    })
  }

  it("compareKeys orders UTF-8 keys as JavaScript orders the strings (U+E000-U+FFFF after the characters past U+FFFF)", () => {
    const keys = keysOf(400, 7)
    const bytes = keys.map((k) => Buffer.from(k, "utf8"))
    let mismatches = 0
    for (let i = 0; i < keys.length; i++) {
      for (let j = 0; j < keys.length; j++) {
        const js = Math.sign(keys[i]! < keys[j]! ? -1 : keys[i]! > keys[j]! ? 1 : 0)
        const a = bytes[i]!
        const b = bytes[j]!
        if (Math.sign(compareKeys(a, 0, a.length, b, 0, b.length)) !== js) mismatches++
      }
    }
    // plain byte order would put every astral key before U+E000-U+FFFF: many mismatches
    expect(mismatches).toBe(0)
    expect(compareKeys(Buffer.from("\u{1f600}"), 0, 4, Buffer.from("\uffff"), 0, 3)).toBeLessThan(0)
  })

  for (const limits of [{}, { runRows: 5, fanIn: 2 }]) {
    it.effect(`keys of every character range come out in JavaScript's order, ties in input order (${JSON.stringify(limits)})`, () =>
      withTmp((tmp) =>
        Effect.gen(function*() {
          const rows = keysOf(300, 11).map((k, Id) => ({ Id, AccountId: k, Description: k }))
          const out = yield* collect(sortedBy(Stream.rechunk(Stream.fromIterable(rows), 17), (r) => r.AccountId, limits))
          expect(out).toEqual(expected(rows))
          expect(under(tmp)).toEqual([])
        })
      ))
  }

  it.effect("rows larger than a reader's block, among small ones, through several merge passes: order and values intact", () =>
    withTmp((tmp) =>
      Effect.gen(function*() {
        // sizes around the 64 KiB read block and the 1 MiB write block, so records straddle both
        const sizes = [10, 65_536 - 40, 65_536, 65_536 + 40, 3, 1_048_576 - 30, 1_048_576 + 30, 200_000, 1]
        const rows = Array.from({ length: 45 }, (_, Id) => ({
          Id,
          AccountId: `p${(Id * 5) % 7}`,
          Description: String.fromCharCode(97 + (Id % 26)).repeat(sizes[Id % sizes.length]!)
        }))
        const out = yield* collect(sortedBy(Stream.fromIterable(rows), (r) => r.AccountId, { runRows: 2, fanIn: 2 }))
        expect(out).toEqual(expected(rows))
        expect(under(tmp)).toEqual([])
      })
    ))

  it.effect("typed rows (Dates, undefined values, class instances) come back as they were: same values, same property order, same class", () =>
    withTmp(() =>
      Effect.gen(function*() {
        class Typed {
          constructor(readonly AccountId: string, readonly When: Date, readonly Note: string | undefined, readonly Id: number) {}
        }
        class WithToJson {
          constructor(readonly AccountId: string, readonly Id: number) {}
          toJSON() {
            return { lost: true }
          }
        }
        const rows: Array<unknown> = Array.from({ length: 60 }, (_, i) =>
          i % 3 === 0
            ? new Typed(`p${i % 4}`, new Date(Date.UTC(1900 + i, 0, 1, 0, 0, 0, i)), i % 2 === 0 ? undefined : "n", i)
            : i % 3 === 1
            ? {
              Id: i,
              When: new Date(-8.64e15 + i),
              Gone: undefined,
              AccountId: `p${i % 4}`,
              // a relationship struct, as a Schema's typed row holds one
              Account: { External_Id__c: `E${i}`, Since: new Date(i * 1000), Note: undefined },
              Last: "x"
            }
            : new WithToJson(`p${i % 4}`, i))
        const keyOf = (r: unknown) => (r as { readonly AccountId: string }).AccountId
        for (const limits of [{}, { runRows: 7, fanIn: 2 }]) {
          const out = yield* collect(sortedBy(Stream.fromIterable(rows), keyOf, limits))
          const want = rows.map((r, i) => ({ r, i })).sort((
            a,
            b
          ) => (keyOf(a.r) < keyOf(b.r) ? -1 : keyOf(a.r) > keyOf(b.r) ? 1 : a.i - b.i)).map(
            (e) => e.r
          )
          expect(out).toStrictEqual(want)
          for (const [i, r] of out.entries()) {
            // the same class, the same properties in the same order (an undefined one still there)
            expect(Object.getPrototypeOf(r)).toBe(Object.getPrototypeOf(want[i]))
            expect(Object.keys(r as object)).toEqual(Object.keys(want[i] as object))
          }
          expect(out.filter((r) => r instanceof Typed).every((r) => (r as Typed).When instanceof Date)).toBe(true)
        }
      })
    ))

  it.effect("a relationship field named (Account.External_Id__c) on typed rows holding it nested: sorted by it, not 'no row has'", () =>
    withTmp(() =>
      Effect.gen(function*() {
        const rows = Array.from({ length: 40 }, (_, i) => ({ LastName: `c${i}`, Account: { External_Id__c: `EXT-${(i * 7) % 5}` } }))
        // failed before: InvalidInputError "orderByParent names the field "Account.External_Id__c", which no row has"
        const out = yield* collect(orderedByParent(Stream.fromIterable(rows), { _tag: "Field", field: "Account.External_Id__c" }))
        const key = (r: (typeof rows)[number]) => r.Account.External_Id__c.toLowerCase()
        expect(out).toEqual(
          rows.map((r, i) => ({ r, i })).sort((a, b) => (key(a.r) < key(b.r) ? -1 : key(a.r) > key(b.r) ? 1 : a.i - b.i)).map((e) => e.r)
        )
      })
    ))

  it.effect("rows of 70 classes, and Option and DateTime values inside rows: each comes back an instance of its own class", () =>
    withTmp(() =>
      Effect.gen(function*() {
        // more classes than a record's form byte has room for (63): the marks carry the rest
        const classes = Array.from({ length: 70 }, (_, n) =>
          class {
            readonly n = n
            constructor(readonly AccountId: string, readonly Since: Option.Option<DateTime.Utc>) {}
          })
        const rows = Array.from({ length: 140 }, (_, i) => {
          const C = classes[i % 70]!
          return new C(`p${i % 3}`, i % 2 === 0 ? Option.some(DateTime.unsafeMake(Date.UTC(2024, 0, 1 + i))) : Option.none())
        })
        const out = yield* collect(sortedBy(Stream.fromIterable(rows), (r) => r.AccountId, { runRows: 9 }))
        const want = rows.map((r, i) => ({ r, i })).sort((
          a,
          b
        ) => (a.r.AccountId < b.r.AccountId ? -1 : a.r.AccountId > b.r.AccountId ? 1 : a.i - b.i))
        expect(out).toHaveLength(140)
        for (const [j, r] of out.entries()) {
          const w = want[j]!.r
          expect(Object.getPrototypeOf(r)).toBe(Object.getPrototypeOf(w))
          expect(Option.isOption(r.Since)).toBe(true)
          expect(Equal.equals(r.Since, w.Since)).toBe(true)
          if (Option.isSome(r.Since)) {
            expect(DateTime.formatIso(r.Since.value)).toBe(DateTime.formatIso((w.Since as Option.Some<DateTime.Utc>).value))
          }
        }
      })
    ))
})
