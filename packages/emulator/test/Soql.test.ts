import { beforeAll, describe, expect, it } from "vitest"
import * as Org from "../src/Org.js"

const NOW = Date.parse("2026-03-02T10:30:00.000Z")

const ok = (outcome: Org.RowOutcome): string => {
  if (!outcome.success) throw new Error(`expected success, got ${JSON.stringify(outcome.errors)}`)
  return outcome.id
}

let org: Org.Org
const acct: Record<string, string> = {}

const q = (soql: string, options?: Parameters<Org.Org["query"]>[1]): Org.QueryResult => {
  const res = org.query(soql, options)
  if (!res.ok) throw new Error(`${res.error.errorCode}: ${res.error.message}`)
  return res.result
}
const rows = (soql: string) => {
  const r = q(soql)
  return Array.from({ length: r.size }, (_, i) => r.row(i))
}
const names = (soql: string) => rows(soql).map((r) => r[0])
const fails = (soql: string): Org.ModelError => {
  const res = org.query(soql)
  if (res.ok) throw new Error(`expected ${soql} to fail`)
  return res.error
}

beforeAll(() => {
  org = Org.make(Org.defaultDefinition, { now: () => NOW })
  const accounts: Array<Record<string, string>> = [
    { Name: "Acme", Industry: "Banking", NumberOfEmployees: "100", AnnualRevenue: "5000.5", Type: "Prospect", ExternalId__c: "A1" },
    { Name: "beta corp", Industry: "Retail", NumberOfEmployees: "20", Type: "Other", ExternalId__c: "A2" },
    { Name: "Gamma_1", Industry: "Banking", NumberOfEmployees: "300", Website: "g.example.com", ExternalId__c: "A3" },
    { Name: "O'Brien & Sons", NumberOfEmployees: "20", Description: "line1\nline2", ExternalId__c: "A4" },
    { Name: "100% Pure", Industry: "Energy", ExternalId__c: "A5" }
  ]
  for (const a of accounts) acct[a.Name!] = ok(org.apply("insert", "Account", a))
  ok(
    org.apply("insert", "Contact", {
      LastName: "Smith",
      FirstName: "Ann",
      "Account.ExternalId__c": "A1",
      Birthdate: "1990-05-01",
      DoNotCall: "true"
    })
  )
  ok(org.apply("insert", "Contact", { LastName: "Jones", "Account.ExternalId__c": "A2", Birthdate: "1985-12-31" }))
  ok(org.apply("insert", "Contact", { LastName: "Orphan" }))
  ok(
    org.apply("insert", "Opportunity", {
      Name: "Big",
      StageName: "Closed Won",
      CloseDate: "2026-03-02",
      Amount: "1000",
      AccountId: acct["Acme"]!
    })
  )
  ok(org.apply("insert", "Opportunity", { Name: "Small", StageName: "Prospecting", CloseDate: "2026-02-01", Amount: "10" }))
})

describe("SELECT and FROM", () => {
  it("returns canonical column names and types for any input case", () => {
    const r = q(
      "select id, NAME, account.name, Account.Owner.name, birthdate, donotcall, CreatedDate from contact where lastname = 'smith'"
    )
    expect(r.object).toBe("Contact")
    expect(r.columns).toEqual(["Id", "Name", "Account.Name", "Account.Owner.Name", "Birthdate", "DoNotCall", "CreatedDate"])
    expect(r.types).toEqual(["id", "string", "string", "string", "date", "boolean", "datetime"])
    expect(r.size).toBe(1)
    const row = r.row(0)
    expect(row[0]).toBe(r.id(0))
    expect(row[0]).toMatch(/^003[0-9A-Za-z]{15}$/)
    expect(row.slice(1)).toEqual(["Ann Smith", "Acme", "Emulator Admin", "1990-05-01", true, "2026-03-02T10:30:00.000Z"])
  })

  it("gives typed values and nulls for missing parents", () => {
    expect(rows("SELECT Name, NumberOfEmployees, AnnualRevenue FROM Account WHERE Name = 'Acme'")).toEqual([["Acme", 100, 5000.5]])
    expect(rows("SELECT LastName, Account.Name, AccountId FROM Contact WHERE LastName = 'Orphan'")).toEqual([["Orphan", null, null]])
    expect(rows("SELECT Name, Account.Name FROM Opportunity ORDER BY Name")).toEqual([
      ["Big", "Acme"],
      ["Small", null]
    ])
  })

  it("returns rows in id (creation) order without ORDER BY", () => {
    expect(names("SELECT Name FROM Account")).toEqual(["Acme", "beta corp", "Gamma_1", "O'Brien & Sons", "100% Pure"])
    const r = q("SELECT Id FROM Account")
    const ids = Array.from({ length: r.size }, (_, i) => r.id(i))
    expect([...ids].sort()).toEqual(ids)
  })
})

