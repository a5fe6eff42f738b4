/**
 * Break session 7: a lock round's rows go through a private spool file (JSON text in a reused
 * block), are grouped from it and read back by the follow-up jobs. Values must come out of that
 * trip byte for byte (multi-byte UTF-8, emoji, quotes, CR/LF inside fields, long fields, empty
 * values), every row's outcome once and its last attempt's, on insert and on upsert (the row's key
 * among the contended records), with and without `orderByParent`.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient } from "@sfbulk/client"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Fs from "node:fs"
import { clientLayer, collect, type Emu, fast, pacedEmulator, seedParents } from "./EmulatorSupport.js"
import { ownTmpdir } from "./FaultsSupport.js"

const tmp = ownTmpdir("sfbulk-break7-spool-")
let emu: Emu
let layer: Layer.Layer<BulkClient.BulkClient>
const parents: Array<string> = []

beforeAll(async () => {
  emu = await pacedEmulator({ insertsPerSecond: 4_000, parallelBatches: 4 })
  for (const id of seedParents(emu, 6, "Break7 parent")) parents.push(id)
  layer = clientLayer(emu)
})
afterAll(async () => {
  await emu?.close()
})

/** Values that a careless trip through a file, a block buffer or a CSV writer would change. */
const TRICKY: ReadonlyArray<string> = [
  "emoji 😀👩‍👩‍👧‍👦 ünïcødé 日本語 🇫🇷",
  "quotes \"a\" \"\"b\"\" and a trailing quote\"",
  "crlf\r\ninside\r\nthe field",
  "lf\nonly and a lone cr\rhere",
  "comma, semicolon; pipe | tab\there",
  "  leading and trailing spaces  ",
  "\"",
  ",",
  "€".repeat(10_000) + "😀".repeat(5_000) + "tail",
  "x".repeat(31_980) + "é"
]

const valueOf = (i: number) => (i % 7 === 3 ? "" : `${TRICKY[i % TRICKY.length]!}#${i}`)

const stored = (tag: string) => {
  const q = emu.org.query(`SELECT LastName, Description, ExternalId__c FROM Contact WHERE LastName LIKE '${tag}-%'`)
  if (!q.ok) throw new Error(q.error.message)
  const out = new Map<string, Array<{ description: unknown; ext: unknown }>>()
  for (let i = 0; i < q.result.size; i++) {
    const [name, description, ext] = q.result.row(i)
    const list = out.get(String(name)) ?? []
    list.push({ description, ext })
    out.set(String(name), list)
  }
  return out
}

/** The stored Description for the empty string: Salesforce stores no value. */
const blank = (v: unknown) => v === null || v === undefined || v === ""

const N = 600

for (const api of ["2.0", "1.0"] as const) {
  for (const orderByParent of [undefined, "AccountId"] as const) {
    const opts = { ...fast, api, batchSize: 100, concurrency: 4, retryLockedRows: 4, ...(orderByParent ? { orderByParent } : {}) }
    // ordered by parent, 100-row batches of one parent only contend with 2 parents of 300 rows
    const parentOf = (i: number) => (orderByParent ? parents.slice(0, 2) : parents)[i % (orderByParent ? 2 : parents.length)]!
    const tagOf = (what: string) => `b7${api.replace(".", "")}${orderByParent ? "o" : "u"}${what}`

    describe(`lock spool values on ${api}${orderByParent ? ", ordered by parent" : ""}`, () => {
      it.live("insert: tricky values land byte for byte, each row once; the outcome's rows are the input's", () =>
        Effect.gen(function*() {
          const tag = tagOf("ins")
          const rows = Array.from({ length: N }, (_, i) => ({
            LastName: `${tag}-${i}`,
            AccountId: parentOf(i),
            Description: valueOf(i)
          }))
          const out = yield* BulkClient.insert("Contact", rows, opts)
          expect(out.summary).toMatchObject({ rowsRead: N, succeeded: N, failed: 0, unprocessed: 0 })
          // the follow-up rounds really ran (the spool was used)
          expect(out.summary.jobIds.length).toBeGreaterThan(1)
          const ok = yield* collect(out.successes)
          expect(ok.length).toBe(N)
          const inputOrder = orderByParent
            ? rows.map((r, i) => ({ r, i })).sort((
              a,
              b
            ) => (a.r.AccountId < b.r.AccountId ? -1 : a.r.AccountId > b.r.AccountId ? 1 : a.i - b.i)).map((e) => e.r)
            : rows
          const byName = new Map(rows.map((r) => [r.LastName, r]))
          for (const x of ok) {
            const input = byName.get(String(x.row.LastName))!
            expect(x.row.Description ?? "").toBe(input.Description)
            expect(x.row.AccountId).toBe(input.AccountId)
            // (ordered by parent, positions are positions in the sorted order: README)
            if (api === "1.0") expect(inputOrder[x.position!]!.LastName).toBe(x.row.LastName)
          }
          const inOrg = stored(tag)
          expect(inOrg.size).toBe(N)
          for (const r of rows) {
            const got = inOrg.get(r.LastName)!
            expect(got.length).toBe(1)
            if (r.Description === "") expect(blank(got[0]!.description)).toBe(true)
            else expect(got[0]!.description).toBe(r.Description)
          }
          expect(Fs.readdirSync(tmp())).toEqual([])
        }).pipe(Effect.provide(layer)), 120_000)

      it.live("upsert: the row's key among the contended records, the last value wins, no duplicate", () =>
        Effect.gen(function*() {
          const tag = tagOf("ups")
          const ext = (i: number) => `${tag}-ext-${i}`
          const rows = (v: (i: number) => string) =>
            Array.from({ length: N }, (_, i) => ({
              ExternalId__c: ext(i),
              LastName: `${tag}-${i}`,
              AccountId: parentOf(i),
              Description: v(i)
            }))
          const first = yield* BulkClient.upsert("Contact", "ExternalId__c", rows(() => "old"), opts)
          expect(first.summary).toMatchObject({ rowsRead: N, succeeded: N, failed: 0 })
          const second = yield* BulkClient.upsert("Contact", "ExternalId__c", rows(valueOf), opts)
          expect(second.summary).toMatchObject({ rowsRead: N, succeeded: N, failed: 0, unprocessed: 0 })
          expect(second.summary.jobIds.length).toBeGreaterThan(1)
          expect(yield* collect(second.failures)).toEqual([])
          const inOrg = stored(tag)
          expect(inOrg.size).toBe(N)
          for (let i = 0; i < N; i++) {
            const got = inOrg.get(`${tag}-${i}`)!
            expect(got.length).toBe(1)
            expect(got[0]!.ext).toBe(ext(i))
            const want = valueOf(i)
            if (want === "") expect(blank(got[0]!.description) || got[0]!.description === "old").toBe(true)
            else expect(got[0]!.description).toBe(want)
          }
          expect(Fs.readdirSync(tmp())).toEqual([])
        }).pipe(Effect.provide(layer)), 120_000)
    })
  }
}
