/**
 * `sfbulk limits` (issue 16): the org's bulk-relevant limits from the REST API Limits resource,
 * used and remaining, as a table or `--json`; `--all` adds the rest. The emulator's counters move
 * with the work done through it.
 */
import { Emulator } from "@sfbulk/emulator"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cleanEnv, lastJson, sfbulk, tempDir, writeFile } from "./helpers.js"

type Handle = Awaited<ReturnType<typeof Emulator.start>>
let emu: Handle
let env: Record<string, string>

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 5 })
  env = cleanEnv({ SF_INSTANCE_URL: emu.instanceUrl, SF_ACCESS_TOKEN: emu.accessToken })
})
afterAll(async () => {
  await emu?.close()
})

const BULK = ["DailyApiRequests", "DailyBulkApiBatches", "DailyBulkV2QueryJobs", "DailyBulkV2QueryFileStorageMB"]

interface Row {
  readonly name: string
  readonly used: number
  readonly remaining: number
  readonly max: number
}

const limits = async (...flags: Array<string>): Promise<Array<Row>> => {
  const r = await sfbulk(["limits", "--json", ...flags], { env })
  expect(r.code, r.stderr).toBe(0)
  return lastJson(r.stdout).limits
}

describe("sfbulk limits", () => {
  it("lists the four bulk-relevant limits (used + remaining = max); --all adds the rest", async () => {
    const rows = await limits()
    expect(rows.map((l) => l.name)).toEqual(BULK)
    for (const l of rows) expect(l.used + l.remaining, l.name).toBe(l.max)
    const all = await limits("--all")
    expect(all.slice(0, 4).map((l) => l.name)).toEqual(BULK)
    expect(all.length).toBeGreaterThan(4)
    expect(all.map((l) => l.name)).toContain("DailyBulkApiRequests")
  })

  it("counts what was spent: a Bulk API 2.0 query job, a Bulk API 1.0 batch, a Bulk API 2.0 ingest batch", async () => {
    const before = new Map((await limits()).map((l) => [l.name, l.used]))
    const q = await sfbulk(["export", "SELECT Id FROM Account", "-o", `${tempDir()}/out.csv`], { env })
    expect(q.code, q.stderr).toBe(0)
    const file = writeFile(tempDir(), "a.csv", "Name\nLimits One\n")
    const i = await sfbulk(["import", "Account", "-f", file, "--api", "1"], { env })
    expect(i.code, i.stderr).toBe(0)
    // a Bulk API 2.0 ingest job spends a batch per 10,000 records too (its query jobs none)
    const i2 = await sfbulk(["import", "Account", "-f", file], { env })
    expect(i2.code, i2.stderr).toBe(0)
    const after = new Map((await limits()).map((l) => [l.name, l.used]))
    expect(after.get("DailyBulkV2QueryJobs")! - before.get("DailyBulkV2QueryJobs")!).toBe(1)
    expect(after.get("DailyBulkApiBatches")! - before.get("DailyBulkApiBatches")!).toBe(2)
    expect(after.get("DailyApiRequests")!).toBeGreaterThan(before.get("DailyApiRequests")!)
  })

  it("prints an aligned table by default", async () => {
    const r = await sfbulk(["limits"], { env })
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.split("\n").filter((l) => l.length > 0 && !l.startsWith("("))
    expect(lines[0]).toMatch(/^LIMIT\s+USED\s+REMAINING\s+MAX\s+USED %$/)
    expect(lines.slice(2).map((l) => l.split(/\s+/)[0])).toEqual(BULK)
    // every row's REMAINING column starts where the header's does
    const at = lines[0]!.indexOf("REMAINING")
    for (const l of lines.slice(2)) expect(l[at - 1]).toBe(" ")
    for (const l of lines.slice(2)) expect(l.slice(at)).toMatch(/^[\d,]+/)
  })
})
