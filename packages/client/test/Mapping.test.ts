/**
 * The `mapping` ingest option, the `Mapping` parsers, and `Bulk1.uploadSpec`, against the emulator.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Emulator } from "@sfbulk/emulator"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Bulk1, BulkClient, BulkError, Mapping, SalesforceAuth } from "../src/index.js"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let layer: Layer.Layer<BulkClient.BulkClient | Bulk1.Transport>
beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 1 })
  layer = Layer.effect(BulkClient.BulkClient, BulkClient.make).pipe(
    Layer.provideMerge(Bulk1.layerWithoutHttpClient()),
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken })),
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.orDie
  )
})
afterAll(async () => {
  await emu?.close()
})

const run = <A, E>(e: Effect.Effect<A, E, BulkClient.BulkClient | Bulk1.Transport>) =>
  Effect.runPromise(Effect.either(Effect.provide(e, layer)))

describe("Mapping parsers", () => {
  it("reads .sdl as Data Loader writes it, and CSV mappings", () => {
    expect(Mapping.parseSdl("#Mapping values\nAccount\\ Name=Name\nA\\:B=Industry, Description\nOld=\n\"Canada\"=BillingCountry\n"))
      .toEqual({
        columns: { "Account Name": ["Name"], "A:B": ["Industry", "Description"], Old: [] },
        constants: { BillingCountry: "Canada" }
      })
    expect(Mapping.parseCsv("csv column,field\nnom,Name\nvieux,\n,BillingCountry,France\n")).toEqual({
      columns: { nom: ["Name"], vieux: [] },
      constants: { BillingCountry: "France" }
    })
    expect(Mapping.parseSdl("# nothing\n")).toBeInstanceOf(BulkError.InvalidInputError)
    // a CSV mapping saved by Excel where the list separator is ; (BOM, CRLF), or as Unicode text (tab)
    expect(Mapping.parseCsv("\uFEFFcsv column;field\r\nTitre;Name\r\nVieux;\r\n;Industry;Energy\r\n")).toEqual({
      columns: { Titre: ["Name"], Vieux: [] },
      constants: { Industry: "Energy" }
    })
    expect(Mapping.parseCsv("Titre\tName\nA, B\tDescription\n")).toEqual({
      columns: { Titre: ["Name"], "A, B": ["Description"] },
      constants: {}
    })
    // a hand-written column name with blanks: a blank ends a properties key, so this would map the
    // column "Full" to a field "Name=Name"; refused saying how Data Loader writes it
    const blank = Mapping.parseSdl("# mine\nFull Name=Name\n")
    expect(blank).toBeInstanceOf(BulkError.InvalidInputError)
    expect((blank as BulkError.InvalidInputError).row).toBe(2)
    expect((blank as BulkError.InvalidInputError).what).toContain("Full\\ Name=")
    // a blank as the separator stays what Java properties make of it
    expect(Mapping.parseSdl("Who Who:Contact-Email\n")).toEqual({ columns: { Who: ["Contact:Who.Email"] }, constants: {} })
    // files of Data Loader's own test suite: spaces around =, one column to several fields, empty
    // constants, lookups by external id in the old and the new form
    expect(
      Mapping.parseSdl(
        "NumEmployees = NumberOfEmployees\nState=BillingState, ShippingState\n\"\"=Industry\n\" \" = Description\n=AnnualRevenue\n"
      )
    ).toEqual({
      columns: { NumEmployees: ["NumberOfEmployees"], State: ["BillingState", "ShippingState"] },
      constants: { Industry: "", Description: " ", AnnualRevenue: "" }
    })
    expect(Mapping.parseSdl("PARENT=pArent:oRaClE_Id__c\nP2=Parent\\:Account-Oracle_Id__c\n")).toEqual({
      columns: { PARENT: ["pArent.oRaClE_Id__c"], P2: ["Account:Parent.Oracle_Id__c"] },
      constants: {}
    })
    // a polymorphic lookup: Data Loader's relationship:object-field is the Bulk API's Object:Relationship.Field,
    // and a target already written as a Bulk API header passes through intact, escaped or not
    expect(Mapping.parseSdl("Who\\:Contact-Email=Who\\:Contact-Email\nLeadEmail=Lead\\:Who.Email\nOwnerName=User:Owner.Username\n"))
      .toEqual({
        columns: { "Who:Contact-Email": ["Contact:Who.Email"], LeadEmail: ["Lead:Who.Email"], OwnerName: ["User:Owner.Username"] },
        constants: {}
      })
    expect(Mapping.parseCsv("who,Lead:Who.Email\n")).toEqual({ columns: { who: ["Lead:Who.Email"] }, constants: {} })
  })
})

describe("the mapping option", () => {
  it("renames plain rows as they stream; an unmapped field is an InvalidInputError naming it", async () => {
    const mapping = { columns: { nom: "Name", note: null }, constants: { Industry: "Energy" } }
    const ok = await run(
      Effect.flatMap(
        BulkClient.BulkClient,
        (c) =>
          Effect.flatMap(
            c.insert("Account", [{ nom: "Mapped Co", note: "dropped" }], { mapping }),
            (o) => Stream.runCollect(Stream.map(o.successes, (s) => s.id))
          )
      )
    )
    expect(ok._tag).toBe("Right")
    const ids = [...(ok as any).right] as Array<string>
    expect(emu.org.get(ids[0]!)!.values).toMatchObject({ Name: "Mapped Co", Industry: "Energy" })
    const bad = await run(
      Effect.flatMap(BulkClient.BulkClient, (c) => c.insert("Account", [{ nom: "X", note: "", other: "y" }], { mapping }))
    )
    expect(bad._tag).toBe("Left")
    expect(((bad as any).left as BulkError.InvalidInputError).field).toBe("other")
  })
})

describe("Bulk1.uploadSpec", () => {
  it("uploads a spec built from rows; the job's batches are then mapped by Salesforce", async () => {
    const r = await run(Effect.gen(function*() {
      const job = yield* Bulk1.createInsertJob("Contact")
      yield* Bulk1.uploadSpec(job, [{ field: "LastName", csvHeader: "Surname" }, { field: "Description", value: "via spec" }])
      const batch = yield* Bulk1.addBatch(job, "Surname\nSpecman\n")
      yield* Bulk1.closeJob(job)
      yield* Bulk1.waitForBatch(job, batch.id)
      return yield* Stream.runCollect(Bulk1.batchResults(job, batch.id))
    }))
    expect(r._tag, JSON.stringify((r as any).left)).toBe("Right")
    const id = [...(r as any).right][0].id as string
    expect(emu.org.get(id)!.values).toMatchObject({ LastName: "Specman", Description: "via spec" })
  })
})

describe("Mapping.fields and Mapping.renameFields", () => {
  const m = Mapping.parseSdl("Nom=Name\nJour=Day__c\nVieux=\nWho\\:Contact-Email=\n\"Energy\"=Industry\nBoss=Who:Contact-Email\n")
  it("lists every field a mapping fills, dropped columns left out, constants last", () => {
    expect(m).not.toBeInstanceOf(BulkError.InvalidInputError)
    expect(Mapping.fields(m as Mapping.FieldMapping)).toEqual(["Name", "Day__c", "Contact:Who.Email", "Industry"])
  })
  it("renames the fields of columns and constants alike, keeping dropped columns dropped", () => {
    const r = Mapping.renameFields(m as Mapping.FieldMapping, (f) => (f === "Contact:Who.Email" ? "Who.Email" : f.toUpperCase()))
    expect(r.columns).toEqual({ Nom: ["NAME"], Jour: ["DAY__C"], Vieux: [], "Who:Contact-Email": [], Boss: ["Who.Email"] })
    expect(r.constants).toEqual({ INDUSTRY: "Energy" })
  })
})
