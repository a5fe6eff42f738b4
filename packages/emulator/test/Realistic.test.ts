/**
 * The opt-in processing model: lock contention between parallel batches writing children of one
 * parent, daily allocations in /limits and Sforce-Limit-Info and their enforcement, and the
 * loopback default left as it was.
 */
import { afterEach, describe, expect, it } from "vitest"
import * as Emulator from "../src/Emulator.js"
import { Processing, resolve } from "../src/internal/processing.js"
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

/** `n` Contacts that all reference one Account: every internal batch wants the same parent lock. */
const contacts = (accountId: string, n: number): string =>
  ["LastName,AccountId", ...Array.from({ length: n }, (_, i) => `Child${i},${accountId}`)].join("\n") + "\n"

const fast = {
  // Fast enough for a test, slow enough that batches overlap: 100-row batches, 25-row transactions.
  recordsPerSecond: { insert: 5_000 },
  parallelBatches: 4,
  bulk2BatchSize: 100,
  transactionRows: 25,
  requestLatencyMs: 0
}

const ingest = async (call: ReturnType<typeof client>, csv: string) => {
  const job = (await call("POST", "/jobs/ingest", { object: "Contact", operation: "insert" })).json()
  expect((await call("PUT", `/jobs/ingest/${job.id}/batches`, csv)).status).toBe(201)
  await call("PATCH", `/jobs/ingest/${job.id}`, { state: "UploadComplete" })
  const info = await waitFor(call, `/jobs/ingest/${job.id}`, ["JobComplete", "Failed"])
  const failed = (await call("GET", `/jobs/ingest/${job.id}/failedResults`)).text.trim().split("\n").slice(1)
  const ok = (await call("GET", `/jobs/ingest/${job.id}/successfulResults`)).text.trim().split("\n").slice(1)
  return { info, failed, ok }
}

describe("realistic profile: lock contention", () => {
  it("fails some children of a shared parent with UNABLE_TO_LOCK_ROW; every row has exactly one outcome", async () => {
    const { emu, call } = await start({ profile: "realistic", processing: { ...fast, lockFailureRate: 1 } })
    const account = emu.org.apply("insert", "Account", { Name: "Shared parent" })
    if (!account.success) throw new Error("seed failed")
    const { info, failed, ok } = await ingest(call, contacts(account.id, 800))
    expect(info.state).toBe("JobComplete")
    expect(info.numberRecordsProcessed).toBe(800)
    expect(failed.length).toBeGreaterThan(0)
    expect(failed.every((l: string) => l.includes("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record"))).toBe(true)
    expect(ok.length + failed.length).toBe(800)
    expect(info.numberRecordsFailed).toBe(failed.length)
    // Only the successful rows landed.
    const landed = emu.org.query("SELECT Id FROM Contact WHERE AccountId = '" + account.id + "'")
    expect(landed.ok && landed.result.size).toBe(ok.length)
  })

  it("the same workload under loopback (the default) has no lock failures", async () => {
    const { emu, call } = await start({})
    const account = emu.org.apply("insert", "Account", { Name: "Shared parent" })
    if (!account.success) throw new Error("seed failed")
    const { info, failed, ok } = await ingest(call, contacts(account.id, 800))
    expect(info.state).toBe("JobComplete")
    expect(failed).toEqual([])
    expect(ok.length).toBe(800)
  })

  it("with one parallel slot there is no contention even at rate 1", async () => {
    const { emu, call } = await start({ profile: "realistic", processing: { ...fast, parallelBatches: 1, lockFailureRate: 1 } })
    const account = emu.org.apply("insert", "Account", { Name: "Shared parent" })
    if (!account.success) throw new Error("seed failed")
    const { failed, ok } = await ingest(call, contacts(account.id, 300))
    expect(failed).toEqual([])
    expect(ok.length).toBe(300)
  })

  it("counts a 2.0 job's internal batches against DailyBulkApiBatches", async () => {
    const { emu, call } = await start({ profile: "realistic", processing: { ...fast, lockFailureRate: 0 } })
    const account = emu.org.apply("insert", "Account", { Name: "P" })
    if (!account.success) throw new Error("seed failed")
    await ingest(call, contacts(account.id, 250))
    const limits = (await call("GET", "/limits")).json()
    expect(limits.DailyBulkApiBatches).toEqual({ Max: 15_000, Remaining: 15_000 - 3 })
    expect(emu.stats().usage.bulkApiBatches).toBe(3)
  })

  it("rejects an unknown profile or an out-of-range knob with what to fix", async () => {
    await expect(Emulator.start({ profile: "fast" as never })).rejects.toThrow(/profile must be "loopback" or "realistic"/)
    await expect(Emulator.start({ processing: { lockFailureRate: 2 } })).rejects.toThrow(/lockFailureRate must be a number in \[0, 1\]/)
  })
})

