/**
 * Break session 7: lock rounds through the spool (lockRetry.ts `spoolRound`), driven by a scripted
 * pipeline instead of a server, so that each round's failures are exactly what a case needs: a
 * round of one failure, a round split into hundreds of groups (one spool file each), rows that
 * fail on locks in every round and rows whose last attempt fails otherwise (the outcome is the
 * last attempt's, once), updates whose rows write one record twice (kept in one group, in input
 * order), rows without the parent field or with a null one. Values cross the spool byte for byte.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import { withOwnTmpdir } from "./FaultsSupport.js"
import type * as BulkClient from "../packages/client/src/BulkClient.js"
import type { BulkError } from "../packages/client/src/BulkError.js"
import { withLockRetry } from "../packages/client/src/internal/lockRetry.js"
import { Transport } from "../packages/client/src/internal/transport.js"

type Row = Record<string, string>
const collect = <A, E>(s: Stream.Stream<A, E>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)

/** One call of the pipeline: the rows it was given, in order. */
interface Attempt {
  readonly round: number
  readonly rows: ReadonlyArray<Row>
}

/**
 * A pipeline whose answer per row is scripted: `verdict(row, round)` says `ok`, `lock` (fails
 * UNABLE_TO_LOCK_ROW naming the row's parent) or `bad` (fails otherwise). 1.0-like positions (the
 * row's index in what the call was given).
 */
const scripted = (verdict: (row: Row, round: number) => "ok" | "lock" | "bad") => {
  const attempts: Array<Attempt> = []
  let calls = 0
  const once = <A, E, R>(params: { readonly rows: Stream.Stream<A, E, R> }) =>
    Effect.gen(function*() {
      const round = calls++
      const rows = (yield* collect(params.rows as unknown as Stream.Stream<Row, E, never>)).map((r) => ({ ...r }))
      attempts.push({ round, rows })
      const jobId = `750R${round}`
      const successes: Array<BulkClient.Success> = []
      const failures: Array<BulkClient.Failure> = []
      rows.forEach((row, position) => {
        const v = verdict(row, round)
        if (v === "ok") successes.push({ _tag: "Success", jobId, position, row, id: `003${row.Key}`, created: true })
        else {
          const lock = v === "lock"
          const code = lock ? "UNABLE_TO_LOCK_ROW" : "FIELD_CUSTOM_VALIDATION_EXCEPTION"
          const message = lock
            ? `unable to obtain exclusive access to this record or 1 records: ${row.AccountId || "001000000000000"}AAA`
            : `bad in round ${round}`
          failures.push({ _tag: "Failure", jobId, position, row, code, message, fields: [], errors: [{ code, message, fields: [] }] })
        }
      })
      const summary: BulkClient.Summary = {
        api: "1.0",
        object: "Contact",
        operation: "insert",
        jobIds: [jobId],
        batchIds: [],
        rowsRead: rows.length,
        processed: rows.length,
        succeeded: successes.length,
        created: successes.length,
        failed: failures.length,
        unprocessed: 0,
        elapsed: Duration.millis(1)
      }
      const outcome: BulkClient.Outcome<BulkError> = {
        summary,
        successes: Stream.fromIterable(successes),
        failures: Stream.fromIterable(failures),
        unprocessed: Stream.empty
      }
      return outcome
    })
  return { attempts, once: once as any }
}

const withTmp = <A, E>(f: (tmp: string) => Effect.Effect<A, E>): Effect.Effect<A, E> => withOwnTmpdir("sfbulk-break7-rounds-", f)

const run = (
  rows: ReadonlyArray<Row>,
  verdict: (row: Row, round: number) => "ok" | "lock" | "bad",
  options: Partial<BulkClient.IngestOptions<Row>>,
  operation: BulkClient.Operation = "insert"
) =>
  Effect.gen(function*() {
    const s = scripted(verdict)
    const out = yield* withLockRetry(
      {
        object: "Contact",
        operation,
        rows: Stream.fromIterable(rows),
        options: { api: "1.0", ...options } as BulkClient.IngestOptions<Row>
      },
      s.once
    ).pipe(Effect.provideService(Transport, {} as never))
    const successes = yield* collect(out.successes)
    const failures = yield* collect(out.failures)
    return { out, successes, failures, attempts: s.attempts }
  })

const TRICKY = ["😀 é \"q\", \r\n", "", "x".repeat(70_000) + "€", ",\"\"\"", " lead", "tab\t"]
const rowsOf = (n: number, parents: number): Array<Row> =>
  Array.from({ length: n }, (_, i) => ({
    Key: String(i).padStart(6, "0"),
    AccountId: `001${String(i % parents).padStart(12, "0")}`,
    Description: `${TRICKY[i % TRICKY.length]!}#${i}`
  }))

/** Every input row's outcome exactly once, at its position, with its values. */
const once = (
  rows: ReadonlyArray<Row>,
  r: { successes: ReadonlyArray<BulkClient.Success>; failures: ReadonlyArray<BulkClient.Failure> }
) => {
  const all = [...r.successes, ...r.failures]
  expect(all.length).toBe(rows.length)
  expect(new Set(all.map((x) => x.position)).size).toBe(rows.length)
  for (const x of all) expect(x.row).toEqual(rows[x.position!])
}