describe("WHERE", () => {
  it("compares text case-insensitively with = != <>", () => {
    expect(names("SELECT Name FROM Account WHERE Name = 'ACME'")).toEqual(["Acme"])
    expect(names("SELECT Name FROM Account WHERE Industry != 'banking'")).toEqual(["beta corp", "O'Brien & Sons", "100% Pure"])
    expect(names("SELECT Name FROM Account WHERE Industry <> 'Banking' AND Industry != null")).toEqual(["beta corp", "100% Pure"])
  })

  it("handles null, numbers, booleans, ranges", () => {
    expect(names("SELECT Name FROM Account WHERE Industry = null")).toEqual(["O'Brien & Sons"])
    expect(names("SELECT Name FROM Account WHERE NumberOfEmployees > 20")).toEqual(["Acme", "Gamma_1"])
    expect(names("SELECT Name FROM Account WHERE NumberOfEmployees >= 20 AND NumberOfEmployees < 300")).toEqual([
      "Acme",
      "beta corp",
      "O'Brien & Sons"
    ])
    expect(names("SELECT Name FROM Account WHERE NumberOfEmployees <= 20")).toEqual(["beta corp", "O'Brien & Sons"])
    expect(names("SELECT Name FROM Account WHERE AnnualRevenue = 5000.5")).toEqual(["Acme"])
    expect(names("SELECT LastName FROM Contact WHERE DoNotCall = true")).toEqual(["Smith"])
    expect(names("SELECT LastName FROM Contact WHERE DoNotCall = FALSE")).toEqual(["Jones", "Orphan"])
    expect(names("SELECT Name FROM Opportunity WHERE Amount > -5.5")).toEqual(["Big", "Small"])
  })

  it("supports LIKE with % and _ (case-insensitive) and escaped wildcards", () => {
    expect(names("SELECT Name FROM Account WHERE Name LIKE 'a%'")).toEqual(["Acme"])
    expect(names("SELECT Name FROM Account WHERE Name LIKE '%CORP'")).toEqual(["beta corp"])
    expect(names("SELECT Name FROM Account WHERE Name LIKE 'Gamm__1'")).toEqual(["Gamma_1"])
    expect(names("SELECT Name FROM Account WHERE Name LIKE 'Gamm_1'")).toEqual([])
    expect(names("SELECT Name FROM Account WHERE Name LIKE 'Gamma\\_%'")).toEqual(["Gamma_1"])
    expect(names("SELECT Name FROM Account WHERE Name LIKE 'Gamm\\_%'")).toEqual([])
    expect(names("SELECT Name FROM Account WHERE Name LIKE 'Gamm_\\_1'")).toEqual(["Gamma_1"])
    expect(names("SELECT Name FROM Account WHERE Name LIKE '100\\%%'")).toEqual(["100% Pure"])
    expect(names("SELECT Name FROM Account WHERE Name LIKE '%\\%%'")).toEqual(["100% Pure"])
    expect(names("SELECT Name FROM Account WHERE NOT Name LIKE '%a%'")).toEqual(["O'Brien & Sons", "100% Pure"])
  })

  it("unescapes string literals", () => {
    expect(names("SELECT Name FROM Account WHERE Name = 'O\\'Brien & Sons'")).toEqual(["O'Brien & Sons"])
    expect(names("SELECT Name FROM Account WHERE Description = 'line1\\nline2'")).toEqual(["O'Brien & Sons"])
    expect(fails("SELECT Name FROM Account WHERE Name = 'a\\qb'").errorCode).toBe("MALFORMED_QUERY")
    expect(fails("SELECT Name FROM Account WHERE Name = 'open").errorCode).toBe("MALFORMED_QUERY")
  })

  it("supports IN and NOT IN", () => {
    expect(names("SELECT Name FROM Account WHERE Industry IN ('Banking', 'energy')")).toEqual(["Acme", "Gamma_1", "100% Pure"])
    expect(names("SELECT Name FROM Account WHERE Industry NOT IN ('Banking', 'Energy')")).toEqual(["beta corp", "O'Brien & Sons"])
    expect(names("SELECT Name FROM Account WHERE NumberOfEmployees IN (20, 300)")).toEqual(["beta corp", "Gamma_1", "O'Brien & Sons"])
    expect(names(`SELECT Name FROM Account WHERE Id IN ('${acct["Acme"]}', '${acct["Gamma_1"]!.slice(0, 15)}')`)).toEqual([
      "Acme",
      "Gamma_1"
    ])
  })

  it("supports semi-join and anti-join sub-selects on id fields", () => {
    expect(names("SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE LastName != 'Jones')")).toEqual(["Acme"])
    expect(names("SELECT Name FROM Account WHERE Id NOT IN (SELECT AccountId FROM Contact) AND Industry = 'Banking'")).toEqual(["Gamma_1"])
    expect(names("SELECT LastName FROM Contact WHERE AccountId IN (SELECT Id FROM Account WHERE Industry = 'Retail')")).toEqual(["Jones"])
    expect(fails("SELECT Name FROM Account WHERE Name IN (SELECT AccountId FROM Contact)").errorCode).toBe("INVALID_FIELD")
    expect(fails("SELECT Name FROM Account WHERE Id IN (SELECT LastName FROM Contact)").errorCode).toBe("INVALID_FIELD")
    expect(fails("SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Nope__c)").errorCode).toBe("INVALID_TYPE")
    expect(fails("SELECT Name FROM Account WHERE Id IN (SELECT AccountId, Id FROM Contact)").errorCode).toBe("MALFORMED_QUERY")
  })

  it("combines AND, OR, NOT with parentheses", () => {
    expect(names("SELECT Name FROM Account WHERE (Industry = 'Banking' OR Industry = 'Retail') AND NumberOfEmployees < 200")).toEqual([
      "Acme",
      "beta corp"
    ])
    expect(names("SELECT Name FROM Account WHERE Industry = 'Energy' OR (NOT Industry = 'Banking' AND Industry != null)")).toEqual([
      "beta corp",
      "100% Pure"
    ])
    expect(names("SELECT Name FROM Account WHERE NOT (Industry = 'Banking' OR Industry = null)")).toEqual(["beta corp", "100% Pure"])
    expect(fails("SELECT Name FROM Account WHERE Industry = 'a' AND Name = 'b' OR Name = 'c'").errorCode).toBe("MALFORMED_QUERY")
  })

  it("filters on relationship fields and ids", () => {
    expect(names("SELECT LastName FROM Contact WHERE Account.Industry = 'Banking'")).toEqual(["Smith"])
    expect(names("SELECT LastName FROM Contact WHERE Account.Name = null")).toEqual(["Orphan"])
    expect(names(`SELECT LastName FROM Contact WHERE AccountId = '${acct["beta corp"]!.slice(0, 15)}'`)).toEqual(["Jones"])
    expect(fails("SELECT Name FROM Account WHERE Id = 'abc'")).toMatchObject({ errorCode: "INVALID_QUERY_FILTER_OPERATOR" })
  })

  it("compares dates and datetimes with literals and relative date literals", () => {
    expect(names("SELECT LastName FROM Contact WHERE Birthdate > 1986-01-01")).toEqual(["Smith"])
    expect(names("SELECT LastName FROM Contact WHERE Birthdate = 1985-12-31")).toEqual(["Jones"])
    expect(names("SELECT Name FROM Account WHERE CreatedDate = 2026-03-02T10:30:00Z")).toHaveLength(5)
    expect(names("SELECT Name FROM Account WHERE CreatedDate > 2026-03-02T11:00:00+01:00")).toHaveLength(5)
    expect(names("SELECT Name FROM Account WHERE CreatedDate < 2026-03-02T10:30:00.000Z")).toEqual([])
    expect(names("SELECT Name FROM Account WHERE CreatedDate = TODAY")).toHaveLength(5)
    expect(names("SELECT Name FROM Account WHERE CreatedDate = YESTERDAY")).toEqual([])
    expect(names("SELECT Name FROM Opportunity WHERE CloseDate = LAST_N_DAYS:30")).toEqual(["Big", "Small"])
    expect(names("SELECT Name FROM Opportunity WHERE CloseDate < THIS_MONTH")).toEqual(["Small"])
    expect(fails("SELECT Name FROM Account WHERE CreatedDate > 2026-01-01")).toMatchObject({ errorCode: "INVALID_FIELD" })
    expect(fails("SELECT LastName FROM Contact WHERE Birthdate > 2026-02-30").errorCode).toBe("MALFORMED_QUERY")
    expect(fails("SELECT Name FROM Account WHERE NumberOfEmployees > '5'").message).toContain(
      "value of filter criterion for field 'NumberOfEmployees' must be of type double and should not be enclosed in quotes"
    )
  })
})

