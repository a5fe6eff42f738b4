import * as http from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Emulator from "../src/Emulator.js"
import * as faults from "../src/internal/faults.js"
import { raw, tokenRequest } from "./httpSupport.js"

describe("fault spec", () => {
  it("parses the documented spec and round-trips through format", () => {
    const c = faults.parse("5xx=0.05,reset=0.02,slow=0.01,limit=0.02,expire-after=500,batch-fail=0.01")
    expect(c).toEqual({
      serverError: 0.05,
      reset: 0.02,
      slow: 0.01,
      limit: 0.02,
      lostAnswer: 0,
      stall: 0,
      expireAfter: 500,
      batchFail: 0.01
    })
    expect(faults.parse(faults.format(c))).toEqual(c)
    expect(faults.parse({ serverError: 0.1, "expire-after": 3 })).toEqual({ ...faults.none, serverError: 0.1, expireAfter: 3 })
    expect(faults.parse(" ")).toEqual(faults.none)
    expect(faults.parse(undefined)).toEqual(faults.none)
  })

  it("accepts lost-answer and stall in the spec string and the object, and round-trips them", () => {
    const c = faults.parse("lost-answer=0.1,stall=0.05")
    expect(c).toEqual({ ...faults.none, lostAnswer: 0.1, stall: 0.05 })
    expect(faults.format(c)).toBe("lost-answer=0.1,stall=0.05")
    expect(faults.parse(faults.format(c))).toEqual(c)
    expect(faults.parse({ lostAnswer: 0.2, stall: 0.3 })).toEqual({ ...faults.none, lostAnswer: 0.2, stall: 0.3 })
    expect(faults.parse({ "lost-answer": 0.2 })).toEqual({ ...faults.none, lostAnswer: 0.2 })
    expect(() => faults.parse("lost-answer=0.6,stall=0.5")).toThrow(/lost-answer \+ stall add up to 1.1/)
    expect(() => faults.parse("stall=2")).toThrow(/'stall' is a per-request rate/)
  })

  it("a spec without the new kinds replays exactly as before they existed", () => {
    // Old draws keep their edges: adding lost-answer/stall at 0 must not shift recorded seeds.
    const old = new faults.Faults(faults.parse("5xx=0.2,reset=0.1"), 9)
    const withNew = new faults.Faults(faults.parse("5xx=0.2,reset=0.1,lost-answer=0,stall=0"), 9)
    const a = Array.from({ length: 100 }, () => old.decide().kind)
    expect(Array.from({ length: 100 }, () => withNew.decide().kind)).toEqual(a)
  })

  it("rejects bad specs with a message saying what to fix", () => {
    expect(() => faults.parse("5xx=1.5")).toThrow(/'5xx' is a per-request rate and must be in \[0,1\], got 1.5/)
    expect(() => faults.parse("boom=0.1")).toThrow(/unknown fault 'boom'/)
    expect(() => faults.parse("reset")).toThrow(/has no '=value'/)
    expect(() => faults.parse("slow=abc")).toThrow(/'slow' must be a number/)
    expect(() => faults.parse("expire-after=2.5")).toThrow(/whole number/)
    expect(() => faults.parse("5xx=0.6,limit=0.6")).toThrow(/add up to 1.2/)
  })

  it("replays the same decisions for the same seed, and different ones for another seed", () => {
    const config = faults.parse("5xx=0.2,reset=0.1,slow=0.1,limit=0.2,lost-answer=0.1,stall=0.1,batch-fail=0.3")
    const run = (seed: number) => {
      const f = new faults.Faults(config, seed)
      return Array.from({ length: 200 }, () => JSON.stringify(f.decide()) + f.batchFail())
    }
    expect(run(7)).toEqual(run(7))
    expect(run(7)).not.toEqual(run(8))
    const f = new faults.Faults(config, 7)
    for (let i = 0; i < 2000; i++) f.decide()
    // Rates are honoured roughly (2000 draws).
    expect(f.counts["5xx"] / 2000).toBeGreaterThan(0.15)
    expect(f.counts["5xx"] / 2000).toBeLessThan(0.25)
    expect(f.counts.reset + f.counts.slow + f.counts.limit).toBeGreaterThan(0)
    expect(f.counts["lost-answer"] / 2000).toBeGreaterThan(0.05)
    expect(f.counts.stall / 2000).toBeGreaterThan(0.05)
  })
})

