/**
 * Bulk API 2.0 ingest protocol tests over real HTTP against a started emulator.
 */
import { gzipSync } from "node:zlib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Call, client, keys, type Started, startEmulator, waitFor } from "./bulk2Support.js"

let emu: Started
let call: Call

beforeAll(async () => {
  emu = await startEmulator({ latencyMs: 5, processingChunk: 100 })
  call = client(emu)
})
afterAll(async () => {
  await emu?.stop()
})

const CREATE_KEYS = [
  "id",
  "operation",
  "object",
  "createdById",
  "createdDate",
  "systemModstamp",
  "state",
  "concurrencyMode",
  "contentType",
  "apiVersion",
  "contentUrl",
  "lineEnding",
  "columnDelimiter"
]
const TIMINGS = ["retries", "totalProcessingTime", "apiActiveProcessingTime", "apexProcessingTime"]
const FINISHED_KEYS = [
  ...CREATE_KEYS.slice(0, 10),
  "jobType",
  "lineEnding",
  "columnDelimiter",
  "numberRecordsProcessed",
  "numberRecordsFailed",
  ...TIMINGS
]

const createJob = async (body: Record<string, unknown>): Promise<any> => {
  const r = await call("POST", "/jobs/ingest", { contentType: "CSV", ...body })
  expect(r.status, r.text).toBe(200)
  return r.json()
}

const uniq = () => Math.random().toString(36).slice(2, 10)

/** Create, upload, close and wait: the finished JobInfo. */
const runJob = async (body: Record<string, unknown>, csv: string): Promise<any> => {
  const job = await createJob(body)
  const put = await call("PUT", `/jobs/ingest/${job.id}/batches`, csv)
  expect(put.status, put.text).toBe(201)
  const close = await call("PATCH", `/jobs/ingest/${job.id}`, { state: "UploadComplete" })
  expect(close.status, close.text).toBe(200)
  return waitFor(call, `/jobs/ingest/${job.id}`, ["JobComplete", "Failed", "Aborted"])
}

const resultsOf = async (id: string, which: string) => {
  const r = await call("GET", `/jobs/ingest/${id}/${which}`)
  expect(r.status, r.text).toBe(200)
  expect(r.headers.get("content-type")).toMatch(/^text\/csv/)
  return r.text
}

const queryRows = async (soql: string): Promise<Array<string>> => {
  const r = await call("POST", "/jobs/query", { operation: "query", query: soql })
  expect(r.status, r.text).toBe(200)
  await waitFor(call, `/jobs/query/${r.json().id}`, ["JobComplete"])
  const res = await call("GET", `/jobs/query/${r.json().id}/results`)
  return res.text.split("\n").filter((l) => l !== "").slice(1)
}

