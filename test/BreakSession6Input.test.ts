/**
 * Breaking session 6's synchronous input stages (rows.ts `toStream`/`mapChunksSync`, ingest2.ts
 * `encodeLines`): rows that fail while read (a generator that throws mid-way, a row whose field
 * getter throws, an async iterable that rejects, a Stream that fails) must end the ingest with a
 * typed error, upload nothing, and leave no spool file behind.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient } from "../packages/client/src/index.js"
import { InvalidInputError } from "../packages/client/src/BulkError.js"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import { clientLayer, type Emu, ownTmpdir, poll, startEmulator } from "./FaultsSupport.js"

let emu: Emu
// a temp directory of this file's own: other processes' sfbulk- entries under the shared one are not ours
const tmp = ownTmpdir("b6input-")
beforeAll(async () => {
  emu = await startEmulator(61)
})
afterAll(async () => {
  await emu?.close()
})

const temps = () => new Set(Fs.readdirSync(tmp()).filter((n) => n.startsWith("sfbulk-")))

/** Runs an insert; its exit, the sfbulk temp entries it left, and how many `tag` Accounts landed. */
const attempt = async (tag: string, rows: unknown, api: "1.0" | "2.0") => {
  const before = temps()
  const exit = await Effect.runPromiseExit(
    Effect.provide(BulkClient.insert("Account", rows as Iterable<{ Name: string }>, { ...poll, api, batchSize: 100 }), clientLayer(emu))
  )
  const left = [...temps()].filter((n) => !before.has(n))
  const q = emu.org.query(`SELECT Name FROM Account WHERE Name LIKE '${tag}-%'`)
  if (!q.ok) throw new Error(q.error.message)
  return { exit, left, landed: q.result.size }
}

/** The typed failure of an exit, or the defect's text when it died. */
const failureOf = (exit: Exit.Exit<unknown, unknown>) => {
  if (Exit.isSuccess(exit)) return { kind: "success" as const }
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "Some") return { kind: "failure" as const, error: failure.value }
  return { kind: "defect" as const, error: Cause.pretty(exit.cause) }
}

function* throwingGenerator(tag: string, n: number) {
  for (let i = 0; i < n; i++) {
    if (i === 700) throw new Error("the source file is unreadable")
    yield { Name: `${tag}-${i}` }
  }
}

describe.each(["2.0", "1.0"] as const)("rows that fail while read (%s)", (api) => {
  it.live("a synchronous generator that throws mid-way: a typed InvalidInputError, nothing uploaded, no temp file", () =>
    Effect.promise(async () => {
      const tag = `b6gen${api.replace(".", "")}`
      const r = await attempt(tag, throwingGenerator(tag, 2_000), api)
      const f = failureOf(r.exit)
      expect(f.kind).toBe("failure")
      if (f.kind === "failure") {
        expect(f.error).toBeInstanceOf(InvalidInputError)
        expect(String((f.error as InvalidInputError).what)).toContain("the source file is unreadable")
      }
      expect(r.landed).toBe(0)
      expect(r.left).toEqual([])
    }))

  it.live("a row whose field getter throws: a typed InvalidInputError naming the row, nothing uploaded", () =>
    Effect.promise(async () => {
      const tag = `b6get${api.replace(".", "")}`
      const rows = Array.from({ length: 600 }, (_, i) =>
        i === 450
          ? Object.defineProperty({}, "Name", {
            enumerable: true,
            get: () => {
              throw new Error("lazy field failed")
            }
          })
          : { Name: `${tag}-${i}` })
      const r = await attempt(tag, rows, api)
      const f = failureOf(r.exit)
      expect(f.kind).toBe("failure")
      if (f.kind === "failure") {
        expect(f.error).toBeInstanceOf(InvalidInputError)
        expect(f.error).toMatchObject({ row: 450 })
        expect(String((f.error as InvalidInputError).what)).toContain("lazy field failed")
      }
      expect(r.landed).toBe(0)
      expect(r.left).toEqual([])
    }))

  it.live("an async iterable that rejects mid-way: a typed InvalidInputError, nothing uploaded, no temp file", () =>
    Effect.promise(async () => {
      const tag = `b6async${api.replace(".", "")}`
      async function* rows() {
        for (let i = 0; i < 1_500; i++) {
          if (i === 1_234) throw new Error("socket closed")
          yield { Name: `${tag}-${i}` }
        }
      }
      const r = await attempt(tag, rows(), api)
      const f = failureOf(r.exit)
      expect(f.kind).toBe("failure")
      if (f.kind === "failure") expect(f.error).toBeInstanceOf(InvalidInputError)
      expect(r.landed).toBe(0)
      expect(r.left).toEqual([])
    }))

  it.live("a Stream that fails with the caller's error: that error, typed, nothing uploaded, no temp file", () =>
    Effect.promise(async () => {
      const tag = `b6stream${api.replace(".", "")}`
      const rows = Stream.concat(
        Stream.fromIterable(Array.from({ length: 900 }, (_, i) => ({ Name: `${tag}-${i}` }))),
        Stream.fail({ _tag: "SourceGone" as const })
      )
      const r = await attempt(tag, rows, api)
      const f = failureOf(r.exit)
      expect(f).toEqual({ kind: "failure", error: { _tag: "SourceGone" } })
      expect(r.landed).toBe(0)
      expect(r.left).toEqual([])
    }))
})

describe.each(["2.0", "1.0"] as const)("interrupted while spooling (%s)", (api) => {
  it.live("the run is cut while the input is being read and spooled: nothing uploaded, the spool removed", () =>
    Effect.promise(async () => {
      const tag = `b6spool${api.replace(".", "")}`
      let reached: () => void = () => undefined
      let during = 0
      const spooling = new Promise<void>((resolve) => (reached = resolve))
      // rows enough for several spool files, then an input that never ends, a row every 20 ms (a
      // source stuck for good would hold the interruption: an async generator's return() waits for it)
      async function* rows() {
        for (let i = 0;; i++) {
          if (i === 3_000) {
            during = [...temps()].filter((n) => !before.has(n)).length
            reached()
          }
          if (i >= 3_000) await new Promise((resolve) => setTimeout(resolve, 20))
          yield { Name: `${tag}-${i}`, Description: "é😀".repeat(200) }
        }
      }
      const before = temps()
      const exit = await Effect.runPromiseExit(
        Effect.provide(
          BulkClient.insert("Account", rows(), { ...poll, api, batchSize: 200 }).pipe(
            Effect.raceFirst(Effect.andThen(Effect.promise(() => spooling), Effect.fail("cut" as const)))
          ),
          clientLayer(emu)
        )
      )
      expect(failureOf(exit)).toEqual({ kind: "failure", error: "cut" })
      // the spool existed when the run was cut
      expect(during).toBeGreaterThan(0)
      expect([...temps()].filter((n) => !before.has(n))).toEqual([])
      const q = emu.org.query(`SELECT Name FROM Account WHERE Name LIKE '${tag}-%'`)
      expect(q.ok && q.result.size).toBe(0)
    }))
})
