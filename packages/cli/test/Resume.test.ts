/**
 * Interrupted imports (issue 11, items 1, 5-8): the real `sfbulk` stopped by `--wait`, SIGINT or
 * SIGTERM prints one command that finishes everything; that command sends what was never sent
 * and waits for every job; the spool of customer data is private and removed; output paths are
 * checked before anything is sent; an Open 2.0 job is not waited on forever; a failed 1.0 batch
 * leaves a file holding exactly the rows still to send.
 */
import { Emulator } from "@sfbulk/emulator"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BIN, cleanEnv, lastJson, readCsv, sfbulk, tempDir, writeFile } from "./helpers.js"

type Handle = Awaited<ReturnType<typeof Emulator.start>>
let slow: Handle
let fast: Handle

beforeAll(async () => {
  // pieces wait 1.5 s before processing: a short --wait runs out, a signal lands mid-run
  slow = await Emulator.start({ latencyMs: 1_500 })
  fast = await Emulator.start({ latencyMs: 5 })
})
afterAll(async () => {
  await slow?.close()
  await fast?.close()
})

const envFor = (h: Handle, extra: Record<string, string> = {}) =>
  cleanEnv({ SF_INSTANCE_URL: h.instanceUrl, SF_ACCESS_TOKEN: h.accessToken, SFBULK_STATE_DIR: Path.join(tempDir(), "state"), ...extra })

const rowsCsv = (tag: string, n: number) => "Name\n" + Array.from({ length: n }, (_, i) => `${tag} ${i}`).join("\n") + "\n"

/** How many times each `tag` row is in the org. */
const stored = (h: Handle, tag: string): Map<string, number> => {
  const q = h.org.query(`SELECT Name FROM Account WHERE Name LIKE '${tag} %'`, { all: true })
  if (!q.ok) throw new Error("query failed")
  const out = new Map<string, number>()
  for (let i = 0; i < q.result.size; i++) {
    const name = String(q.result.row(i)[0])
    out.set(name, (out.get(name) ?? 0) + 1)
  }
  return out
}

const expectEachOnce = (h: Handle, tag: string, n: number) => {
  const s = stored(h, tag)
  expect(s.size).toBe(n)
  expect([...s.values()].every((c) => c === 1)).toBe(true)
}

const RESUME = /sfbulk resume --journal (\S+)/g

