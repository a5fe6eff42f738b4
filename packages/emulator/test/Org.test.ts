import { it as effectIt } from "@effect/vitest"
import * as fc from "fast-check"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import * as Org from "../src/Org.js"

const NOW = Date.parse("2026-03-02T10:30:00.000Z")

const fresh = () => Org.make(Org.defaultDefinition, { now: () => NOW })

const ok = (outcome: Org.RowOutcome): string => {
  if (!outcome.success) throw new Error(`expected success, got ${JSON.stringify(outcome.errors)}`)
  return outcome.id
}

const error = (outcome: Org.RowOutcome): Org.RecordError => {
  if (outcome.success) throw new Error(`expected a failure, got ${JSON.stringify(outcome)}`)
  expect(outcome.errors).toHaveLength(1)
  return outcome.errors[0]!
}

const rows = (org: Org.Org, soql: string, all = false) => {
  const res = org.query(soql, { all })
  if (!res.ok) throw new Error(res.error.message)
  return Array.from({ length: res.result.size }, (_, i) => res.result.row(i))
}

describe("Org definition", () => {
  it("has the default objects with their key prefixes and an admin user who owns records", () => {
    const org = fresh()
    expect(org.objectNames()).toEqual(["User", "Account", "Contact", "Lead", "Opportunity"])
    expect(org.describe("account")?.keyPrefix).toBe("001")
    expect(org.describe("CONTACT")?.keyPrefix).toBe("003")
    expect(org.describe("Lead")?.keyPrefix).toBe("00Q")
    expect(org.describe("Opportunity")?.keyPrefix).toBe("006")
    expect(org.userId).toMatch(/^005[0-9A-Za-z]{15}$/)
    expect(Org.isValidId(org.userId)).toBe(true)
    expect(org.orgId.startsWith("00D")).toBe(true)
    const admin = org.get(org.userId)!
    expect(admin.object).toBe("User")
    expect(admin.values["CreatedById"]).toBe(org.userId)
    const id = ok(org.apply("insert", "Account", { Name: "Acme" }))
    const acct = org.get(id)!.values
    expect(acct["OwnerId"]).toBe(org.userId)
    expect(acct["CreatedById"]).toBe(org.userId)
    expect(acct["CreatedDate"]).toBe("2026-03-02T10:30:00.000Z")
    expect(acct["SystemModstamp"]).toBe("2026-03-02T10:30:00.000Z")
    expect(acct["IsDeleted"]).toBe(false)
  })

  it("marks system fields read-only and declares ExternalId__c as a unique external id", () => {
    const fields = Org.defaultDefinition.objects.find((o) => o.name === "Account")!.fields
    const byName = new Map(fields.map((f) => [f.name, f]))
    for (const name of ["Id", "CreatedDate", "LastModifiedDate", "SystemModstamp", "CreatedById", "IsDeleted"]) {
      expect(byName.get(name)?.createable, name).toBe(false)
      expect(byName.get(name)?.updateable, name).toBe(false)
    }
    expect(byName.get("ExternalId__c")).toMatchObject({ unique: true, externalId: true })
    expect(byName.get("Name")?.required).toBe(true)
  })

  it("rejects inconsistent definitions", () => {
    expect(() =>
      Org.make({ objects: [{ name: "A", keyPrefix: "a01", fields: [{ name: "B__c", type: "reference", referenceTo: ["Nope"] }] }] })
    ).toThrow(
      /unknown object Nope/
    )
    expect(() => Org.make({ objects: [{ name: "A", keyPrefix: "a01", fields: [] }, { name: "B", keyPrefix: "a01", fields: [] }] })).toThrow(
      /share the key prefix/
    )
    expect(() => Org.make({ objects: [{ name: "Job", keyPrefix: "750", fields: [] }] })).toThrow(/reserved for job ids/)
  })
})

