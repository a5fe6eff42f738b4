/**
 * `--order-by-parent auto` end to end (issue 15): an import of Contacts whose parents are shared
 * across parallel batches, with no parent field named, is sorted by the object's locking lookups
 * (read from its describe) and loads every row once with no lock failure, no follow-up round.
 */
import type { Emulator } from "@sfbulk/emulator"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cleanEnv, contendedOrg, lastJson, sfbulk, tempDir, writeFile } from "./helpers.js"

let emu: Awaited<ReturnType<typeof Emulator.start>>
const parents: Array<string> = []

beforeAll(async () => {
  const org = await contendedOrg({ seed: 23, insertsPerSecond: 3000, prefix: "OrderAuto parent" })
  emu = org.emu
  for (const id of org.parents) parents.push(id)
})
afterAll(async () => {
  await emu?.close()
})

const landed = (tag: string): Map<string, Array<string>> => {
  const q = emu.org.query(`SELECT LastName, AccountId, Description FROM Contact WHERE LastName LIKE '${tag}-%'`)
  if (!q.ok) throw new Error(q.error.message)
  const out = new Map<string, Array<string>>()
  for (let i = 0; i < q.result.size; i++) {
    const [name, account, description] = q.result.row(i).map(String)
    out.set(name!, [...(out.get(name!) ?? []), `${account}|${description}`])
  }
  return out
}

for (const api of ["1.0", "2.0"] as const) {
  describe(`Bulk API ${api}: --order-by-parent auto`, () => {
    it("sorts by the describe's parent lookup: every row once, none failed on a lock, no follow-up needed", async () => {
      const dir = tempDir()
      const tag = `obpa${api.replace(".", "")}`
      // the parent column in another case than the describe's (Salesforce matches header names case-insensitively)
      const csv = "LastName,ACCOUNTID,Description\n" +
        Array.from({ length: 600 }, (_, i) => `${tag}-${i},${parents[i % 6]},"d, ""q"" ✓ ${i}"`).join("\n") + "\n"
      const file = writeFile(dir, "contacts.csv", csv)
      const env = cleanEnv({ SF_INSTANCE_URL: emu.instanceUrl, SF_ACCESS_TOKEN: emu.accessToken })
      const out = await sfbulk([
        "import",
        "Contact",
        "-f",
        file,
        "--api",
        api,
        "--batch-size",
        "100",
        "--concurrency",
        "4",
        "--order-by-parent",
        "auto",
        "--results-dir",
        Path.join(dir, "results"),
        "--json"
      ], { env, timeoutMs: 60_000 })
      expect(out.code, out.stderr).toBe(0)
      expect(lastJson(out.stdout)).toMatchObject({ rowsRead: 600, succeeded: 600, failed: 0, unprocessed: 0 })
      const inOrg = landed(tag)
      expect(inOrg.size).toBe(600)
      for (let i = 0; i < 600; i++) expect(inOrg.get(`${tag}-${i}`)).toEqual([`${parents[i % 6]}|d, "q" ✓ ${i}`])
    }, 90_000)
  })
}
