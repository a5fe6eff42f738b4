import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Emulator from "../src/Emulator.js"
import { raw } from "./httpSupport.js"

let emu: Emulator.EmulatorHandle
beforeAll(async () => {
  emu = await Emulator.start({
    latencyMs: 5,
    // a polymorphic lookup, as Task.WhoId (Contact or Lead) is on Salesforce
    data: {
      objects: [{
        name: "Visit__c",
        keyPrefix: "a07",
        fields: [
          { name: "Who__c", type: "reference", referenceTo: ["Contact", "Lead"], relationshipName: "Who__r" },
          { name: "When__c", type: "datetime" }
        ]
      }]
    }
  })
})
afterAll(() => emu.close())

const bearer = () => ({ Authorization: `Bearer ${emu.accessToken}` })
const describeUrl = (object: string, version = "66.0") => `${emu.instanceUrl}/services/data/v${version}/sobjects/${object}/describe`
type Field = Record<string, any>

describe("sObject Describe", () => {
  it("answers the object's fields with their types, nillable, createable, references and external ids", async () => {
    const r = await raw(`${describeUrl("account")}/`, { headers: bearer() })
    expect(r.status).toBe(200)
    expect(r.headers["content-type"]).toMatch(/^application\/json/)
    const body = JSON.parse(r.text)
    expect(body).toMatchObject({ name: "Account", keyPrefix: "001", custom: false, createable: true, queryable: true })
    expect(body.urls.describe).toBe("/services/data/v66.0/sobjects/Account/describe")
    const byName = new Map<string, Field>(body.fields.map((f: Field) => [f.name, f]))
    expect(byName.get("Id")).toMatchObject({ type: "id", soapType: "tns:ID", nillable: false, createable: false, updateable: false })
    expect(byName.get("Name")).toMatchObject({ type: "string", length: 255, nillable: false, createable: true, label: "Account Name" })
    expect(byName.get("CreatedDate")).toMatchObject({ type: "datetime", soapType: "xsd:dateTime", createable: false })
    expect(byName.get("LastActivityDate")).toMatchObject({ type: "date", soapType: "xsd:date" })
    expect(byName.get("NumberOfEmployees")).toMatchObject({ type: "int", nillable: true })
    expect(byName.get("ParentId")).toMatchObject({
      type: "reference",
      referenceTo: ["Account"],
      relationshipName: "Parent",
      polymorphicForeignKey: false
    })
    expect(byName.get("ExternalId__c")).toMatchObject({ externalId: true, unique: true, idLookup: true, custom: true })
    expect(byName.get("Rating")!.picklistValues.map((p: Field) => p.value)).toEqual(["Hot", "Warm", "Cold"])
    expect(body.childRelationships).toContainEqual(expect.objectContaining({ childSObject: "Contact", field: "AccountId" }))
  })

  it("marks a lookup to several objects as polymorphic", async () => {
    const body = JSON.parse((await raw(describeUrl("Visit__c"), { headers: bearer() })).text)
    expect(body.custom).toBe(true)
    const who = body.fields.find((f: Field) => f.name === "Who__c")
    expect(who).toMatchObject({ referenceTo: ["Contact", "Lead"], relationshipName: "Who__r", polymorphicForeignKey: true })
  })

  it("answers 404 NOT_FOUND for an unknown object, 401 without a session, 405 for another method", async () => {
    const missing = await raw(describeUrl("Nope__c"), { headers: bearer() })
    expect(missing.status).toBe(404)
    expect(JSON.parse(missing.text)).toEqual([{ message: "The requested resource does not exist", errorCode: "NOT_FOUND" }])
    const anonymous = await raw(describeUrl("Account"))
    expect(anonymous.status).toBe(401)
    expect(JSON.parse(anonymous.text)[0].errorCode).toBe("INVALID_SESSION_ID")
    const post = await raw(describeUrl("Account"), { method: "POST", headers: bearer(), body: "{}" })
    expect(post.status).toBe(405)
  })

  it("counts each describe against DailyApiRequests", async () => {
    const before = emu.stats().usage.apiRequests
    await raw(describeUrl("Contact"), { headers: bearer() })
    await raw(describeUrl("Nope__c"), { headers: bearer() })
    expect(emu.stats().usage.apiRequests).toBe(before + 2)
  })
})
