/**
 * Bulk API 2.0 query protocol tests over real HTTP against a started emulator.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Call, client, keys, type Started, startEmulator, waitFor } from "./bulk2Support.js"

let emu: Started
let call: Call
const TAG = Math.random().toString(36).slice(2, 10)
const N = 2_345

beforeAll(async () => {
  emu = await startEmulator({ latencyMs: 5, pageSize: 1_000 })
  call = client(emu)
  const lines = ["Name,NumberOfEmployees,Description"]
  for (let i = 0; i < N; i++) lines.push(`Q ${TAG} ${String(i).padStart(5, "0")},${i},"line ${i}, with ""quotes"""`)
  const job = (await call("POST", "/jobs/ingest", { object: "Account", operation: "insert" })).json()
  expect((await call("PUT", `/jobs/ingest/${job.id}/batches`, `${lines.join("\n")}\n`)).status).toBe(201)
  await call("PATCH", `/jobs/ingest/${job.id}`, { state: "UploadComplete" })
  const done = await waitFor(call, `/jobs/ingest/${job.id}`, ["JobComplete", "Failed"])
  expect(done.numberRecordsFailed).toBe(0)
}, 30_000)
afterAll(async () => {
  await emu?.stop()
})

const SOQL = `SELECT Id, Name, NumberOfEmployees, Description FROM Account WHERE Name LIKE 'Q ${TAG} %' ORDER BY Name`

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
  "lineEnding",
  "columnDelimiter"
]

const createQuery = async (body: Record<string, unknown>, version?: string): Promise<any> => {
  const r = await call("POST", "/jobs/query", { operation: "query", ...body }, version ? { version } : {})
  expect(r.status, r.text).toBe(200)
  return r.json()
}

const completed = async (body: Record<string, unknown>, version?: string): Promise<any> => {
  const job = await createQuery(body, version)
  return waitFor(call, `/jobs/query/${job.id}`, ["JobComplete", "Failed"])
}

/** Every page of a job's results, following Sforce-Locator. */
const allPages = async (id: string, maxRecords?: number) => {
  const pages: Array<{ text: string; locator: string | null; count: string | null }> = []
  let locator: string | undefined
  for (;;) {
    const params = new URLSearchParams()
    if (locator) params.set("locator", locator)
    if (maxRecords) params.set("maxRecords", String(maxRecords))
    const r = await call("GET", `/jobs/query/${id}/results?${params.toString()}`, undefined, { headers: { accept: "text/csv" } })
    expect(r.status, r.text).toBe(200)
    pages.push({ text: r.text, locator: r.headers.get("sforce-locator"), count: r.headers.get("sforce-numberofrecords") })
    const next = r.headers.get("sforce-locator")
    if (next === "null") return pages
    locator = next!
  }
}

const dataRows = (text: string, eol = "\n") => text.split(eol).slice(1, -1)

describe("create and info", () => {
  it("creates a query job with the documented fields; object from FROM", async () => {
    const r = await call("POST", "/jobs/query", { operation: "query", query: "select Id from account" })
    expect(r.status).toBe(200)
    expect(keys(r.json())).toEqual(CREATE_KEYS)
    expect(r.text).toContain("\"apiVersion\":66.0")
    expect(r.json()).toMatchObject({
      operation: "query",
      object: "Account",
      state: "UploadComplete",
      lineEnding: "LF",
      columnDelimiter: "COMMA"
    })
    const done = await waitFor(call, `/jobs/query/${r.json().id}`, ["JobComplete"])
    expect(keys(done)).toEqual([
      ...CREATE_KEYS.slice(0, 10),
      "jobType",
      "lineEnding",
      "columnDelimiter",
      "numberRecordsProcessed",
      "retries",
      "totalProcessingTime",
      "isPkChunkingSupported"
    ])
    expect(done.jobType).toBe("V2Query")
    expect(done.numberRecordsProcessed).toBeGreaterThanOrEqual(N)
  })

  it("rejects invalid SOQL with the model's error code and Salesforce's text", async () => {
    const bad = await call("POST", "/jobs/query", { operation: "query", query: "SELECT Nope__c FROM Account" })
    expect(bad.status).toBe(400)
    expect(bad.json()[0].errorCode).toBe("INVALID_FIELD")
    expect(bad.json()[0].message).toContain("No such column 'Nope__c' on entity 'Account'")
    const malformed = await call("POST", "/jobs/query", { operation: "query", query: "SELECT FROM" })
    expect(malformed.status).toBe(400)
    expect(malformed.json()[0].errorCode).toBe("MALFORMED_QUERY")
    const type = await call("POST", "/jobs/query", { operation: "query", query: "SELECT Id FROM Nothing__c" })
    expect(type.status).toBe(400)
    expect(type.json()[0].errorCode).toBe("INVALID_TYPE")
    // Text captured from a real org for a parent-to-child subquery (OpenFn/adaptors#395).
    const sub = await call("POST", "/jobs/query", { operation: "query", query: "SELECT Id, (SELECT Id FROM Contacts) FROM Account" })
    expect(sub.status).toBe(400)
    expect(sub.json()[0].message).toBe("Aggregate Relationships not supported in Bulk V2 Query with CSV content type.")
  })

  it.each([
    [{ operation: "select", query: "SELECT Id FROM Account" }, "Invalid value: 'select' supplied for property: 'operation'"],
    [
      { operation: "query", query: "SELECT Id FROM Account", columnDelimiter: "X" },
      "Invalid value: 'X' supplied for property: 'columnDelimiter'"
    ],
    [{ operation: "query", query: "SELECT Id FROM Account", lineEnding: "CR" }, "Invalid value: 'CR' supplied for property: 'lineEnding'"]
  ])("rejects %j", async (body, message) => {
    const r = await call("POST", "/jobs/query", body)
    expect(r.status).toBe(400)
    expect(r.json()).toEqual([{ errorCode: "API_ERROR", message }])
  })

  it("404s unknown query jobs, ingest ids on /jobs/query, and versions below 47.0", async () => {
    expect((await call("GET", "/jobs/query/750000000000000AAA")).json()).toEqual([
      { errorCode: "NOT_FOUND", message: "The requested resource does not exist" }
    ])
    const ingest = (await call("POST", "/jobs/ingest", { object: "Account", operation: "insert" })).json()
    expect((await call("GET", `/jobs/query/${ingest.id}`)).status).toBe(404)
    expect((await call("POST", "/jobs/query", { operation: "query", query: "SELECT Id FROM Account" }, { version: "46.0" })).status).toBe(
      404
    )
  })
})

