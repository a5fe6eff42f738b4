import { describe, expect, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import * as Describe from "../src/Describe.js"

// shaped like a real org's answer (REST API "Get Field and Other Metadata for an Object"): nulls
// where a property does not apply, and many properties sfbulk does not read
const answer = {
  name: "Task",
  label: "Task",
  keyPrefix: "00T",
  custom: false,
  createable: true,
  updateable: true,
  deletable: true,
  queryable: true,
  childRelationships: [],
  urls: { sobject: "/services/data/v66.0/sobjects/Task" },
  fields: [
    {
      name: "Id",
      label: "Activity ID",
      type: "id",
      soapType: "tns:ID",
      length: 18,
      nillable: false,
      createable: false,
      updateable: false,
      referenceTo: [],
      relationshipName: null,
      calculatedFormula: null
    },
    {
      name: "WhoId",
      label: "Name ID",
      type: "reference",
      length: 18,
      nillable: true,
      createable: true,
      updateable: true,
      referenceTo: ["Contact", "Lead"],
      relationshipName: "Who",
      polymorphicForeignKey: true
    },
    { name: "ActivityDate", label: "Due Date Only", type: "date", nillable: true, createable: true, updateable: true, referenceTo: [] }
  ]
}

describe("Describe", () => {
  it("decodes a describe answer: nulls, missing flags and extra properties", () => {
    const d = Schema.decodeUnknownSync(Describe.SObjectDescription)(answer)
    expect(d.fields.map((f) => [f.name, f.type])).toEqual([["Id", "id"], ["WhoId", "reference"], ["ActivityDate", "date"]])
    expect(Describe.field(d, "id")!.relationshipName).toBeUndefined()
    expect(Describe.field(d, "ActivityDate")!.externalId).toBe(false)
    expect(Describe.isPolymorphic(Describe.relationship(d, "who")!)).toBe(true)
    expect(Describe.header(d, "Lead:Who.Email")).toBe("Lead:Who.Email")
    expect(Describe.checkColumn(d, "Who.Email")).toMatch(/Contact or Lead/)
    expect(() => Schema.decodeUnknownSync(Describe.SObjectDescription)({ name: "X" })).toThrow(/fields/)
  })
})