describe("create", () => {
  it("answers the create JobInfo with exactly the documented fields", async () => {
    const r = await call("POST", "/jobs/ingest", { object: "account", operation: "insert" })
    expect(r.status).toBe(200)
    expect(r.headers.get("content-type")).toMatch(/^application\/json/)
    const job = r.json()
    expect(keys(job)).toEqual(CREATE_KEYS)
    expect(r.text).toContain("\"apiVersion\":66.0")
    expect(job).toMatchObject({
      operation: "insert",
      object: "Account",
      state: "Open",
      concurrencyMode: "Parallel",
      contentType: "CSV",
      lineEnding: "LF",
      columnDelimiter: "COMMA",
      contentUrl: `services/data/v66.0/jobs/ingest/${job.id}/batches`
    })
    expect(job.id).toMatch(/^750[A-Za-z0-9]{15}$/)
    expect(job.createdById).toMatch(/^005/)
    expect(job.createdDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/)
  })

  it("echoes externalIdFieldName for upsert, in the declared case", async () => {
    const job = await createJob({ object: "Account", operation: "upsert", externalIdFieldName: "externalid__c" })
    expect(job.externalIdFieldName).toBe("ExternalId__c")
    expect(keys(job)).toEqual([...CREATE_KEYS.slice(0, 7), "externalIdFieldName", ...CREATE_KEYS.slice(7)])
  })

  it("uses the version of the request in apiVersion and contentUrl", async () => {
    const r = await call("POST", "/jobs/ingest", { object: "Account", operation: "insert" }, { version: "58.0" })
    expect(r.text).toContain("\"apiVersion\":58.0")
    expect(r.json().contentUrl).toBe(`services/data/v58.0/jobs/ingest/${r.json().id}/batches`)
  })

  it("writes sf__Id in failedResults only for jobs of API 53.0 and later (doc: Get Job Failed Record Results)", async () => {
    const csv = "Name,NumberOfEmployees\n,5\n"
    for (
      const [version, header, row] of [
        [
          "52.0",
          "\"sf__Error\",Name,NumberOfEmployees",
          "\"REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --\",\"\",\"5\""
        ],
        [
          "53.0",
          "\"sf__Id\",\"sf__Error\",Name,NumberOfEmployees",
          "\"\",\"REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --\",\"\",\"5\""
        ]
      ] as const
    ) {
      const v = { version }
      const job = (await call("POST", "/jobs/ingest", { object: "Account", operation: "insert" }, v)).json()
      expect((await call("PUT", `/jobs/ingest/${job.id}/batches`, csv, v)).status).toBe(201)
      expect((await call("PATCH", `/jobs/ingest/${job.id}`, { state: "UploadComplete" }, v)).status).toBe(200)
      const vcall: Call = (m, p, b, o = {}) => call(m, p, b, { ...o, version })
      await waitFor(vcall, `/jobs/ingest/${job.id}`, ["JobComplete"])
      const failed = await call("GET", `/jobs/ingest/${job.id}/failedResults`, undefined, v)
      expect(failed.text).toBe(`${header}\n${row}\n`)
    }
  })

  it.each([
    [{ object: "Accountt", operation: "insert" }, "INVALIDJOB", "InvalidJob : Unable to find object: Accountt"],
    [
      { object: "Account", operation: "upsert", externalIdFieldName: "Foo__c" },
      "INVALIDJOB",
      "InvalidJob : Field name provided, Foo__c does not match an External ID for Account"
    ],
    [
      { object: "Account", operation: "upsert", externalIdFieldName: "Name" },
      "INVALIDJOB",
      "InvalidJob : Field name provided, Name does not match an External ID for Account"
    ],
    [
      { object: "Account", operation: "upsert" },
      "INVALIDJOB",
      "InvalidJob : External ID was blank for Account. An External ID must be specified for upsert."
    ],
    [{ object: "Account", operation: "inserts" }, "API_ERROR", "Invalid value: 'inserts' supplied for property: 'operation'"],
    [{ object: "Account" }, "API_ERROR", "Invalid value: 'null' supplied for property: 'operation'"],
    [
      { object: "Account", operation: "insert", columnDelimiter: "COLON" },
      "API_ERROR",
      "Invalid value: 'COLON' supplied for property: 'columnDelimiter'"
    ],
    [{ object: "Account", operation: "insert", lineEnding: "CR" }, "API_ERROR", "Invalid value: 'CR' supplied for property: 'lineEnding'"],
    [
      { object: "Account", operation: "insert", contentType: "JSON" },
      "API_ERROR",
      "Invalid value: 'JSON' supplied for property: 'contentType'"
    ],
    [{ object: "Account", operation: 5 }, "API_ERROR", "Value does not match expected type at [line:1, column:33]"]
  ])("rejects %j with %s", async (body, code, message) => {
    const r = await call("POST", "/jobs/ingest", body)
    expect(r.status).toBe(400)
    expect(r.json()).toEqual([{ errorCode: code, message }])
  })

  it("rejects malformed JSON with API_ERROR", async () => {
    const r = await call("POST", "/jobs/ingest", "{\"object\":", { headers: { "content-type": "application/json" } })
    expect(r.status).toBe(400)
    expect(r.json()[0].errorCode).toBe("API_ERROR")
  })
})

