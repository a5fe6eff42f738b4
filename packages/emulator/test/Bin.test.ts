import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { raw, tokenRequest } from "./httpSupport.js"

const BIN = fileURLToPath(new URL("../src/bin.ts", import.meta.url))

const run = (args: ReadonlyArray<string>) => {
  const child = spawn(process.execPath, ["--import", "tsx", BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()))
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  const firstLine = new Promise<string>((resolve, reject) => {
    const check = () => {
      const nl = stdout.indexOf("\n")
      if (nl >= 0) resolve(stdout.slice(0, nl))
    }
    child.stdout.on("data", check)
    child.on("exit", () => reject(new Error(`exited before printing: ${stderr}`)))
  })
  firstLine.catch(() => undefined)
  return { child, firstLine, exited, output: () => ({ stdout, stderr }) }
}

describe("bin", () => {
  it("prints one JSON line of facts, serves them, and exits 0 on SIGTERM", async () => {
    const p = run([
      "--port",
      "0",
      "--seed",
      "4",
      "--latency",
      "5",
      "--faults",
      "batch-fail=0.5,lost-answer=0.1,stall=0.05",
      "--pk-chunking-counts-original"
    ])
    const facts = JSON.parse(await p.firstLine) as Record<string, string>
    for (const k of ["instanceUrl", "loginUrl", "accessToken", "username", "password", "securityToken", "clientId", "clientSecret"]) {
      expect(typeof facts[k]).toBe("string")
    }
    expect(facts.instanceUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const login = await tokenRequest(facts.loginUrl!, {
      grant_type: "password",
      client_id: facts.clientId!,
      client_secret: facts.clientSecret!,
      username: facts.username!,
      password: facts.password! + facts.securityToken!
    })
    expect(login.status).toBe(200)
    const stats = JSON.parse((await raw(`${facts.instanceUrl}/__emulator/stats`)).text)
    expect(stats.seed).toBe(4)
    expect(stats.faultSpec).toBe("lost-answer=0.1,stall=0.05,batch-fail=0.5")
    expect(Object.keys(stats.faults)).toEqual(expect.arrayContaining(["lost-answer", "stall"]))
    p.child.kill("SIGTERM")
    expect(await p.exited).toBe(0)
    expect(p.output().stdout.trim().split("\n")).toHaveLength(1)
  }, 20_000)

  it("--help names every fault, the new ones included", async () => {
    const p = run(["--help"])
    expect(await p.exited).toBe(0)
    for (
      const k of ["5xx", "reset", "slow", "limit", "lost-answer", "stall", "batch-fail", "expire-after", "--pk-chunking-counts-original"]
    ) {
      expect(p.output().stdout).toContain(k)
    }
  }, 20_000)

  it("exits 0 on SIGINT", async () => {
    const p = run(["--port", "0"])
    await p.firstLine
    p.child.kill("SIGINT")
    expect(await p.exited).toBe(0)
  }, 20_000)

  it("rejects bad arguments with exit code 2 and a message", async () => {
    const p = run(["--faults", "5xx=9"])
    expect(await p.exited).toBe(2)
    expect(p.output().stderr).toContain("'5xx' is a per-request rate")
    const q = run(["--bogus"])
    expect(await q.exited).toBe(2)
    expect(q.output().stderr).toContain("bogus")
    expect(q.output().stdout).toBe("")
  }, 20_000)

  it("--profile realistic and each processing knob reach the emulator (stats show the model in force)", async () => {
    const p = run([
      "--port",
      "0",
      "--profile",
      "realistic",
      "--parallel-batches",
      "3",
      "--records-per-second",
      "insert=1234,query=999",
      "--lock-failure-rate",
      "0.25",
      "--request-latency",
      "7",
      "--bulk2-batch-size",
      "500",
      "--transaction-rows",
      "50",
      "--enforce-limits",
      "--daily-api-requests",
      "42",
      "--daily-bulk-api-batches",
      "43",
      "--daily-bulk-v2-query-jobs",
      "44"
    ])
    const facts = JSON.parse(await p.firstLine) as Record<string, string>
    const stats = JSON.parse((await raw(`${facts.instanceUrl}/__emulator/stats`)).text)
    expect(stats.processing).toMatchObject({
      profile: "realistic",
      parallelBatches: 3,
      recordsPerSecond: { insert: 1234, query: 999, update: 1000 },
      lockFailureRate: 0.25,
      requestLatencyMs: 7,
      bulk2BatchSize: 500,
      transactionRows: 50,
      enforceLimits: true,
      dailyApiRequests: 42,
      dailyBulkApiBatches: 43,
      dailyBulkV2QueryJobs: 44
    })
    p.child.kill("SIGTERM")
    expect(await p.exited).toBe(0)
    const bad = run(["--profile", "fast"])
    expect(await bad.exited).toBe(2)
    expect(bad.output().stderr).toContain("--profile must be loopback or realistic")
    const badRates = run(["--records-per-second", "insert"])
    expect(await badRates.exited).toBe(2)
  }, 20_000)
})
