import { expect as effectExpect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { gunzipSync, gzipSync } from "node:zlib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Emulator from "../src/Emulator.js"
import { raw } from "./httpSupport.js"

let emu: Emulator.EmulatorHandle
beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 5 })
})
afterAll(() => emu.close())

const b1 = (path: string) => `${emu.instanceUrl}/services/async/66.0${path}`
const session = () => ({ "X-SFDC-Session": emu.accessToken })
const bearer = () => ({ Authorization: `Bearer ${emu.accessToken}` })
const JOB_XML = (op: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="http://www.force.com/2009/06/asyncapi/dataload"><operation>${op}</operation><object>Account</object><contentType>CSV</contentType></jobInfo>`

const field = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1]

describe("version list and REST resources", () => {
  it("lists versions 31.0 to 66.0 without authentication, with or without a trailing slash", async () => {
    for (const path of ["/services/data", "/services/data/"]) {
      const r = await raw(`${emu.instanceUrl}${path}`)
      expect(r.status).toBe(200)
      const list = JSON.parse(r.text) as Array<{ label: string; url: string; version: string }>
      expect(list[0]).toEqual({ label: "Summer '14", url: "/services/data/v31.0", version: "31.0" })
      expect(list.at(-1)).toEqual({ label: "Spring '26", url: "/services/data/v66.0", version: "66.0" })
      expect(list).toHaveLength(36)
    }
  })

  it("serves the resources map and limits with authentication", async () => {
    const res = await raw(`${emu.instanceUrl}/services/data/v66.0/`, { headers: bearer() })
    expect(res.status).toBe(200)
    expect(JSON.parse(res.text).limits).toBe("/services/data/v66.0/limits")
    const lim = await raw(`${emu.instanceUrl}/services/data/v66.0/limits/`, { headers: bearer() })
    expect(lim.status).toBe(200)
    const body = JSON.parse(lim.text)
    expect(body.DailyApiRequests.Max).toBe(15000)
    expect(body.DailyBulkApiBatches).toEqual({ Max: 15000, Remaining: 15000 })
    expect(lim.headers["sforce-limit-info"]).toMatch(/^api-usage=\d+\/15000$/)
    expect((await raw(`${emu.instanceUrl}/services/data/v66.0/limits`)).status).toBe(401)
  })

  it("answers retired, future and malformed versions", async () => {
    const gone = await raw(`${emu.instanceUrl}/services/data/v30.0/limits`, { headers: bearer() })
    expect(gone.status).toBe(410)
    const future = await raw(`${emu.instanceUrl}/services/data/v67.0/limits`, { headers: bearer() })
    expect(future.status).toBe(404)
    expect(JSON.parse(future.text)[0].errorCode).toBe("NOT_FOUND")
    const b1old = await raw(`${emu.instanceUrl}/services/async/20.0/job`, { method: "POST", headers: session(), body: JOB_XML("insert") })
    expect(b1old.status).toBe(400)
    expect(field(b1old.text, "exceptionCode")).toBe("InvalidVersion")
    const b1bad = await raw(`${emu.instanceUrl}/services/async/v66.0/job`, { headers: session() })
    expect(b1bad.status).toBe(400)
    expect(field(b1bad.text, "exceptionCode")).toBe("InvalidVersion")
  })

  it("answers unknown paths with 404 in the API's format", async () => {
    for (const path of ["/nothing", "/services/nothing", "/services/data/v66.0/sobjects-nope"]) {
      const r = await raw(`${emu.instanceUrl}${path}`, { headers: bearer() })
      expect(r.status).toBe(404)
      expect(JSON.parse(r.text)).toEqual([{ message: "The requested resource does not exist", errorCode: "NOT_FOUND" }])
    }
    const async = await raw(`${emu.instanceUrl}/services/async`, { headers: session() })
    expect(async.status).toBe(404)
    expect(field(async.text, "exceptionCode")).toBe("InvalidUrl")
  })
})

describe("Bulk 1.0 through the server", () => {
  it("takes a gzipped, chunked CSV batch and returns gzipped results; the records land in the org", async () => {
    const before = emu.org.count("Account")
    const create = await raw(b1("/job/"), {
      method: "POST",
      headers: { ...session(), "Content-Type": "application/xml; charset=UTF-8" },
      body: JOB_XML("insert")
    })
    expect(create.status).toBe(201)
    const jobId = field(create.text, "id")!
    const rows = 3000
    const csv = "Name,ExternalId__c\n" + Array.from({ length: rows }, (_, i) => `Server test ${i},srv-${i}\n`).join("")
    const gz = gzipSync(csv)
    // Sent in several chunks with Transfer-Encoding: chunked.
    const parts = [gz.subarray(0, 100), gz.subarray(100, 2000), gz.subarray(2000)]
    const batch = await raw(b1(`/job/${jobId}/batch/`), {
      method: "POST",
      headers: { ...session(), "Content-Type": "text/csv", "Content-Encoding": "gzip" },
      body: parts
    })
    expect(batch.status).toBe(201)
    const batchId = field(batch.text, "id")!
    let state = ""
    for (let i = 0; i < 200 && state !== "Completed" && state !== "Failed"; i++) {
      await new Promise((r) => setTimeout(r, 20))
      state = field((await raw(b1(`/job/${jobId}/batch/${batchId}`), { headers: session() })).text, "state")!
    }
    expect(state).toBe("Completed")
    const result = await raw(b1(`/job/${jobId}/batch/${batchId}/result`), { headers: { ...session(), "Accept-Encoding": "gzip, deflate" } })
    expect(result.status).toBe(200)
    expect(result.headers["content-encoding"]).toBe("gzip")
    const lines = gunzipSync(result.body).toString("utf8").trim().split("\n")
    expect(lines[0]).toBe("\"Id\",\"Success\",\"Created\",\"Error\"")
    expect(lines).toHaveLength(rows + 1)
    expect(lines.slice(1).every((l) => l.includes("\"true\",\"true\""))).toBe(true)
    expect(emu.org.count("Account")).toBe(before + rows)
  })

  it("gzips a complete answer only when the client accepts gzip", async () => {
    const create = await raw(b1("/job"), {
      method: "POST",
      headers: { ...session(), "Content-Type": "application/xml" },
      body: JOB_XML("insert")
    })
    const jobId = field(create.text, "id")!
    const plain = await raw(b1(`/job/${jobId}/`), { headers: session() })
    expect(plain.headers["content-encoding"]).toBeUndefined()
    expect(field(plain.text, "id")).toBe(jobId)
    const zipped = await raw(b1(`/job/${jobId}`), { headers: { ...session(), "Accept-Encoding": "gzip" } })
    expect(zipped.headers["content-encoding"]).toBe("gzip")
    expect(field(gunzipSync(zipped.body).toString("utf8"), "id")).toBe(jobId)
    const refused = await raw(b1(`/job/${jobId}`), { headers: { ...session(), "Accept-Encoding": "gzip;q=0, br" } })
    expect(refused.headers["content-encoding"]).toBeUndefined()
  })
})

describe("control endpoints", () => {
  it("GET /__emulator/stats reports requests by API and sessions", async () => {
    const before = JSON.parse((await raw(`${emu.instanceUrl}/__emulator/stats`)).text)
    await raw(`${emu.instanceUrl}/services/data/`)
    await raw(b1("/job/750000000000000"), { headers: session() })
    const after = JSON.parse((await raw(`${emu.instanceUrl}/__emulator/stats`)).text)
    expect(after.requests).toBe(before.requests + 2)
    expect(after.byApi.rest).toBe(before.byApi.rest + 1)
    expect(after.byApi.bulk1).toBe(before.byApi.bulk1 + 1)
    expect(after.sessions.active).toBeGreaterThanOrEqual(1)
    expect(emu.stats().requests).toBe(after.requests)
  })

  it("POST /__emulator/faults validates the spec and changes faults at run time", async () => {
    const bad = await raw(`${emu.instanceUrl}/__emulator/faults`, { method: "POST", body: "5xx=7" })
    expect(bad.status).toBe(400)
    expect(JSON.parse(bad.text).error).toContain("must be in [0,1]")
    const on = await raw(`${emu.instanceUrl}/__emulator/faults`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ faults: "5xx=1", seed: 9 })
    })
    expect(JSON.parse(on.text)).toMatchObject({ faults: "5xx=1", seed: 9 })
    try {
      const r = await raw(`${emu.instanceUrl}/services/data/v66.0/limits`, { headers: bearer() })
      expect([500, 503]).toContain(r.status)
      // Login endpoints are spared.
      expect((await raw(`${emu.instanceUrl}/services/oauth2/token`, { method: "POST", body: "grant_type=password" })).status).toBe(400)
    } finally {
      await raw(`${emu.instanceUrl}/__emulator/faults`, { method: "POST", body: "" })
    }
    expect((await raw(`${emu.instanceUrl}/services/data/v66.0/limits`, { headers: bearer() })).status).toBe(200)
  })
})

describe("start options", () => {
  it("rejects a bad fault spec and an unreadable org file with a clear message", async () => {
    await expect(Emulator.start({ faults: "explode=1" })).rejects.toThrow(/unknown fault 'explode'/)
    await expect(Emulator.start({ data: "/nonexistent/org.json" })).rejects.toThrow(/org\.json/)
  })

  it("loads an org definition object extending the default org", async () => {
    const e = await Emulator.start({
      data: { objects: [{ name: "Invoice__c", keyPrefix: "a01", fields: [{ name: "Amount__c", type: "currency" }] }] }
    })
    try {
      expect(e.org.describe("invoice__c")?.name).toBe("Invoice__c")
      expect(e.org.describe("Account")).toBeDefined()
    } finally {
      await e.close()
    }
  })
})

layer(Emulator.layer({ latencyMs: 1 }))("Effect API", (it) => {
  it.effect("provides a running emulator through the Emulator tag", () =>
    Effect.gen(function*() {
      const e = yield* Emulator.Emulator
      const r = yield* Effect.promise(() =>
        raw(`${e.instanceUrl}/services/data/v66.0/limits`, { headers: { Authorization: `Bearer ${e.accessToken}` } })
      )
      effectExpect(r.status).toBe(200)
    }))
})
