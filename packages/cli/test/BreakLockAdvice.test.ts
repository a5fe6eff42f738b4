/**
 * Rows that failed on record locks, from the CLI user's side: the advice after the run must lead
 * out. They have nothing to fix, so it says to send `<job>-failed.csv` again with
 * `--retry-locked-rows` and `--order-by-parent` (it said "fix them"); and that file sent again as
 * it is must load (its `sf__Id`/`sf__Error` columns made Salesforce fail every batch with
 * `Field name not found : sf__Id`, after which the advice was to resume a broken import).
 */
import type { Emulator } from "@sfbulk/emulator"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cleanEnv, contendedOrg, csvHeader, lastJson, sfbulk, tempDir, writeFile } from "./helpers.js"

let emu: Awaited<ReturnType<typeof Emulator.start>>
const parents: Array<string> = []

beforeAll(async () => {
  const org = await contendedOrg({ seed: 21, insertsPerSecond: 1500, prefix: "LockAdvice parent" })
  emu = org.emu
  for (const id of org.parents) parents.push(id)
})
afterAll(async () => {
  await emu?.close()
})

const landed = (tag: string): Map<string, number> => {
  const q = emu.org.query(`SELECT LastName, Description FROM Contact WHERE LastName LIKE '${tag}-%'`)
  if (!q.ok) throw new Error(q.error.message)
  const counts = new Map<string, number>()
  for (let i = 0; i < q.result.size; i++) {
    const [name, description] = q.result.row(i).map(String)
    expect(description).toBe(`d, "q" ✓ ${name!.split("-").pop()}`)
    counts.set(name!, (counts.get(name!) ?? 0) + 1)
  }
  return counts
}

for (const api of ["1.0", "2.0"] as const) {
  describe(`Bulk API ${api}: rows failed on record locks`, () => {
    it("the advice says to send the failed file again with --retry-locked-rows; sent as it is, it loads every row once", async () => {
      const dir = tempDir()
      const tag = `lkadv${api.replace(".", "")}`
      const csv = "LastName,AccountId,Description\n" +
        Array.from({ length: 600 }, (_, i) => `${tag}-${i},${parents[i % 6]},"d, ""q"" ✓ ${i}"`).join("\n") + "\n"
      const file = writeFile(dir, "contacts.csv", csv)
      const env = cleanEnv({ SF_INSTANCE_URL: emu.instanceUrl, SF_ACCESS_TOKEN: emu.accessToken })
      const common = ["--api", api, "--batch-size", "100", "--concurrency", "4", "--quiet"]
      const first = await sfbulk(["import", "Contact", "-f", file, ...common, "--results-dir", Path.join(dir, "first")], {
        env,
        timeoutMs: 60_000
      })
      expect(first.code, first.stderr).toBe(3)
      expect(first.stderr).toMatch(/failed on record locks \(UNABLE_TO_LOCK_ROW\)/)
      expect(first.stderr).toMatch(/--retry-locked-rows/)
      expect(first.stderr).not.toMatch(/fix the failed rows/)
      const failedFile = /: (\S+-failed\.csv) holds/.exec(first.stderr)![1]!
      expect(csvHeader(failedFile).slice(0, 2)).toEqual(["sf__Id", "sf__Error"])
      const before = landed(tag).size
      expect(before).toBeLessThan(600)
      // the advice followed: that file again, as it is
      const again = await sfbulk([
        "import",
        "Contact",
        "-f",
        failedFile,
        ...common,
        "--retry-locked-rows",
        "6",
        "--order-by-parent",
        "AccountId",
        "--results-dir",
        Path.join(dir, "again"),
        "--json"
      ], { env, timeoutMs: 60_000 })
      expect(again.code, again.stderr).toBe(0)
      const s = lastJson(again.stdout)
      expect(s).toMatchObject({ rowsRead: 600 - before, failed: 0, unprocessed: 0 })
      // the result files carry the columns sent, once (not the failed file's sf__ columns again)
      expect(csvHeader(s.files.success)).toEqual(["sf__Id", "sf__Created", "LastName", "AccountId", "Description"])
      const after = landed(tag)
      expect(after.size).toBe(600)
      expect([...after.values()].every((n) => n === 1)).toBe(true)
    }, 90_000)
  })
}