describe("checkHeader", () => {
  it("matches columns case-insensitively and returns canonical names", () => {
    const org = fresh()
    expect(org.checkHeader("contact", "insert", ["LASTNAME", "email", "account.externalid__c", "ReportsTo.Email", "owner.username"]))
      .toEqual({
        ok: true,
        columns: ["LastName", "Email", "Account.ExternalId__c", "ReportsTo.Email", "Owner.Username"]
      })
  })

  it("reports the first unknown column as Salesforce does", () => {
    const org = fresh()
    expect(org.checkHeader("Account", "insert", ["Name", "Foo__c"])).toEqual({ ok: false, message: "Field name not found : Foo__c" })
    // relationship to a field that is neither an external id nor an idLookup field
    expect(org.checkHeader("Contact", "insert", ["Account.Name"])).toEqual({ ok: false, message: "Field name not found : Account.Name" })
    // unknown relationship, and more than one level
    expect(org.checkHeader("Contact", "insert", ["Acct.ExternalId__c"]).ok).toBe(false)
    expect(org.checkHeader("Contact", "insert", ["Account.Owner.Username"]).ok).toBe(false)
    // an object prefix is only allowed for polymorphic relationships
    expect(org.checkHeader("Contact", "insert", ["Account:Account.ExternalId__c"]).ok).toBe(false)
    expect(org.checkHeader("Account", "insert", ["Name", "NAME"])).toEqual({ ok: false, message: "Duplicate field name found : NAME" })
  })
})

