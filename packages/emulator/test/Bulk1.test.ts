/**
 * Bulk API 1.0 protocol tests over real HTTP against a started emulator.
 */
import { gzipSync } from "node:zlib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeZip, startEmulator, type Started } from "./bulk1Support.js"

const V = "66.0"
let emu: Started

beforeAll(async () => {
  emu = await startEmulator({ latencyMs: 5, resultFileRows: 1_000, processingChunk: 500 })
})
afterAll(async () => {
  await emu?.stop()
})

// ---------------------------------------------------------------------------------------------
// helpers

const NS = "http://www.force.com/2009/06/asyncapi/dataload"

const call = async (
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
  version = V
): Promise<{ status: number; type: string; text: string }> => {
  const res = await fetch(`${emu.instanceUrl}/services/async/${version}${path}`, {
    method,
    headers: { "X-SFDC-Session": emu.accessToken, ...headers },
    ...(body !== undefined ? { body } : {})
  })
  return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() }
}

const tag = (xml: string, name: string): string | undefined => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1]
const tags = (xml: string, name: string): Array<string> =>
  [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, "g"))].map((m) => m[1]!)
/** Child element names of the root, in document order. */
const childOrder = (xml: string, root: string): Array<string> => {
  const inner = new RegExp(`<${root}[^>]*>([\\s\\S]*)</${root}>`).exec(xml)![1]!
  return [...inner.matchAll(/<([A-Za-z]+)>[^<]*<\/\1>/g)].map((m) => m[1]!)
}

const jobXml = (fields: Record<string, string>): string =>
  `<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="${NS}">${
    Object.entries(fields).map(([k, v]) => `<${k}>${v}</${k}>`).join("")
  }</jobInfo>`

const createJob = async (fields: Record<string, string>, headers: Record<string, string> = {}): Promise<string> => {
  const r = await call("POST", "/job", jobXml(fields), { "Content-Type": "application/xml; charset=UTF-8", ...headers })
  expect(r.status, r.text).toBe(201)
  return tag(r.text, "id")!
}

const MIME: Record<string, string> = { CSV: "text/csv", XML: "application/xml", JSON: "application/json" }

const addBatch = async (jobId: string, body: string | Buffer, contentType: string): Promise<string> => {
  const r = await call("POST", `/job/${jobId}/batch`, body, { "Content-Type": contentType })
  expect(r.status, r.text).toBe(201)
  const id = tag(r.text, "id") ?? (JSON.parse(r.text) as { id: string }).id
  return id
}

interface BatchView {
  readonly state: string
  readonly stateMessage?: string
  readonly numberRecordsProcessed: number
  readonly numberRecordsFailed: number
}

