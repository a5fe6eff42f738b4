/**
 * The same signal delivered twice at once: `timeout`, a process manager or a wrapper script that
 * signals the whole process group (and its child directly) hands sfbulk SIGINT/SIGTERM twice in
 * the same instant, and a second signal ends the run at once (`process.exit`), skipping the
 * finalizers. The private spool directory (`$TMPDIR/sfbulk-run-*`: the `--order-by-parent` sort's
 * run files, the pieces, customer data) and the journal's lock must still be gone when the
 * process has exited; the journal itself is kept, and the import resumes to each row once.
 */
import { Emulator } from "@sfbulk/emulator"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BIN, cleanEnv, lastJson, sfbulk, tempDir, writeFile } from "./helpers.js"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let parent = ""

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 0 })
  const out = emu.org.apply("insert", "Account", { Name: "DoubleSignal parent" })
  if (!out.success) throw new Error("seed failed")
  parent = out.id
})
afterAll(async () => {
  await emu?.close()
})

/** Every path under `dir`. */
const under = (dir: string): Array<string> => Fs.readdirSync(dir, { recursive: true }).map(String)

// where the second signal lands (during the interruption, the cleanup, or the exit) depends on the gap
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  describe(`${signal} delivered twice at once`, () => {
    it.each([2, 10, 25, 50])(
      "(%i ms apart) leaves no temp file and no journal lock behind; the resume lands every row once",
      async (gap) => {
        const dir = tempDir()
        const tmp = Path.join(dir, "tmp")
        const state = Path.join(dir, "state")
        Fs.mkdirSync(tmp)
        const tag = `dsig${signal.slice(3).toLowerCase()}${gap}`
        // over 8 MiB: the sort spills run files to the spool directory before anything is sent
        const filler = "x".repeat(5_000)
        const csv = "LastName,AccountId,Description\n" +
          Array.from({ length: 2_400 }, (_, i) => `${tag}-${i},${i % 3 === 0 ? "" : parent},"${filler} ✓ ${i}"`).join("\n") + "\n"
        const file = writeFile(dir, "in.csv", csv)
        const env = cleanEnv({ SF_INSTANCE_URL: emu.instanceUrl, SF_ACCESS_TOKEN: emu.accessToken, TMPDIR: tmp, SFBULK_STATE_DIR: state })
        const child = spawn(process.execPath, [
          BIN,
          "import",
          "Contact",
          "-f",
          file,
          "--order-by-parent",
          "AccountId",
          "--batch-size",
          "500",
          "--results-dir",
          dir,
          "--quiet"
        ], { env, stdio: ["ignore", "pipe", "pipe"] })
        let stderr = ""
        child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d))
        const exited = new Promise<number | string | null>((resolve) => child.on("close", (code, sig) => resolve(code ?? sig)))
        // once the sort has written a run file (customer data on disk)
        for (let i = 0; i < 6000 && !under(tmp).some((p) => p.endsWith(".bin")) && child.exitCode === null; i++) {
          await new Promise((r) => setTimeout(r, 5))
        }
        expect(under(tmp).some((p) => p.endsWith(".bin")), stderr).toBe(true)
        child.kill(signal)
        // (two signals sent in the same instant merge into one pending signal: the second comes just after)
        await new Promise((r) => setTimeout(r, gap))
        child.kill(signal)
        const code = await exited
        // failed before: the spool directory (with the run files) and the lock were left behind
        expect(under(tmp), stderr).toEqual([])
        expect(Fs.existsSync(state) ? Fs.readdirSync(state).filter((n) => n.endsWith(".lock")) : []).toEqual([])
        // 130, or the second signal itself when it lands while Node is already exiting (a shell shows both as interrupted)
        expect([130, signal], stderr).toContain(code)
        // nothing sent: nothing to resume; else the resume finishes the import
        const journal = /sfbulk resume --journal (\S+)/.exec(stderr)?.[1]
        if (journal !== undefined) {
          const resumed = await sfbulk(["resume", "--journal", journal, "--json"], { env, timeoutMs: 60_000 })
          expect(resumed.code, resumed.stderr).toBe(0)
          expect(lastJson(resumed.stdout)).toMatchObject({ rowsRead: 2_400, succeeded: 2_400 })
          expect(under(tmp)).toEqual([])
        } else {
          expect(stderr).toMatch(/before anything was sent/)
        }
        const q = emu.org.query(`SELECT LastName FROM Contact WHERE LastName LIKE '${tag}-%'`)
        if (!q.ok) throw new Error(q.error.message)
        expect(q.result.size).toBe(journal === undefined ? 0 : 2_400)
      },
      90_000
    )
  })
}