describe("results", () => {
  it("pages with locators; every page has the header and both Sforce headers", async () => {
    const job = await completed({ query: SOQL })
    expect(job.numberRecordsProcessed).toBe(N)
    const pages = await allPages(job.id, 1_000)
    expect(pages.map((p) => p.count)).toEqual(["1000", "1000", "345"])
    expect(pages.map((p) => p.locator)).toEqual(["MTAwMA", "MjAwMA", "null"])
    for (const p of pages) expect(p.text.split("\n")[0]).toBe("\"Id\",\"Name\",\"NumberOfEmployees\",\"Description\"")
    const rows = pages.flatMap((p) => dataRows(p.text))
    expect(rows).toHaveLength(N)
    expect(rows[0]).toMatch(new RegExp(`^"001\\w{15}","Q ${TAG} 00000","0","line 0, with ""quotes"""$`))
    expect(rows[N - 1]).toContain(`"Q ${TAG} 02344","2344"`)
    // Locators are re-fetchable.
    const again = await call("GET", `/jobs/query/${job.id}/results?locator=MTAwMA&maxRecords=1000`)
    expect(again.text).toBe(pages[1]!.text)
  })

  it("uses numeric locators for jobs of API 48.0 and earlier (doc: Get Results for a Query Job)", async () => {
    const v = { version: "48.0" }
    const job = await completed({ query: SOQL }, "48.0")
    const first = await call("GET", `/jobs/query/${job.id}/results?maxRecords=1000`, undefined, v)
    expect(first.headers.get("sforce-locator")).toBe("1000")
    const second = await call("GET", `/jobs/query/${job.id}/results?maxRecords=1000&locator=1000`, undefined, v)
    expect(second.headers.get("sforce-locator")).toBe("2000")
    expect(dataRows(second.text)[0]).toContain(`"Q ${TAG} 01000"`)
  })

  it("uses settings.pageSize when maxRecords is absent", async () => {
    const job = await completed({ query: SOQL })
    const pages = await allPages(job.id)
    expect(pages.map((p) => p.count)).toEqual(["1000", "1000", "345"])
  })

  it("resultPages lists five result URLs per answer and gives the same rows", async () => {
    const job = await completed({ query: SOQL })
    const direct = (await allPages(job.id, 200)).flatMap((p) => dataRows(p.text))
    const urls: Array<string> = []
    let next: string | null = `/services/data/v66.0/jobs/query/${job.id}/resultPages?maxRecords=200`
    let answers = 0
    while (next !== null) {
      const r = await call("GET", next.replace("/services/data/v66.0", ""))
      expect(r.status, r.text).toBe(200)
      const body = r.json()
      expect(keys(body)).toEqual(["resultPages", "nextRecordsUrl", "done"])
      answers++
      expect(body.resultPages.length).toBeLessThanOrEqual(5)
      urls.push(...body.resultPages.map((p: { resultUrl: string }) => p.resultUrl))
      expect(body.done).toBe(body.nextRecordsUrl === null)
      next = body.nextRecordsUrl
    }
    expect(urls).toHaveLength(12)
    expect(answers).toBe(3)
    const rows: Array<string> = []
    for (const u of urls) {
      expect(u).toMatch(new RegExp(`^/services/data/v66\\.0/jobs/query/${job.id}/results`))
      const r = await call("GET", u.replace("/services/data/v66.0", ""))
      expect(r.headers.get("sforce-numberofrecords")).toBe(String(dataRows(r.text).length))
      rows.push(...dataRows(r.text))
    }
    expect(rows).toEqual(direct)
    expect(rows).toHaveLength(N)
  })

  it("resultPages needs 58.0", async () => {
    const job = await completed({ query: SOQL }, "57.0")
    expect((await call("GET", `/jobs/query/${job.id}/resultPages`, undefined, { version: "57.0" })).status).toBe(404)
  })

  it("answers 409 when the results are asked with another API version", async () => {
    const job = await completed({ query: SOQL }, "60.0")
    const r = await call("GET", `/jobs/query/${job.id}/results`, undefined, { version: "66.0" })
    expect(r.status).toBe(409)
    expect(r.json()[0].errorCode).toBeTypeOf("string")
    expect((await call("GET", `/jobs/query/${job.id}/resultPages`)).status).toBe(409)
    expect((await call("GET", `/jobs/query/${job.id}/results`, undefined, { version: "60.0" })).status).toBe(200)
  })

  it("renders every delimiter and line ending", async () => {
    const DELIMS: Record<string, string> = { BACKQUOTE: "`", CARET: "^", COMMA: ",", PIPE: "|", SEMICOLON: ";", TAB: "\t" }
    for (const [columnDelimiter, d] of Object.entries(DELIMS)) {
      for (const [lineEnding, eol] of [["LF", "\n"], ["CRLF", "\r\n"]] as const) {
        const job = await completed({ query: `${SOQL} LIMIT 2`, columnDelimiter, lineEnding })
        expect(job).toMatchObject({ columnDelimiter, lineEnding })
        const r = await call("GET", `/jobs/query/${job.id}/results`)
        const lines = r.text.split(eol)
        expect(lines[0]).toBe(["\"Id\"", "\"Name\"", "\"NumberOfEmployees\"", "\"Description\""].join(d))
        expect(lines[2]).toMatch(new RegExp(`^"001\\w{15}"\\${d}"Q ${TAG} 00001"\\${d}"1"\\${d}"line 1, with ""quotes"""$`))
        expect(lines).toHaveLength(4)
      }
    }
  })

  it("a query without rows answers the header, 0 records and a null locator", async () => {
    const job = await completed({ query: "SELECT Id, Name FROM Account WHERE Name = 'no such name anywhere'" })
    expect(job.numberRecordsProcessed).toBe(0)
    const r = await call("GET", `/jobs/query/${job.id}/results`)
    expect(r.text).toBe("\"Id\",\"Name\"\n")
    expect(r.headers.get("sforce-numberofrecords")).toBe("0")
    expect(r.headers.get("sforce-locator")).toBe("null")
  })

  it("rejects bad locators and maxRecords", async () => {
    const job = await completed({ query: SOQL })
    expect((await call("GET", `/jobs/query/${job.id}/results?locator=!!!`)).status).toBe(400)
    expect((await call("GET", `/jobs/query/${job.id}/results?maxRecords=0`)).status).toBe(400)
    expect((await call("GET", `/jobs/query/${job.id}/results?maxRecords=abc`)).status).toBe(400)
  })

  it("snapshots the rows at completion: later changes do not move pages", async () => {
    const job = await completed({ query: SOQL })
    const before = (await allPages(job.id, 2_000)).flatMap((p) => dataRows(p.text))
    const first = before[0]!.slice(1, 19)
    const upd = (await call("POST", "/jobs/ingest", { object: "Account", operation: "update" })).json()
    await call("PUT", `/jobs/ingest/${upd.id}/batches`, `Id,NumberOfEmployees\n${first},99999\n`)
    await call("PATCH", `/jobs/ingest/${upd.id}`, { state: "UploadComplete" })
    await waitFor(call, `/jobs/ingest/${upd.id}`, ["JobComplete"])
    const after = (await allPages(job.id, 2_000)).flatMap((p) => dataRows(p.text))
    expect(after).toHaveLength(before.length)
    const fresh = await completed({ query: SOQL })
    const now = dataRows((await call("GET", `/jobs/query/${fresh.id}/results?maxRecords=1`)).text)
    expect(now[0]).toContain("\"99999\"")
  })
})