describe("an interrupted import prints one command that finishes everything", () => {
  it("--wait running out on the first of three pieces: the printed command sends the other two and waits for all", async () => {
    const dir = tempDir()
    const tag = "WaitThree"
    const file = writeFile(dir, "in.csv", rowsCsv(tag, 300))
    const tmp = tempDir()
    const env = envFor(slow, { TMPDIR: tmp })
    const timed = await sfbulk([
      "import",
      "Account",
      "-f",
      file,
      "--serial",
      "--batch-size",
      "100",
      "--wait",
      "500ms",
      "--results-dir",
      dir
    ], { env })
    expect(timed.code, timed.stderr).toBe(11)
    // the spool of pieces not sent is removed (the input file is read again by the resume)
    expect(Fs.readdirSync(tmp)).toEqual([])
    const commands = [...timed.stderr.matchAll(RESUME)]
    expect(commands.length, timed.stderr).toBe(1)
    expect(timed.stderr).not.toMatch(/sfbulk resume 750/)
    const resumed = await sfbulk(["resume", "--journal", commands[0]![1]!, "--json"], { env })
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(lastJson(resumed.stdout)).toMatchObject({ rowsRead: 300, succeeded: 300 })
    expectEachOnce(slow, tag, 300)
    expect(readCsv(lastJson(resumed.stdout).files.success).length).toBe(300)
    // finished: the journal is removed
    expect(Fs.existsSync(commands[0]![1]!)).toBe(false)
  })

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`${signal} on standard input: the spool is private and removed, the copy of the input kept privately for the resume`, async () => {
      const tmp = tempDir()
      const state = Path.join(tempDir(), "state")
      const tag = `Sig${signal}`
      const env = envFor(slow, { TMPDIR: tmp, SFBULK_STATE_DIR: state })
      const child = spawn(process.execPath, [
        BIN,
        "import",
        "Account",
        "-f",
        "-",
        "--serial",
        "--batch-size",
        "100",
        "--results-dir",
        tmp,
        "--quiet"
      ], {
        env,
        stdio: ["pipe", "pipe", "pipe"]
      })
      let stderr = ""
      child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d))
      const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
      child.stdin.end(rowsCsv(tag, 300))
      // wait until the first piece is sent (the journal names its job); the spool's modes are read
      // as soon as it exists (on a loaded machine it may be gone by the time the journal is read)
      const modes: Array<{ readonly dir: boolean; readonly mode: number }> = []
      let sent = false
      for (let i = 0; i < 1200 && !(sent && modes.length > 0); i++) {
        for (const d of Fs.readdirSync(tmp).filter((n) => n.startsWith("sfbulk-"))) {
          try {
            // the pieces sit in the client's spool directory inside this run's own (sfbulk-run-*)
            const dir = Path.join(tmp, d)
            const entries = Fs.readdirSync(dir, { recursive: true }).map(String).map((f) => Fs.statSync(Path.join(dir, f)))
            if (entries.some((e) => e.isFile()) && modes.length === 0) {
              modes.push(
                { dir: true, mode: Fs.statSync(dir).mode & 0o777 },
                ...entries.map((e) => ({ dir: e.isDirectory(), mode: e.mode & 0o777 }))
              )
            }
          } catch {
            // removed while being read
          }
        }
        const journal = Fs.existsSync(state) ? Fs.readdirSync(state).find((n) => n.endsWith(".jsonl")) : undefined
        sent = journal !== undefined && Fs.readFileSync(Path.join(state, journal), "utf8").includes("jobId")
        if (!(sent && modes.length > 0)) await new Promise((r) => setTimeout(r, 10))
      }
      expect(modes.length).toBeGreaterThan(1)
      // directories 0700, files 0600
      for (const m of modes) expect(m.mode).toBe(m.dir ? 0o700 : 0o600)
      child.kill(signal)
      expect(await exited).toBe(130)
      // the spool of pieces is gone; the journal and the copy of standard input are kept, privately
      expect(Fs.readdirSync(tmp).filter((n) => n.startsWith("sfbulk-"))).toEqual([])
      expect(Fs.statSync(state).mode & 0o777).toBe(0o700)
      for (const f of Fs.readdirSync(state)) expect(Fs.statSync(Path.join(state, f)).mode & 0o777).toBe(0o600)
      const commands = [...stderr.matchAll(RESUME)]
      expect(commands.length, stderr).toBe(1)
      expect(stderr).toContain(state)
      const resumed = await sfbulk(["resume", "--journal", commands[0]![1]!, "--json"], { env })
      expect(resumed.code, resumed.stderr).toBe(0)
      expectEachOnce(slow, tag, 300)
      // finished: nothing of the input is left behind
      expect(Fs.readdirSync(state)).toEqual([])
      expect(Fs.readdirSync(tmp).filter((n) => n.startsWith("sfbulk-"))).toEqual([])
    }, 90_000)
  }

  it("a changed input is refused, naming the records that never reached Salesforce", async () => {
    const dir = tempDir()
    const tag = "Changed"
    const file = writeFile(dir, "in.csv", rowsCsv(tag, 300))
    const env = envFor(slow)
    const timed = await sfbulk([
      "import",
      "Account",
      "-f",
      file,
      "--serial",
      "--batch-size",
      "100",
      "--wait",
      "500ms",
      "--results-dir",
      dir
    ], { env })
    expect(timed.code, timed.stderr).toBe(11)
    const journal = [...timed.stderr.matchAll(RESUME)][0]![1]!
    // a journal in use by a live process is not resumed a second time at once
    Fs.writeFileSync(`${journal}.lock`, String(process.pid))
    const busy = await sfbulk(["resume", "--journal", journal], { env })
    expect(busy.code).toBe(6)
    expect(busy.stderr).toMatch(/is in use/)
    Fs.rmSync(`${journal}.lock`)
    Fs.appendFileSync(file, `${tag} extra\n`)
    const resumed = await sfbulk(["resume", "--journal", journal], { env })
    expect(resumed.code).toBe(6)
    expect(resumed.stderr).toMatch(/changed since the import started/)
    expect(resumed.stderr).toMatch(/never reached Salesforce: 101-300\./)
    expect(Fs.existsSync(journal)).toBe(true)
  })
})