describe("daily allocations", () => {
  it("shows API requests used in /limits and Sforce-Limit-Info", async () => {
    const { call } = await start({ processing: { dailyApiRequests: 100 } })
    const first = await call("GET", "/limits")
    expect(first.headers.get("sforce-limit-info")).toBe("api-usage=1/100")
    expect(first.json().DailyApiRequests).toEqual({ Max: 100, Remaining: 99 })
    const second = await call("GET", "/limits")
    expect(second.json().DailyApiRequests).toEqual({ Max: 100, Remaining: 98 })
  })

  it("refuses requests past DailyApiRequests with REQUEST_LIMIT_EXCEEDED when enforced", async () => {
    const { call } = await start({ processing: { dailyApiRequests: 2, enforceLimits: true } })
    expect((await call("GET", "/limits")).status).toBe(200)
    expect((await call("GET", "/limits")).status).toBe(200)
    const third = await call("GET", "/limits")
    expect(third.status).toBe(403)
    expect(third.json()).toEqual([{ message: "TotalRequests Limit exceeded.", errorCode: "REQUEST_LIMIT_EXCEEDED" }])
  })

  it("refuses 2.0 query jobs past DailyBulkV2QueryJobs when enforced", async () => {
    const { call } = await start({ processing: { dailyBulkV2QueryJobs: 1, enforceLimits: true } })
    expect((await call("POST", "/jobs/query", { operation: "query", query: "SELECT Id FROM Account" })).status).toBe(200)
    const second = await call("POST", "/jobs/query", { operation: "query", query: "SELECT Id FROM Account" })
    expect(second.status).toBe(400)
    expect(second.json()[0].errorCode).toBe("LIMIT_EXCEEDED")
  })

  it("fails a 2.0 ingest job whose batches exceed DailyBulkApiBatches, leaving the rest unprocessed", async () => {
    const { emu, call } = await start({ processing: { ...fast, parallelBatches: 1, dailyBulkApiBatches: 2, enforceLimits: true } })
    const account = emu.org.apply("insert", "Account", { Name: "P" })
    if (!account.success) throw new Error("seed failed")
    const { info, ok } = await ingest(call, contacts(account.id, 350))
    expect(info.state).toBe("Failed")
    expect(info.errorMessage).toMatch(/DailyBulkApiBatches/)
    expect(ok.length).toBe(200)
  })
})

describe("query processing time", () => {
  // A query of n rows takes n / rate from its start: the emulator's own work on the snapshot (a
  // second or more for a million rows on a busy machine) was added to it, so a realistic query
  // job ran past the model's time and the server-bound limit the benchmarks compare against.
  it("counts from the job's start: time already spent is part of it, not added to it", async () => {
    const processing = new Processing(resolve("realistic", { recordsPerSecond: { query: 1 } }), 1)
    // 60 rows at 1 row/s, started 60 s ago: nothing is left to wait (before: another 60 s)
    const waited = await Promise.race([
      processing.queryTime(60, Date.now() - 60_000).then(() => "done"),
      new Promise((r) => setTimeout(() => r("still waiting"), 3_000))
    ])
    expect(waited).toBe("done")
  })

  it("still waits out the rest of the time when the work took less", async () => {
    const processing = new Processing(resolve("realistic", { recordsPerSecond: { query: 10 } }), 1)
    const started = Date.now()
    await processing.queryTime(3, started)
    // 3 rows at 10 rows/s: 300 ms (a generous lower bound, timers may fire a little early)
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
  })
})
