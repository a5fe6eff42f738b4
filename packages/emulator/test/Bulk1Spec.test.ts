/**
 * Bulk API 1.0 transformation specs (`POST /job/{jobId}/spec`, "Map Data Fields"): foreign CSV
 * batches mapped by the spec (column, default value, date hint, boolean regex), over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Started, startEmulator } from "./bulk1Support.js"

let emu: Started
beforeAll(async () => {
  emu = await startEmulator({ latencyMs: 1 })
})
afterAll(async () => {
  await emu?.stop()
})

const call = (method: string, path: string, body?: string | Buffer, contentType = "application/xml; charset=UTF-8") =>
  fetch(`${emu.instanceUrl}/services/async/66.0${path}`, {
    method,
    headers: { "X-SFDC-Session": emu.accessToken, "Content-Type": contentType },
    ...(body === undefined ? {} : { body })
  })

const createJob = async (object: string, operation = "insert", contentType = "CSV") => {
  const r = await call(
    "POST",
    "/job",
    `<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="http://www.force.com/2009/06/asyncapi/dataload"><operation>${operation}</operation><object>${object}</object><contentType>${contentType}</contentType></jobInfo>`
  )
  expect(r.status).toBe(201)
  return /<id>([^<]+)<\/id>/.exec(await r.text())![1]!
}

const waitBatch = async (job: string, batch: string) => {
  for (let i = 0; i < 200; i++) {
    const t = await (await call("GET", `/job/${job}/batch/${batch}`)).text()
    if (/<state>(Completed|Failed)<\/state>/.test(t)) return t
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error("batch never finished")
}

describe("POST /job/{jobId}/spec", () => {
  it("maps a foreign CSV batch: columns, default values, a date hint; answers 201 with no body", async () => {
    const job = await createJob("Contact")
    const spec =
      "Salesforce Field,Csv Header,Value,Hint\nLastName,Surname,,\nFirstName,Given,,\nLeadSource,Source,Other,\nDescription,,Imported from XYZ.csv,\nBirthdate,Born,,dd MM yy\n"
    const up = await call("POST", `/job/${job}/spec`, spec, "text/csv")
    expect(up.status).toBe(201)
    expect(await up.text()).toBe("")
    // foreign CSV: another charset, unknown extra columns, an empty cell that takes the default
    const csv = Buffer.from("Given,Surname,Source,Born,Ignored\nJosé,Núñez,,31 12 99,x\nAda,Lovelace,Web,10 12 15,y\n", "latin1")
    const b = await call("POST", `/job/${job}/batch`, csv, "text/csv; charset=ISO-8859-1")
    expect(b.status).toBe(201)
    const batch = /<id>([^<]+)<\/id>/.exec(await b.text())![1]!
    expect(await waitBatch(job, batch)).toContain("<state>Completed</state>")
    // the batch's request is the foreign CSV as sent
    const request = await call("GET", `/job/${job}/batch/${batch}/request`)
    expect(Buffer.from(await request.arrayBuffer()).equals(csv)).toBe(true)
    const results = await (await call("GET", `/job/${job}/batch/${batch}/result`)).text()
    const ids = [...results.matchAll(/"(003\w+)","true"/g)].map((m) => m[1]!)
    expect(ids).toHaveLength(2)
    expect(emu.handle.org.get(ids[0]!)!.values).toMatchObject({
      FirstName: "José",
      LastName: "Núñez",
      LeadSource: "Other",
      Description: "Imported from XYZ.csv",
      // a two-digit year as SimpleDateFormat reads it (the hint is a Java date format)
      Birthdate: "1999-12-31"
    })
    expect(emu.handle.org.get(ids[1]!)!.values).toMatchObject({ LeadSource: "Web", Birthdate: "2015-12-10" })
  })

  it("refuses a spec with a wrong header, an unknown field, 8,192 characters or more, or on a non-CSV job", async () => {
    const job = await createJob("Contact")
    const bad = async (body: string) => {
      const r = await call("POST", `/job/${job}/spec`, body, "text/csv")
      expect(r.status).toBe(400)
      return r.text()
    }
    expect(await bad("Field,Column\nLastName,Surname\n")).toContain("Salesforce Field,Csv Header,Value,Hint")
    expect(await bad("Salesforce Field,Csv Header,Value,Hint\nNope__c,X,,\n")).toContain("Field name not found : Nope__c")
    expect(await bad("Salesforce Field,Csv Header,Value,Hint\n" + "LastName,Surname,,\n".repeat(500))).toContain("8192")
    const xmlJob = await createJob("Contact", "insert", "XML")
    const r = await call("POST", `/job/${xmlJob}/spec`, "Salesforce Field,Csv Header,Value,Hint\nLastName,Surname,,\n", "text/csv")
    expect(r.status).toBe(400)
    expect(await r.text()).toContain("CSV ingest jobs only")
  })
})