describe("insert", () => {
  it("stores typed values and normalizes datetimes with offsets to UTC", () => {
    const org = fresh()
    const acct = ok(org.apply("insert", "Account", { Name: "Acme", NumberOfEmployees: "250", AnnualRevenue: "1.5E6", Type: "Prospect" }))
    const id = ok(
      org.apply("insert", "Contact", {
        LastName: "Doe",
        FirstName: "Jane",
        AccountId: acct,
        Birthdate: "1980-02-29",
        DoNotCall: "TRUE",
        Email: "jane@example.com"
      })
    )
    const opp = ok(
      org.apply("insert", "Opportunity", {
        Name: "Deal",
        StageName: "Prospecting",
        CloseDate: "2026-06-30",
        Amount: 99.5,
        AccountId: acct.slice(0, 15)
      })
    )
    expect(org.get(acct)!.values).toMatchObject({ Name: "Acme", NumberOfEmployees: 250, AnnualRevenue: 1_500_000, Type: "Prospect" })
    expect(org.get(id)!.values).toMatchObject({
      Name: "Jane Doe",
      AccountId: acct,
      Birthdate: "1980-02-29",
      DoNotCall: true,
      HasOptedOutOfEmail: false
    })
    expect(org.get(opp)!.values).toMatchObject({ Amount: 99.5, CloseDate: "2026-06-30", AccountId: acct })
    const custom = Org.make(
      Org.extend({
        objects: [{ name: "Event__c", keyPrefix: "a02", fields: [{ name: "At__c", type: "datetime" }, { name: "On__c", type: "date" }] }]
      })
    )
    const e1 = ok(custom.apply("insert", "Event__c", { At__c: "2026-01-02T03:04:05+02:00", On__c: "2026-01-02" }))
    const e2 = ok(custom.apply("insert", "Event__c", { At__c: "2026-01-02T03:04:05.123-0530" }))
    const e3 = ok(custom.apply("insert", "Event__c", { At__c: "2026-01-02T03:04:05Z" }))
    const e4 = ok(custom.apply("insert", "Event__c", { At__c: "2026-01-02T03:04:05.29Z" }))
    expect(custom.get(e4)!.values["At__c"]).toBe("2026-01-02T03:04:05.290Z")
    expect(error(custom.apply("insert", "Event__c", { At__c: "2026-01-02T25:04:05Z" })).statusCode).toBe("INVALID_TYPE_ON_FIELD_IN_RECORD")
    expect(custom.get(e1)!.values["At__c"]).toBe("2026-01-02T01:04:05.000Z")
    expect(custom.get(e1)!.values["On__c"]).toBe("2026-01-02")
    expect(custom.get(e2)!.values["At__c"]).toBe("2026-01-02T08:34:05.123Z")
    expect(custom.get(e3)!.values["At__c"]).toBe("2026-01-02T03:04:05.000Z")
  })

  it("returns 18-character ids that sort in creation order", () => {
    const org = fresh()
    const ids = Array.from({ length: 200 }, (_, i) => ok(org.apply("insert", "Account", { Name: `A${i}` })))
    expect(ids.every((id) => id.length === 18 && id.startsWith("001") && Org.isValidId(id))).toBe(true)
    expect([...ids].sort()).toEqual(ids)
    expect(org.count("Account")).toBe(200)
  })

  it("reports REQUIRED_FIELD_MISSING with every missing field", () => {
    const org = fresh()
    expect(error(org.apply("insert", "Account", { Phone: "1" }))).toEqual({
      statusCode: "REQUIRED_FIELD_MISSING",
      message: "Required fields are missing: [Name]",
      fields: ["Name"]
    })
    expect(error(org.apply("insert", "Lead", { FirstName: "x" }))).toEqual({
      statusCode: "REQUIRED_FIELD_MISSING",
      message: "Required fields are missing: [LastName, Company]",
      fields: ["LastName", "Company"]
    })
    expect(error(org.apply("insert", "Opportunity", { Name: "x", CloseDate: "#N/A" })).fields).toEqual(["StageName", "CloseDate"])
    expect(error(org.apply("insert", "Account", { Name: null })).statusCode).toBe("REQUIRED_FIELD_MISSING")
    expect(error(org.apply("insert", "Account", { Name: "" })).statusCode).toBe("REQUIRED_FIELD_MISSING")
    expect(org.count("Account")).toBe(0)
  })

  it("applies picklist defaults (Lead.Status)", () => {
    const org = fresh()
    const id = ok(org.apply("insert", "Lead", { LastName: "L", Company: "C" }))
    expect(org.get(id)!.values["Status"]).toBe("Open - Not Contacted")
  })

  it("reports DUPLICATE_VALUE on unique fields, case-insensitively", () => {
    const org = fresh()
    const first = ok(org.apply("insert", "Account", { Name: "A", ExternalId__c: "EXT-1" }))
    expect(error(org.apply("insert", "Account", { Name: "B", ExternalId__c: "ext-1" }))).toEqual({
      statusCode: "DUPLICATE_VALUE",
      message: `duplicate value found: ExternalId__c duplicates value on record with id: ${first.slice(0, 15)}`,
      fields: []
    })
    expect(org.count("Account")).toBe(1)
    const accented = ok(org.apply("insert", "Account", { Name: "É", ExternalId__c: "ÉCOLE-\u212A" }))
    expect(error(org.apply("insert", "Account", { Name: "B", ExternalId__c: "école-k" })).message).toContain(accented.slice(0, 15))
  })

  it("reports per-field type errors with Salesforce's codes", () => {
    const org = fresh()
    const cases: Array<[string, Record<string, Org.InputValue>, string, string]> = [
      ["Account", { Name: "x".repeat(256) }, "STRING_TOO_LONG", "Account Name: data value too large: "],
      [
        "Account",
        { Name: "A", NumberOfEmployees: "12abc" },
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "Employees: value not of required type: 12abc"
      ],
      [
        "Account",
        { Name: "A", AnnualRevenue: "1,000" },
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "AnnualRevenue: value not of required type: 1,000"
      ],
      [
        "Contact",
        { LastName: "A", Birthdate: "2026-02-30" },
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "Birthdate: value not of required type: 2026-02-30"
      ],
      [
        "Contact",
        { LastName: "A", Birthdate: "03/04/2026" },
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "Birthdate: value not of required type: 03/04/2026"
      ],
      ["Contact", { LastName: "A", DoNotCall: "maybe" }, "INVALID_TYPE_ON_FIELD_IN_RECORD", "DoNotCall: value not of required type: maybe"],
      ["Contact", { LastName: "A", Email: "not-an-email" }, "INVALID_EMAIL_ADDRESS", "Email: invalid email address: not-an-email"],
      [
        "Account",
        { Name: "A", Type: "Partner" },
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "Account Type: bad value for restricted picklist field: Partner"
      ],
      [
        "Account",
        { Name: "A", CreatedDate: "2026-01-01T00:00:00Z" },
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "Unable to create/update fields: CreatedDate."
      ],
      ["Account", { Name: "A", Id: "001A0000006Vm9r" }, "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call"],
      ["Contact", { LastName: "A", AccountId: "garbage" }, "MALFORMED_ID", "Account ID: id value of incorrect type: garbage"],
      [
        "Contact",
        { LastName: "A", AccountId: "003A0000006Vm9r" },
        "MALFORMED_ID",
        "Account ID: id value of incorrect type: 003A0000006Vm9r"
      ],
      ["Contact", { LastName: "A", AccountId: "001A0000006Vm9rIAC" }, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"]
    ]
    for (const [object, row, code, message] of cases) {
      const e = error(org.apply("insert", object, row))
      expect(e.statusCode, JSON.stringify(row)).toBe(code)
      expect(e.message.startsWith(message), `${e.message} / ${message}`).toBe(true)
    }
    expect(error(org.apply("insert", "Account", { Name: "x".repeat(256) })).message).toMatch(/\(max length=255\)$/)
    expect(error(org.apply("insert", "Account", { Name: "A", Type: "Partner" })).fields).toEqual(["Type"])
    expect(org.count("Account") + org.count("Contact")).toBe(0)
  })

  it("accepts the field's maximum length exactly", () => {
    const org = fresh()
    ok(org.apply("insert", "Account", { Name: "x".repeat(255) }))
  })
})

describe("update", () => {
  it("leaves empty values unchanged and sets null for #N/A or null", () => {
    const org = fresh()
    const id = ok(org.apply("insert", "Account", { Name: "A", Phone: "1", Website: "w", Industry: "Banking" }))
    const out = org.apply("update", "Account", { Id: id, Name: "B", Phone: "", Website: "#N/A", Industry: null })
    expect(out).toEqual({ success: true, id, created: false })
    expect(org.get(id)!.values).toMatchObject({ Name: "B", Phone: "1", Website: null, Industry: null })
  })

  it("accepts 15-character ids and stamps LastModifiedDate", () => {
    let now = NOW
    const org = Org.make(Org.defaultDefinition, { now: () => now })
    const id = ok(org.apply("insert", "Account", { Name: "A" }))
    now += 60_000
    expect(ok(org.apply("update", "Account", { Id: id.slice(0, 15), Name: "B" }))).toBe(id)
    const v = org.get(id)!.values
    expect(v["CreatedDate"]).toBe("2026-03-02T10:30:00.000Z")
    expect(v["LastModifiedDate"]).toBe("2026-03-02T10:31:00.000Z")
  })

  it("reports MISSING_ARGUMENT, MALFORMED_ID, INVALID_CROSS_REFERENCE_KEY and required fields set to null", () => {
    const org = fresh()
    const id = ok(org.apply("insert", "Account", { Name: "A" }))
    expect(error(org.apply("update", "Account", { Name: "B" }))).toMatchObject({ statusCode: "MISSING_ARGUMENT" })
    expect(error(org.apply("update", "Account", { Id: "nope", Name: "B" }))).toEqual({
      statusCode: "MALFORMED_ID",
      message: "Account ID: id value of incorrect type: nope",
      fields: ["Id"]
    })
    expect(error(org.apply("update", "Account", { Id: `${id.slice(0, 15)}ZZZ` })).statusCode).toBe("MALFORMED_ID")
    expect(error(org.apply("update", "Account", { Id: "001A0000006Vm9rIAC", Name: "B" })).statusCode).toBe("INVALID_CROSS_REFERENCE_KEY")
    expect(error(org.apply("update", "Account", { Id: id, Name: "#N/A" }))).toEqual({
      statusCode: "REQUIRED_FIELD_MISSING",
      message: "Required fields are missing: [Name]",
      fields: ["Name"]
    })
    expect(error(org.apply("update", "Account", { Id: id, SystemModstamp: "2026-01-01T00:00:00Z" })).statusCode).toBe(
      "INVALID_FIELD_FOR_INSERT_UPDATE"
    )
    expect(org.get(id)!.values["Name"]).toBe("A")
  })

  it("keeps unique indexes in step with updates", () => {
    const org = fresh()
    const a = ok(org.apply("insert", "Account", { Name: "A", ExternalId__c: "X1" }))
    const b = ok(org.apply("insert", "Account", { Name: "B", ExternalId__c: "X2" }))
    ok(org.apply("update", "Account", { Id: a, ExternalId__c: "X3" }))
    ok(org.apply("update", "Account", { Id: b, ExternalId__c: "X1" })) // X1 is free again
    expect(error(org.apply("update", "Account", { Id: b, ExternalId__c: "x3" })).statusCode).toBe("DUPLICATE_VALUE")
    ok(org.apply("update", "Account", { Id: b, ExternalId__c: "X1" })) // same record, same value
  })
})

describe("upsert", () => {
  it("inserts or updates by external id and reports created true/false", () => {
    const org = fresh()
    const opts = { externalIdField: "ExternalId__c" }
    const first = org.apply("upsert", "Account", { Name: "A", ExternalId__c: "E1" }, opts)
    expect(first).toMatchObject({ success: true, created: true })
    const second = org.apply("upsert", "Account", { Name: "A2", ExternalId__c: "e1" }, opts)
    expect(second).toEqual({ success: true, id: ok(first), created: false })
    expect(org.get(ok(first))!.values["Name"]).toBe("A2")
    expect(org.count("Account")).toBe(1)
    expect(error(org.apply("upsert", "Account", { Name: "A3" }, opts))).toMatchObject({
      statusCode: "MISSING_ARGUMENT",
      message: "ExternalId__c not specified"
    })
    expect(error(org.apply("upsert", "Account", { Name: "A3", Phone: "1" }, { externalIdField: "Phone" })).statusCode).toBe("INVALID_FIELD")
  })

  it("upserts by Id: blank inserts, a known Id updates", () => {
    const org = fresh()
    const inserted = org.apply("upsert", "Account", { Id: "", Name: "A" })
    expect(inserted).toMatchObject({ success: true, created: true })
    expect(org.apply("upsert", "Account", { Id: ok(inserted), Name: "B" })).toEqual({ success: true, id: ok(inserted), created: false })
    expect(error(org.apply("upsert", "Account", { Id: "001A0000006Vm9r", Name: "C" })).statusCode).toBe("INVALID_CROSS_REFERENCE_KEY")
  })

  it("reports DUPLICATE_EXTERNAL_ID when the key matches more than one record", () => {
    const org = Org.make(
      Org.extend({
        objects: [{
          name: "Item__c",
          keyPrefix: "a03",
          fields: [{ name: "Code__c", type: "string", length: 20, externalId: true }, { name: "N__c", type: "int" }]
        }]
      })
    )
    const a = ok(org.apply("insert", "Item__c", { Code__c: "K" }))
    const b = ok(org.apply("insert", "Item__c", { Code__c: "K" }))
    expect(error(org.apply("upsert", "Item__c", { Code__c: "K", N__c: "1" }, { externalIdField: "Code__c" }))).toEqual({
      statusCode: "DUPLICATE_EXTERNAL_ID",
      message: `Code__c: more than one record found for external id field: [${a}, ${b}]`,
      fields: []
    })
  })
})

describe("relationship columns", () => {
  it("resolves lookups by the parent's external id or idLookup field", () => {
    const org = fresh()
    const acct = ok(org.apply("insert", "Account", { Name: "Parent", ExternalId__c: "P-1" }))
    const boss = ok(org.apply("insert", "Contact", { LastName: "Boss", Email: "boss@example.com", "Account.ExternalId__c": "p-1" }))
    const emp = ok(
      org.apply("insert", "Contact", { LastName: "Emp", "ReportsTo.Email": "BOSS@example.com", "Owner.Username": "admin@sfbulk.emulator" })
    )
    expect(org.get(boss)!.values["AccountId"]).toBe(acct)
    expect(org.get(emp)!.values["ReportsToId"]).toBe(boss)
    expect(org.get(emp)!.values["OwnerId"]).toBe(org.userId)
    const e = error(org.apply("insert", "Contact", { LastName: "X", "Account.ExternalId__c": "nope" }))
    expect(e).toEqual({
      statusCode: "INVALID_FIELD",
      message: "Foreign key external ID: nope not found for field ExternalId__c in entity Account",
      fields: []
    })
    // #N/A clears the lookup, empty leaves it
    ok(org.apply("update", "Contact", { Id: boss, "Account.ExternalId__c": "" }))
    expect(org.get(boss)!.values["AccountId"]).toBe(acct)
    ok(org.apply("update", "Contact", { Id: boss, "Account.ExternalId__c": "#N/A" }))
    expect(org.get(boss)!.values["AccountId"]).toBe(null)
  })

  it("refuses a lookup value shared by several parents, and keeps shared idLookup values cheap to maintain", () => {
    const org = fresh()
    const ids = Array.from({ length: 2000 }, (_, i) => ok(org.apply("insert", "Contact", { LastName: `C${i}`, Email: "same@example.com" })))
    const e = error(org.apply("insert", "Contact", { LastName: "X", "ReportsTo.Email": "SAME@example.com" }))
    expect(e.statusCode).toBe("DUPLICATE_EXTERNAL_ID")
    expect(e.message).toContain(`[${ids.slice(0, 10).join(", ")}]`)
    for (const id of ids.slice(1)) ok(org.apply("update", "Contact", { Id: id, Email: "other@example.com" }))
    const boss = ok(org.apply("insert", "Contact", { LastName: "Y", "ReportsTo.Email": "same@example.com" }))
    expect(org.get(boss)!.values["ReportsToId"]).toBe(ids[0])
  })

  it("resolves polymorphic lookups with an object prefix", () => {
    const org = Org.make(
      Org.extend({
        objects: [
          {
            name: "Task__c",
            keyPrefix: "a04",
            fields: [{ name: "WhoId__c", type: "reference", referenceTo: ["Contact", "Lead"], relationshipName: "Who" }]
          }
        ]
      })
    )
    const lead = ok(org.apply("insert", "Lead", { LastName: "L", Company: "C", Email: "lead@example.com" }))
    expect(org.checkHeader("Task__c", "insert", ["lead:who.email"])).toEqual({ ok: true, columns: ["Lead:Who.Email"] })
    expect(org.checkHeader("Task__c", "insert", ["Who.Email"]).ok).toBe(false)
    const task = ok(org.apply("insert", "Task__c", { "Lead:Who.Email": "lead@example.com" }))
    expect(org.get(task)!.values["WhoId__c"]).toBe(lead)
  })
})

describe("delete and hardDelete", () => {
  it("soft-deletes: hidden from query, visible to queryAll, ENTITY_IS_DELETED afterwards", () => {
    const org = fresh()
    const a = ok(org.apply("insert", "Account", { Name: "A", ExternalId__c: "D1" }))
    ok(org.apply("insert", "Account", { Name: "B" }))
    expect(org.apply("delete", "Account", { Id: a })).toEqual({ success: true, id: a, created: false })
    expect(org.count("Account")).toBe(1)
    expect(org.count("Account", { all: true })).toBe(2)
    expect(rows(org, "SELECT Name FROM Account")).toEqual([["B"]])
    expect(rows(org, "SELECT Name, IsDeleted FROM Account", true)).toEqual([
      ["A", true],
      ["B", false]
    ])
    expect(org.get(a)!.deleted).toBe(true)
    const again = error(org.apply("delete", "Account", { Id: a }))
    expect(again).toEqual({ statusCode: "ENTITY_IS_DELETED", message: "entity is deleted", fields: [] })
    expect(error(org.apply("update", "Account", { Id: a, Name: "Z" })).statusCode).toBe("ENTITY_IS_DELETED")
    // the deleted record no longer holds its unique value
    ok(org.apply("insert", "Account", { Name: "C", ExternalId__c: "D1" }))
    // looking up a deleted parent fails
    expect(error(org.apply("insert", "Contact", { LastName: "X", AccountId: a })).statusCode).toBe("ENTITY_IS_DELETED")
  })

  it("needs an Id, and ignores other columns", () => {
    const org = fresh()
    const a = ok(org.apply("insert", "Account", { Name: "A" }))
    expect(error(org.apply("delete", "Account", { Name: "A" }))).toMatchObject({ statusCode: "MISSING_ARGUMENT" })
    expect(error(org.apply("delete", "Account", { Id: "xyz" })).statusCode).toBe("MALFORMED_ID")
    expect(error(org.apply("delete", "Account", { Id: "001A0000006Vm9r" })).statusCode).toBe("INVALID_CROSS_REFERENCE_KEY")
    expect(org.apply("delete", "Account", { Id: a, Name: "#N/A" })).toEqual({ success: true, id: a, created: false })
    expect(org.get(a)!.values["Name"]).toBe("A")
  })

  it("hard-deletes records for good, including soft-deleted ones", () => {
    const org = fresh()
    const a = ok(org.apply("insert", "Account", { Name: "A" }))
    const b = ok(org.apply("insert", "Account", { Name: "B" }))
    ok(org.apply("delete", "Account", { Id: b }))
    expect(org.apply("hardDelete", "Account", { Id: a })).toEqual({ success: true, id: a, created: false })
    ok(org.apply("hardDelete", "Account", { Id: b }))
    expect(org.get(a)).toBeUndefined()
    expect(org.get(b)).toBeUndefined()
    expect(org.count("Account", { all: true })).toBe(0)
    expect(rows(org, "SELECT Id FROM Account", true)).toEqual([])
    expect(error(org.apply("hardDelete", "Account", { Id: a })).statusCode).toBe("INVALID_CROSS_REFERENCE_KEY")
  })
})

describe("chunkRanges", () => {
  it("covers every id, deleted included, in chunkSize steps", () => {
    const org = fresh()
    const ids = Array.from({ length: 25 }, (_, i) => ok(org.apply("insert", "Account", { Name: `A${i}` })))
    ok(org.apply("delete", "Account", { Id: ids[3]! }))
    const ranges = org.chunkRanges("Account", 10)
    expect(ranges).toHaveLength(3)
    expect(ranges[0]!.lo).toBe(ids[0])
    expect(ranges[0]!.hi).toBe(ids[10])
    expect(ranges[1]).toEqual({ lo: ids[10], hi: ids[20] })
    expect(ranges[2]).toEqual({ lo: ids[20] })
    const seen: Array<string> = []
    for (const r of ranges) {
      const res = org.query("SELECT Id FROM Account", { all: true, idRange: r.hi ? { lo: r.lo, hi: r.hi } : { lo: r.lo } })
      if (!res.ok) throw new Error(res.error.message)
      for (let i = 0; i < res.result.size; i++) seen.push(res.result.id(i))
    }
    expect(seen).toEqual(ids)
    // without queryAll the chunk holding the deleted id returns one row fewer
    const live = org.query("SELECT Id FROM Account", { idRange: { lo: ranges[0]!.lo, hi: ranges[0]!.hi! } })
    expect(live.ok && live.result.size).toBe(9)
  })

  it("partitions all stored ids exactly once for any data and chunk size (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 15 }),
        fc.array(fc.nat({ max: 59 }), { maxLength: 20 }),
        fc.boolean(),
        (n, size, deletes, hard) => {
          const org = fresh()
          const ids = Array.from({ length: n }, (_, i) => ok(org.apply("insert", "Account", { Name: `A${i}` })))
          const gone = new Set<string>()
          for (const d of deletes) {
            if (d >= n) continue
            const out = org.apply(hard ? "hardDelete" : "delete", "Account", { Id: ids[d]! })
            if (hard && out.success) gone.add(ids[d]!)
          }
          const ranges = org.chunkRanges("Account", size)
          const seen: Array<string> = []
          for (const r of ranges) {
            const res = org.query("SELECT Id FROM Account", { all: true, idRange: r.hi ? { lo: r.lo, hi: r.hi } : { lo: r.lo } })
            if (!res.ok) throw new Error(res.error.message)
            expect(res.result.size).toBeLessThanOrEqual(size)
            for (let i = 0; i < res.result.size; i++) seen.push(res.result.id(i))
          }
          expect(seen).toEqual(ids.filter((id) => !gone.has(id)))
          expect(ranges).toHaveLength(Math.max(1, Math.ceil((n - gone.size) / size)))
        }
      ),
      { numRuns: 60 }
    )
  })

  it("starts at startRow given as 15 or 18 characters", () => {
    const org = fresh()
    const ids = Array.from({ length: 7 }, (_, i) => ok(org.apply("insert", "Account", { Name: `A${i}` })))
    expect(org.chunkRanges("Account", 3, ids[2]!)).toEqual([{ lo: ids[2], hi: ids[5] }, { lo: ids[5] }])
    expect(org.chunkRanges("Account", 3, ids[2]!.slice(0, 15))).toEqual([{ lo: ids[2], hi: ids[5] }, { lo: ids[5] }])
    expect(org.chunkRanges("Account", 100)).toEqual([{ lo: ids[0] }])
    expect(fresh().chunkRanges("Account", 100)).toHaveLength(1)
  })
})

