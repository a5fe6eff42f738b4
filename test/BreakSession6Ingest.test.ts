/**
 * Breaking session 6's upload path (rows pulled 256 at a time and encoded synchronously, spool
 * files read back per batch, 1.0 batch bodies detached once added: ingest1.ts `freeNow`): values
 * byte for byte across block, batch and job boundaries with the limits scaled down, under lost,
 * cut and stalled answers to the uploads; every record once; spool files private and removed.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient } from "../packages/client/src/index.js"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { clientLayer, collect, type Emu, ownTmpdir, poll, startEmulator } from "./FaultsSupport.js"

let emu: Emu
// a temp directory of this file's own: what is left in it (and its modes) is ours alone
const tmp = ownTmpdir("b6ingest-")
beforeAll(async () => {
  emu = await startEmulator(67)
})
afterAll(async () => {
  await emu?.close()
})

/** Every file under the temp directory, with its mode. */
const spoolFiles = (): Array<{ path: string; mode: number }> =>
  (Fs.readdirSync(tmp(), { recursive: true }) as Array<string>).map((p) => Path.join(tmp(), p)).filter((p) => Fs.statSync(p).isFile())
    .map((p) => ({ path: p, mode: Fs.statSync(p).mode & 0o777 }))

const PIECES = ["é", "€", "😀", "\r\n", "\"", ",", "a", "\n", "𝄞", "ß", " ", "\u00a0", "👩‍👩‍👧"]

/** A Description whose multi-byte characters, quotes and line breaks fall at every offset. */
const description = (i: number): string => {
  let s = "x".repeat(i % 7)
  const n = i % 50 === 0 ? 6_000 : 10 + (i % 37)
  for (let k = 0; s.length < n; k++) s += PIECES[(i + k * 5) % PIECES.length]!
  return s
}

const rows = (tag: string, n: number) => Array.from({ length: n }, (_, i) => ({ Name: `${tag}-${i}`, Description: description(i) }))

/** The landed records of `tag`: Name -> Descriptions stored under it (one each when nothing doubled). */
const landed = (tag: string): Map<string, Array<string>> => {
  const q = emu.org.query(`SELECT Name, Description FROM Account WHERE Name LIKE '${tag}-%'`)
  if (!q.ok) throw new Error(q.error.message)
  const out = new Map<string, Array<string>>()
  for (let i = 0; i < q.result.size; i++) {
    const [name, desc] = q.result.row(i) as [string, string]
    out.set(name, [...(out.get(name) ?? []), desc])
  }
  return out
}

const expectIntact = (tag: string, input: ReadonlyArray<{ Name: string; Description: string }>) => {
  const got = landed(tag)
  expect(got.size).toBe(input.length)
  const wrong = input.filter((r) => {
    const d = got.get(r.Name)
    return d === undefined || d.length !== 1 || d[0] !== r.Description
  })
  expect(wrong.map((r) => r.Name)).toEqual([])
}

const UPLOADS = "^(POST /services/async/[^/]+/job/[^/]+/batch|PUT /services/data/[^/]+/jobs/ingest/[^/]+/batches)$"