const batchInfo = async (jobId: string, batchId: string): Promise<BatchView> => {
  const r = await call("GET", `/job/${jobId}/batch/${batchId}`)
  expect(r.status, r.text).toBe(200)
  if (r.type === "application/json") return JSON.parse(r.text) as BatchView
  const msg = tag(r.text, "stateMessage")
  return {
    state: tag(r.text, "state")!,
    ...(msg !== undefined
      ? { stateMessage: msg.replace(/&quot;/g, "\"").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&") }
      : {}),
    numberRecordsProcessed: Number(tag(r.text, "numberRecordsProcessed")),
    numberRecordsFailed: Number(tag(r.text, "numberRecordsFailed"))
  }
}

const TERMINAL = new Set(["Completed", "Failed", "NotProcessed"])

const waitBatch = async (jobId: string, batchId: string, timeoutMs = 20_000): Promise<BatchView> => {
  const until = Date.now() + timeoutMs
  for (;;) {
    const b = await batchInfo(jobId, batchId)
    if (TERMINAL.has(b.state)) return b
    if (Date.now() > until) throw new Error(`batch ${batchId} still ${b.state}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

const jobInfoXml = async (jobId: string) => {
  const r = await call("GET", `/job/${jobId}`)
  expect(r.status).toBe(200)
  return r.text
}

const setState = (jobId: string, state: string, json = false) =>
  json
    ? call("POST", `/job/${jobId}`, JSON.stringify({ state }), { "Content-Type": "application/json" })
    : call("POST", `/job/${jobId}`, `<jobInfo xmlns="${NS}"><state>${state}</state></jobInfo>`, { "Content-Type": "application/xml" })

const uniq = () => `T${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`

const csvLines = (text: string) => text.trim().split("\n")

const JOB_ORDER = [
  "id",
  "operation",
  "object",
  "createdById",
  "createdDate",
  "systemModstamp",
  "state",
  "concurrencyMode",
  "contentType",
  "numberBatchesQueued",
  "numberBatchesInProgress",
  "numberBatchesCompleted",
  "numberBatchesFailed",
  "numberBatchesTotal",
  "numberRecordsProcessed",
  "numberRetries",
  "apiVersion",
  "numberRecordsFailed",
  "totalProcessingTime",
  "apiActiveProcessingTime",
  "apexProcessingTime"
]

const BATCH_ORDER = [
  "id",
  "jobId",
  "state",
  "createdDate",
  "systemModstamp",
  "numberRecordsProcessed",
  "numberRecordsFailed",
  "totalProcessingTime",
  "apiActiveProcessingTime",
  "apexProcessingTime"
]

/** Insert `n` Accounts named `${prefix}-i` through Bulk 1.0 and return their ids in order. */
const insertAccounts = async (prefix: string, n: number): Promise<Array<string>> => {
  const jobId = await createJob({ operation: "insert", object: "Account", contentType: "CSV" })
  const ids: Array<string> = []
  for (let start = 0; start < n; start += 10_000) {
    const rows = ["Name"]
    for (let i = start; i < Math.min(n, start + 10_000); i++) rows.push(`${prefix}-${i}`)
    const b = await addBatch(jobId, rows.join("\n"), "text/csv")
    expect((await waitBatch(jobId, b)).state).toBe("Completed")
    const res = await call("GET", `/job/${jobId}/batch/${b}/result`)
    for (const line of csvLines(res.text).slice(1)) ids.push(line.split(",")[0]!.slice(1, -1))
  }
  await setState(jobId, "Closed")
  return ids
}

// ---------------------------------------------------------------------------------------------

describe("Bulk 1.0 jobs", () => {
  it("creates a job from XML in any element order and answers a jobInfo in XSD order", async () => {
    const r = await call(
      "POST",
      "/job/",
      jobXml({ contentType: "CSV", object: "Account", operation: "insert", concurrencyMode: "Serial" }),
      { "Content-Type": "application/xml" }
    )
    expect(r.status).toBe(201)
    expect(r.type).toBe("application/xml")
    expect(r.text.startsWith(`<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="${NS}">`)).toBe(true)
    expect(childOrder(r.text, "jobInfo")).toEqual(JOB_ORDER)
    expect(tag(r.text, "id")).toMatch(/^750[A-Za-z0-9]{15}$/)
    expect(tag(r.text, "state")).toBe("Open")
    expect(tag(r.text, "concurrencyMode")).toBe("Serial")
    expect(tag(r.text, "apiVersion")).toBe("66.0")
    expect(tag(r.text, "createdDate")).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  })

  it("creates a job from JSON with a numeric concurrencyMode and answers JSON", async () => {
    const r = await call(
      "POST",
      "/job",
      JSON.stringify({ operation: "query", object: "Account", contentType: "JSON", concurrencyMode: 1, id: null, numberBatchesTotal: 0 }),
      { "Content-Type": "application/json; charset=UTF-8" }
    )
    expect(r.status, r.text).toBe(201)
    expect(r.type).toBe("application/json")
    expect(r.text).toContain("\"apiVersion\":66.0")
    const job = JSON.parse(r.text) as Record<string, unknown>
    expect(job).toMatchObject({ operation: "query", object: "Account", state: "Open", concurrencyMode: "Serial", contentType: "JSON" })
    expect(job["createdDate"]).toMatch(/\+0000$/)
    const got = await call("GET", `/job/${job["id"]}`)
    expect(got.type).toBe("application/json")
    expect(JSON.parse(got.text)).toMatchObject({ id: job["id"], numberBatchesTotal: 0 })
  })

  it("defaults contentType to XML and concurrencyMode to Parallel; 0 means Parallel", async () => {
    const r = await call("POST", "/job", jobXml({ operation: "insert", object: "Account" }), { "Content-Type": "application/xml" })
    expect(tag(r.text, "contentType")).toBe("XML")
    expect(tag(r.text, "concurrencyMode")).toBe("Parallel")
    const j = await call("POST", "/job", JSON.stringify({ operation: "insert", object: "Account", concurrencyMode: 0 }), {
      "Content-Type": "application/json"
    })
    expect(JSON.parse(j.text)).toMatchObject({ concurrencyMode: "Parallel", contentType: "XML" })
  })

  it("answers job creation in the request's format, later calls in the job's format", async () => {
    const r = await call("POST", "/job", jobXml({ operation: "insert", object: "Account", contentType: "JSON" }), {
      "Content-Type": "application/xml"
    })
    expect(r.type).toBe("application/xml")
    const id = tag(r.text, "id")!
    const got = await call("GET", `/job/${id}`, undefined, { "Content-Type": "application/xml" })
    expect(got.type).toBe("application/json")
    // WSC's closeJob sends the id along with the state.
    const closed = await call("POST", `/job/${id}`, `<jobInfo xmlns="${NS}"><id>${id}</id><state>Closed</state></jobInfo>`, {
      "Content-Type": "application/xml"
    })
    expect(closed.status).toBe(200)
    expect(JSON.parse(closed.text)).toMatchObject({ id, state: "Closed" })
  })

  it("rejects invalid job definitions with InvalidJob / InvalidXML in the request's format", async () => {
    const bad = async (body: string, ct = "application/xml") => {
      const r = await call("POST", "/job", body, { "Content-Type": ct })
      expect(r.status).toBe(400)
      return r
    }
    let r = await bad(jobXml({ operation: "insert", object: "NoSuchObject__c" }))
    expect(tag(r.text, "exceptionCode")).toBe("InvalidJob")
    expect(tag(r.text, "exceptionMessage")).toBe("Unable to find object: NoSuchObject__c")
    r = await bad(JSON.stringify({ operation: "INSERT", object: "Account" }), "application/json")
    expect(r.type).toBe("application/json")
    expect(JSON.parse(r.text)).toMatchObject({ exceptionCode: "InvalidJob" })
    expect(JSON.parse(r.text).exceptionMessage).toContain("INSERT")
    r = await bad(jobXml({ operation: "upsert", object: "Account" }))
    expect(tag(r.text, "exceptionCode")).toBe("InvalidJob")
    r = await bad(jobXml({ operation: "upsert", object: "Account", externalIdFieldName: "Name" }))
    expect(tag(r.text, "exceptionMessage")).toBe("Field name provided, Name does not match an External ID for Account")
    r = await bad(jobXml({ operation: "insert", object: "Account", externalIdFieldName: "Id" }))
    expect(tag(r.text, "exceptionCode")).toBe("InvalidJob")
    r = await bad(jobXml({ operation: "insert", object: "Account", createdById: "005000000000001AAA" }))
    expect(tag(r.text, "exceptionMessage")).toBe("CreatedById cannot be specified")
    r = await bad(jobXml({ operation: "insert", object: "Account", contentType: "PDF" }))
    expect(tag(r.text, "exceptionCode")).toBe("InvalidJob")
    r = await bad(jobXml({ operation: "insert", object: "Account", concurrencyMode: "Fast" }))
    expect(tag(r.text, "exceptionCode")).toBe("InvalidJob")
    r = await bad(`<jobInfo><operation>insert</operation><object>Account</jobInfo>`)
    expect(tag(r.text, "exceptionCode")).toBe("InvalidXML")
  })

  it("gets, closes and aborts jobs; invalid transitions are InvalidJobState", async () => {
    const id = await createJob({ operation: "insert", object: "Account", contentType: "CSV" })
    // 15-character ids are accepted in URLs.
    expect(tag(await jobInfoXml(id.slice(0, 15)), "id")).toBe(id)
    let r = await setState(id, "Closed", true) // JSON body on a CSV job: parsed per its own Content-Type
    expect(r.status).toBe(200)
    expect(r.type).toBe("application/xml")
    expect(tag(r.text, "state")).toBe("Closed")
    r = await setState(id, "Closed")
    expect(r.status).toBe(400)
    expect([tag(r.text, "exceptionCode"), tag(r.text, "exceptionMessage")]).toEqual([
      "InvalidJobState",
      "Closing already closed Job not allowed"
    ])
    r = await call("POST", `/job/${id}/batch`, "Name\nx\n", { "Content-Type": "text/csv" })
    expect(r.status).toBe(400)
    expect(tag(r.text, "exceptionCode")).toBe("InvalidJobState")
    expect(tag(r.text, "exceptionMessage")).toBe("Failed to create batch, since the Job is not Open. Current job state is 'Closed'")
    r = await setState(id, "Aborted")
    expect(tag(r.text, "state")).toBe("Aborted")
    r = await setState(id, "Aborted")
    expect([tag(r.text, "exceptionCode"), tag(r.text, "exceptionMessage")]).toEqual([
      "InvalidJobState",
      "Aborting already aborted Job not allowed"
    ])
    r = await setState(id, "Closed")
    expect(r.status).toBe(400)
    expect([tag(r.text, "exceptionCode"), tag(r.text, "exceptionMessage")]).toEqual([
      "InvalidJobState",
      "Closing already aborted Job not allowed"
    ])
    // The refused repeat changed nothing.
    expect(tag(await jobInfoXml(id), "state")).toBe("Aborted")
    const id2 = await createJob({ operation: "insert", object: "Account" })
    r = await setState(id2, "Open")
    expect(tag(r.text, "exceptionCode")).toBe("InvalidJobState")
    r = await call("POST", `/job/${id2}`, `<jobInfo xmlns="${NS}"><object>Contact</object><state>Closed</state></jobInfo>`, {
      "Content-Type": "application/xml"
    })
    expect(r.status).toBe(400)
    expect(tag(r.text, "state")).toBeUndefined()
  })

  it("reports unknown job and batch ids, wrong versions and wrong resources", async () => {
    let r = await call("GET", "/job/750000000000000AAA", undefined, { "Content-Type": "application/json" })
    expect(r.status).toBe(400)
    expect(JSON.parse(r.text)).toMatchObject({ exceptionCode: "InvalidJob" })
    r = await call("GET", "/job/750000000000000AAA")
    expect(r.type).toBe("application/xml")
    expect(tag(r.text, "exceptionCode")).toBe("InvalidJob")
    r = await call("GET", "/job/nonsense")
    expect(tag(r.text, "exceptionCode")).toBe("InvalidJob")
    const id = await createJob({ operation: "insert", object: "Account", contentType: "JSON" })
    r = await call("GET", `/job/${id}/batch/751000000000000AAA`)
    expect(r.status).toBe(400)
    expect(r.type).toBe("application/json") // the job's format wins
    expect(JSON.parse(r.text)).toMatchObject({ exceptionCode: "InvalidBatch" })
    r = await call("GET", `/job/${id}`, undefined, {}, "65.0")
    expect(r.status).toBe(400)
    expect(JSON.parse(r.text).exceptionMessage).toContain("66.0")
    r = await call("GET", `/jobs/${id}`)
    expect(r.status).toBeGreaterThanOrEqual(400)
  })
})

describe("Bulk 1.0 ingest", () => {
  it("runs a CSV insert while the job is Open: states, counters, results in input order, /request", async () => {
    const jobId = await createJob({ operation: "insert", object: "Account", contentType: "CSV" })
    const name = uniq()
    const csv = `NAME,Description\n"${name}, Inc.","line1\nline2"\n,no name\n${name}-2,"say ""hi"""\n`
    const r = await call("POST", `/job/${jobId}/batch/`, csv, { "Content-Type": "text/csv; charset=UTF-8" })
    expect(r.status).toBe(201)
    expect(r.type).toBe("application/xml")
    expect(childOrder(r.text, "batchInfo")).toEqual(BATCH_ORDER)
    expect(tag(r.text, "state")).toBe("Queued")
    const batchId = tag(r.text, "id")!
    expect(batchId).toMatch(/^751/)
    const done = await waitBatch(jobId, batchId)
    expect(done).toMatchObject({ state: "Completed", numberRecordsProcessed: 3, numberRecordsFailed: 1 })
    const res = await call("GET", `/job/${jobId}/batch/${batchId}/result`)
    expect(res.type).toBe("text/csv")
    const lines = csvLines(res.text)
    expect(lines[0]).toBe("\"Id\",\"Success\",\"Created\",\"Error\"")
    expect(lines).toHaveLength(4)
    expect(lines[1]).toMatch(/^"001[A-Za-z0-9]{15}","true","true",""$/)
    expect(lines[2]).toMatch(/^"","false","false","REQUIRED_FIELD_MISSING:Required fields are missing: \[Name\]:Name --"$/)
    expect(lines[3]).toMatch(/^"001[A-Za-z0-9]{15}","true","true",""$/)
    const req = await call("GET", `/job/${jobId}/batch/${batchId}/request`)
    expect(req.text).toBe(csv)
    const info = await jobInfoXml(jobId)
    expect(tag(info, "state")).toBe("Open")
    expect(tag(info, "numberBatchesCompleted")).toBe("1")
    expect(tag(info, "numberBatchesTotal")).toBe("1")
    expect(tag(info, "numberRecordsProcessed")).toBe("3")
    expect(tag(info, "numberRecordsFailed")).toBe("1")
    const list = await call("GET", `/job/${jobId}/batch`)
    expect(list.text).toMatch(new RegExp(`^<\\?xml[^>]*\\?><batchInfoList xmlns="${NS}"><batchInfo><id>${batchId}</id>`))
    // The inserted record is queryable through a query job.
    const q = await runQuery("CSV", `SELECT Id, Name FROM Account WHERE Name = '${name}, Inc.'`)
    expect(csvLines(q.data[0]!)).toEqual(["\"Id\",\"Name\"", `${lines[1]!.split(",")[0]},"${name}, Inc."`])
  })

  it("takes XML batches and answers XML results (errors before id)", async () => {
    const jobId = await createJob({ operation: "insert", object: "Account" })
    const name = uniq()
    const xml = `<?xml version="1.0" encoding="UTF-8"?><sObjects xmlns="${NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
      `<sObject><Name>${name} &amp; Co</Name></sObject><sObject><Name xsi:nil="true"/></sObject></sObjects>`
    const b = await addBatch(jobId, xml, "application/xml")
    expect(await waitBatch(jobId, b)).toMatchObject({ state: "Completed", numberRecordsProcessed: 2, numberRecordsFailed: 1 })
    const r = await call("GET", `/job/${jobId}/batch/${b}/result`)
    expect(r.type).toBe("application/xml")
    expect(r.text).toMatch(
      new RegExp(`<results xmlns="${NS}"[^>]*><result><id>001[A-Za-z0-9]{15}</id><success>true</success><created>true</created></result>`)
    )
    expect(r.text).toContain(
      "<result><errors><fields>Name</fields><message>Required fields are missing: [Name]</message><statusCode>REQUIRED_FIELD_MISSING</statusCode></errors>"
    )
    const q = await runQuery("CSV", `SELECT Name FROM Account WHERE Name = '${name} & Co'`)
    expect(csvLines(q.data[0]!)).toEqual(["\"Name\"", `"${name} & Co"`])
  })

  it("takes JSON batches and answers JSON results", async () => {
    const jobId = (JSON.parse(
      (await call("POST", "/job", JSON.stringify({ operation: "insert", object: "Account", contentType: "JSON" }), {
        "Content-Type": "application/json"
      })).text
    ) as { id: string }).id
    const b = await addBatch(jobId, JSON.stringify([{ Name: uniq() }, { Name: null }]), "application/json")
    expect((await waitBatch(jobId, b)).state).toBe("Completed")
    const r = await call("GET", `/job/${jobId}/batch/${b}/result`)
    expect(r.type).toBe("application/json")
    const results = JSON.parse(r.text) as Array<{ success: boolean; created: boolean; id: string | null; errors: Array<unknown> }>
    expect(results).toHaveLength(2)
    expect(results[0]).toMatchObject({ success: true, created: true, errors: [] })
    expect(results[0]!.id).toMatch(/^001/)
    expect(results[1]).toMatchObject({
      success: false,
      created: false,
      errors: [{ fields: ["Name"], message: "Required fields are missing: [Name]", statusCode: "REQUIRED_FIELD_MISSING" }]
    })
    const list = await call("GET", `/job/${jobId}/batch`)
    expect(JSON.parse(list.text)).toMatchObject({ batchInfo: [{ id: b, state: "Completed" }] })
    // A single object instead of an array fails the batch.
    const b2 = await addBatch(jobId, JSON.stringify({ Name: "x" }), "application/json")
    expect(await waitBatch(jobId, b2)).toMatchObject({ state: "Failed", stateMessage: "InvalidBatch : Records not processed" })
  })

  it("updates, deletes and hard-deletes by Id; Created is false", async () => {
    const [a, b, c] = await insertAccounts(uniq(), 3)
    const up = await createJob({ operation: "update", object: "Account", contentType: "CSV" })
    const ub = await addBatch(up, `Id,Name\n${a},Renamed-${a}\n`, "text/csv")
    expect((await waitBatch(up, ub)).state).toBe("Completed")
    expect(csvLines((await call("GET", `/job/${up}/batch/${ub}/result`)).text)[1]).toBe(`"${a}","true","false",""`)
    const q = await runQuery("CSV", `SELECT Name FROM Account WHERE Id = '${a}'`)
    expect(csvLines(q.data[0]!)[1]).toBe(`"Renamed-${a}"`)
    for (const op of ["delete", "hardDelete"]) {
      const id = op === "delete" ? b! : c!
      const job = await createJob({ operation: op, object: "Account", contentType: "CSV" })
      const batch = await addBatch(job, `Id\n${id}\n`, "text/csv")
      expect((await waitBatch(job, batch)).state).toBe("Completed")
      expect(csvLines((await call("GET", `/job/${job}/batch/${batch}/result`)).text)[1]).toBe(`"${id}","true","false",""`)
    }
    const left = await runQuery("CSV", `SELECT Id FROM Account WHERE Id IN ('${a}','${b}','${c}')`)
    expect(csvLines(left.data[0]!).slice(1)).toEqual([`"${a}"`])
    // queryAll still sees the soft-deleted record.
    const all = await runQuery("CSV", `SELECT Id FROM Account WHERE Id = '${b}'`, "queryAll")
    expect(csvLines(all.data[0]!).slice(1)).toEqual([`"${b}"`])
  })

  it("upserts on an external id field: Created true for new rows, false for matches", async () => {
    const ext = externalIdField()
    const job = await createJob({ operation: "upsert", object: "Account", externalIdFieldName: ext, contentType: "CSV" })
    const info = await jobInfoXml(job)
    expect(tag(info, "externalIdFieldName")).toBe(ext)
    expect(childOrder(info, "jobInfo").indexOf("externalIdFieldName")).toBe(JOB_ORDER.indexOf("state") + 1)
    const key = uniq()
    const b1 = await addBatch(job, `${ext},Name\n${key},First\n`, "text/csv")
    expect((await waitBatch(job, b1)).state).toBe("Completed")
    const b2 = await addBatch(job, `${ext},Name\n${key},Second\n${key}-new,Other\n`, "text/csv")
    expect((await waitBatch(job, b2)).state).toBe("Completed")
    const r1 = csvLines((await call("GET", `/job/${job}/batch/${b1}/result`)).text)[1]!
    const r2 = csvLines((await call("GET", `/job/${job}/batch/${b2}/result`)).text)
    expect(r1).toMatch(/","true","true",""$/)
    expect(r2[1]).toBe(`${r1.split(",")[0]},"true","false",""`)
    expect(r2[2]).toMatch(/","true","true",""$/)
  })

  it("takes ZIP_CSV batches whose request.txt holds the records; a zip without it fails", async () => {
    const jobId = await createJob({ operation: "insert", object: "Account", contentType: "ZIP_CSV" })
    const name = uniq()
    const b = await addBatch(jobId, makeZip({ "request.txt": `Name\n${name}\n`, "docs/readme.txt": "hello" }), "zip/csv")
    expect(await waitBatch(jobId, b)).toMatchObject({ state: "Completed", numberRecordsProcessed: 1, numberRecordsFailed: 0 })
    const r = await call("GET", `/job/${jobId}/batch/${b}/result`)
    expect(r.type).toBe("text/csv")
    expect(csvLines(r.text)[1]).toMatch(/^"001[A-Za-z0-9]{15}","true","true",""$/)
    const bad = await addBatch(jobId, makeZip({ "data.csv": "Name\nx\n" }), "zip/csv")
    expect(await waitBatch(jobId, bad)).toMatchObject({
      state: "Failed",
      stateMessage: "InvalidBatch : Failed to read zip: request.txt not found at the root of the zip"
    })
    const notZip = await addBatch(jobId, "Name\nx\n", "zip/csv")
    expect((await waitBatch(jobId, notZip)).stateMessage).toMatch(/^InvalidBatch : Failed to read zip/)
    const q = await call("POST", "/job", jobXml({ operation: "query", object: "Account", contentType: "ZIP_CSV" }), {
      "Content-Type": "application/xml"
    })
    expect(tag(q.text, "exceptionCode")).toBe("InvalidJob")
  })

  it("resolves relationship fields given as nested JSON / XML objects, and renders them nested", async () => {
    const ext = uniq()
    const acct = await createJob({ operation: "insert", object: "Account", contentType: "CSV" })
    const ab = await addBatch(acct, `Name,ExternalId__c\nParent ${ext},${ext}\n`, "text/csv")
    expect((await waitBatch(acct, ab)).state).toBe("Completed")
    const jsonJob = (JSON.parse(
      (await call("POST", "/job", JSON.stringify({ operation: "insert", object: "Contact", contentType: "JSON" }), {
        "Content-Type": "application/json"
      })).text
    ) as { id: string }).id
    const jb = await addBatch(
      jsonJob,
      JSON.stringify([{ LastName: `J-${ext}`, Account: { ExternalId__c: ext } }, { LastName: `Solo-${ext}` }]),
      "application/json"
    )
    expect(await waitBatch(jsonJob, jb)).toMatchObject({ state: "Completed", numberRecordsFailed: 0 })
    const xmlJob = await createJob({ operation: "insert", object: "Contact" })
    const xb = await addBatch(
      xmlJob,
      `<sObjects xmlns="${NS}"><sObject><LastName>X-${ext}</LastName><Account><sObject><ExternalId__c>${ext}</ExternalId__c></sObject></Account></sObject></sObjects>`,
      "application/xml"
    )
    expect(await waitBatch(xmlJob, xb)).toMatchObject({ state: "Completed", numberRecordsFailed: 0 })
    const soql = `SELECT Id, LastName, Account.Name FROM Contact WHERE LastName LIKE '%${ext}' ORDER BY LastName`
    const json = await runQuery("JSON", soql)
    const recs = JSON.parse(json.data[0]!) as Array<Record<string, unknown>>
    expect(recs.map((r) => r["LastName"])).toEqual([`J-${ext}`, `Solo-${ext}`, `X-${ext}`])
    expect(recs[0]!["Account"]).toMatchObject({ attributes: { type: "Account" }, Name: `Parent ${ext}` })
    expect(recs[1]!["Account"]).toBeNull()
    const csv = await runQuery("CSV", soql)
    expect(csvLines(csv.data[0]!)[0]).toBe("\"Id\",\"LastName\",\"Account.Name\"")
    expect(csvLines(csv.data[0]!)[2]).toMatch(new RegExp(`,"Solo-${ext}",""$`))
    const xml = await runQuery("XML", soql)
    expect(xml.data[0]).toContain(
      `<Account xsi:type="sObject"><type>Account</type><Id xsi:nil="true"/><Name>Parent ${ext}</Name></Account>`
    )
    expect(xml.data[0]).toContain(`<LastName>Solo-${ext}</LastName><Account xsi:nil="true"/>`)
  })

  it("records assignmentRuleId after apiVersion", async () => {
    const id = await createJob({ operation: "insert", object: "Account", assignmentRuleId: "01Q000000000001", contentType: "CSV" })
    const info = await jobInfoXml(id)
    const order = childOrder(info, "jobInfo")
    expect(order.indexOf("assignmentRuleId")).toBe(order.indexOf("apiVersion") + 1)
    expect(tag(info, "assignmentRuleId")).toBe("01Q000000000001")
  })

  it("fails batches with Salesforce's own messages for bad headers and limits", async () => {
    const jobId = await createJob({ operation: "insert", object: "Account", contentType: "CSV" })
    const expectFailed = async (body: string, message: string | RegExp) => {
      const b = await addBatch(jobId, body, "text/csv")
      const info = await waitBatch(jobId, b)
      expect(info.state).toBe("Failed")
      expect(info.numberRecordsProcessed).toBe(0)
      if (typeof message === "string") expect(info.stateMessage).toBe(message)
      else expect(info.stateMessage).toMatch(message)
      const res = await call("GET", `/job/${jobId}/batch/${b}/result`)
      expect(res.status).toBe(400)
      expect(tag(res.text, "exceptionCode")).toBe("InvalidBatch")
    }
    await expectFailed("Name,Bogus__c\na,b\n", "InvalidBatch : Field name not found : Bogus__c")
    await expectFailed(
      `Name\n${Array.from({ length: 10_001 }, (_, i) => `n${i}`).join("\n")}\n`,
      "InvalidBatch : Exceeded number of records: 10002. Number of records should be less than or equal to 10001"
    )
    await expectFailed(`Name\n${"x".repeat(131_073)}\n`, "InvalidBatch : Exceeded max field size: 131073")
    const big = "x".repeat(120_000)
    await expectFailed(
      `Name,Description,BillingStreet,ShippingStreet\n${big},${big},${big},${big}\n`,
      /^InvalidBatch : Exceeded max record size: 480000 /
    )
    await expectFailed(
      `${Array.from({ length: 5_001 }, (_, i) => `F${i}__c`).join(",")}\n`,
      "InvalidBatch : Exceeded max number of columns per record : 5000"
    )
    // Too large: refused synchronously.
    let r = await call("POST", `/job/${jobId}/batch`, `Name\n${"z".repeat(10_000_001)}\n`, { "Content-Type": "text/csv" })
    expect(r.status).toBe(400)
    expect([tag(r.text, "exceptionCode"), tag(r.text, "exceptionMessage")])
      .toEqual(["ClientInputError", "Failed to read request. Exceeded max size limit of 10000000"])
    r = await call("POST", `/job/${jobId}/batch`, "", { "Content-Type": "text/csv" })
    expect(r.status).toBe(400)
    expect(tag(r.text, "exceptionCode")).toBe("ClientInputError")
    r = await call("POST", `/job/${jobId}/batch`, "<sObjects/>", { "Content-Type": "application/xml" })
    expect(r.status).toBe(400)
    expect(tag(r.text, "exceptionCode")).toBe("InvalidBatch")
    // None of the failed batches counts records; all count as failed batches.
    const info = await jobInfoXml(jobId)
    expect(tag(info, "numberBatchesFailed")).toBe("5")
    expect(tag(info, "numberRecordsProcessed")).toBe("0")
  })

  it("processes a 10,000-record, ~9 MB CSV batch quickly", async () => {
    const jobId = await createJob({ operation: "insert", object: "Account", contentType: "CSV" })
    const prefix = uniq()
    const pad = "p".repeat(880)
    const rows = ["Name,Description"]
    for (let i = 0; i < 10_000; i++) rows.push(`${prefix}-${i},${pad}`)
    const body = rows.join("\n")
    expect(body.length).toBeGreaterThan(8_900_000)
    const t0 = performance.now()
    const b = await addBatch(jobId, body, "text/csv")
    const done = await waitBatch(jobId, b)
    const res = await call("GET", `/job/${jobId}/batch/${b}/result`)
    const ms = performance.now() - t0
    expect(done).toMatchObject({ state: "Completed", numberRecordsProcessed: 10_000, numberRecordsFailed: 0 })
    const lines = csvLines(res.text)
    expect(lines).toHaveLength(10_001)
    expect(new Set(lines.slice(1).map((l) => l.split(",")[0])).size).toBe(10_000)
    console.log(`bulk1: 10,000-record CSV batch end to end in ${ms.toFixed(0)} ms`)
    expect(ms).toBeLessThan(10_000)
  })

  it("runs Serial batches one at a time in order", async () => {
    const jobId = await createJob({ operation: "insert", object: "Account", contentType: "CSV", concurrencyMode: "Serial" })
    const prefix = uniq()
    const batches: Array<string> = []
    for (let k = 0; k < 3; k++) {
      const rows = ["Name", ...Array.from({ length: 600 }, (_, i) => `${prefix}-${k}-${i}`)]
      batches.push(await addBatch(jobId, rows.join("\n"), "text/csv"))
    }
    let maxInProgress = 0
    const seen: Array<Array<string>> = []
    for (;;) {
      const list = await call("GET", `/job/${jobId}/batch`)
      const states = tags(list.text, "state")
      seen.push(states)
      maxInProgress = Math.max(maxInProgress, states.filter((s) => s === "InProgress").length)
      // A later batch never starts before an earlier one finished.
      const firstUnfinished = states.findIndex((s) => s !== "Completed")
      if (firstUnfinished >= 0) expect(states.slice(firstUnfinished + 1).every((s) => s === "Queued")).toBe(true)
      if (states.every((s) => s === "Completed")) break
      await new Promise((r) => setTimeout(r, 2))
    }
    expect(maxInProgress).toBeLessThanOrEqual(1)
  })

  it("runs Parallel batches concurrently", async () => {
    const jobId = await createJob({ operation: "insert", object: "Account", contentType: "CSV" })
    const prefix = uniq()
    const batches: Array<string> = []
    for (let k = 0; k < 3; k++) {
      const rows = ["Name", ...Array.from({ length: 10_000 }, (_, i) => `${prefix}-${k}-${i}`)]
      batches.push(await addBatch(jobId, rows.join("\n"), "text/csv"))
    }
    let maxInProgress = 0
    for (;;) {
      const info = await jobInfoXml(jobId)
      maxInProgress = Math.max(maxInProgress, Number(tag(info, "numberBatchesInProgress")))
      // Counters always add up.
      const parts = ["Queued", "InProgress", "Completed", "Failed"].map((s) => Number(tag(info, `numberBatches${s}`)))
      expect(parts.reduce((a, b) => a + b, 0)).toBe(Number(tag(info, "numberBatchesTotal")))
      if (tag(info, "numberBatchesCompleted") === "3") {
        expect(tag(info, "numberRecordsProcessed")).toBe("30000")
        break
      }
      await new Promise((r) => setTimeout(r, 1))
    }
    expect(maxInProgress).toBeGreaterThanOrEqual(2)
  })

  it("accepts gzip-compressed batch bodies", async () => {
    const jobId = await createJob({ operation: "insert", object: "Account", contentType: "CSV" })
    const body = `Name\n${uniq()}\n`
    const r = await call("POST", `/job/${jobId}/batch`, gzipSync(body), { "Content-Type": "text/csv", "Content-Encoding": "gzip" })
    expect(r.status).toBe(201)
    const id = tag(r.text, "id")!
    expect(await waitBatch(jobId, id)).toMatchObject({ state: "Completed", numberRecordsProcessed: 1 })
    expect((await call("GET", `/job/${jobId}/batch/${id}/request`)).text).toBe(body)
  })

  it("answers 415 to a compression other than gzip and adds no batch (doc: Bulk API HTTP Status Codes)", async () => {
    const jobId = await createJob({ operation: "insert", object: "Account", contentType: "CSV" })
    const r = await call("POST", `/job/${jobId}/batch`, `Name\n${uniq()}\n`, { "Content-Type": "text/csv", "Content-Encoding": "br" })
    expect(r.status).toBe(415)
    expect(tag(r.text, "exceptionMessage")).toMatch(/gzip/)
    expect((await call("GET", `/job/${jobId}/batch`)).text).not.toContain("<batchInfo>")
  })

  it("fails whole batches when the batch-fail fault fires, processing no rows", async () => {
    const jobId = await createJob({ operation: "insert", object: "Account", contentType: "CSV" })
    emu.handle.setFaults({ batchFail: 1 })
    let b1: string, b2: string
    try {
      b1 = await addBatch(jobId, `Name\n${uniq()}\n`, "text/csv")
      b2 = await addBatch(jobId, `Name\n${uniq()}\n`, "text/csv")
      const f1 = await waitBatch(jobId, b1)
      const f2 = await waitBatch(jobId, b2)
      expect([f1.state, f2.state]).toEqual(["Failed", "Failed"])
      expect([f1.numberRecordsProcessed, f2.numberRecordsProcessed]).toEqual([0, 0])
      for (const f of [f1, f2]) expect(f.stateMessage).toMatch(/^(InternalServerError|TooManyLockFailure) : /)
    } finally {
      emu.handle.setFaults(undefined)
    }
    const ok = await addBatch(jobId, `Name\n${uniq()}\n`, "text/csv")
    expect((await waitBatch(jobId, ok)).state).toBe("Completed")
    const info = await jobInfoXml(jobId)
    expect([tag(info, "numberBatchesFailed"), tag(info, "numberBatchesCompleted")]).toEqual(["2", "1"])
  })

  it("aborting a job turns queued batches into NotProcessed and drops them from the totals", async () => {
    const slow = await startEmulator({ latencyMs: 400 })
    try {
      const base = `${slow.instanceUrl}/services/async/${V}`
      const h = { "X-SFDC-Session": slow.accessToken }
      const created = await fetch(`${base}/job`, {
        method: "POST",
        headers: { ...h, "Content-Type": "application/json" },
        body: JSON.stringify({ operation: "insert", object: "Account", contentType: "CSV" })
      })
      const jobId = (await created.json() as { id: string }).id
      const added = await fetch(`${base}/job/${jobId}/batch`, {
        method: "POST",
        headers: { ...h, "Content-Type": "text/csv" },
        body: "Name\nnever\n"
      })
      const addedText = await added.text()
      expect(tag(addedText, "state")).toBe("Queued")
      const early = await fetch(`${base}/job/${jobId}/batch/${tag(addedText, "id")}/result`, { headers: h })
      expect(early.status).toBe(400)
      expect(tag(await early.text(), "exceptionCode")).toBe("InvalidBatch")
      const aborted = await fetch(`${base}/job/${jobId}`, {
        method: "POST",
        headers: { ...h, "Content-Type": "application/xml" },
        body: `<jobInfo xmlns="${NS}"><state>Aborted</state></jobInfo>`
      })
      const text = await aborted.text()
      expect(tag(text, "state")).toBe("Aborted")
      expect(tag(text, "numberBatchesTotal")).toBe("0")
      await new Promise((r) => setTimeout(r, 600))
      const list = await (await fetch(`${base}/job/${jobId}/batch`, { headers: h })).text()
      expect(tags(list, "state")).toEqual(["NotProcessed"])
      expect(tag(list, "numberRecordsProcessed")).toBe("0")
    } finally {
      await slow.stop()
    }
  })
})

// ---------------------------------------------------------------------------------------------

interface QueryRun {
  readonly jobId: string
  readonly batchId: string
  readonly resultIds: Array<string>
  readonly data: Array<string>
  readonly types: Array<string>
}

const runQuery = async (contentType: "CSV" | "XML" | "JSON", soql: string, operation = "query"): Promise<QueryRun> => {
  const jobId = await createJob({ operation, object: objectOf(soql), contentType })
  const batchId = await addBatch(jobId, soql, MIME[contentType]!)
  const b = await waitBatch(jobId, batchId)
  expect(b.state, b.stateMessage).toBe("Completed")
  const list = await call("GET", `/job/${jobId}/batch/${batchId}/result`)
  const resultIds = contentType === "JSON" ? (JSON.parse(list.text) as Array<string>) : tags(list.text, "result")
  const data: Array<string> = []
  const types: Array<string> = []
  for (const rid of resultIds) {
    const r = await call("GET", `/job/${jobId}/batch/${batchId}/result/${rid}`)
    expect(r.status).toBe(200)
    data.push(r.text)
    types.push(r.type)
  }
  return { jobId, batchId, resultIds, data, types }
}

const objectOf = (soql: string) => /\bfrom\s+(\w+)/i.exec(soql)![1]!

describe("Bulk 1.0 query", () => {
  let prefix: string
  let ids: Array<string>
  beforeAll(async () => {
    prefix = uniq()
    ids = await insertAccounts(prefix, 2_500)
  })

  it("answers CSV with quoted values and splits results every resultFileRows rows", async () => {
    const q = await runQuery("CSV", `SELECT Id, Name FROM Account WHERE Name LIKE '${prefix}-%'`)
    expect(q.resultIds).toHaveLength(3)
    for (const rid of q.resultIds) expect(rid).toMatch(/^752[A-Za-z0-9]{12}$/)
    expect(q.types).toEqual(["text/csv", "text/csv", "text/csv"])
    const rows = q.data.flatMap((d) => {
      const lines = csvLines(d)
      expect(lines[0]).toBe("\"Id\",\"Name\"")
      return lines.slice(1)
    })
    expect(q.data.map((d) => csvLines(d).length - 1)).toEqual([1_000, 1_000, 500])
    expect(rows).toHaveLength(2_500)
    expect(new Set(rows.map((r) => r.split(",")[0]!.slice(1, -1)))).toEqual(new Set(ids))
    expect(rows.every((r) => /^"[^"]+","[^"]+"$/.test(r))).toBe(true)
    const info = await batchInfo(q.jobId, q.batchId)
    expect(info.numberRecordsProcessed).toBe(2_500)
  })

  it("answers `Records not found for this query` for an empty CSV result", async () => {
    const q = await runQuery("CSV", `SELECT Id FROM Account WHERE Name = '${uniq()}'`)
    expect(q.resultIds).toHaveLength(1)
    expect(q.data[0]).toBe("Records not found for this query")
  })

  it("answers JSON records with attributes and epoch-millisecond datetimes", async () => {
    const q = await runQuery("JSON", `SELECT Id, Name, CreatedDate FROM Account WHERE Name = '${prefix}-7'`)
    expect(q.types[0]).toBe("application/json")
    const recs = JSON.parse(q.data[0]!) as Array<Record<string, unknown>>
    expect(recs).toHaveLength(1)
    expect(recs[0]).toMatchObject({
      attributes: { type: "Account", url: `/services/data/v${V}/sobjects/Account/${ids[7]}` },
      Id: ids[7],
      Name: `${prefix}-7`
    })
    expect(typeof recs[0]!["CreatedDate"]).toBe("number")
    expect(Math.abs((recs[0]!["CreatedDate"] as number) - Date.now())).toBeLessThan(24 * 3600_000)
  })

  it("answers XML queryResult records, the selected Id appearing twice", async () => {
    const q = await runQuery("XML", `SELECT Id, Name FROM Account WHERE Name = '${prefix}-3'`)
    expect(q.types[0]).toBe("application/xml")
    expect(q.data[0]).toContain(`<queryResult xmlns="${NS}"`)
    expect(q.data[0]).toContain(
      `<records xsi:type="sObject"><type>Account</type><Id>${ids[3]}</Id><Id>${ids[3]}</Id><Name>${prefix}-3</Name></records>`
    )
  })

  it("fails batches for malformed SOQL and for a query on another object", async () => {
    const jobId = await createJob({ operation: "query", object: "Account", contentType: "CSV" })
    const b1 = await addBatch(jobId, "SELEC Id FROM Account", "text/csv")
    const f1 = await waitBatch(jobId, b1)
    expect(f1.state).toBe("Failed")
    expect(f1.stateMessage).toMatch(/^InvalidBatch : Failed to process query: MALFORMED_QUERY: /)
    const b2 = await addBatch(jobId, "SELECT Id FROM Contact", "text/csv")
    const f2 = await waitBatch(jobId, b2)
    expect(f2.stateMessage).toBe(
      "InvalidBatch : Failed to process query: INVALID_TYPE_FOR_OPERATION: The root entity of the requested query (Contact) does not match the entity of the requested Bulk API Job (Account)."
    )
    // Captured from a real org (jsforce#732): a subquery in a CSV query job.
    const b3 = await addBatch(jobId, "SELECT Id, (SELECT Id FROM Contacts) FROM Account", "text/csv")
    expect(await waitBatch(jobId, b3)).toMatchObject({
      state: "Failed",
      stateMessage: "FeatureNotEnabled : Aggregate Relationships not supported in Bulk Query with CSV content type"
    })
    const r = await call("GET", `/job/${jobId}/batch/${b1}/result`)
    expect(tag(r.text, "exceptionCode")).toBe("InvalidBatch")
    expect((await call("GET", `/job/${jobId}/batch/${b1}/request`)).text).toBe("SELEC Id FROM Account")
  })
})

describe("Bulk 1.0 PK chunking", () => {
  it("splits a 25,000-row query into chunk batches; the original becomes NotProcessed", async () => {
    const prefix = uniq()
    const ids = await insertAccounts(prefix, 25_000)
    const jobId = await createJob(
      { operation: "query", object: "Account", contentType: "CSV" },
      { "Sforce-Enable-PKChunking": "TRUE; chunkSize=10000;" }
    )
    const soql = `SELECT Id, Name FROM Account WHERE Name LIKE '${prefix}-%'`
    const original = await addBatch(jobId, soql, "text/csv; charset=UTF-8")
    expect((await waitBatch(jobId, original)).state).toBe("NotProcessed")
    let list = ""
    for (;;) {
      list = (await call("GET", `/job/${jobId}/batch`)).text
      const states = tags(list, "state")
      if (states.slice(1).every((s) => TERMINAL.has(s)) && states.length > 1) break
      await new Promise((r) => setTimeout(r, 20))
    }
    const batchIds = tags(list, "id").filter((id) => id.startsWith("751"))
    expect(batchIds[0]).toBe(original)
    const chunks = batchIds.slice(1)
    expect(chunks.length).toBeGreaterThanOrEqual(3)
    const seen = new Set<string>()
    for (const c of chunks) {
      expect((await batchInfo(jobId, c)).state).toBe("Completed")
      const req = await call("GET", `/job/${jobId}/batch/${c}/request`)
      expect(req.text.startsWith(soql)).toBe(true)
      expect(req.text).toMatch(/Id >= /)
      const rl = await call("GET", `/job/${jobId}/batch/${c}/result`)
      for (const rid of tags(rl.text, "result")) {
        const d = await call("GET", `/job/${jobId}/batch/${c}/result/${rid}`)
        if (d.text === "Records not found for this query") continue
        for (const line of csvLines(d.text).slice(1)) {
          const id = line.split(",")[0]!.slice(1, -1)
          expect(seen.has(id)).toBe(false)
          seen.add(id)
        }
      }
    }
    expect(seen).toEqual(new Set(ids))
    const info = await jobInfoXml(jobId)
    expect(tag(info, "numberBatchesTotal")).toBe(String(chunks.length))
    expect(tag(info, "numberBatchesCompleted")).toBe(String(chunks.length))
    expect(tag(info, "numberRecordsProcessed")).toBe("25000")
  })

  it("fails the original batch, not the job, when a PK-chunked query is malformed (doc: PK Chunking)", async () => {
    const jobId = await createJob(
      { operation: "query", object: "Account", contentType: "JSON" },
      { "Sforce-Enable-PKChunking": "true" }
    )
    const b = await addBatch(jobId, "SELECT FROM Account", "application/json")
    const info = await waitBatch(jobId, b)
    expect(info.state).toBe("Failed")
    expect(info.stateMessage).toMatch(/^InvalidBatch : Failed to process query: MALFORMED_QUERY: /)
    const job = JSON.parse((await call("GET", `/job/${jobId}`)).text) as Record<string, unknown>
    expect(job).toMatchObject({ state: "Open", numberBatchesFailed: 1, numberBatchesTotal: 1 })
    const closed = await call("POST", `/job/${jobId}`, JSON.stringify({ state: "Closed" }), { "Content-Type": "application/json" })
    expect(closed.status).toBe(200)
    expect(JSON.parse(closed.text)).toMatchObject({ state: "Closed" })
  })

  it("starts chunking at startRow and honours chunkSize (options case-insensitive)", async () => {
    const prefix = uniq()
    const ids = await insertAccounts(prefix, 300)
    const jobId = await createJob(
      { operation: "query", object: "Account", contentType: "JSON" },
      { "Sforce-Enable-PKChunking": `CHUNKSIZE=100; startrow=${ids[150]}` }
    )
    const original = await addBatch(jobId, `SELECT Id FROM Account WHERE Name LIKE '${prefix}-%'`, "application/json")
    expect((await waitBatch(jobId, original)).state).toBe("NotProcessed")
    const list = JSON.parse((await call("GET", `/job/${jobId}/batch`)).text) as { batchInfo: Array<{ id: string }> }
    const got: Array<string> = []
    for (const { id } of list.batchInfo.slice(1)) {
      const b = await waitBatch(jobId, id)
      expect(b.state).toBe("Completed")
      expect(b.numberRecordsProcessed).toBeLessThanOrEqual(100)
      for (const rid of JSON.parse((await call("GET", `/job/${jobId}/batch/${id}/result`)).text) as Array<string>) {
        const recs = JSON.parse((await call("GET", `/job/${jobId}/batch/${id}/result/${rid}`)).text) as Array<{ Id: string }>
        got.push(...recs.map((r) => r.Id))
      }
    }
    expect(got.sort()).toEqual(ids.slice(150).sort())
  })

  it("validates the PK chunking header", async () => {
    let r = await call("POST", "/job", jobXml({ operation: "query", object: "Account" }), {
      "Content-Type": "application/xml",
      "Sforce-Enable-PKChunking": "chunkSize=250001"
    })
    expect(r.status).toBe(400)
    expect(tag(r.text, "exceptionCode")).toBe("InvalidJob")
    r = await call("POST", "/job", jobXml({ operation: "insert", object: "Account" }), {
      "Content-Type": "application/xml",
      "Sforce-Enable-PKChunking": "true"
    })
    expect(r.status).toBe(400)
    r = await call("POST", "/job", jobXml({ operation: "query", object: "Account" }), {
      "Content-Type": "application/xml",
      "Sforce-Enable-PKChunking": "FALSE"
    })
    expect(r.status).toBe(201)
  })
})

/** The default org's Account external id field (see the org definition). */
const externalIdField = (): string => emu.externalIdField
