/**
 * The mock layer behaves like the emulator over HTTP: the same inputs give the same counts, the
 * same per-row failures and the same query rows.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { BulkClient, SalesforceAuth } from "@sfbulk/client"
import { BulkClientMock } from "@sfbulk/testing"
import { Emulator, Org } from "@sfbulk/emulator"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

/** A fresh emulator (an empty org, like the mock's) and a BulkClient layer over it. */
const fresh = async () => {
  const emu = await Emulator.start({ latencyMs: 5 })
  const http = BulkClient.layer().pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.orDie
  )
  return { emu, http }
}

const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)

/** A scenario run the same way against any BulkClient; returns what a user would observe. */
const scenario = (api: "1.0" | "2.0") =>
  Effect.gen(function*() {
    const fast = { pollSchedule: Schedule.spaced("20 millis"), api }
    const accounts = yield* BulkClient.insert("Account", [
      { Name: "Mock A", ExternalId__c: "m-a", NumberOfEmployees: 10 },
      { Name: "", ExternalId__c: "m-b" },
      { Name: "Mock C", ExternalId__c: "m-a" },
      { Name: "Mock D", ExternalId__c: "m-d", NumberOfEmployees: null }
    ], fast)
    const upsert = yield* BulkClient.upsert("Account", "ExternalId__c", [
      { ExternalId__c: "m-a", Name: "Mock A2" },
      { ExternalId__c: "m-e", Name: "Mock E" },
      { ExternalId__c: "m-f", Name: "" }
    ], fast)
    const contacts = yield* BulkClient.insert("Contact", [
      { LastName: "Child", Email: "c@example.com", Account: { ExternalId__c: "m-d" } },
      { LastName: "Orphan", Email: "o@example.com", Account: { ExternalId__c: "nope" } }
    ], { ...fast, columns: ["LastName", "Email", "Account.ExternalId__c"] })
    const del = yield* BulkClient.delete("Account", ["001000000000000AAA"], fast)
    const outcomes = [accounts, upsert, contacts, del]
    const failures = yield* Effect.forEach(outcomes, (o) =>
      Effect.map(collect(o.failures), (fs) => fs.map((f) => `${JSON.stringify(f.row)} ${f.code} ${f.fields.join(",")}`).sort()))
    const summaries = outcomes.map((o) => {
      const { succeeded, failed, unprocessed, rowsRead, created } = o.summary
      expect(succeeded + failed + unprocessed).toBe(rowsRead)
      return { succeeded, failed, unprocessed, rowsRead, created }
    })
    const Row = Schema.Struct({
      Name: Schema.String,
      NumberOfEmployees: Schema.NullOr(Schema.Number),
      ExternalId__c: Schema.String
    })
    const rows = yield* collect(
      BulkClient.query("SELECT Name, NumberOfEmployees, ExternalId__c FROM Account WHERE Name LIKE 'Mock%' ORDER BY Name", {
        ...fast,
        schema: Row
      })
    )
    const joined = yield* collect(BulkClient.query("SELECT LastName, Account.Name FROM Contact ORDER BY LastName", fast))
    return { summaries, failures, rows, joined }
  })

describe("BulkClientMock", () => {
  it.each(["2.0", "1.0"] as const)("gives the same outcomes and query rows as the emulator over HTTP (api %s)", async (api) => {
    const org = Org.make()
    const viaMock = await Effect.runPromise(Effect.provide(scenario(api), BulkClientMock.layer(org)))
    const { emu, http } = await fresh()
    const viaHttp = await Effect.runPromise(Effect.provide(scenario(api), http)).finally(() => emu.close())
    expect(viaMock.summaries).toEqual(viaHttp.summaries)
    expect(viaMock.failures).toEqual(viaHttp.failures)
    expect(viaMock.rows).toEqual(viaHttp.rows)
    expect(viaMock.joined).toEqual(viaHttp.joined)
    // and the scenario itself did what it says
    expect(viaMock.summaries[0]).toEqual({ succeeded: 2, failed: 2, unprocessed: 0, rowsRead: 4, created: 2 })
    expect(viaMock.rows.map((r) => r.Name)).toEqual(["Mock A2", "Mock D", "Mock E"])
    expect(viaMock.failures.map((fs) => fs.map((f) => f.split(" ").slice(-2, -1)[0]))).toEqual([
      ["REQUIRED_FIELD_MISSING", "DUPLICATE_VALUE"],
      ["REQUIRED_FIELD_MISSING"],
      ["INVALID_FIELD"],
      ["INVALID_CROSS_REFERENCE_KEY"]
    ])
    expect(viaMock.joined).toEqual([{ LastName: "Child", "Account.Name": "Mock D" }])
    expect(org.count("Account")).toBe(3)
  })
})