describe("insert lifecycle", () => {
  it("uploads once, closes, processes, reports results, lists and deletes", async () => {
    const job = await createJob({ object: "Account", operation: "insert" })
    const path = `/jobs/ingest/${job.id}`

    const open = (await call("GET", path)).json()
    expect(keys(open)).toEqual([...CREATE_KEYS.slice(0, 10), "jobType", "contentUrl", "lineEnding", "columnDelimiter", ...TIMINGS])
    expect(open.jobType).toBe("V2Ingest")

    const early = await call("GET", `${path}/successfulResults`)
    expect(early.status).toBe(400)
    expect(early.json()[0].errorCode).toBe("INVALIDJOBSTATE")

    const delOpen = await call("DELETE", path)
    expect(delOpen.status).toBe(400)
    expect(delOpen.json()).toEqual([
      { errorCode: "API_ERROR", message: "Error encountered when deleting the job because the job is not terminated" }
    ])

    const name = `Life ${uniq()}`
    const csv = `Name,NumberOfEmployees,Description\n${name},12,"multi\nline, ""quoted"""\n,3,no name\n${name} 2,lots,bad number\n`
    const put = await call("PUT", `${path}/batches`, csv)
    expect(put.status).toBe(201)
    expect(put.text).toBe("")

    const again = await call("PUT", `${path}/batches`, "Name\nx\n")
    expect(again.status).toBe(400)
    expect(again.json()).toEqual([{
      errorCode: "BULK_API_ERROR",
      message: `Found multipe contents for job: <${
        job.id.slice(0, 15)
      }>, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job.`
    }])

    const close = await call("PATCH", path, { state: "UploadComplete" })
    expect(close.status).toBe(200)
    expect(keys(close.json())).toEqual(CREATE_KEYS.slice(0, 10))
    expect(close.json().state).toBe("UploadComplete")
    expect(close.text).toContain("\"apiVersion\":66.0")

    const reclose = await call("PATCH", path, { state: "UploadComplete" })
    expect(reclose.status).toBe(400)
    expect(reclose.json()).toEqual([{
      errorCode: "INVALIDJOBSTATE",
      message: expect.stringMatching(/^Closing already (UploadComplete|InProgress|Completed) Job not allowed$/)
    }])

    const done = await waitFor(call, path, ["JobComplete", "Failed"])
    // A repeated UploadComplete on a finished job: the text a real org gives (FIDELITY.md).
    const late = await call("PATCH", path, { state: "UploadComplete" })
    expect(late.status).toBe(400)
    expect(late.json()).toEqual([{ errorCode: "INVALIDJOBSTATE", message: "Closing already Completed Job not allowed" }])
    expect((await call("GET", path)).json().state).toBe("JobComplete")
    expect(keys(done)).toEqual(FINISHED_KEYS)
    expect(done).toMatchObject({ state: "JobComplete", numberRecordsProcessed: 3, numberRecordsFailed: 2, retries: 0 })

    const ok = await resultsOf(job.id, "successfulResults")
    const okLines = ok.split("\n")
    expect(okLines[0]).toBe("\"sf__Id\",\"sf__Created\",Name,NumberOfEmployees,Description")
    expect(okLines[1]).toMatch(new RegExp(`^"001[A-Za-z0-9]{15}","true","${name}","12","multi$`))
    expect(okLines[2]).toBe("line, \"\"quoted\"\"\"")
    expect(okLines).toHaveLength(4)

    const failed = await resultsOf(job.id, "failedResults")
    expect(failed).toBe(
      "\"sf__Id\",\"sf__Error\",Name,NumberOfEmployees,Description\n" +
        "\"\",\"REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --\",\"\",\"3\",\"no name\"\n" +
        `"","INVALID_TYPE_ON_FIELD_IN_RECORD:Employees: value not of required type: lots:NumberOfEmployees --","${name} 2","lots","bad number"\n`
    )
    expect(await resultsOf(job.id, "unprocessedrecords")).toBe("Name,NumberOfEmployees,Description\n")
    expect(await resultsOf(job.id, "unprocessedRecords/")).toBe("Name,NumberOfEmployees,Description\n")

    expect(await queryRows(`SELECT Name, NumberOfEmployees FROM Account WHERE Name = '${name}'`)).toEqual([`"${name}","12"`])

    const list = await call("GET", "/jobs/ingest")
    expect(list.status).toBe(200)
    const listed = list.json().records.find((j: any) => j.id === job.id)
    expect(keys(listed)).toEqual([...CREATE_KEYS.slice(0, 10), "jobType", "lineEnding", "columnDelimiter"])

    const del = await call("DELETE", `${path}/`)
    expect(del.status).toBe(204)
    expect(del.text).toBe("")
    const gone = await call("GET", path)
    expect(gone.status).toBe(404)
    expect(gone.json()).toEqual([{ errorCode: "NOT_FOUND", message: "The requested resource does not exist" }])
    expect((await call("GET", "/jobs/ingest")).json().records.some((j: any) => j.id === job.id)).toBe(false)
  })

  it("accepts a gzip-compressed upload and gzips results on request", async () => {
    const tag = uniq()
    const job = await createJob({ object: "Account", operation: "insert" })
    const put = await call("PUT", `/jobs/ingest/${job.id}/batches`, gzipSync(`Name\nGz ${tag}\n`), {
      headers: { "content-type": "text/csv", "content-encoding": "gzip" }
    })
    expect(put.status).toBe(201)
    await call("PATCH", `/jobs/ingest/${job.id}`, { state: "UploadComplete" })
    const done = await waitFor(call, `/jobs/ingest/${job.id}`, ["JobComplete", "Failed"])
    expect(done).toMatchObject({ state: "JobComplete", numberRecordsProcessed: 1, numberRecordsFailed: 0 })
    const res = await fetch(`${emu.instanceUrl}/services/data/v66.0/jobs/ingest/${job.id}/successfulResults`, {
      headers: { authorization: `Bearer ${emu.accessToken}`, "accept-encoding": "gzip" }
    })
    expect(res.headers.get("content-encoding")).toBe("gzip")
    expect(await res.text()).toMatch(new RegExp(`^"sf__Id","sf__Created",Name\n"001\\w{15}","true","Gz ${tag}"\n$`))
  })

  it("accepts the 15-character job id in paths", async () => {
    const job = await createJob({ object: "Account", operation: "insert" })
    const r = await call("GET", `/jobs/ingest/${job.id.slice(0, 15)}`)
    expect(r.status).toBe(200)
    expect(r.json().id).toBe(job.id)
  })

  it("answers 404 NOT_FOUND for unknown jobs and paths, 405 for wrong methods", async () => {
    for (const p of ["/jobs/ingest/750000000000000AAA", "/jobs/ingest/nope", "/jobs/ingest/750000000000000AAA/batches"]) {
      const r = await call("GET", p)
      expect(r.status).toBe(404)
      expect(r.json()).toEqual([{ errorCode: "NOT_FOUND", message: "The requested resource does not exist" }])
    }
    const job = await createJob({ object: "Account", operation: "insert" })
    expect((await call("GET", `/jobs/ingest/${job.id}/whatever`)).status).toBe(404)
    const m = await call("POST", `/jobs/ingest/${job.id}`, { state: "UploadComplete" })
    expect(m.status).toBe(405)
    expect(m.json()[0].errorCode).toBe("METHOD_NOT_ALLOWED")
    expect((await call("GET", "/jobs/ingest", undefined, { version: "40.0" })).status).toBe(404)
  })

  it("upserts (sf__Created true/false), updates, deletes, with #N/A nulls and case-insensitive headers", async () => {
    const a = `U-${uniq()}`
    const b = `U-${uniq()}`
    const seeded = await runJob(
      { object: "Account", operation: "upsert", externalIdFieldName: "ExternalId__c" },
      `EXTERNALID__C,name,numberofemployees\n${a},Alpha,1\n`
    )
    expect(seeded).toMatchObject({ state: "JobComplete", numberRecordsProcessed: 1, numberRecordsFailed: 0 })
    const up = await runJob(
      { object: "Account", operation: "upsert", externalIdFieldName: "ExternalId__c" },
      `ExternalId__c,Name,NumberOfEmployees\n${a},Alpha 2,#N/A\n${b},Beta,7\n`
    )
    expect(up).toMatchObject({ state: "JobComplete", numberRecordsProcessed: 2, numberRecordsFailed: 0 })
    const ok = (await resultsOf(up.id, "successfulResults")).split("\n")
    expect(ok[0]).toBe("\"sf__Id\",\"sf__Created\",ExternalId__c,Name,NumberOfEmployees")
    expect(ok[1]).toMatch(new RegExp(`^"001\\w{15}","false","${a}","Alpha 2","#N/A"$`))
    expect(ok[2]).toMatch(new RegExp(`^"001\\w{15}","true","${b}","Beta","7"$`))
    expect(await queryRows(`SELECT Name, NumberOfEmployees FROM Account WHERE ExternalId__c = '${a}'`)).toEqual(["\"Alpha 2\",\"\""])
    const idA = ok[1]!.slice(1, 19)

    const missing = "001000000000000AAA"
    const upd = await runJob({ object: "Account", operation: "update" }, `Id,Name\n${idA},Renamed\n${missing},Nobody\n`)
    expect(upd).toMatchObject({ numberRecordsProcessed: 2, numberRecordsFailed: 1 })
    const failed = (await resultsOf(upd.id, "failedResults")).split("\n")
    // Captured from real orgs: an unknown Id fails with a blank sf__Id.
    expect(failed[1]).toBe(`"","INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--","${missing}","Nobody"`)
    // A failure on a live record names it in sf__Id (doc: "ID of the record that had an error").
    const blank = await runJob({ object: "Account", operation: "update" }, `Id,Name\n${idA},#N/A\n`)
    expect((await resultsOf(blank.id, "failedResults")).split("\n")[1]).toMatch(new RegExp(`^"${idA}","REQUIRED_FIELD_MISSING:`))
    expect((await resultsOf(upd.id, "successfulResults")).split("\n")[1]).toBe(`"${idA}","false","${idA}","Renamed"`)

    const del = await runJob({ object: "Account", operation: "delete" }, `ID\n${idA}\n`)
    expect(del).toMatchObject({ state: "JobComplete", numberRecordsProcessed: 1, numberRecordsFailed: 0 })
    expect(await queryRows(`SELECT Name FROM Account WHERE ExternalId__c = '${a}'`)).toEqual([])
    // Deleting it again: the captured real answer, blank sf__Id and the `:--` tail.
    const again = await runJob({ object: "Account", operation: "delete" }, `Id\n${idA}\n`)
    expect(again).toMatchObject({ state: "JobComplete", numberRecordsProcessed: 1, numberRecordsFailed: 1 })
    expect(await resultsOf(again.id, "failedResults")).toBe(
      `"sf__Id","sf__Error",Id\n"","ENTITY_IS_DELETED:entity is deleted:--","${idA}"\n`
    )
  })
})

