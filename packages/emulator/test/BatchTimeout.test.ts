/**
 * The realistic profile's batch time limit (Salesforce: a batch that cannot finish in 5 minutes
 * goes back in the queue with what is left of it, up to 20 times, then fails for good) and the
 * Bulk API 2.0 allocations that move with use: DailyBulkV2QueryFileStorageMB and the 150,000,000
 * records per rolling 24 hours of 2.0 ingest. Small knobs: 20 records/s and a 500 ms limit, so an
 * attempt processes 10 rows.
 */
import { afterEach, describe, expect, it } from "vitest"
import * as Emulator from "../src/Emulator.js"
import { client, waitFor } from "./bulk2Support.js"

let handles: Array<Emulator.EmulatorHandle> = []
afterEach(async () => {
  await Promise.all(handles.map((h) => h.close()))
  handles = []
})

const start = async (options: Emulator.EmulatorOptions) => {
  const emu = await Emulator.start({ latencyMs: 0, ...options })
  handles.push(emu)
  return {
    emu,
    call: client({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, setBatchFail: async () => {}, stop: () => emu.close() })
  }
}

/** 10 rows per attempt, 2 re-queues: a batch of up to 30 rows finishes, a bigger one fails after 30. */
const slow = {
  recordsPerSecond: { insert: 20 },
  batchTimeLimitMs: 500,
  batchRetries: 2,
  parallelBatches: 2,
  transactionRows: 5,
  requestLatencyMs: 0,
  lockFailureRate: 0
}

const accounts = (tag: string, n: number): string => ["Name", ...Array.from({ length: n }, (_, i) => `${tag}-${i}`)].join("\n") + "\n"

const landed = (emu: Emulator.EmulatorHandle, tag: string): number => {
  const q = emu.org.query(`SELECT Id FROM Account WHERE Name LIKE '${tag}-%'`)
  if (!q.ok) throw new Error(q.error.message)
  return q.result.size
}

const lines = (text: string): Array<string> => text.trim().split("\n").slice(1).filter((l) => l !== "")

const ingest2 = async (call: ReturnType<typeof client>, csv: string) => {
  const job = (await call("POST", "/jobs/ingest", { object: "Account", operation: "insert" })).json()
  expect((await call("PUT", `/jobs/ingest/${job.id}/batches`, csv)).status).toBe(201)
  await call("PATCH", `/jobs/ingest/${job.id}`, { state: "UploadComplete" })
  const info = await waitFor(call, `/jobs/ingest/${job.id}`, ["JobComplete", "Failed"])
  const ok = lines((await call("GET", `/jobs/ingest/${job.id}/successfulResults`)).text)
  const failed = lines((await call("GET", `/jobs/ingest/${job.id}/failedResults`)).text)
  const unprocessed = lines((await call("GET", `/jobs/ingest/${job.id}/unprocessedrecords`)).text)
  return { info, ok, failed, unprocessed }
}

describe("Bulk API 2.0: batch time limit", () => {
  it("re-queues an internal batch that runs out of time; within the retries it completes, every row once", async () => {
    const { emu, call } = await start({ profile: "realistic", processing: { ...slow, bulk2BatchSize: 100 } })
    const { info, ok, unprocessed } = await ingest2(call, accounts("t2ok", 25))
    expect(info.state).toBe("JobComplete")
    expect(info.numberRecordsProcessed).toBe(25)
    // 25 rows at 10 per attempt: two re-queues
    expect(info.retries).toBe(2)
    expect(ok).toHaveLength(25)
    expect(unprocessed).toEqual([])
    expect(landed(emu, "t2ok")).toBe(25)
  })

  it("fails the job after the last retry: rows done stay done, the rest are unprocessed, nothing lost", async () => {
    const { emu, call } = await start({ profile: "realistic", processing: { ...slow, bulk2BatchSize: 100 } })
    const { info, ok, failed, unprocessed } = await ingest2(call, accounts("t2fail", 50))
    expect(info.state).toBe("Failed")
    expect(info.errorMessage).toBe("InternalServerError : Retried more than 2 times")
    expect(info.retries).toBe(2)
    expect(info.numberRecordsProcessed).toBe(30)
    expect(ok).toHaveLength(30)
    expect(failed).toEqual([])
    expect(unprocessed).toHaveLength(20)
    // the unprocessed rows are exactly the ones that did not land
    const done = new Set(ok.map((l) => l.split(",")[2]!))
    expect(unprocessed.every((l) => !done.has(l))).toBe(true)
    expect(new Set([...done, ...unprocessed]).size).toBe(50)
    expect(landed(emu, "t2fail")).toBe(30)
  })

  it("loopback (the default) has no time limit: the same job completes", async () => {
    const { call } = await start({ processing: { batchTimeLimitMs: 1, batchRetries: 0 } })
    const { info, ok } = await ingest2(call, accounts("t2loop", 50))
    expect(info.state).toBe("JobComplete")
    expect(ok).toHaveLength(50)
  })

  it("rejects a negative time limit or retry count with what to fix", async () => {
    await expect(Emulator.start({ processing: { batchTimeLimitMs: -1 } })).rejects.toThrow(/batchTimeLimitMs must be a number/)
    await expect(Emulator.start({ processing: { batchRetries: -1 } })).rejects.toThrow(/batchRetries must be a number/)
  })
})