describe("lock rounds through the spool, scripted", () => {
  it.effect("a round of one failure: retried once, every row's outcome once, values intact, no file left", () =>
    withTmp((tmp) =>
      Effect.gen(function*() {
        const rows = rowsOf(50, 5)
        const r = yield* run(rows, (row, round) => (row.Key === "000017" && round === 0 ? "lock" : "ok"), { retryLockedRows: 3 })
        expect(r.attempts.map((a) => a.rows.length)).toEqual([50, 1])
        expect(r.attempts[1]!.rows[0]).toEqual(rows[17])
        expect(r.out.summary).toMatchObject({ succeeded: 50, failed: 0 })
        expect(r.failures).toEqual([])
        once(rows, r)
        expect(Fs.readdirSync(tmp)).toEqual([])
      })
    ))

  it.effect("no lock failure: no follow-up, no file", () =>
    withTmp((tmp) =>
      Effect.gen(function*() {
        const rows = rowsOf(20, 5)
        const r = yield* run(rows, (row) => (row.Key === "000003" ? "bad" : "ok"), { retryLockedRows: 3 })
        expect(r.attempts.length).toBe(1)
        expect(r.failures.map((f) => f.position)).toEqual([3])
        expect(Fs.readdirSync(tmp)).toEqual([])
      })
    ))

  it.effect(
    "hundreds of groups in one round (one spool file each): each row re-sent once, in one group, outcomes once",
    () =>
      withTmp((tmp) =>
        Effect.gen(function*() {
          const rows = rowsOf(1_200, 400)
          const r = yield* run(rows, (_, round) => (round === 0 ? "lock" : "ok"), { retryLockedRows: 2, concurrency: 300 })
          // 300 groups asked for, 400 parents: 300 follow-up runs
          expect(r.attempts.length).toBe(301)
          const resent = r.attempts.slice(1).flatMap((a) => a.rows.map((x) => x.Key))
          expect(resent.length).toBe(1_200)
          expect(new Set(resent).size).toBe(1_200)
          // no parent in two groups, input order within a group
          const groupOf = new Map<string, number>()
          r.attempts.slice(1).forEach((a, g) => {
            for (const x of a.rows) {
              expect(groupOf.get(x.AccountId!) ?? g).toBe(g)
              groupOf.set(x.AccountId!, g)
            }
            expect(a.rows.map((x) => x.Key)).toEqual([...a.rows.map((x) => x.Key)].sort())
          })
          expect(r.out.summary).toMatchObject({ succeeded: 1_200, failed: 0 })
          once(rows, r)
          expect(Fs.readdirSync(tmp)).toEqual([])
        })
      ),
    60_000
  )

  it.effect("the outcome is the last attempt's: locked every round stays one lock failure; locked then bad is the bad one", () =>
    withTmp(() =>
      Effect.gen(function*() {
        const rows = rowsOf(60, 6)
        const r = yield* run(rows, (row, round) => {
          const i = Number(row.Key)
          if (i % 6 === 1) return "lock" // every round
          if (i % 6 === 2) return round < 2 ? "lock" : "bad"
          if (i % 6 === 3) return round < 1 ? "lock" : "ok"
          return "ok"
        }, { retryLockedRows: 2 })
        expect(r.attempts.length).toBeGreaterThanOrEqual(3)
        once(rows, r)
        for (const f of r.failures) {
          const i = f.position!
          if (i % 6 === 1) expect(f.code).toBe("UNABLE_TO_LOCK_ROW")
          else if (i % 6 === 2) {
            expect(f.message).toBe("bad in round " + r.attempts.findLast((a) => a.rows.some((x) => x.Key === f.row.Key))!.round)
          } else throw new Error(`unexpected failure at ${i}`)
        }
        expect(r.failures.length).toBe(20)
        expect(r.out.summary).toMatchObject({ succeeded: 40, failed: 20 })
      })
    ))

  it.effect("update: two rows writing one record under different parents stay in one group, in input order", () =>
    withTmp(() =>
      Effect.gen(function*() {
        // rows 0..99, parents 10; rows 5 and 93 write the same record (Id) under different parents
        const rows = rowsOf(100, 10).map((r, i) => ({ Id: `003${String(i === 93 ? 5 : i).padStart(12, "0")}`, ...r }))
        const r = yield* run(rows, (_, round) => (round === 0 ? "lock" : "ok"), { retryLockedRows: 1, concurrency: 8 }, "update")
        const withSame = r.attempts.slice(1).filter((a) => a.rows.some((x) => x.Key === "000005" || x.Key === "000093"))
        expect(withSame.length).toBe(1)
        const keys = withSame[0]!.rows.map((x) => x.Key)
        expect(keys.indexOf("000005")).toBeLessThan(keys.indexOf("000093"))
        once(rows, r)
      })
    ))

  it.effect("orderByParent with rows lacking the field or with a null one: every row once, those first", () =>
    withTmp((tmp) =>
      Effect.gen(function*() {
        const rows = rowsOf(90, 9).map((r, i) => {
          if (i % 9 === 4) {
            const { AccountId: _, ...rest } = r
            return rest as Row
          }
          return i % 9 === 5 ? ({ ...r, AccountId: null } as unknown as Row) : r
        })
        const r = yield* run(rows, (_, round) => (round === 0 ? "lock" : "ok"), { retryLockedRows: 2, orderByParent: "AccountId" })
        const first = r.attempts[0]!.rows
        expect(first.length).toBe(90)
        // without a parent first, in input order
        expect(first.slice(0, 20).map((x) => Number(x.Key) % 9).every((m) => m === 4 || m === 5)).toBe(true)
        const all = [...r.successes, ...r.failures]
        expect(all.length).toBe(90)
        expect(new Set(all.map((x) => x.row.Key)).size).toBe(90)
        expect(Fs.readdirSync(tmp)).toEqual([])
      })
    ))
})