describe("CSV dialects", () => {
  const DELIMS: Record<string, string> = { BACKQUOTE: "`", CARET: "^", COMMA: ",", PIPE: "|", SEMICOLON: ";", TAB: "\t" }
  for (const [columnDelimiter, d] of Object.entries(DELIMS)) {
    for (const [lineEnding, eol] of [["LF", "\n"], ["CRLF", "\r\n"]] as const) {
      it(`${columnDelimiter} + ${lineEnding}: uploads and results`, async () => {
        const tag = uniq()
        const csv = `Name${d}Description${eol}${columnDelimiter} ${tag}${d}"has ${d} inside"${eol}${d}orphan${eol}`
        const job = await runJob({ object: "Account", operation: "insert", columnDelimiter, lineEnding }, csv)
        expect(job).toMatchObject({ state: "JobComplete", columnDelimiter, lineEnding, numberRecordsProcessed: 2, numberRecordsFailed: 1 })
        const ok = await resultsOf(job.id, "successfulResults")
        const lines = ok.split(eol)
        expect(lines[0]).toBe(`"sf__Id"${d}"sf__Created"${d}Name${d}Description`)
        expect(lines[1]).toMatch(new RegExp(`^"001\\w{15}"\\${d}"true"\\${d}"${columnDelimiter} ${tag}"\\${d}"has \\${d} inside"$`))
        expect(lines.slice(2)).toEqual([""])
        const failed = (await resultsOf(job.id, "failedResults")).split(eol)
        expect(failed[0]).toBe(`"sf__Id"${d}"sf__Error"${d}Name${d}Description`)
        expect(failed[1]).toBe(`""${d}"REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"${d}""${d}"orphan"`)
        expect(await queryRows(`SELECT Description FROM Account WHERE Name = '${columnDelimiter} ${tag}'`)).toEqual([
          `"has ${d} inside"`
        ])
      })
    }
  }

  it("CRLF records on an LF job fail the job with Salesforce's ClientInputError (FIDELITY.md)", async () => {
    const job = await runJob({ object: "Account", operation: "insert", lineEnding: "LF" }, "Name,Site\r\nA,B\r\n")
    expect(job).toMatchObject({
      state: "Failed",
      numberRecordsProcessed: 0,
      errorMessage: "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF"
    })
    // One CRLF record among LF ones is enough.
    const mixed = await runJob({ object: "Account", operation: "insert" }, "Name,Site\nM4,m4\r\nM5,m5\n")
    expect(mixed).toMatchObject({
      state: "Failed",
      errorMessage: "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF"
    })
  })

  it("LF records on a CRLF job fail the job the same way, naming CRLF", async () => {
    const job = await runJob({ object: "Account", operation: "insert", lineEnding: "CRLF" }, "Name,Site\nA,B\n")
    expect(job).toMatchObject({
      state: "Failed",
      numberRecordsProcessed: 0,
      errorMessage: "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is CRLF"
    })
  })

  it("quoted values keep LF, CR and CRLF exactly, on LF and on CRLF jobs", async () => {
    const values = ["a\nb", "c\rd", "e\r\nf", "\r\n", "g\n\rh"]
    for (const lineEnding of ["LF", "CRLF"] as const) {
      const eol = lineEnding === "LF" ? "\n" : "\r\n"
      const names = values.map((_, i) => `NL-${lineEnding}-${i}`)
      const csv = `Name,Description${eol}${values.map((v, i) => `${names[i]},"${v}"`).join(eol)}${eol}`
      const job = await runJob({ object: "Account", operation: "insert", lineEnding }, csv)
      expect(job).toMatchObject({ state: "JobComplete", numberRecordsProcessed: values.length, numberRecordsFailed: 0 })
      const ok = await resultsOf(job.id, "successfulResults")
      for (let i = 0; i < values.length; i++) expect(ok).toContain(`"${names[i]}","${values[i]}"`)
    }
  })

  it("a UTF-8 BOM stays in the first column name: the job fails with Field name not found", async () => {
    const job = await runJob({ object: "Account", operation: "insert" }, "\uFEFFName,Site\nA,B\n")
    expect(job).toMatchObject({
      state: "Failed",
      numberRecordsProcessed: 0,
      errorMessage: "InvalidBatch : Field name not found : \uFEFFName"
    })
  })

  it("a BOM in front of a quoted header fails the job with Salesforce's unescaped-quote text", async () => {
    const job = await runJob({ object: "Account", operation: "insert", lineEnding: "CRLF" }, "\uFEFF\"Name\",\"Site\"\r\n\"A\",\"B\"\r\n")
    expect(job).toMatchObject({
      state: "Failed",
      numberRecordsProcessed: 0,
      errorMessage: "InvalidBatch : Failed to parse CSV. Found unescaped quote. A value with quote should be within a quote"
    })
  })

  it("blank lines (and a lone empty value) are skipped: no row, no result, not counted", async () => {
    const job = await runJob({ object: "Account", operation: "insert" }, "Name\nB1\n\nB2\n\"\"\nB3\n\n")
    expect(job).toMatchObject({ state: "JobComplete", numberRecordsProcessed: 3, numberRecordsFailed: 0 })
    const ok = (await resultsOf(job.id, "successfulResults")).trim().split("\n")
    expect(ok).toHaveLength(4)
    expect(await resultsOf(job.id, "failedResults")).toBe("\"sf__Id\",\"sf__Error\",Name\n")
  })
})

