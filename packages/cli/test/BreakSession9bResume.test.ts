/**
 * Break session 9b (issue 15): `sfbulk import --order-by-parent auto --mapping <file> --journal`
 * killed part way, then `sfbulk resume --journal`. The CLI writes its own journal header (the
 * command line, the input's fingerprint): the client's `orderedBy` line must still be written,
 * name the MAPPED column (the field sent), and the resume must sort the same way. What a user
 * would lose: rows sent twice or never (the journal's positions are positions in sorted order).
 */
import type { Emulator } from "@sfbulk/emulator"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BIN, cleanEnv, contendedOrg, lastJson, sfbulk, tempDir, writeFile } from "./helpers.js"

let emu: Awaited<ReturnType<typeof Emulator.start>>
const parents: Array<string> = []

beforeAll(async () => {
  const org = await contendedOrg({ seed: 29, insertsPerSecond: 1500, prefix: "B9b parent" })
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

const uploaded = (path: string): number =>
  Fs.existsSync(path) ? (Fs.readFileSync(path, "utf8").match(/"stage":"uploaded"/g) ?? []).length : 0

describe("--order-by-parent auto with --mapping, killed, then resume --journal", () => {
  it("the journal records the mapped parent column; resume lands every row once with its own values", async () => {
    const dir = tempDir()
    const tag = "b9bmap"
    // input columns named otherwise than the fields: only the mapping says Acct is AccountId
    const csv = "Name,Acct,Notes\n" +
      Array.from({ length: 600 }, (_, i) => `${tag}-${i},${parents[i % 6]},"n, ""q"" ${i}"`).join("\n") + "\n"
    const file = writeFile(dir, "contacts.csv", csv)
    const mapping = writeFile(dir, "map.sdl", "Name=LastName\nAcct=AccountId\nNotes=Description\n")
    const journal = Path.join(dir, "import.jsonl")
    const env = cleanEnv({ SF_INSTANCE_URL: emu.instanceUrl, SF_ACCESS_TOKEN: emu.accessToken, TMPDIR: tempDir() })
    const child = spawn(process.execPath, [
      BIN,
      "import",
      "Contact",
      "-f",
      file,
      "--mapping",
      mapping,
      "--batch-size",
      "100",
      "--concurrency",
      "1",
      "--order-by-parent",
      "auto",
      "--journal",
      journal,
      "--results-dir",
      dir,
      "--quiet"
    ], { env, stdio: ["ignore", "pipe", "pipe"] })
    let stderr = ""
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d))
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
    for (let i = 0; i < 6000 && uploaded(journal) < 2 && child.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 5))
    }
    expect(uploaded(journal), stderr).toBeGreaterThanOrEqual(2)
    child.kill("SIGKILL")
    await exited
    expect(uploaded(journal)).toBeLessThan(6)
    const lines = Fs.readFileSync(journal, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l))
    expect(lines.filter((l) => Array.isArray(l.orderedBy))).toEqual([{ orderedBy: ["AccountId"] }])

    const resumed = await sfbulk(["resume", "--journal", journal, "--json"], { env, timeoutMs: 60_000 })
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(lastJson(resumed.stdout)).toMatchObject({ rowsRead: 600, failed: 0, unprocessed: 0 })
    const inOrg = landed(tag)
    expect(inOrg.size).toBe(600)
    for (let i = 0; i < 600; i++) expect(inOrg.get(`${tag}-${i}`)).toEqual([`${parents[i % 6]}|n, "q" ${i}`])
  }, 90_000)
})