describe.each(["1.0", "2.0"] as const)("values byte for byte, every record once (%s)", (api) => {
  const limits = api === "1.0" ? { maxBatchRecords: 97, maxBatchChars: 30_000 } : { maxJobBytes: 60_000 }

  it.live("small batches/jobs, uploads losing, cutting and stalling their answers", () =>
    Effect.gen(function*() {
      const tag = `b6up${api.replace(".", "")}`
      const input = rows(tag, 1_500)
      const modes: Array<number> = []
      const f0 = emu.stats().faults
      const hits = (f: typeof f0) => f["lost-answer"] + f.reset + f.stall
      emu.setFaults("lost-answer=0.25,reset=0.15,stall=0.15", { seed: 67, match: UPLOADS })
      const outcome = yield* BulkClient.insert("Account", input, {
        ...poll,
        api,
        ...limits,
        onProgress: () => {
          for (const f of spoolFiles()) modes.push(f.mode)
        }
      }).pipe(Effect.ensuring(Effect.sync(() => emu.setFaults("", { seed: 67 }))))
      expect(outcome.summary).toMatchObject({ rowsRead: 1_500, succeeded: 1_500, failed: 0, unprocessed: 0 })
      // the faults hit uploads (a retry re-sends a body; 1.0's is detached once its batch was added)
      expect(hits(emu.stats().faults) - hits(f0)).toBeGreaterThan(2)
      const ok = yield* collect(outcome.successes)
      // 1.0: each success at its position, its row re-read from the request as uploaded; 2.0: the row echoed
      if (api === "1.0") expect(ok.map((s) => s.position)).toEqual(input.map((_, i) => i))
      const echoed = [...ok].sort((a, b) => Number(a.row.Name!.split("-")[1]) - Number(b.row.Name!.split("-")[1]))
      expect(echoed.map((s) => s.row)).toEqual(input)
      expect(new Set(ok.map((s) => s.id)).size).toBe(1_500)
      expectIntact(tag, input)
      expect(spoolFiles()).toEqual([])
      expect(modes.filter((m) => (m & 0o077) !== 0)).toEqual([])
    }).pipe(Effect.provide(clientLayer(emu))), 120_000)

  it.live("0 rows with allowEmpty, 1 row, exactly one batch/job limit of rows", () =>
    Effect.gen(function*() {
      const tag = `b6edge${api.replace(".", "")}`
      const none = yield* BulkClient.insert("Account", [] as Array<{ Name: string }>, { ...poll, api, allowEmpty: true })
      expect(none.summary).toMatchObject({ rowsRead: 0, succeeded: 0 })
      const one = rows(`${tag}a`, 1)
      const o1 = yield* BulkClient.insert("Account", one, { ...poll, api, ...limits })
      expect(o1.summary).toMatchObject({ rowsRead: 1, succeeded: 1 })
      expectIntact(`${tag}a`, one)
      const exact = rows(`${tag}b`, 97 * 3)
      const o2 = yield* BulkClient.insert("Account", exact, { ...poll, api, maxBatchRecords: 97 })
      expect(o2.summary).toMatchObject({ rowsRead: 291, succeeded: 291 })
      if (api === "1.0") expect(o2.summary.batchIds.length).toBe(3)
      expectIntact(`${tag}b`, exact)
      expect(spoolFiles()).toEqual([])
    }).pipe(Effect.provide(clientLayer(emu))), 60_000)

  it.live("a row over the batch/job byte limit: a typed InvalidInputError before any upload, no spool left", () =>
    Effect.gen(function*() {
      const tag = `b6big${api.replace(".", "")}`
      const input = rows(tag, 120)
      input[77] = { Name: `${tag}-77`, Description: "😀".repeat(20_000) }
      const err = yield* Effect.flip(BulkClient.insert("Account", input, { ...poll, api, ...limits }))
      expect(err._tag).toBe("InvalidInputError")
      expect(landed(tag).size).toBe(0)
      expect(spoolFiles()).toEqual([])
    }).pipe(Effect.provide(clientLayer(emu))), 60_000)
})

describe.each(["1.0", "2.0"] as const)("killed mid-upload, resumed from the journal (%s)", (api) => {
  const limits = api === "1.0" ? { maxBatchRecords: 97, maxBatchChars: 30_000 } : { maxJobBytes: 60_000 }

  it.live.each([2, 5])(
    "interrupted once %i pieces were uploaded: resume lands every record once, intact; no spool left",
    (after) =>
      Effect.gen(function*() {
        const tag = `b6kill${api.replace(".", "")}x${after}`
        const input = rows(tag, 1_500)
        const journal = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "b6journal-")), "j.jsonl")
        const enough = yield* Deferred.make<void>()
        const first = yield* BulkClient.insert("Account", input, {
          ...poll,
          api,
          ...limits,
          journal,
          concurrency: 3,
          onProgress: (p) => {
            if (p.piecesSubmitted >= after) Effect.runSync(Deferred.succeed(enough, undefined))
          }
        }).pipe(Effect.raceFirst(Effect.andThen(Deferred.await(enough), Effect.fail("killed" as const))), Effect.exit)
        // the process "died": the run was cut (interrupted) before it could finish
        expect(Exit.isSuccess(first)).toBe(false)
        const partial = landed(tag).size
        expect(partial).toBeGreaterThan(0)
        expect(partial).toBeLessThan(1_500)
        expect(spoolFiles().filter((f) => !f.path.includes("b6journal-"))).toEqual([])
        emu.setFaults("lost-answer=0.2,reset=0.1,stall=0.1", { seed: after, match: UPLOADS })
        const outcome = yield* BulkClient.insert("Account", input, { ...poll, api, ...limits, journal }).pipe(
          Effect.ensuring(Effect.sync(() => emu.setFaults("", { seed: 67 })))
        )
        expect(outcome.summary).toMatchObject({ rowsRead: 1_500, succeeded: 1_500, failed: 0, unprocessed: 0 })
        expectIntact(tag, input)
        expect(spoolFiles().filter((f) => !f.path.includes("b6journal-"))).toEqual([])
      }).pipe(Effect.provide(clientLayer(emu))),
    120_000
  )
})