describe("job-level failures", () => {
  it("an unknown header column fails the whole job; every row is unprocessed", async () => {
    const job = await runJob({ object: "Account", operation: "insert" }, "Name,ContactId__c\nA,1\nB,2\n")
    expect(job).toMatchObject({
      state: "Failed",
      errorMessage: "InvalidBatch : Field name not found : ContactId__c",
      numberRecordsProcessed: 0,
      numberRecordsFailed: 0
    })
    expect(keys(job)).toEqual([...FINISHED_KEYS, "errorMessage"])
    expect(await resultsOf(job.id, "unprocessedrecords")).toBe("Name,ContactId__c\n\"A\",\"1\"\n\"B\",\"2\"\n")
    expect(await resultsOf(job.id, "successfulResults")).toBe("\"sf__Id\",\"sf__Created\",Name,ContactId__c\n")
  })

  it.each([
    ["a field over 131,072 characters", `Name,Description\nA,${"x".repeat(131_073)}\n`, "InvalidBatch : Exceeded max field size"],
    [
      "a record over 400,000 characters",
      `Name,Description,BillingStreet,ShippingStreet\n${"w".repeat(100_001)},${"x".repeat(100_001)},${"y".repeat(100_001)},${
        "z".repeat(100_001)
      }\n`,
      "InvalidBatch : Exceeded max record size"
    ],
    ["more than 5,000 fields", `Name\n${"a,".repeat(5_000)}a\n`, "InvalidBatch : Exceeded max number of columns per record : 5000"],
    [
      "a header row over 32,000 characters",
      `Name,${"F".repeat(32_000)}\nA,b\n`,
      "InvalidBatch : The header row exceeds the maximum length of 32000 characters"
    ],
    [
      "a row with more values than columns",
      "Name\nA,B\n",
      "InvalidBatch : Failed to parse CSV: row 2 has 2 values but the header has 1 columns"
    ],
    ["an unterminated quote", "Name\n\"A\n", "InvalidBatch : Failed to parse CSV:"]
  ])("%s fails the job with Salesforce's message", async (_, csv, message) => {
    const job = await runJob({ object: "Account", operation: "insert" }, csv)
    expect(job.state).toBe("Failed")
    expect(job.numberRecordsProcessed).toBe(0)
    expect(job.errorMessage.startsWith(message)).toBe(true)
  })

  it("closing a job without data fails it", async () => {
    const job = await createJob({ object: "Account", operation: "insert" })
    await call("PATCH", `/jobs/ingest/${job.id}`, { state: "UploadComplete" })
    const done = await waitFor(call, `/jobs/ingest/${job.id}`, ["JobComplete", "Failed"])
    expect(done.state).toBe("Failed")
    expect(done.errorMessage).toMatch(/^InvalidBatch : /)
  })

  it("an injected batch failure stops the job part-way; the rest is unprocessed", async () => {
    await emu.setBatchFail(true)
    try {
      const csv = `Name\n${Array.from({ length: 10 }, (_, i) => `Fault ${i}`).join("\n")}\n`
      const job = await runJob({ object: "Account", operation: "insert" }, csv)
      expect(job.state).toBe("Failed")
      expect(job.errorMessage).toMatch(/^(InternalServerError|TooManyLockFailure) : /)
      expect(job.numberRecordsProcessed).toBe(5)
      const ok = (await resultsOf(job.id, "successfulResults")).trim().split("\n")
      const rest = (await resultsOf(job.id, "unprocessedrecords")).trim().split("\n")
      expect(ok).toHaveLength(6)
      expect(rest).toEqual(["Name", ...[5, 6, 7, 8, 9].map((i) => `"Fault ${i}"`)])
    } finally {
      await emu.setBatchFail(false)
    }
  })
})