const limits = (e: Emulator.EmulatorHandle, token = e.accessToken) =>
  raw(`${e.instanceUrl}/services/data/v66.0/limits`, { headers: { Authorization: `Bearer ${token}` } })

/** Outcome of one request: the status, or "reset" when the connection died. */
const outcome = (p: Promise<{ status: number; text: string }>) =>
  p.then((r) => {
    // A truncated download is a reset too.
    if (r.status === 200) JSON.parse(r.text)
    return String(r.status)
  }, () => "reset").catch(() => "reset")

describe("fault injection over HTTP", () => {
  let emu: Emulator.EmulatorHandle
  beforeAll(async () => {
    emu = await Emulator.start({ slowMs: 150 })
  })
  afterAll(() => emu.close())

  it("the same seed replays the same sequence of outcomes", async () => {
    const spec = "5xx=0.2,reset=0.1,slow=0.05,limit=0.2"
    const run = async (seed: number) => {
      emu.setFaults(spec, { seed })
      const out: Array<string> = []
      for (let i = 0; i < 40; i++) out.push(await outcome(limits(emu)))
      return out
    }
    const a = await run(42)
    const b = await run(42)
    emu.setFaults(undefined)
    expect(b).toEqual(a)
    expect(new Set(a).size).toBeGreaterThanOrEqual(4)
    expect(a).toContain("reset")
    expect(a).toContain("200")
  })

  it("5xx answers 503 or 500 in each API's format", async () => {
    emu.setFaults("5xx=1", { seed: 3 })
    try {
      const r2 = await limits(emu)
      expect([500, 503]).toContain(r2.status)
      expect(JSON.parse(r2.text)[0].errorCode).toMatch(/^(SERVER_UNAVAILABLE|UNKNOWN_EXCEPTION)$/)
      const r1 = await raw(`${emu.instanceUrl}/services/async/66.0/job/750000000000000`, { headers: { "X-SFDC-Session": emu.accessToken } })
      expect([500, 503]).toContain(r1.status)
      expect(r1.text).toContain("<exceptionCode>InternalServerError</exceptionCode>")
    } finally {
      emu.setFaults(undefined)
    }
  })

  it("limit answers 403 REQUEST_LIMIT_EXCEEDED (2.0), ExceededQuota (1.0), and 429 with Retry-After for some", async () => {
    emu.setFaults("limit=1", { seed: 5 })
    try {
      const seen = new Set<number>()
      for (let i = 0; i < 24; i++) {
        const r = await limits(emu)
        seen.add(r.status)
        if (r.status === 403) {
          expect(r.text).toBe("[{\"message\":\"TotalRequests Limit exceeded.\",\"errorCode\":\"REQUEST_LIMIT_EXCEEDED\"}]")
        } else {
          expect(r.status).toBe(429)
          expect(r.headers["retry-after"]).toBe("1")
        }
      }
      expect(seen).toEqual(new Set([403, 429]))
      const r1 = await raw(`${emu.instanceUrl}/services/async/66.0/job/750000000000000`, { headers: { "X-SFDC-Session": emu.accessToken } })
      expect([400, 429]).toContain(r1.status)
      expect(r1.text).toContain("<exceptionCode>ExceededQuota</exceptionCode>")
    } finally {
      emu.setFaults(undefined)
    }
  })

  it("reset destroys the connection mid-upload and mid-download; nothing is created", async () => {
    emu.setFaults("reset=1")
    try {
      const jobsBefore = emu.stats().faults.reset
      const countBefore = emu.org.count("Account")
      // Upload: the server reads part of the body, then drops the socket.
      const upload = new Promise<string>((resolve) => {
        const req = http.request(`${emu.instanceUrl}/services/async/66.0/job`, {
          method: "POST",
          agent: false,
          headers: { "X-SFDC-Session": emu.accessToken, "Content-Type": "application/xml", "Content-Length": "100000" }
        }, (res) => resolve(`answered ${res.statusCode}`))
        req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message))
        req.write("x".repeat(1000))
      })
      expect(await upload).toMatch(/ECONNRESET|EPIPE|socket hang up/)
      // Download: headers and part of the body arrive, then the connection dies.
      const download = await new Promise<string>((resolve) => {
        const req = http.get(`${emu.instanceUrl}/services/data/v66.0/limits`, {
          agent: false,
          headers: { Authorization: `Bearer ${emu.accessToken}` }
        }, (res) => {
          let n = 0
          res.on("data", (c: Buffer) => (n += c.length))
          res.on("aborted", () => resolve(`aborted after ${n} bytes`))
          res.on("error", () => resolve(`aborted after ${n} bytes`))
          res.on("end", () => resolve(`complete ${n} of ${res.headers["content-length"]}`))
        })
        req.on("error", (e) => resolve(e.message))
      })
      expect(download).toMatch(/^aborted after [1-9]\d* bytes$/)
      expect(emu.stats().faults.reset).toBe(jobsBefore + 2)
      expect(emu.org.count("Account")).toBe(countBefore)
    } finally {
      emu.setFaults(undefined)
    }
  })

  it("slow delays the answer by slowMs", async () => {
    emu.setFaults("slow=1")
    try {
      const t0 = Date.now()
      const r = await limits(emu)
      expect(r.status).toBe(200)
      expect(Date.now() - t0).toBeGreaterThanOrEqual(140)
    } finally {
      emu.setFaults(undefined)
    }
  })

  it("expire-after=N expires a session on its N+1th request; a refresh gives a fresh session", async () => {
    emu.setFaults("expire-after=3")
    try {
      const login = JSON.parse(
        (await tokenRequest(emu.loginUrl, {
          grant_type: "password",
          client_id: emu.clientId,
          client_secret: emu.clientSecret,
          username: emu.username,
          password: emu.password + emu.securityToken
        })).text
      )
      const before = emu.stats().faults["expire-after"]
      const statuses: Array<number> = []
      for (let i = 0; i < 3; i++) statuses.push((await limits(emu, login.access_token)).status)
      const b1 = await raw(`${emu.instanceUrl}/services/async/66.0/job/750000000000000`, {
        headers: { "X-SFDC-Session": login.access_token }
      })
      statuses.push(b1.status)
      statuses.push((await limits(emu, login.access_token)).status)
      expect(statuses).toEqual([200, 200, 200, 400, 401])
      expect(b1.text).toContain("<exceptionCode>InvalidSessionId</exceptionCode>")
      expect(emu.stats().faults["expire-after"]).toBe(before + 1)
      const refreshed = JSON.parse(
        (await tokenRequest(emu.loginUrl, { grant_type: "refresh_token", refresh_token: login.refresh_token, client_id: emu.clientId }))
          .text
      )
      expect((await limits(emu, refreshed.access_token)).status).toBe(200)
    } finally {
      emu.setFaults(undefined)
    }
  })

  it("spares the login endpoints unless faultLogin is set", async () => {
    const form = { grant_type: "client_credentials", client_id: emu.clientId, client_secret: emu.clientSecret }
    emu.setFaults("5xx=1")
    try {
      expect((await tokenRequest(emu.loginUrl, form)).status).toBe(200)
      emu.setFaults("5xx=1", { faultLogin: true })
      expect([500, 503]).toContain((await tokenRequest(emu.loginUrl, form)).status)
    } finally {
      emu.setFaults(undefined, { faultLogin: false })
    }
  })

  it("counts injected faults in stats", () => {
    const s = emu.stats()
    expect(s.faults["5xx"]).toBeGreaterThan(0)
    expect(s.faults.limit).toBeGreaterThan(0)
    expect(s.faults.slow).toBeGreaterThan(0)
    expect(s.faultSpec).toBe("")
  })
})

