/**
 * BulkClient end to end against the emulator over real HTTP, on both API generations: every
 * operation, per-record failures mapped back to their rows, typed queries with relationship fields,
 * and the invariant (succeeded + failed + unprocessed = rows read) on every run.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient, SalesforceAuth } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import * as Chunk from "effect/Chunk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let layer: Layer.Layer<BulkClient.BulkClient>

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 5, pageSize: 500 })
  layer = BulkClient.layer().pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.orDie
  )
})
afterAll(async () => {
  await emu?.close()
})

const fast = { pollSchedule: Schedule.spaced("20 millis") }
const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)
const invariant = (s: BulkClient.Summary) => expect(s.succeeded + s.failed + s.unprocessed).toBe(s.rowsRead)
const run = <A, E>(effect: Effect.Effect<A, E, BulkClient.BulkClient>) => Effect.runPromise(Effect.provide(effect, layer))

for (const api of ["2.0", "1.0"] as const) {
  describe(`BulkClient on Bulk API ${api}`, () => {
    const tag = `e2e${api.replace(".", "")}`

    it("insert, update, upsert, query, delete, hardDelete, queryAll: records land, every outcome accounted for", () =>
      run(Effect.gen(function*() {
        const rows = Array.from(
          { length: 25 },
          (_, i) => ({ Name: `${tag} Acct ${i}`, ExternalId__c: `${tag}-${i}`, NumberOfEmployees: i })
        )
        const inserted = yield* BulkClient.insert("Account", rows, { ...fast, api })
        invariant(inserted.summary)
        expect(inserted.summary).toMatchObject({ api, rowsRead: 25, succeeded: 25, created: 25, failed: 0, unprocessed: 0 })
        const ok = yield* collect(inserted.successes)
        expect(ok).toHaveLength(25)
        for (const s of ok) expect(emu.org.get(s.id)?.values.Name).toBe(s.row.Name)
        if (api === "1.0") expect(ok.map((s) => s.position)).toEqual(rows.map((_, i) => i))

        const byName = new Map(ok.map((s) => [s.row.Name!, s.id]))
        const updated = yield* BulkClient.update(
          "Account",
          rows.slice(0, 10).map((r) => ({ Id: byName.get(r.Name)!, NumberOfEmployees: 1000 + r.NumberOfEmployees })),
          { ...fast, api }
        )
        invariant(updated.summary)
        expect(updated.summary).toMatchObject({ succeeded: 10, created: 0, failed: 0 })
        expect(emu.org.get(byName.get(`${tag} Acct 3`)!)?.values.NumberOfEmployees).toBe(1003)

        const upserted = yield* BulkClient.upsert("Account", "ExternalId__c", [
          { ExternalId__c: `${tag}-1`, Name: `${tag} Renamed 1` },
          { ExternalId__c: `${tag}-new`, Name: `${tag} New` }
        ], { ...fast, api, verifyResults: true })
        invariant(upserted.summary)
        expect(upserted.summary).toMatchObject({ succeeded: 2, created: 1, failed: 0 })
        // by default an upsert's created count is left to the results' Created flags
        const again = yield* BulkClient.upsert("Account", "ExternalId__c", [{ ExternalId__c: `${tag}-2`, Name: `${tag} Acct 2` }], {
          ...fast,
          api
        })
        invariant(again.summary)
        expect(again.summary).toMatchObject({ succeeded: 1, created: undefined, failed: 0 })
        expect((yield* collect(again.successes)).map((s) => s.created)).toEqual([false])
        expect(emu.org.get(byName.get(`${tag} Acct 1`)!)?.values.Name).toBe(`${tag} Renamed 1`)

        const found = yield* collect(BulkClient.query(`SELECT Id, Name FROM Account WHERE Name LIKE '${tag} %'`, { ...fast, api }))
        expect(found).toHaveLength(26)

        const deleted = yield* BulkClient.delete("Account", ok.slice(0, 5).map((s) => s.id), { ...fast, api })
        invariant(deleted.summary)
        expect(deleted.summary.succeeded).toBe(5)
        expect(emu.org.get(ok[0]!.id)?.deleted).toBe(true)
        const withDeleted = yield* collect(BulkClient.queryAll(`SELECT Id FROM Account WHERE Name LIKE '${tag} %'`, { ...fast, api }))
        const live = yield* collect(BulkClient.query(`SELECT Id FROM Account WHERE Name LIKE '${tag} %'`, { ...fast, api }))
        expect(withDeleted.length - live.length).toBe(5)

        const hard = yield* BulkClient.hardDelete("Account", ok.slice(5, 8).map((s) => ({ Id: s.id })), { ...fast, api })
        invariant(hard.summary)
        expect(hard.summary.succeeded).toBe(3)
        const afterHard = yield* collect(BulkClient.queryAll(`SELECT Id FROM Account WHERE Name LIKE '${tag} %'`, { ...fast, api }))
        expect(afterHard.length).toBe(withDeleted.length - 3)
      })))

    it("per-record failures come back with code, message, fields and the row as sent", () =>
      run(Effect.gen(function*() {
        const rows = [
          { LastName: `${tag} Ok 1`, Email: "ok1@example.com" },
          { LastName: "", Email: "missing@example.com" },
          { LastName: `${tag} Ok 2`, Email: "ok2@example.com" },
          { LastName: `${tag} Bad Email`, Email: "not-an-email" }
        ]
        const outcome = yield* BulkClient.insert("Contact", rows, { ...fast, api })
        invariant(outcome.summary)
        expect(outcome.summary).toMatchObject({ rowsRead: 4, succeeded: 2, failed: 2, unprocessed: 0 })
        const failures = yield* collect(outcome.failures)
        const missing = failures.find((f) => f.row.Email === "missing@example.com")!
        expect(missing.code).toBe("REQUIRED_FIELD_MISSING")
        expect(missing.fields).toEqual(["LastName"])
        const bad = failures.find((f) => f.row.Email === "not-an-email")!
        expect(bad.code).toBe("INVALID_EMAIL_ADDRESS")
        expect(bad.row.LastName).toBe(`${tag} Bad Email`)
        if (api === "1.0") {
          expect(missing.position).toBe(1)
          expect(bad.position).toBe(3)
        }
        expect(yield* collect(outcome.unprocessed)).toEqual([])
      })))

    it("a typed query decodes numbers, booleans, dates, nulls and nested relationship fields", () =>
      run(Effect.gen(function*() {
        const acct = yield* BulkClient.insert(
          "Account",
          [{ Name: `${tag} Parent`, ExternalId__c: `${tag}-parent`, NumberOfEmployees: 42 }],
          { ...fast, api }
        )
        invariant(acct.summary)
        const contacts = yield* BulkClient.insert("Contact", [
          { LastName: `${tag} Typed A`, Birthdate: "1990-05-06", HasOptedOutOfEmail: true, Account: { ExternalId__c: `${tag}-parent` } },
          { LastName: `${tag} Typed B`, HasOptedOutOfEmail: false }
        ], { ...fast, api, columns: ["LastName", "Birthdate", "HasOptedOutOfEmail", "Account.ExternalId__c"] })
        invariant(contacts.summary)
        expect(contacts.summary.failed).toBe(0)
        const Contact = Schema.Struct({
          LastName: Schema.String,
          Birthdate: Schema.NullOr(Schema.Date),
          HasOptedOutOfEmail: Schema.Boolean,
          Account: Schema.NullOr(Schema.Struct({ Name: Schema.String, NumberOfEmployees: Schema.NullOr(Schema.Number) }))
        })
        const rows = yield* collect(BulkClient.query(
          `SELECT LastName, Birthdate, HasOptedOutOfEmail, Account.Name, Account.NumberOfEmployees FROM Contact WHERE LastName LIKE '${tag} Typed%' ORDER BY LastName`,
          { ...fast, api, schema: Contact }
        ))
        expect(rows).toEqual([
          {
            LastName: `${tag} Typed A`,
            Birthdate: new Date("1990-05-06"),
            HasOptedOutOfEmail: true,
            Account: { Name: `${tag} Parent`, NumberOfEmployees: 42 }
          },
          { LastName: `${tag} Typed B`, Birthdate: null, HasOptedOutOfEmail: false, Account: null }
        ])
        const Wrong = Schema.Struct({ LastName: Schema.Number })
        const err = yield* Effect.flip(
          Stream.runDrain(
            BulkClient.query(`SELECT LastName FROM Contact WHERE LastName LIKE '${tag} Typed%'`, { ...fast, api, schema: Wrong })
          )
        )
        expect(err._tag).toBe("RowDecodeError")
        expect((err as any).field).toBe("LastName")
        expect((err as any).row).toBe(0)
      })))

    it("an unknown column fails the whole job with a typed error saying which field", () =>
      run(Effect.gen(function*() {
        const err = yield* Effect.flip(BulkClient.insert("Account", [{ Name: "x", Nope__c: "y" }], { ...fast, api }))
        expect(err._tag).toBe(api === "2.0" ? "JobFailedError" : "BatchFailedError")
        expect(err.message).toContain("Nope__c")
      })))
  })
}

describe("BulkClient, Bulk API 1.0 specifics", () => {
  it("a PK-chunked query returns the same rows as an unchunked one; progress reaches the end", () =>
    run(Effect.gen(function*() {
      const progress: Array<BulkClient.Progress> = []
      const rows = Array.from({ length: 120 }, (_, i) => ({ Name: `pk ${String(i).padStart(3, "0")}` }))
      const inserted = yield* BulkClient.insert("Account", rows, {
        ...fast,
        api: "1.0",
        batchSize: 25,
        onProgress: (p) => progress.push(p)
      })
      invariant(inserted.summary)
      expect(inserted.summary.batchIds).toHaveLength(5)
      const last = progress[progress.length - 1]!
      expect(last).toMatchObject({
        rowsRead: 120,
        rowsUploaded: 120,
        recordsProcessed: 120,
        recordsFailed: 0,
        piecesSubmitted: 5,
        piecesDone: 5
      })
      expect(progress.some((p) => p.last?.state === "Completed")).toBe(true)

      const soql = "SELECT Id, Name FROM Account WHERE Name LIKE 'pk %'"
      const plain = yield* collect(BulkClient.query(soql, { ...fast, api: "1.0" }))
      const chunked = yield* collect(BulkClient.query(soql, { ...fast, api: "1.0", pkChunking: 40 }))
      expect(plain).toHaveLength(120)
      const key = (r: { Id?: string }) => r.Id!
      expect([...chunked].sort((a, b) => key(a).localeCompare(key(b)))).toEqual([...plain].sort((a, b) => key(a).localeCompare(key(b))))
    })))

  it("successRows: false reads successes from the results alone (ids, positions), failures still carry their rows", () =>
    run(Effect.gen(function*() {
      const rows = Array.from({ length: 60 }, (_, i) => ({ Name: i % 20 === 7 ? "" : `sr ${i}`, NumberOfEmployees: i }))
      const opts = { ...fast, api: "1.0" as const, batchSize: 20 }
      const lean = yield* BulkClient.insert("Account", rows, { ...opts, successRows: false })
      const paired = yield* BulkClient.insert("Account", rows.map((r) => ({ ...r, Name: r.Name && `${r.Name} again` })), opts)
      expect(lean.summary).toMatchObject({ succeeded: 57, failed: 3, unprocessed: 0 })
      const before = emu.stats().requests
      const ok = yield* collect(lean.successes)
      const leanRequests = emu.stats().requests - before
      const before2 = emu.stats().requests
      const okPaired = yield* collect(paired.successes)
      const pairedRequests = emu.stats().requests - before2
      // one download per batch (results) instead of two (request + results)
      expect(leanRequests).toBe(3)
      expect(pairedRequests).toBe(6)
      expect(ok.map((s) => s.position)).toEqual(rows.flatMap((r, i) => (r.Name === "" ? [] : [i])))
      for (const s of ok) {
        expect(s.row).toEqual({})
        expect(emu.org.get(s.id)?.values.Name).toBe(rows[s.position!]!.Name)
      }
      expect(okPaired.map((s) => s.row.Name)).toEqual(rows.filter((r) => r.Name !== "").map((r) => `${r.Name} again`))
      const bad = yield* collect(lean.failures)
      expect(bad.map((f) => [f.position, f.row.NumberOfEmployees, f.code])).toEqual([
        [7, "7", "REQUIRED_FIELD_MISSING"],
        [27, "27", "REQUIRED_FIELD_MISSING"],
        [47, "47", "REQUIRED_FIELD_MISSING"]
      ])
    })))

  it("every batch is added before the first finishes (not `concurrency` at a time), and one poll asks for all of them", async () => {
    const slow = await Emulator.start({ latencyMs: 400 })
    try {
      const slowLayer = BulkClient.layer().pipe(
        Layer.provide(
          SalesforceAuth.fromSession({ instanceUrl: slow.instanceUrl, accessToken: slow.accessToken, apiVersion: slow.apiVersion })
        ),
        Layer.provide(NodeHttpClient.layerUndici),
        Layer.orDie
      )
      let inFlight = 0
      const rows = Array.from({ length: 100 }, (_, i) => ({ Name: `watch ${i}` }))
      const before = slow.stats().requests
      const outcome = await Effect.runPromise(Effect.provide(
        BulkClient.insert("Account", rows, {
          api: "1.0",
          batchSize: 10,
          concurrency: 2,
          pollSchedule: Schedule.spaced("100 millis"),
          onProgress: (p) => (inFlight = Math.max(inFlight, p.piecesSubmitted - p.piecesDone))
        }),
        slowLayer
      ))
      const requests = slow.stats().requests - before
      expect(outcome.summary).toMatchObject({ succeeded: 100, failed: 0, unprocessed: 0 })
      expect(slow.org.count("Account")).toBe(100)
      // all 10 batches were in Salesforce's hands at once, though only 2 uploads ran at a time
      expect(inFlight).toBe(10)
      // create + 10 adds + close, and the polls: one GET for every batch, so fewer polls than batches
      // (each batch takes at least 400 ms; a poll per batch per 100 ms would be 40+ requests)
      expect(requests - 12).toBeGreaterThan(0)
      expect(requests - 12).toBeLessThan(10)
    } finally {
      await slow.close()
    }
  })

  it("options 1.0 cannot honour are rejected before anything is sent", () =>
    run(Effect.gen(function*() {
      const before = emu.stats().requests
      const e1 = yield* Effect.flip(BulkClient.insert("Account", [{ Name: "x" }], { api: "1.0", columnDelimiter: "TAB" }))
      const e2 = yield* Effect.flip(BulkClient.insert("Account", [{ Name: "x" }], { api: "1.0", maxBatchRecords: 20_000 }))
      const e3 = yield* Effect.flip(Stream.runDrain(BulkClient.query("SELECT Id FROM Account", { pkChunking: true })))
      expect([e1._tag, e2._tag, e3._tag]).toEqual(["InvalidInputError", "InvalidInputError", "InvalidInputError"])
      expect(emu.stats().requests).toBe(before)
    })))
})

describe("BulkClient.layerConfig()", () => {
  it("logs in from the environment (OAuth password flow) and runs an operation over undici", () =>
    Effect.runPromise(
      Effect.gen(function*() {
        const outcome = yield* BulkClient.insert("Account", [{ Name: "from config" }], fast)
        invariant(outcome.summary)
        expect(outcome.summary.succeeded).toBe(1)
      }).pipe(
        Effect.provide(BulkClient.layerConfig()),
        Effect.withConfigProvider(ConfigProvider.fromMap(
          new Map([
            ["SF_LOGIN_URL", emu.loginUrl],
            ["SF_USERNAME", emu.username],
            ["SF_PASSWORD", emu.password],
            ["SF_SECURITY_TOKEN", emu.securityToken],
            ["SF_CLIENT_ID", emu.clientId],
            ["SF_CLIENT_SECRET", emu.clientSecret]
          ])
        ))
      )
    ))
})