describe("queryAll, abort, delete, list", () => {
  it("queryAll includes deleted records; query does not", async () => {
    const name = `Deleted ${TAG}`
    const ins = (await call("POST", "/jobs/ingest", { object: "Account", operation: "insert" })).json()
    await call("PUT", `/jobs/ingest/${ins.id}/batches`, `Name\n${name}\n`)
    await call("PATCH", `/jobs/ingest/${ins.id}`, { state: "UploadComplete" })
    await waitFor(call, `/jobs/ingest/${ins.id}`, ["JobComplete"])
    const id = (await call("GET", `/jobs/ingest/${ins.id}/successfulResults`)).text.split("\n")[1]!.slice(1, 19)
    const del = (await call("POST", "/jobs/ingest", { object: "Account", operation: "delete" })).json()
    await call("PUT", `/jobs/ingest/${del.id}/batches`, `Id\n${id}\n`)
    await call("PATCH", `/jobs/ingest/${del.id}`, { state: "UploadComplete" })
    await waitFor(call, `/jobs/ingest/${del.id}`, ["JobComplete"])
    const q = await completed({ query: `SELECT Id FROM Account WHERE Name = '${name}'` })
    const qa = await completed({ operation: "queryAll", query: `SELECT Id FROM Account WHERE Name = '${name}'` })
    expect(q.numberRecordsProcessed).toBe(0)
    expect(qa.numberRecordsProcessed).toBe(1)
    expect(qa.operation).toBe("queryAll")
    expect(dataRows((await call("GET", `/jobs/query/${qa.id}/results`)).text)).toEqual([`"${id}"`])
  })

  it("aborts a queued job (abbreviated JobInfo), refuses to abort a completed one", async () => {
    const slow = await startEmulator({ latencyMs: 2_000 })
    try {
      const c = client(slow)
      const job = (await c("POST", "/jobs/query", { operation: "query", query: "SELECT Id FROM Account" })).json()
      const r = await c("PATCH", `/jobs/query/${job.id}`, { state: "Aborted" })
      expect(r.status).toBe(200)
      expect(r.json().state).toBe("Aborted")
      expect(keys(r.json())).toEqual(CREATE_KEYS)
      const res = await c("GET", `/jobs/query/${job.id}/results`)
      expect(res.status).toBe(400)
      expect((await c("DELETE", `/jobs/query/${job.id}`)).status).toBe(204)
      const queued = (await c("POST", "/jobs/query", { operation: "query", query: "SELECT Id FROM Account" })).json()
      const notDone = await c("DELETE", `/jobs/query/${queued.id}`)
      expect(notDone.status).toBe(400)
      expect(notDone.json()).toEqual([
        { errorCode: "API_ERROR", message: "Error encountered when deleting the job because the job is not terminated" }
      ])
      const early = await c("GET", `/jobs/query/${queued.id}/results`)
      expect(early.status).toBe(400)
      expect(early.json()[0].errorCode).toBe("INVALIDJOBSTATE")
    } finally {
      await slow.stop()
    }
    const done = await completed({ query: "SELECT Id FROM Account LIMIT 1" })
    const r = await call("PATCH", `/jobs/query/${done.id}`, { state: "Aborted" })
    expect(r.json()).toEqual([{ errorCode: "INVALIDJOBSTATE", message: "Aborting already Completed Job not allowed" }])
    const bad = await call("PATCH", `/jobs/query/${done.id}`, { state: "UploadComplete" })
    expect(bad.status).toBe(400)
    expect(bad.json()[0].errorCode).toBe("API_ERROR")
  })

  it("deletes a completed job: 204, then 404", async () => {
    const job = await completed({ query: "SELECT Id FROM Account LIMIT 1" })
    const r = await call("DELETE", `/jobs/query/${job.id}`)
    expect(r.status).toBe(204)
    expect(r.text).toBe("")
    expect((await call("GET", `/jobs/query/${job.id}`)).status).toBe(404)
    expect((await call("GET", `/jobs/query/${job.id}/results`)).status).toBe(404)
  })

  it("lists query jobs only, with paging", async () => {
    await completed({ query: "SELECT Id FROM Account LIMIT 1" })
    await completed({ query: "SELECT Id FROM Account LIMIT 1" })
    const all = (await call("GET", "/jobs/query")).json()
    expect(all.done).toBe(true)
    expect(all.records.every((j: any) => j.jobType === "V2Query")).toBe(true)
    const ids: Array<string> = []
    let page = (await call("GET", "/jobs/query?pageSize=1")).json()
    for (;;) {
      ids.push(...page.records.map((j: any) => j.id))
      if (page.done) break
      page = (await call("GET", page.nextRecordsUrl.replace("/services/data/v66.0", ""))).json()
    }
    expect(ids).toEqual(all.records.map((j: any) => j.id))
    expect((await call("GET", "/jobs/query?jobType=V2Ingest")).json().records).toEqual([])
  })
})