/** What a client saw of one answer: complete, cut after some bytes, or no answer at all. */
interface Probe {
  readonly outcome: "complete" | "cut" | "no-answer" | "gave-up"
  readonly status: number | undefined
  /** Body bytes received. */
  readonly received: number
  /** The announced Content-Length, when there was one. */
  readonly contentLength: number | undefined
  /** Milliseconds from the first body byte to the end of the body (complete answers). */
  readonly firstByteToEndMs: number | undefined
  readonly text: string
}

/** One request over a fresh connection; `idleMs` gives up when no byte arrives for that long. */
const probe = (
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; idleMs?: number } = {}
): Promise<Probe> =>
  new Promise((resolve) => {
    let status: number | undefined
    let contentLength: number | undefined
    const chunks: Array<Buffer> = []
    let firstByteAt: number | undefined
    let settled = false
    const finish = (outcome: Probe["outcome"]) => {
      if (settled) return
      settled = true
      const body = Buffer.concat(chunks)
      resolve({
        outcome,
        status,
        received: body.length,
        contentLength,
        firstByteToEndMs: outcome === "complete" && firstByteAt !== undefined ? Date.now() - firstByteAt : undefined,
        text: body.toString("utf8")
      })
    }
    const req = http.request(url, { method: options.method ?? "GET", headers: options.headers ?? {}, agent: false }, (res) => {
      status = res.statusCode
      const cl = res.headers["content-length"]
      contentLength = cl === undefined ? undefined : Number(cl)
      res.on("data", (c: Buffer) => {
        firstByteAt ??= Date.now()
        chunks.push(c)
      })
      res.on("aborted", () => finish("cut"))
      res.on("error", () => finish("cut"))
      res.on("end", () => finish(res.complete ? "complete" : "cut"))
    })
    if (options.idleMs !== undefined) {
      req.setTimeout(options.idleMs, () => {
        finish("gave-up")
        req.destroy()
      })
    }
    req.on("error", () => finish(status === undefined ? "no-answer" : "cut"))
    if (options.body !== undefined) req.write(options.body)
    req.end()
  })