// ---------------------------------------------------------------------------------------------
// Bulk API 1.0

const NS = "http://www.force.com/2009/06/asyncapi/dataload"
const tag = (xml: string, name: string): string | undefined => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1]

const bulk1 = (emu: Emulator.EmulatorHandle) => {
  const call = async (method: string, path: string, body?: string, type = "application/xml; charset=UTF-8", extra = {}) => {
    const res = await fetch(`${emu.instanceUrl}/services/async/66.0${path}`, {
      method,
      headers: { "X-SFDC-Session": emu.accessToken, "Content-Type": type, ...extra },
      ...(body !== undefined ? { body } : {})
    })
    return { status: res.status, text: await res.text() }
  }
  return {
    job: async (headers: Record<string, string> = {}) => {
      const r = await call(
        "POST",
        "/job",
        `<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="${NS}"><operation>insert</operation><object>Account</object><contentType>CSV</contentType></jobInfo>`,
        "application/xml; charset=UTF-8",
        headers
      )
      expect(r.status, r.text).toBe(201)
      return tag(r.text, "id")!
    },
    batch: async (jobId: string, csv: string) => {
      const r = await call("POST", `/job/${jobId}/batch`, csv, "text/csv")
      expect(r.status, r.text).toBe(201)
      return tag(r.text, "id")!
    },
    wait: async (jobId: string, batchId: string) => {
      for (const end = Date.now() + 20_000; Date.now() < end;) {
        const r = await call("GET", `/job/${jobId}/batch/${batchId}`)
        const state = tag(r.text, "state")
        if (state === "Completed" || state === "Failed") return r.text
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      throw new Error(`batch ${batchId} did not finish`)
    },
    results: async (jobId: string, batchId: string) => call("GET", `/job/${jobId}/batch/${batchId}/result`)
  }
}

describe("Bulk API 1.0: batch time limit", () => {
  it("a batch that finishes within its retries completes; a bigger one fails with the rows done kept", async () => {
    const { emu } = await start({ profile: "realistic", processing: slow })
    const api = bulk1(emu)
    const jobId = await api.job()
    const small = await api.batch(jobId, accounts("t1ok", 25))
    const big = await api.batch(jobId, accounts("t1fail", 50))
    const smallInfo = await api.wait(jobId, small)
    expect(tag(smallInfo, "state")).toBe("Completed")
    expect(tag(smallInfo, "numberRecordsProcessed")).toBe("25")
    const bigInfo = await api.wait(jobId, big)
    expect(tag(bigInfo, "state")).toBe("Failed")
    expect(tag(bigInfo, "stateMessage")).toBe("InternalServerError : Retried more than 2 times")
    expect(tag(bigInfo, "numberRecordsProcessed")).toBe("30")
    expect(tag(bigInfo, "numberRecordsFailed")).toBe("0")
    // results: one line per processed row, in input order; the 20 rows after them have none
    const res = await api.results(jobId, big)
    expect(res.status).toBe(200)
    expect(lines(res.text)).toHaveLength(30)
    expect(landed(emu, "t1ok")).toBe(25)
    expect(landed(emu, "t1fail")).toBe(30)
    const first30 = emu.org.query("SELECT Name FROM Account WHERE Name LIKE 't1fail-%'")
    if (!first30.ok) throw new Error(first30.error.message)
    const names = new Set(Array.from({ length: first30.result.size }, (_, i) => String(first30.result.row(i)[0])))
    expect(names).toEqual(new Set(Array.from({ length: 30 }, (_, i) => `t1fail-${i}`)))
  })
})

describe("Bulk API 1.0: Sforce-Disable-Batch-Retry", () => {
  it("TRUE: a batch that runs out of time is not re-queued; it fails with the rows of its one attempt done", async () => {
    const { emu } = await start({ profile: "realistic", processing: slow })
    const api = bulk1(emu)
    const jobId = await api.job({ "Sforce-Disable-Batch-Retry": "TRUE" })
    const info = await api.wait(jobId, await api.batch(jobId, accounts("t1noretry", 25)))
    expect(tag(info, "state")).toBe("Failed")
    expect(tag(info, "stateMessage")).toBe("InternalServerError : Retried more than 0 times")
    expect(tag(info, "numberRecordsProcessed")).toBe("10")
    expect(landed(emu, "t1noretry")).toBe(10)
  })
})

// ---------------------------------------------------------------------------------------------
// Allocations

describe("Bulk API 2.0 allocations that move with use", () => {
  it("DailyBulkV2QueryFileStorageMB falls as query results are stored, and is enforced when asked", async () => {
    const { emu, call } = await start({ processing: { dailyBulkV2QueryFileStorageMB: 1, enforceLimits: true } })
    for (let i = 0; i < 3; i++) emu.org.apply("insert", "Account", { Name: `q-${i}` })
    const before = (await call("GET", "/limits")).json().DailyBulkV2QueryFileStorageMB
    expect(before).toEqual({ Max: 1, Remaining: 1 })
    const job = (await call("POST", "/jobs/query", { operation: "query", query: "SELECT Id, Name FROM Account" })).json()
    await waitFor(call, `/jobs/query/${job.id}`, ["JobComplete"])
    // a few hundred bytes of results spend a whole MB (usage is shown in whole MB)
    expect((await call("GET", "/limits")).json().DailyBulkV2QueryFileStorageMB).toEqual({ Max: 1, Remaining: 0 })
    expect(emu.stats().usage.bulkV2QueryBytes).toBeGreaterThan(0)
    const refused = await call("POST", "/jobs/query", { operation: "query", query: "SELECT Id FROM Account" })
    expect(refused.status).toBe(400)
    expect(refused.json()[0]).toMatchObject({ errorCode: "LIMIT_EXCEEDED" })
    expect(refused.json()[0].message).toMatch(/DailyBulkV2QueryFileStorageMB/)
  })

  it("the default maximum is Salesforce's 1 TB in MB, and storage is counted (not enforced) by default", async () => {
    const { emu, call } = await start({})
    emu.org.apply("insert", "Account", { Name: "x" })
    const job = (await call("POST", "/jobs/query", { operation: "query", query: "SELECT Id FROM Account" })).json()
    await waitFor(call, `/jobs/query/${job.id}`, ["JobComplete"])
    expect((await call("GET", "/limits")).json().DailyBulkV2QueryFileStorageMB).toEqual({ Max: 976_562, Remaining: 976_561 })
  })

  for (const profile of ["loopback", "realistic"] as const) {
    it(`2.0 ingest past the records allocation (enforced, ${profile}): job Failed, the rest unprocessed`, async () => {
      const { emu, call } = await start({
        profile,
        processing: profile === "realistic"
          ? { ...slow, recordsPerSecond: { insert: 0 }, bulk2BatchSize: 40, dailyBulkV2Records: 100, enforceLimits: true }
          : { dailyBulkV2Records: 100, enforceLimits: true }
      })
      const { info, ok, unprocessed } = await ingest2(call, accounts(`rec${profile}`, 150))
      expect(info.state).toBe("Failed")
      expect(info.errorMessage).toMatch(/records per rolling 24 hours/)
      expect(ok).toHaveLength(100)
      expect(unprocessed).toHaveLength(50)
      expect(landed(emu, `rec${profile}`)).toBe(100)
      expect(emu.stats().usage.bulkV2Records).toBe(100)
    })
  }
})
