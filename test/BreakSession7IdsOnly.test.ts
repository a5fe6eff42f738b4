/**
 * Break session 7: the 1.0 ids-only outcome read (`successRows: false`) parses each batch's result
 * file in one synchronous stage (ingest1.ts `resultOutcomes`, bulk1.ts `csvResultReader`), and
 * addBatch hashes a whole body only once an answer was lost. Every success once at its position
 * with its record's id, every failure once with its error text whole (quotes, commas, CR/LF and
 * emoji inside the quoted Error column), with batch answers lost and result downloads cut, reset
 * and stalled; each row lands once.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient } from "../packages/client/src/index.js"
import * as Effect from "effect/Effect"
import { clientLayer, collect, type Emu, poll, startEmulator } from "./FaultsSupport.js"

let emu: Emu
beforeAll(async () => {
  emu = await startEmulator(79)
})
afterAll(async () => {
  await emu?.close()
})

const N = 3_000
/** The head of a too-long value, quoted back in the error message ("data value too large: <80 chars>..."). */
const HEAD = "é,\"q\" \r\nline😀, \"\" end;"
const rowsOf = (tag: string) =>
  Array.from({ length: N }, (_, i) => ({
    LastName: `${tag}-${String(i).padStart(5, "0")}`,
    // every 7th row fails on its too-long Description (max 32,000), its message quoting the value's head
    Description: i % 7 === 5 ? (HEAD + "x".repeat(80)).padEnd(32_050, "y") : `ok ${i} é😀 "q", \r\n`
  }))

const RESULT = "^GET /services/async/[^/]+/job/[^/]+/batch/[^/]+/result(/[^/]+)?$"
const ADD = "^POST /services/async/[^/]+/job/[^/]+/batch$"

// 250-row batches: result files under one 16 KB slice; 1,500-row batches: ~60 KB files cut
// into slices inside rows, quoted errors and multi-byte characters
describe.each([250, 1_500])("1.0 ids-only outcomes (successRows: false), batches of %i rows", (batchSize) => {
  for (
    const [title, faults, match] of [
      ["no fault", "", undefined],
      ["batch answers lost", "lost-answer=0.4", ADD],
      // (gentle rates: an ids-only result file is fetched whole, and 7 cuts in a row end it; see below)
      ["result downloads cut, reset and stalled", "lost-answer=0.15,reset=0.1,stall=0.1", RESULT]
    ] as const
  ) {
    it.live(
      `${title}: each success once at its position with its id, each failure with its whole message; each row lands once`,
      () =>
        Effect.gen(function*() {
          const tag = `b7i${batchSize}x${title.length}`
          const rows = rowsOf(tag)
          const f0 = emu.stats().faults
          emu.setFaults(faults === "" ? undefined : faults, { seed: 79, ...(match ? { match } : {}) })
          const out = yield* BulkClient.insert("Contact", rows, { ...poll, api: "1.0", batchSize, successRows: false })
          const ok = yield* collect(out.successes)
          const bad = yield* collect(out.failures)
          emu.setFaults(undefined)
          const f1 = emu.stats().faults
          const drawn = f1["lost-answer"] + f1.reset + f1.stall - f0["lost-answer"] - f0.reset - f0.stall
          if (faults === "") expect(drawn).toBe(0)
          else expect(drawn).toBeGreaterThan(0)
          const failing = rows.filter((_, i) => i % 7 === 5).length
          expect(out.summary).toMatchObject({ rowsRead: N, succeeded: N - failing, failed: failing, unprocessed: 0 })
          expect(ok.length).toBe(N - failing)
          expect(new Set(ok.map((x) => x.position)).size).toBe(ok.length)
          for (const x of ok) {
            expect(x.position! % 7).not.toBe(5)
            const rec = emu.org.get(x.id)
            expect(rec?.values.LastName).toBe(rows[x.position!]!.LastName)
            expect(rec?.values.Description).toBe(rows[x.position!]!.Description)
          }
          expect(bad.map((f) => f.position)).toEqual(rows.flatMap((_, i) => (i % 7 === 5 ? [i] : [])))
          for (const f of bad) {
            expect(f.row.LastName).toBe(rows[f.position!]!.LastName)
            expect(f.errors[0]!.code).toBe("STRING_TOO_LONG")
            expect(f.errors[0]!.message).toContain(HEAD)
          }
          // landed once each (a lost batch answer is not added twice)
          const q = emu.org.query(`SELECT LastName FROM Contact WHERE LastName LIKE '${tag}-%'`)
          if (!q.ok) throw new Error(q.error.message)
          expect(q.result.size).toBe(N - failing)
        }).pipe(Effect.provide(clientLayer(emu))),
      180_000
    )
  }
})
