/**
 * Found by breaking (helper BREAKDATA): an import killed outright (SIGKILL) left its spool of
 * customer data (`$TMPDIR/sfbulk-*`, every piece of the input) behind for ever, even after
 * `sfbulk resume` had finished the import: nothing ever removed it. Now the spool of each run lives
 * in a directory recorded in the journal, and the next run of the journal removes what a killed
 * run left.
 */
import { Emulator } from "@sfbulk/emulator"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import { BIN, cleanEnv, lastJson, sfbulk, tempDir, writeFile } from "./helpers.js"

let emu: Awaited<ReturnType<typeof Emulator.start>>
beforeAll(async () => {
  // batches wait before processing, so the import is still running when it is killed
  emu = await Emulator.start({ latencyMs: 2_000 })
})
afterAll(async () => {
  await emu?.close()
})

/** Everything under `dir`, as paths relative to it. */
const listing = (dir: string): Array<string> => Fs.readdirSync(dir, { recursive: true }).map(String)

it("SIGKILL mid-import, then `sfbulk resume`: every row once, and no spool file is left in $TMPDIR", async () => {
  const dir = tempDir()
  const tmp = tempDir()
  const state = Path.join(dir, "state")
  const tag = "BreakSpool"
  const n = 600
  const file = writeFile(dir, "in.csv", "Name\n" + Array.from({ length: n }, (_, i) => `${tag} ${i}`).join("\n") + "\n")
  const env = cleanEnv({ SF_INSTANCE_URL: emu.instanceUrl, SF_ACCESS_TOKEN: emu.accessToken, SFBULK_STATE_DIR: state, TMPDIR: tmp })
  const args = [
    "import",
    "Account",
    "--file",
    file,
    "--api",
    "1",
    "--batch-size",
    "100",
    "--concurrency",
    "1",
    "--serial",
    "--results-dir",
    dir,
    "--json"
  ]
  // killed once the journal records a batch sent (the spool then holds the pieces still to send)
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ["ignore", "ignore", "ignore"] })
    const timer = setInterval(() => {
      const journals = Fs.existsSync(state) ? Fs.readdirSync(state).filter((f) => f.endsWith(".jsonl")) : []
      const sent = journals.some((j) => Fs.readFileSync(Path.join(state, j), "utf8").includes(`"stage":"uploaded"`))
      if (sent) child.kill("SIGKILL")
    }, 20)
    child.on("close", (c) => {
      clearInterval(timer)
      resolve(c)
    })
  })
  expect(code).toBeNull()
  expect(listing(tmp).some((p) => p.includes("piece-"))).toBe(true)

  const listed = lastJson((await sfbulk(["resume", "--json"], { env })).stdout)
  expect(listed.journals).toHaveLength(1)
  const done = await sfbulk(["resume", "--journal", listed.journals[0].journal, "--json"], { env, timeoutMs: 60_000 })
  expect(done.code).toBe(0)
  expect(lastJson(done.stdout).succeeded).toBe(n)

  const q = emu.org.query(`SELECT Name FROM Account WHERE Name LIKE '${tag} %'`, { all: true })
  if (!q.ok) throw new Error("query failed")
  const names = Array.from({ length: q.result.size }, (_, i) => String(q.result.row(i)[0]))
  expect(new Set(names).size).toBe(n)
  expect(names).toHaveLength(n)
  // the import is finished: neither its journal nor any spool of the killed run is left
  expect(listing(tmp)).toEqual([])
  expect(Fs.readdirSync(state).filter((f) => f.endsWith(".jsonl"))).toEqual([])
}, 90_000)
