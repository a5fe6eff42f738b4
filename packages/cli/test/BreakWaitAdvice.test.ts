/**
 * Found by breaking (helper BREAKDATA): when `--wait` ran out on a journaled import, the message
 * gave two conflicting pieces of advice: the client's "wait again with job id X to resume, or
 * abort it" (which finishes one job of several, or aborts one), then the one command that
 * finishes everything. Only the latter is printed now.
 */
import { Emulator } from "@sfbulk/emulator"
import * as Path from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import { cleanEnv, lastJson, sfbulk, tempDir, writeFile } from "./helpers.js"

let emu: Awaited<ReturnType<typeof Emulator.start>>
beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 1_500 })
})
afterAll(async () => {
  await emu?.close()
})

it("--wait running out prints one command to follow, and following it loads every row once", async () => {
  const dir = tempDir()
  const tag = "BreakWaitAdvice"
  const file = writeFile(dir, "in.csv", "Name\n" + Array.from({ length: 300 }, (_, i) => `${tag} ${i}`).join("\n") + "\n")
  const env = cleanEnv({ SF_INSTANCE_URL: emu.instanceUrl, SF_ACCESS_TOKEN: emu.accessToken, SFBULK_STATE_DIR: Path.join(dir, "state") })
  const r = await sfbulk([
    "import",
    "Account",
    "--file",
    file,
    "--api",
    "1",
    "--serial",
    "--batch-size",
    "100",
    "--wait",
    "200ms",
    "--results-dir",
    dir
  ], { env })
  expect(r.code).toBe(11)
  expect(r.stderr).not.toContain("wait again with job id")
  expect(r.stderr).not.toContain("abort it")
  const commands = r.stderr.match(/sfbulk resume --journal (\S+)/g) ?? []
  expect(commands).toHaveLength(1)
  const done = await sfbulk(["resume", "--journal", commands[0]!.split(" ").pop()!, "--json"], { env, timeoutMs: 60_000 })
  expect(done.code).toBe(0)
  expect(lastJson(done.stdout).succeeded).toBe(300)
  const q = emu.org.query(`SELECT Name FROM Account WHERE Name LIKE '${tag} %'`, { all: true })
  expect(q.ok && q.result.size).toBe(300)
}, 90_000)
