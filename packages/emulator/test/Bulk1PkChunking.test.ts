/**
 * The `pkChunkingCountsOriginal` knob: whether a PK-chunked 1.0 query job counts its original
 * (`NotProcessed`) batch in `numberBatchesTotal`. Salesforce's choice is not settled by any real
 * capture (FIDELITY.md), so clients are tested against both.
 */
import { afterEach, describe, expect, it } from "vitest"
import * as Emulator from "../src/Emulator.js"

const NS = "http://www.force.com/2009/06/asyncapi/dataload"
const tag = (xml: string, name: string): string | undefined => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1]
const tags = (xml: string, name: string): Array<string> =>
  [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, "g"))].map((m) => m[1]!)

let emu: Emulator.EmulatorHandle | undefined
afterEach(async () => {
  await emu?.close()
  emu = undefined
})

const call = async (e: Emulator.EmulatorHandle, method: string, path: string, body?: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${e.instanceUrl}/services/async/66.0${path}`, {
    method,
    headers: { "X-SFDC-Session": e.accessToken, ...headers },
    ...(body !== undefined ? { body } : {})
  })
  return { status: res.status, text: await res.text() }
}

/** Run a PK-chunked query over 250 accounts with chunkSize 100; the job info once every batch is terminal. */
const chunkedQuery = async (e: Emulator.EmulatorHandle) => {
  const created = await call(
    e,
    "POST",
    "/job",
    `<jobInfo xmlns="${NS}"><operation>query</operation><object>Account</object><contentType>CSV</contentType></jobInfo>`,
    {
      "Content-Type": "application/xml",
      "Sforce-Enable-PKChunking": "chunkSize=100"
    }
  )
  const jobId = tag(created.text, "id")!
  const added = await call(e, "POST", `/job/${jobId}/batch`, "SELECT Id FROM Account WHERE Name LIKE 'pk-%'", {
    "Content-Type": "text/csv"
  })
  expect(added.status, added.text).toBe(201)
  for (let i = 0; i < 2000; i++) {
    const states = tags((await call(e, "GET", `/job/${jobId}/batch`)).text, "state")
    if (states.length > 1 && states.every((s) => s === "Completed" || s === "NotProcessed")) break
    await new Promise((r) => setTimeout(r, 10))
  }
  const list = (await call(e, "GET", `/job/${jobId}/batch`)).text
  const info = (await call(e, "GET", `/job/${jobId}`)).text
  const n = (k: string) => Number(tag(info, k))
  return {
    states: tags(list, "state"),
    total: n("numberBatchesTotal"),
    completed: n("numberBatchesCompleted"),
    failed: n("numberBatchesFailed"),
    queued: n("numberBatchesQueued"),
    inProgress: n("numberBatchesInProgress")
  }
}

const seed = { objects: [], records: { Account: Array.from({ length: 250 }, (_, i) => ({ Name: `pk-${i}` })) } }

describe("PK chunking: is the original batch in numberBatchesTotal?", () => {
  it("by default it is not: total = completed chunks (the guide's PK chunking walkthrough)", async () => {
    emu = await Emulator.start({ latencyMs: 2, data: seed })
    const r = await chunkedQuery(emu)
    expect(r.states).toEqual(["NotProcessed", "Completed", "Completed", "Completed"])
    expect(r).toMatchObject({ total: 3, completed: 3, failed: 0, queued: 0, inProgress: 0 })
  })

  it("with pkChunkingCountsOriginal it is: total = chunks + 1, so completed + failed never reaches it", async () => {
    emu = await Emulator.start({ latencyMs: 2, data: seed, pkChunkingCountsOriginal: true })
    const r = await chunkedQuery(emu)
    expect(r.states).toEqual(["NotProcessed", "Completed", "Completed", "Completed"])
    expect(r).toMatchObject({ total: 4, completed: 3, failed: 0, queued: 0, inProgress: 0 })
  })

  it("an aborted job's NotProcessed batches stay out of the total either way", async () => {
    emu = await Emulator.start({ latencyMs: 60_000, data: seed, pkChunkingCountsOriginal: true })
    const created = await call(
      emu,
      "POST",
      "/job",
      `<jobInfo xmlns="${NS}"><operation>insert</operation><object>Account</object><contentType>CSV</contentType></jobInfo>`,
      {
        "Content-Type": "application/xml"
      }
    )
    const jobId = tag(created.text, "id")!
    await call(emu, "POST", `/job/${jobId}/batch`, "Name\nx\n", { "Content-Type": "text/csv" })
    const aborted = await call(emu, "POST", `/job/${jobId}`, `<jobInfo xmlns="${NS}"><state>Aborted</state></jobInfo>`, {
      "Content-Type": "application/xml"
    })
    expect(tag(aborted.text, "numberBatchesTotal")).toBe("0")
  })
})