describe("fromFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "sfbulk-org-"))

  effectIt.effect("adds objects and seed records to the default org", () =>
    Effect.gen(function*() {
      const path = join(dir, "org.json")
      writeFileSync(
        path,
        JSON.stringify({
          objects: [
            {
              name: "Invoice__c",
              keyPrefix: "a05",
              fields: [
                { name: "Number__c", type: "string", length: 10, required: true, unique: true, externalId: true },
                { name: "Account__c", type: "reference", referenceTo: ["Account"], relationshipName: "Account__r" },
                { name: "Total__c", type: "currency" }
              ]
            }
          ],
          records: { Account: [{ Name: "Seeded", ExternalId__c: "S1" }], Invoice__c: [{ Number__c: "INV-1", Total__c: "10.5" }] }
        })
      )
      const org = yield* Org.fromFile(path)
      expect(org.objectNames()).toContain("Invoice__c")
      expect(org.objectNames()).toContain("Account")
      expect(rows(org, "SELECT Number__c, Total__c FROM Invoice__c")).toEqual([["INV-1", 10.5]])
      expect(ok(org.apply("insert", "Invoice__c", { Number__c: "INV-2", "Account__r.ExternalId__c": "S1" }))).toMatch(/^a05/)
      expect(rows(org, "SELECT Account__r.Name FROM Invoice__c WHERE Number__c = 'INV-2'")).toEqual([["Seeded"]])
    }))

  effectIt.effect("fails with OrgDefinitionError on a missing or malformed file", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.exit(Org.fromFile(join(dir, "nope.json")))
      expect(Exit.isFailure(missing)).toBe(true)
      const bad = join(dir, "bad.json")
      writeFileSync(bad, JSON.stringify({ objects: [{ name: "X", keyPrefix: "toolong", fields: [] }] }))
      const err = yield* Effect.flip(Org.fromFile(bad))
      expect(err._tag).toBe("OrgDefinitionError")
      expect(err.message).toContain(bad)
      const broken = join(dir, "broken.json")
      writeFileSync(broken, "{")
      expect((yield* Effect.flip(Org.fromFile(broken))).message).toContain("invalid JSON")
    }))
})