describe("lost-answer and stall over HTTP", () => {
  const SLOW_MS = 300
  let emu: Emulator.EmulatorHandle
  beforeAll(async () => {
    emu = await Emulator.start({ slowMs: SLOW_MS, latencyMs: 5 })
  })
  afterAll(() => emu.close())

  const v2 = (path: string) => `${emu.instanceUrl}/services/data/v66.0/jobs/ingest${path}`
  const v1 = (path: string) => `${emu.instanceUrl}/services/async/66.0${path}`
  const bearer = () => ({ Authorization: `Bearer ${emu.accessToken}` })
  const session = () => ({ "X-SFDC-Session": emu.accessToken })
  const NS = "http://www.force.com/2009/06/asyncapi/dataload"
  const jobXml = (fields: string) => `<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="${NS}">${fields}</jobInfo>`
  const xmlTag = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1]

  /** Run `f` with `spec` in force, then turn faults off. */
  const withFaults = async <A>(spec: string, f: () => Promise<A>): Promise<A> => {
    emu.setFaults(spec, { seed: 1 })
    try {
      return await f()
    } finally {
      emu.setFaults(undefined)
    }
  }

  const ingestIds = async (): Promise<Array<string>> => {
    const r = await raw(v2(""), { headers: bearer() })
    return (JSON.parse(r.text).records as Array<{ id: string }>).map((j) => j.id)
  }

  it("lost-answer on a 2.0 job creation: the job exists though the client got no complete answer", async () => {
    const before = await ingestIds()
    const lost0 = emu.stats().faults["lost-answer"]
    const p = await withFaults("lost-answer=1", () =>
      probe(v2(""), {
        method: "POST",
        headers: { ...bearer(), "Content-Type": "application/json" },
        body: JSON.stringify({ object: "Account", operation: "insert" })
      }))
    expect(p.outcome).toBe("cut")
    expect(p.status).toBe(200)
    expect(p.received).toBeGreaterThan(0)
    expect(p.received).toBeLessThan(p.contentLength!)
    const after = await ingestIds()
    expect(after.length).toBe(before.length + 1)
    // The part received is the start of the real answer: it names the job that now exists.
    const created = after.find((id) => !before.includes(id))!
    expect(p.text.startsWith(`{"id":"${created}"`)).toBe(true)
    expect(emu.stats().faults["lost-answer"]).toBe(lost0 + 1)
  })

  it("lost-answer on a 2.0 data upload (empty 201): no answer at all, yet the data is stored and loads", async () => {
    const create = await raw(v2(""), {
      method: "POST",
      headers: { ...bearer(), "Content-Type": "application/json" },
      body: JSON.stringify({ object: "Account", operation: "insert" })
    })
    const id = JSON.parse(create.text).id as string
    const count0 = emu.org.count("Account")
    const p = await withFaults(
      "lost-answer=1",
      () =>
        probe(v2(`/${id}/batches`), {
          method: "PUT",
          headers: { ...bearer(), "Content-Type": "text/csv" },
          body: "Name\nLost1\nLost2\nLost3\n"
        })
    )
    expect(p.outcome).toBe("no-answer")
    // A second PUT proves the first one was stored: Salesforce refuses a second upload to a job.
    const again = await raw(v2(`/${id}/batches`), {
      method: "PUT",
      headers: { ...bearer(), "Content-Type": "text/csv" },
      body: "Name\nX\n"
    })
    expect(again.status).toBe(400)
    expect(again.text).toContain("Found multipe contents for job")
    const close = await raw(v2(`/${id}`), {
      method: "PATCH",
      headers: { ...bearer(), "Content-Type": "application/json" },
      body: JSON.stringify({ state: "UploadComplete" })
    })
    expect(close.status).toBe(200)
    for (let i = 0; i < 200; i++) {
      const info = JSON.parse((await raw(v2(`/${id}`), { headers: bearer() })).text)
      if (info.state === "JobComplete") break
      await new Promise((r) => setTimeout(r, 10))
    }
    expect(emu.org.count("Account")).toBe(count0 + 3)
  })

  it("lost-answer on 1.0 add batch and close job: the batch exists and the job is closed", async () => {
    const created = await raw(v1("/job"), {
      method: "POST",
      headers: { ...session(), "Content-Type": "application/xml" },
      body: jobXml("<operation>insert</operation><object>Account</object><contentType>CSV</contentType>")
    })
    const jobId = xmlTag(created.text, "id")!
    const add = await withFaults(
      "lost-answer=1",
      () =>
        probe(v1(`/job/${jobId}/batch`), { method: "POST", headers: { ...session(), "Content-Type": "text/csv" }, body: "Name\nB1\nB2\n" })
    )
    expect(add.outcome).toBe("cut")
    const batches = await raw(v1(`/job/${jobId}/batch`), { headers: session() })
    expect(batches.text.match(/<batchInfo>/g)?.length).toBe(1)
    const close = await withFaults("lost-answer=1", () =>
      probe(v1(`/job/${jobId}`), {
        method: "POST",
        headers: { ...session(), "Content-Type": "application/xml" },
        body: jobXml("<state>Closed</state>")
      }))
    expect(close.outcome).toBe("cut")
    const info = await raw(v1(`/job/${jobId}`), { headers: session() })
    expect(xmlTag(info.text, "state")).toBe("Closed")
  })

  it("stall sends the head and part of the body, then nothing for slowMs, then the rest", async () => {
    const stall0 = emu.stats().faults.stall
    const p = await withFaults("stall=1", () => probe(`${emu.instanceUrl}/services/data/v66.0/limits`, { headers: bearer() }))
    expect(p.outcome).toBe("complete")
    expect(p.status).toBe(200)
    expect(p.received).toBe(p.contentLength)
    JSON.parse(p.text)
    // The first part came at least slowMs before the end (timers never fire early).
    expect(p.firstByteToEndMs!).toBeGreaterThanOrEqual(SLOW_MS - 5)
    expect(emu.stats().faults.stall).toBe(stall0 + 1)
  })

  it("stall on a streamed download and on an empty answer; a client with an idle timeout gives up with the body incomplete", async () => {
    // A streamed answer (1.0 batch list is sent whole; 2.0 results are streamed).
    const create = await raw(v2(""), {
      method: "POST",
      headers: { ...bearer(), "Content-Type": "application/json" },
      body: JSON.stringify({ object: "Account", operation: "insert" })
    })
    const id = JSON.parse(create.text).id as string
    // Empty 201: held back whole, then answered; the data was stored before.
    const put = await withFaults(
      "stall=1",
      () => probe(v2(`/${id}/batches`), { method: "PUT", headers: { ...bearer(), "Content-Type": "text/csv" }, body: "Name\nS1\nS2\n" })
    )
    expect(put).toMatchObject({ outcome: "complete", status: 201, received: 0 })
    await raw(v2(`/${id}`), {
      method: "PATCH",
      headers: { ...bearer(), "Content-Type": "application/json" },
      body: JSON.stringify({ state: "UploadComplete" })
    })
    for (let i = 0; i < 200; i++) {
      const info = JSON.parse((await raw(v2(`/${id}`), { headers: bearer() })).text)
      if (info.state === "JobComplete") break
      await new Promise((r) => setTimeout(r, 10))
    }
    const streamed = await withFaults("stall=1", () => probe(v2(`/${id}/successfulResults`), { headers: bearer() }))
    expect(streamed.outcome).toBe("complete")
    expect(streamed.text.trim().split("\n")).toHaveLength(3)
    expect(streamed.firstByteToEndMs!).toBeGreaterThanOrEqual(SLOW_MS - 5)
    // A client whose idle timeout is shorter than slowMs gives up with part of the body.
    const impatient = await withFaults(
      "stall=1",
      () => probe(v2(`/${id}/successfulResults`), { headers: bearer(), idleMs: Math.floor(SLOW_MS / 3) })
    )
    expect(impatient.outcome).toBe("gave-up")
    expect(impatient.status).toBe(200)
    expect(impatient.received).toBeGreaterThan(0)
    expect(impatient.text).not.toContain("S2")
  })

  it("the same seed replays the same sequence of lost answers and stalls", async () => {
    const spec = "lost-answer=0.3,stall=0.2,5xx=0.2"
    const url = `${emu.instanceUrl}/services/data/v66.0/limits`
    const run = async (seed: number) => {
      emu.setFaults(spec, { seed, slowMs: 20 })
      const before = emu.stats().faults
      const out: Array<string> = []
      for (let i = 0; i < 30; i++) {
        const p = await probe(url, { headers: bearer() })
        out.push(p.outcome === "complete" && p.firstByteToEndMs! >= 15 ? `stalled ${p.status}` : `${p.outcome} ${p.status}`)
      }
      const after = emu.stats().faults
      return { out, lost: after["lost-answer"] - before["lost-answer"], stall: after.stall - before.stall }
    }
    try {
      const a = await run(5)
      const b = await run(5)
      expect(b).toEqual(a)
      expect(a.lost).toBeGreaterThan(0)
      expect(a.stall).toBeGreaterThan(0)
      expect(a.out.filter((o) => o === "cut 200")).toHaveLength(a.lost)
    } finally {
      emu.setFaults(undefined, { slowMs: SLOW_MS })
    }
  })

  it("match limits faults to the requests it names (here: 1.0 close/abort), the rest are untouched", async () => {
    const closeOnly = "^POST /services/async/[^/]+/job/[^/]+$"
    emu.setFaults("lost-answer=1", { match: closeOnly })
    try {
      const created = await probe(v1("/job"), {
        method: "POST",
        headers: { ...session(), "Content-Type": "application/xml" },
        body: jobXml("<operation>insert</operation><object>Account</object><contentType>CSV</contentType>")
      })
      expect(created.outcome).toBe("complete")
      const jobId = xmlTag(created.text, "id")!
      expect(
        (await probe(v1(`/job/${jobId}/batch`), {
          method: "POST",
          headers: { ...session(), "Content-Type": "text/csv" },
          body: "Name\nM1\n"
        })).outcome
      )
        .toBe("complete")
      const close = await probe(v1(`/job/${jobId}`), {
        method: "POST",
        headers: { ...session(), "Content-Type": "application/xml" },
        body: jobXml("<state>Closed</state>")
      })
      expect(close.outcome).toBe("cut")
      // GET is not matched: the job is seen Closed; a re-sent close is refused as Salesforce does.
      const info = await probe(v1(`/job/${jobId}`), { headers: session() })
      expect(xmlTag(info.text, "state")).toBe("Closed")
      emu.setFaults(undefined)
      const again = await raw(v1(`/job/${jobId}`), {
        method: "POST",
        headers: { ...session(), "Content-Type": "application/xml" },
        body: jobXml("<state>Closed</state>")
      })
      expect(xmlTag(again.text, "exceptionMessage")).toBe("Closing already closed Job not allowed")
      // a bad expression is refused and changes nothing
      emu.setFaults("stall=0.5", { match: "" })
      expect(() => emu.setFaults("5xx=1", { match: "(" })).toThrow()
      expect(emu.stats().faultSpec).toBe("stall=0.5")
    } finally {
      emu.setFaults(undefined)
    }
  })

  it("POST /__emulator/faults takes the new kinds and GET reports them", async () => {
    const set = await raw(`${emu.instanceUrl}/__emulator/faults`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ faults: "lost-answer=0.1,stall=0.05", seed: 4, match: "^PATCH " })
    })
    try {
      expect(JSON.parse(set.text)).toMatchObject({ faults: "lost-answer=0.1,stall=0.05", seed: 4, match: "^PATCH " })
      const stats = JSON.parse((await raw(`${emu.instanceUrl}/__emulator/stats`)).text)
      expect(stats.faultSpec).toBe("lost-answer=0.1,stall=0.05")
      expect(Object.keys(stats.faults)).toEqual(expect.arrayContaining(["lost-answer", "stall"]))
    } finally {
      emu.setFaults(undefined)
    }
  })
})