describe("checks before anything is sent", () => {
  it("an unusable --results-dir is exit 6 before any row is sent", async () => {
    const dir = tempDir()
    const tag = "NoResultsDir"
    const file = writeFile(dir, "in.csv", rowsCsv(tag, 5))
    const notADir = writeFile(dir, "plain-file", "x")
    const r = await sfbulk(["import", "Account", "-f", file, "--results-dir", Path.join(notADir, "out")], { env: envFor(fast) })
    expect(r.code, r.stderr).toBe(6)
    expect(r.stderr).toMatch(/nothing was sent/)
    expect(stored(fast, tag).size).toBe(0)
  })
})

describe("sfbulk resume <job-id> on an Open 2.0 job", () => {
  it("says the job is Open and what to do, and exits non-zero instead of polling forever", async () => {
    const res = await fetch(`${fast.instanceUrl}/services/data/v66.0/jobs/ingest`, {
      method: "POST",
      headers: { authorization: `Bearer ${fast.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ object: "Account", operation: "insert" })
    })
    const job = (await res.json()) as { id: string }
    const r = await sfbulk(["resume", job.id], { env: envFor(fast), timeoutMs: 30_000 })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/is Open/)
    expect(r.stderr).toMatch(/sfbulk job abort/)
  })
})

describe("a failed 1.0 batch after others landed", () => {
  it("the advice sends nothing twice; after the printed command, landed rows plus the unprocessed file are the input exactly once", async () => {
    const emu = await Emulator.start({ latencyMs: 5, faults: { batchFail: 0.5 }, seed: 3 })
    try {
      const dir = tempDir()
      const tag = "BatchFail"
      const file = writeFile(dir, "in.csv", rowsCsv(tag, 400))
      const env = envFor(emu)
      const first = await sfbulk(["import", "Account", "-f", file, "--api", "1", "--serial", "--batch-size", "50", "--results-dir", dir], {
        env
      })
      expect(first.code, first.stderr).toBe(10)
      expect(first.stderr).not.toMatch(/add it again/)
      expect(first.stderr).toMatch(/\d+ row\(s\) in \d+ piece\(s\) reached Salesforce before this failure/)
      const journal = [...first.stderr.matchAll(RESUME)][0]?.[1]
      expect(journal, first.stderr).toBeDefined()
      emu.setFaults(undefined)
      const resumed = await sfbulk(["resume", "--journal", journal!, "--json"], { env })
      expect(resumed.code, resumed.stderr).toBe(3)
      const summary = lastJson(resumed.stdout)
      expect(summary.unprocessed).toBeGreaterThan(0)
      const landed = stored(emu, tag)
      expect([...landed.values()].every((c) => c === 1)).toBe(true)
      const unprocessed = readCsv(summary.files.unprocessed).map((r) => r.Name!)
      const success = readCsv(summary.files.success).map((r) => r.Name!)
      expect(success.length).toBe(landed.size)
      expect(new Set([...landed.keys(), ...unprocessed]).size).toBe(400)
      expect(landed.size + unprocessed.length).toBe(400)
    } finally {
      await emu.close()
    }
  })
})
