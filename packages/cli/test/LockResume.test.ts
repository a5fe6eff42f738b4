/**
 * `--retry-locked-rows` stopped during a follow-up round (issue 15): `sfbulk import` against the
 * emulator's realistic profile with lock contention (seeded) is killed (SIGKILL, SIGTERM) while
 * a follow-up round is being sent; `sfbulk resume --journal` then finishes the follow-up job,
 * merges its outcomes and goes on with the remaining rounds: each row lands once, the result files
 * hold every row once with its last attempt's outcome, and no row is left failed on a lock.
 */
import type { Emulator } from "@sfbulk/emulator"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BIN, cleanEnv, contendedOrg, lastJson, readCsv, sfbulk, tempDir, writeFile } from "./helpers.js"

let emu: Awaited<ReturnType<typeof Emulator.start>>
const parents: Array<string> = []

beforeAll(async () => {
  const org = await contendedOrg({ seed: 11, insertsPerSecond: 1500, prefix: "CliLock parent" })
  emu = org.emu
  for (const id of org.parents) parents.push(id)
})
afterAll(async () => {
  await emu?.close()
})

/** 600 Contacts whose parents interleave, so every parallel piece contends; one value has a comma, a quote and a line break. */
const contactsCsv = (tag: string) =>
  "LastName,AccountId,Description\n" +
  Array.from({ length: 600 }, (_, i) => `${tag}-${i},${parents[i % 6]},"line one, ""quoted""\nline two ✓ ${i}"`).join("\n") + "\n"

const landed = (tag: string): Map<string, number> => {
  const q = emu.org.query(`SELECT LastName, Description FROM Contact WHERE LastName LIKE '${tag}-%'`)
  if (!q.ok) throw new Error(q.error.message)
  const counts = new Map<string, number>()
  for (let i = 0; i < q.result.size; i++) {
    const [name, description] = q.result.row(i).map(String)
    expect(description).toBe(`line one, "quoted"\nline two ✓ ${name!.split("-").pop()}`)
    counts.set(name!, (counts.get(name!) ?? 0) + 1)
  }
  return counts
}

const followUpJournaled = (path: string): boolean =>
  Fs.existsSync(path) && Fs.readFileSync(path, "utf8").split("\n").some((l) => l.includes(`"jobId"`) && l.includes(`"round":1`))

for (const api of ["2.0", "1.0"] as const) {
  for (const signal of ["SIGKILL", "SIGTERM"] as const) {
    describe(`Bulk API ${api}, ${signal} during a lock follow-up round`, () => {
      it("resume finishes the follow-up job and the remaining rounds: every row once, its last outcome in the result files", async () => {
        const dir = tempDir()
        const tag = `clilk${api.replace(".", "")}${signal.slice(3, 6).toLowerCase()}`
        const file = writeFile(dir, "contacts.csv", contactsCsv(tag))
        const journal = Path.join(dir, "import.jsonl")
        const env = cleanEnv({ SF_INSTANCE_URL: emu.instanceUrl, SF_ACCESS_TOKEN: emu.accessToken, TMPDIR: tempDir() })
        const child = spawn(process.execPath, [
          BIN,
          "import",
          "Contact",
          "-f",
          file,
          "--api",
          api === "1.0" ? "1" : "2",
          "--batch-size",
          "100",
          "--concurrency",
          "4",
          "--retry-locked-rows",
          "4",
          "--journal",
          journal,
          "--results-dir",
          dir,
          "--quiet"
        ], { env, stdio: ["ignore", "pipe", "pipe"] })
        let stderr = ""
        child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d))
        const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
        for (let i = 0; i < 3000 && !followUpJournaled(journal) && child.exitCode === null; i++) {
          await new Promise((r) => setTimeout(r, 5))
        }
        expect(followUpJournaled(journal), stderr).toBe(true)
        child.kill(signal)
        const code = await exited
        if (signal === "SIGTERM") {
          expect(code, stderr).toBe(130)
          expect(stderr).toContain(`sfbulk resume --journal ${journal}`)
        }

        const resumed = await sfbulk(["resume", "--journal", journal, "--json"], { env, timeoutMs: 60_000 })
        expect(resumed.code, resumed.stderr).toBe(0)
        // it says what it did with the follow-up round
        expect(resumed.stderr).toMatch(/stopped during lock follow-up round \d+: its \d+ follow-up job/)
        const summary = lastJson(resumed.stdout)
        expect(summary).toMatchObject({ rowsRead: 600, succeeded: 600, failed: 0, unprocessed: 0 })
        const inOrg = landed(tag)
        expect(inOrg.size).toBe(600)
        expect([...inOrg.values()].every((n) => n === 1)).toBe(true)
        const ok = readCsv(summary.files.success)
        expect(ok.length).toBe(600)
        expect(new Set(ok.map((r) => r.LastName)).size).toBe(600)
        // the journal (given with --journal) records the follow-up round; it is the user's and kept
        expect(Fs.readFileSync(journal, "utf8")).toMatch(/"round":1/)
      }, 90_000)
    })
  }
}