describe("ORDER BY and LIMIT", () => {
  it("orders by several keys with ASC/DESC and NULLS FIRST/LAST", () => {
    expect(names("SELECT Name FROM Account ORDER BY Name")).toEqual(["100% Pure", "Acme", "beta corp", "Gamma_1", "O'Brien & Sons"])
    expect(names("SELECT Name FROM Account ORDER BY NumberOfEmployees DESC, Name ASC")).toEqual([
      "Gamma_1",
      "Acme",
      "beta corp",
      "O'Brien & Sons",
      "100% Pure" // nulls last by default with DESC
    ])
    expect(names("SELECT Name FROM Account ORDER BY NumberOfEmployees")).toEqual([
      "100% Pure",
      "beta corp",
      "O'Brien & Sons",
      "Acme",
      "Gamma_1"
    ])
    expect(names("SELECT Name FROM Account ORDER BY NumberOfEmployees ASC NULLS LAST, Name DESC")).toEqual([
      "O'Brien & Sons",
      "beta corp",
      "Acme",
      "Gamma_1",
      "100% Pure"
    ])
    expect(names("SELECT Name FROM Account ORDER BY Industry DESC NULLS FIRST LIMIT 2")).toEqual(["O'Brien & Sons", "beta corp"])
    expect(names("SELECT LastName FROM Contact ORDER BY Account.Name DESC")).toEqual(["Jones", "Smith", "Orphan"])
  })

  it("applies LIMIT after filtering and ordering", () => {
    expect(names("SELECT Name FROM Account LIMIT 2")).toEqual(["Acme", "beta corp"])
    expect(names("SELECT Name FROM Account WHERE Industry = 'Banking' ORDER BY Name DESC LIMIT 1")).toEqual(["Gamma_1"])
    expect(names("SELECT Name FROM Account LIMIT 0")).toEqual([])
  })

  it("restricts to an id range (PK chunking) with 15- or 18-character bounds", () => {
    const r = q("SELECT Name FROM Account", { idRange: { lo: acct["beta corp"]!.slice(0, 15), hi: acct["O'Brien & Sons"]! } })
    expect(Array.from({ length: r.size }, (_, i) => r.row(i)[0])).toEqual(["beta corp", "Gamma_1"])
  })
})