describe("abort", () => {
  it("aborts an Open job; later changes are refused", async () => {
    const job = await createJob({ object: "Account", operation: "insert" })
    const path = `/jobs/ingest/${job.id}`
    const r = await call("PATCH", path, { state: "Aborted" })
    expect(r.status).toBe(200)
    expect(r.json().state).toBe("Aborted")
    expect(keys(r.json())).toEqual(CREATE_KEYS.slice(0, 10))
    const put = await call("PATCH", path, { state: "UploadComplete" })
    expect(put.status).toBe(400)
    expect(put.json()[0].errorCode).toBe("INVALIDJOBSTATE")
    const upload = await call("PUT", `${path}/batches`, "Name\nA\n")
    expect(upload.status).toBe(400)
    expect(upload.json()[0].errorCode).toBe("INVALIDJOBSTATE")
    const again = await call("PATCH", path, { state: "Aborted" })
    expect(again.json()).toEqual([{ errorCode: "INVALIDJOBSTATE", message: "Aborting already Aborted Job not allowed" }])
    const info = (await call("GET", path)).json()
    expect(info.state).toBe("Aborted")
    expect(info.contentUrl).toBeUndefined()
    expect((await call("DELETE", path)).status).toBe(204)
  })

  it("refuses to abort a completed job and rejects unknown states", async () => {
    const job = await runJob({ object: "Account", operation: "insert" }, "Name\nDone\n")
    const r = await call("PATCH", `/jobs/ingest/${job.id}`, { state: "Aborted" })
    expect(r.status).toBe(400)
    expect(r.json()).toEqual([{ errorCode: "INVALIDJOBSTATE", message: "Aborting already Completed Job not allowed" }])
    const bad = await call("PATCH", `/jobs/ingest/${job.id}`, { state: "Closed" })
    expect(bad.json()).toEqual([{ errorCode: "API_ERROR", message: "Invalid value: 'Closed' supplied for property: 'state'" }])
  })

  it("aborting an InProgress job leaves the remaining rows unprocessed", async () => {
    const n = 30_000
    const lines = ["Name"]
    for (let i = 0; i < n; i++) lines.push(`Abort ${i}`)
    const job = await createJob({ object: "Account", operation: "insert" })
    const path = `/jobs/ingest/${job.id}`
    expect((await call("PUT", `${path}/batches`, `${lines.join("\n")}\n`)).status).toBe(201)
    await call("PATCH", path, { state: "UploadComplete" })
    const running = await waitFor(call, path, ["InProgress", "JobComplete"])
    expect(running.state).toBe("InProgress")
    expect(keys(running)).toEqual(FINISHED_KEYS)
    const r = await call("PATCH", path, { state: "Aborted" })
    expect(r.status, r.text).toBe(200)
    const info = (await call("GET", path)).json()
    expect(info.state).toBe("Aborted")
    await new Promise((resolve) => setTimeout(resolve, 50))
    const after = (await call("GET", path)).json()
    expect(after.numberRecordsProcessed).toBe(info.numberRecordsProcessed)
    expect(after.numberRecordsProcessed).toBeLessThan(n)
    const ok = (await resultsOf(job.id, "successfulResults")).trim().split("\n").length - 1
    const rest = (await resultsOf(job.id, "unprocessedrecords")).trim().split("\n").length - 1
    expect(ok).toBe(after.numberRecordsProcessed)
    expect(ok + rest).toBe(n)
  })
})

