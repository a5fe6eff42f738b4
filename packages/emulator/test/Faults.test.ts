import * as http from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Emulator from "../src/Emulator.js"
import * as faults from "../src/internal/faults.js"
import { raw, tokenRequest } from "./httpSupport.js"

describe("fault spec", () => {
  it("parses the documented spec and round-trips through format", () => {
    const c = faults.parse("5xx=0.05,reset=0.02,slow=0.01,limit=0.02,expire-after=500,batch-fail=0.01")
    expect(c).toEqual({ serverError: 0.05, reset: 0.02, slow: 0.01, limit: 0.02, expireAfter: 500, batchFail: 0.01 })
    expect(faults.parse(faults.format(c))).toEqual(c)
    expect(faults.parse({ serverError: 0.1, "expire-after": 3 })).toEqual({ ...faults.none, serverError: 0.1, expireAfter: 3 })
    expect(faults.parse(" ")).toEqual(faults.none)
    expect(faults.parse(undefined)).toEqual(faults.none)
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
    const config = faults.parse("5xx=0.2,reset=0.1,slow=0.1,limit=0.2,batch-fail=0.3")
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
        if (r.status === 403) expect(r.text).toBe("[{\"message\":\"TotalRequests Limit exceeded.\",\"errorCode\":\"REQUEST_LIMIT_EXCEEDED\"}]")
        else {
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
        const req = http.get(`${emu.instanceUrl}/services/data/v66.0/limits`, { agent: false, headers: { Authorization: `Bearer ${emu.accessToken}` } }, (res) => {
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
      const login = JSON.parse((await tokenRequest(emu.loginUrl, {
        grant_type: "password",
        client_id: emu.clientId,
        client_secret: emu.clientSecret,
        username: emu.username,
        password: emu.password + emu.securityToken
      })).text)
      const before = emu.stats().faults["expire-after"]
      const statuses: Array<number> = []
      for (let i = 0; i < 3; i++) statuses.push((await limits(emu, login.access_token)).status)
      const b1 = await raw(`${emu.instanceUrl}/services/async/66.0/job/750000000000000`, { headers: { "X-SFDC-Session": login.access_token } })
      statuses.push(b1.status)
      statuses.push((await limits(emu, login.access_token)).status)
      expect(statuses).toEqual([200, 200, 200, 400, 401])
      expect(b1.text).toContain("<exceptionCode>InvalidSessionId</exceptionCode>")
      expect(emu.stats().faults["expire-after"]).toBe(before + 1)
      const refreshed = JSON.parse((await tokenRequest(emu.loginUrl, { grant_type: "refresh_token", refresh_token: login.refresh_token, client_id: emu.clientId })).text)
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