describe("errors", () => {
  const tail = (e: Org.ModelError) => e.message.split("\n").at(-1)

  it("reports syntax errors as MALFORMED_QUERY with the position", () => {
    const e = fails("SELECT Id FORM Account")
    expect(e.errorCode).toBe("MALFORMED_QUERY")
    expect(e.message).toBe("\nSELECT Id FORM Account\n          ^\nERROR at Row:1:Column:11\nunexpected token: 'FORM'")
    expect(tail(fails("SELECT Id FROM Account WHERE"))).toBe("unexpected token: '<EOF>'")
    expect(tail(fails("SELECT FROM Account"))).toBe("unexpected token: 'FROM'")
    expect(tail(fails("SELECT Id, FROM Account"))).toBe("unexpected token: 'FROM'")
    expect(fails("SELECT Id FROM Account LIMIT x").errorCode).toBe("MALFORMED_QUERY")
    expect(fails("DELETE FROM Account").errorCode).toBe("MALFORMED_QUERY")
    expect(fails("SELECT Id FROM Account WHERE Name = 'a' extra").errorCode).toBe("MALFORMED_QUERY")
  })

  it("reports unknown fields, relationships and objects in Salesforce's words", () => {
    const e = fails("SELECT Id, Foo FROM Account")
    expect(e.errorCode).toBe("INVALID_FIELD")
    expect(tail(e)).toBe(
      "No such column 'Foo' on entity 'Account'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
    )
    expect(e.message).toContain("ERROR at Row:1:Column:12")
    expect(tail(fails("SELECT Account.Foo FROM Contact"))).toMatch(/^No such column 'Foo' on entity 'Account'/)
    expect(tail(fails("SELECT Acct.Name FROM Contact"))).toMatch(/^Didn't understand relationship 'Acct' in field path/)
    expect(fails("SELECT Id FROM Account WHERE Bogus = 1").errorCode).toBe("INVALID_FIELD")
    expect(fails("SELECT Id FROM Account ORDER BY Bogus").errorCode).toBe("INVALID_FIELD")
    const t = fails("SELECT Id FROM Foo")
    expect(t.errorCode).toBe("INVALID_TYPE")
    expect(tail(t)).toBe(
      "sObject type 'Foo' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."
    )
  })

  it("refuses what Bulk queries do not support", () => {
    for (
      const soql of [
        "SELECT COUNT() FROM Account",
        "SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry",
        "SELECT Id FROM Account GROUP BY Id",
        "SELECT Id FROM Account LIMIT 5 OFFSET 2",
        "SELECT TYPEOF Owner WHEN User THEN Name END FROM Account",
        "SELECT Id, (SELECT Id FROM Contacts) FROM Account"
      ]
    ) {
      const e = fails(soql)
      expect(e.errorCode, soql).toBe("FUNCTIONALITY_NOT_ENABLED")
      expect(e.message, soql).toMatch(/not supported in Bulk Query$/)
    }
    expect(tail(fails("SELECT Id, (SELECT Id FROM Contacts) FROM Account"))).toBe("Aggregate Relationships not supported in Bulk Query")
    expect(fails("SELECT Id, Id FROM Account").errorCode).toBe("INVALID_FIELD")
  })
})