describe("multipart create", () => {
  const multipart = (job: object, csv: string) => {
    const b = "BOUNDARY123"
    return {
      body: `--${b}\r\nContent-Type: application/json\r\nContent-Disposition: form-data; name="job"\r\n\r\n${JSON.stringify(job)}\r\n` +
        `--${b}\r\nContent-Type: text/csv\r\nContent-Disposition: form-data; name="content"; filename="content"\r\n\r\n${csv}\r\n--${b}--\r\n`,
      headers: { "content-type": `multipart/form-data; boundary=${b}` }
    }
  }

  it("creates a job with its data, already UploadComplete, and processes it", async () => {
    const tag = uniq()
    const m = multipart({ object: "Account", operation: "insert", contentType: "CSV", lineEnding: "LF" }, `Name\nMP ${tag}\n`)
    const r = await call("POST", "/jobs/ingest", m.body, { headers: m.headers })
    expect(r.status, r.text).toBe(200)
    expect(r.json().state).toBe("UploadComplete")
    expect(r.json().contentUrl).toBeUndefined()
    const done = await waitFor(call, `/jobs/ingest/${r.json().id}`, ["JobComplete", "Failed"])
    expect(done).toMatchObject({ state: "JobComplete", numberRecordsProcessed: 1 })
    expect(await queryRows(`SELECT Name FROM Account WHERE Name = 'MP ${tag}'`)).toEqual([`"MP ${tag}"`])
    const put = await call("PUT", `/jobs/ingest/${r.json().id}/batches`, "Name\nx\n")
    expect(put.json()[0].errorCode).toBe("BULK_API_ERROR")
  })

  it("refuses more than 100,000 characters of CSV", async () => {
    const m = multipart({ object: "Account", operation: "insert" }, `Name\n${"a".repeat(100_000)}\n`)
    const r = await call("POST", "/jobs/ingest", m.body, { headers: m.headers })
    expect(r.status).toBe(400)
    expect(r.json()[0].errorCode).toBe("API_ERROR")
    expect(r.json()[0].message).toContain("100000")
  })

  it("validates the job part like a JSON create", async () => {
    const m = multipart({ object: "Nope", operation: "insert" }, "Name\nA\n")
    const r = await call("POST", "/jobs/ingest", m.body, { headers: m.headers })
    expect(r.json()).toEqual([{ errorCode: "INVALIDJOB", message: "InvalidJob : Unable to find object: Nope" }])
  })
})

