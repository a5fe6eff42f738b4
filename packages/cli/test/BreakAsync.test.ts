/**
 * `--async --api 1` stopped part way: Bulk API 1.0 processes each batch as it arrives, so the rows
 * already sent may be loaded. The run must name the job before the first batch (a kill leaves
 * nothing else to find them by) and, on a failure, say not to send the file again and how to get
 * the results of what was sent. Through the real `sfbulk` executable against the emulator.
 */
import { Emulator } from "@sfbulk/emulator"
import { afterAll, beforeAll, expect, it } from "vitest"
import { cleanEnv, lastJson, sfbulk, tempDir, writeFile } from "./helpers.js"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let env: Record<string, string>

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 2 })
  env = cleanEnv({ SF_INSTANCE_URL: emu.instanceUrl, SF_ACCESS_TOKEN: emu.accessToken })
})
afterAll(async () => {
  await emu?.close()
})

it("a 1.0 upload that fails after some batches names the job, says not to send again, and resume reports the rows sent", async () => {
  const dir = tempDir()
  const names = Array.from({ length: 1000 }, (_, i) => `Async1 ${i}`)
  const csv = writeFile(dir, "in.csv", `Name\n${names.join("\n")}\n`)
  // some batch uploads are refused (REQUEST_LIMIT_EXCEEDED is not retried); the seed makes the first ones pass
  emu.setFaults({ limit: 0.3 }, { match: "^POST .*/batch$", seed: 7 })
  const before = emu.org.count("Account")
  let r: Awaited<ReturnType<typeof sfbulk>>
  try {
    r = await sfbulk(["import", "Account", "--file", csv, "--api", "1", "--batch-size", "100", "--concurrency", "1", "--async"], { env })
  } finally {
    emu.setFaults(undefined)
  }
  expect(r.code, r.stderr).not.toBe(0)
  const job = /created job (750\w{15})/.exec(r.stderr)?.[1]
  expect(job, r.stderr).toBeDefined()
  // the failure's hint: how many rows were sent, not to send again, the command that reports them
  expect(r.stderr).toMatch(/row\(s\) in \d+ batch\(es\) of job 750\w{15} reached Salesforce/)
  expect(r.stderr).toContain("do not send the file again")
  expect(r.stderr).toContain(`sfbulk resume ${job}`)
  const loaded = emu.org.count("Account") - before
  expect(loaded).toBeGreaterThan(0)
  const done = await sfbulk(["resume", job!, "--results-dir", dir, "--json"], { env })
  const summary = lastJson(done.stdout)
  // every row the failed run loaded is in the results, and nothing more was loaded
  expect(summary.succeeded, done.stderr).toBe(loaded)
  expect(emu.org.count("Account") - before).toBe(loaded)
})

it("refuses the flags an --async run would silently drop (exit 2, nothing sent)", async () => {
  const dir = tempDir()
  const csv = writeFile(dir, "in.csv", "Name\nNever sent\n")
  const before = emu.stats().byApi
  for (
    const [flags, named] of [
      [["--journal", `${dir}/j.jsonl`], "--journal"],
      [["--wait", "10m"], "--wait"],
      [["--retry-locked-rows", "3"], "--retry-locked-rows"],
      [["--order-by-parent", "ParentId"], "--order-by-parent"]
    ] as const
  ) {
    const r = await sfbulk(["import", "Account", "--file", csv, "--async", ...flags], { env })
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain(`--async does not go with ${named}`)
  }
  const after = emu.stats().byApi
  expect(after.bulk1 + after.bulk2).toBe(before.bulk1 + before.bulk2)
})
