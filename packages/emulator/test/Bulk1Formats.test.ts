import { describe, expect, it } from "vitest"
import { errorText, formatDate, renderOutcome } from "../src/internal/bulk1/formats.js"
import { make } from "../src/Org.js"
import { readRows } from "../src/internal/bulk1/records.js"
import { escapeXml, isNil, parseXml, XmlSyntaxError } from "../src/internal/bulk1/xml.js"

describe("Bulk 1.0 XML reader", () => {
  it("reads elements in any order, dropping prefixes, decoding entities and CDATA", () => {
    const root = parseXml(
      `\uFEFF<?xml version="1.0" encoding="UTF-8"?><!-- c --><ns:jobInfo xmlns:ns="x"><ns:object>A&amp;B &#65;&#x42;</ns:object>` +
        `<operation><![CDATA[<insert>]]></operation><empty/><nil xsi:nil="true" a='1>2'/></ns:jobInfo>`
    )
    expect(root.name).toBe("jobInfo")
    expect(root.children.map((c) => c.name)).toEqual(["object", "operation", "empty", "nil"])
    expect(root.children[0]!.text).toBe("A&B AB")
    expect(root.children[1]!.text).toBe("<insert>")
    expect(isNil(root.children[3]!)).toBe(true)
    expect(root.children[3]!.attrs["a"]).toBe("1>2")
    expect(isNil(root.children[2]!)).toBe(false)
  })

  it("rejects malformed documents with a message saying what is wrong", () => {
    expect(() => parseXml("<a><b></a>")).toThrow(XmlSyntaxError)
    expect(() => parseXml("<a>")).toThrow(/not closed/)
    expect(() => parseXml("")).toThrow(/Premature end/)
    expect(() => parseXml("<a/><b/>")).toThrow(/one root/)
  })

  it("escapes text it writes", () => {
    expect(escapeXml(`a<b>&"c"`)).toBe("a&lt;b&gt;&amp;&quot;c&quot;")
    expect(parseXml(`<v>${escapeXml(`a<b>&"c"`)}</v>`).text).toBe(`a<b>&"c"`)
  })
})

describe("Bulk 1.0 result text", () => {
  it("formats per-record errors as CODE:message:fields --", () => {
    expect(errorText([{ statusCode: "REQUIRED_FIELD_MISSING", message: "Required fields are missing: [Name]", fields: ["Name"] }]))
      .toBe("REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --")
    expect(errorText([{ statusCode: "DUPLICATE_VALUE", message: "duplicate value found", fields: [] }]))
      .toBe("DUPLICATE_VALUE:duplicate value found:--")
    expect(errorText([{ statusCode: "X", message: "m", fields: ["A", "B"] }])).toBe("X:m:A,B --")
  })

  it("renders CSV result rows fully quoted, with embedded quotes doubled", () => {
    expect(renderOutcome({ success: true, id: "001000000000001AAA", created: false }, "csv"))
      .toBe(`"001000000000001AAA","true","false",""\n`)
    expect(renderOutcome({ success: false, id: null, errors: [{ statusCode: "E", message: `say "hi"`, fields: [] }] }, "csv"))
      .toBe(`"","false","false","E:say ""hi"":--"\n`)
  })

  it("formats timestamps per document type", () => {
    const ms = Date.UTC(2026, 2, 2, 10, 15, 1, 7)
    expect(formatDate(ms, "xml")).toBe("2026-03-02T10:15:01.007Z")
    expect(formatDate(ms, "json")).toBe("2026-03-02T10:15:01.007+0000")
  })
})

describe("Bulk 1.0 batch readers", () => {
  const org = make()
  it("reads CSV with CRLF line ends, quoted newlines kept exactly and case-insensitive headers", async () => {
    const rows = await readRows(
      org,
      "Account",
      "insert",
      "CSV",
      Buffer.from("name,DESCRIPTION\r\nAcme,\"a\r\nb\"\r\nGlobex,\"c\rd\ne\"\r\n"),
      1
    )
    expect(rows).toEqual([{ Name: "Acme", Description: "a\r\nb" }, { Name: "Globex", Description: "c\rd\ne" }])
  })
  it("keeps a UTF-8 BOM in the first column name, as Salesforce does (FIDELITY.md)", async () => {
    await expect(readRows(org, "Account", "insert", "CSV", Buffer.from("\uFEFFName,Site\nA,B\n"), 1)).rejects.toThrow(
      /^InvalidBatch : Field name not found : \uFEFFName$/
    )
    await expect(readRows(org, "Account", "insert", "CSV", Buffer.from("\uFEFF\"Name\",\"Site\"\r\n\"A\",\"B\"\r\n"), 1)).rejects.toThrow(
      /^InvalidBatch : Failed to parse CSV\. Found unescaped quote\. A value with quote should be within a quote$/
    )
  })
  it("skips blank lines and lone empty values: they are not rows", async () => {
    const rows = await readRows(org, "Account", "insert", "CSV", Buffer.from("Name\nA\n\n\"\"\nB\n\n"), 1)
    expect(rows).toEqual([{ Name: "A" }, { Name: "B" }])
  })
  it("flattens nested JSON relationship objects, polymorphic ones with their type prefix", async () => {
    const rows = await readRows(
      org,
      "Contact",
      "insert",
      "JSON",
      Buffer.from(JSON.stringify([{ attributes: { type: "Contact" }, LastName: "L", Account: { ExternalId__c: "E1" } }])),
      1
    )
    expect(rows).toEqual([{ LastName: "L", "Account.ExternalId__c": "E1" }])
  })
  it("reports a row wider than the header as a batch failure", async () => {
    await expect(readRows(org, "Account", "insert", "CSV", Buffer.from("Name\na,b\n"), 1)).rejects.toThrow(
      /^InvalidBatch : Failed to parse CSV: row 1 has 2 values but the header has 1 columns$/
    )
  })
})