describe("list", () => {
  it("pages with done, records and nextRecordsUrl/queryLocator", async () => {
    for (let i = 0; i < 3; i++) await createJob({ object: "Account", operation: "insert" })
    const all = (await call("GET", "/jobs/ingest")).json()
    expect(all.done).toBe(true)
    expect(all.nextRecordsUrl).toBeNull()
    const total = all.records.length
    expect(total).toBeGreaterThanOrEqual(3)
    const seen: Array<string> = []
    let page = (await call("GET", "/jobs/ingest?pageSize=2")).json()
    for (;;) {
      seen.push(...page.records.map((j: any) => j.id))
      expect(page.records.every((j: any) => j.jobType === "V2Ingest")).toBe(true)
      if (page.done) break
      expect(page.nextRecordsUrl).toMatch(/^\/services\/data\/v66\.0\/jobs\/ingest\?.*queryLocator=[^&]+-\d+/)
      page = (await call("GET", page.nextRecordsUrl.replace("/services/data/v66.0", ""))).json()
    }
    expect(seen).toEqual(all.records.map((j: any) => j.id))
    expect((await call("GET", "/jobs/ingest?jobType=Classic")).json().records).toEqual([])
    expect((await call("GET", "/jobs/ingest?queryLocator=bogus")).status).toBe(400)
  })
})

describe("large uploads", () => {
  it("ingests 100,000 rows and returns every result", async () => {
    const n = 100_000
    const tag = uniq()
    const parts: Array<string> = ["Name,NumberOfEmployees,ExternalId__c\n"]
    for (let i = 0; i < n; i++) parts.push(`Big ${tag} ${i},${i},B-${tag}-${i}\n`)
    const job = await runJob({ object: "Account", operation: "insert" }, parts.join(""))
    expect(job).toMatchObject({ state: "JobComplete", numberRecordsProcessed: n, numberRecordsFailed: 0 })
    const ok = (await resultsOf(job.id, "successfulResults")).split("\n")
    expect(ok).toHaveLength(n + 2)
    expect(ok[n]).toMatch(new RegExp(`^"001\\w{15}","true","Big ${tag} ${n - 1}","${n - 1}","B-${tag}-${n - 1}"$`))
    expect(new Set(ok.slice(1, -1).map((l) => l.slice(1, 19))).size).toBe(n)
    expect(await resultsOf(job.id, "failedResults")).toBe("\"sf__Id\",\"sf__Error\",Name,NumberOfEmployees,ExternalId__c\n")
  }, 60_000)

  it("refuses an upload over 150 MB (base64) and keeps the job open", async () => {
    const job = await createJob({ object: "Account", operation: "insert" })
    const chunk = Buffer.from(`${"x".repeat(1023)}\n`.repeat(1024))
    const total = 119 * 1024 * 1024
    let sent = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= total) return controller.close()
        sent += chunk.length
        controller.enqueue(sent === chunk.length ? Buffer.concat([Buffer.from("Name\n"), chunk]) : chunk)
      }
    })
    const res = await fetch(`${emu.instanceUrl}/services/data/v66.0/jobs/ingest/${job.id}/batches`, {
      method: "PUT",
      headers: { authorization: `Bearer ${emu.accessToken}`, "content-type": "text/csv" },
      body,
      duplex: "half"
    } as RequestInit)
    expect(res.status).toBe(400)
    const err = (await res.json()) as Array<{ errorCode: string; message: string }>
    expect(err[0]!.message).toContain("150 MB")
    const ok = await call("PUT", `/jobs/ingest/${job.id}/batches`, "Name\nSmall\n")
    expect(ok.status).toBe(201)
  }, 60_000)
})

describe("repeated state changes", () => {
  it("a repeated UploadComplete is refused with INVALIDJOBSTATE naming the state; nothing changes", async () => {
    // A slow emulator keeps the job in UploadComplete while we repeat the request.
    const slow = await startEmulator({ latencyMs: 60_000 })
    try {
      const c = client(slow)
      const job = (await c("POST", "/jobs/ingest", { object: "Account", operation: "insert" })).json()
      const path = `/jobs/ingest/${job.id}`
      expect((await c("PUT", `${path}/batches`, "Name\nA\n")).status).toBe(201)
      expect((await c("PATCH", path, { state: "UploadComplete" })).status).toBe(200)
      const again = await c("PATCH", path, { state: "UploadComplete" })
      expect(again.status).toBe(400)
      expect(again.json()).toEqual([{ errorCode: "INVALIDJOBSTATE", message: "Closing already UploadComplete Job not allowed" }])
      expect((await c("GET", path)).json().state).toBe("UploadComplete")
      expect((await c("PATCH", path, { state: "Aborted" })).status).toBe(200)
      const afterAbort = await c("PATCH", path, { state: "UploadComplete" })
      expect(afterAbort.json()).toEqual([{ errorCode: "INVALIDJOBSTATE", message: "Closing already Aborted Job not allowed" }])
      const reAbort = await c("PATCH", path, { state: "Aborted" })
      expect(reAbort.json()).toEqual([{ errorCode: "INVALIDJOBSTATE", message: "Aborting already Aborted Job not allowed" }])
    } finally {
      await slow.stop()
    }
  })
})
