/**
 * Delete by query (issue 16): `sfbulk delete|hard-delete <Object> --where "<condition>"` deletes
 * exactly the records the condition selects, `--dry-run` counts them, a run without a terminal
 * needs `--yes`, bad input is refused before anything is sent, and an interrupted run resumes on
 * the ids it queried (not on a fresh query).
 */
import { Emulator } from "@sfbulk/emulator"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BIN, cleanEnv, lastJson, readCsv, sfbulk, tempDir, writeFile } from "./helpers.js"

type Handle = Awaited<ReturnType<typeof Emulator.start>>
let emu: Handle
let slow: Handle

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 5 })
  // pieces wait 1.5 s before processing: a short --wait runs out on the delete
  slow = await Emulator.start({ latencyMs: 1_500 })
})
afterAll(async () => {
  await emu?.close()
  await slow?.close()
})

const envFor = (h: Handle, state = Path.join(tempDir(), "state")) =>
  cleanEnv({ SF_INSTANCE_URL: h.instanceUrl, SF_ACCESS_TOKEN: h.accessToken, SFBULK_STATE_DIR: state })

/** Inserts accounts named `names`; their ids by name. */
const seed = async (h: Handle, names: ReadonlyArray<string>): Promise<Map<string, string>> => {
  const dir = tempDir()
  const file = writeFile(dir, "seed.csv", `Name\n${names.join("\n")}\n`)
  const r = await sfbulk(["import", "Account", "-f", file, "--json"], { env: envFor(h) })
  expect(r.code, r.stderr).toBe(0)
  const ok = readCsv(lastJson(r.stdout).files.success)
  return new Map(ok.map((o) => [o.Name!, o.sf__Id!]))
}

const deleted = (h: Handle, id: string) => h.org.get(id)?.deleted === true

describe("sfbulk delete --where", () => {
  it("--dry-run counts the matching records and deletes nothing; without --yes and without a terminal it refuses", async () => {
    const ids = await seed(emu, ["DryTest 1", "DryTest 2", "DryTest 3", "DryKeep 1"])
    const dry = await sfbulk(["delete", "Account", "--where", "Name LIKE 'DryTest%'", "--dry-run", "--json"], { env: envFor(emu) })
    expect(dry.code, dry.stderr).toBe(0)
    expect(lastJson(dry.stdout)).toMatchObject({ ok: true, dryRun: true, matched: 3, object: "Account" })
    const text = await sfbulk(["delete", "Account", "--where", "Name LIKE 'DryTest%'", "--dry-run"], { env: envFor(emu) })
    expect(text.stdout).toMatch(/^3 Account record\(s\) match .*nothing deleted/m)

    const refused = await sfbulk(["delete", "Account", "--where", "Name LIKE 'DryTest%'"], { env: envFor(emu) })
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/not a terminal: pass --yes/)
    for (const id of ids.values()) expect(deleted(emu, id)).toBe(false)
  })

  it("--yes deletes exactly the matching records (streamed from a bulk query) and writes the result files", async () => {
    const ids = await seed(emu, ["WhereTest A", "WhereTest B", "WhereTest C", "WhereKeep A", "WhereKeep B"])
    const dir = tempDir()
    const state = Path.join(tempDir(), "state")
    const r = await sfbulk(["delete", "Account", "--where", "Name LIKE 'WhereTest%'", "--yes", "--json", "--results-dir", dir], {
      env: envFor(emu, state)
    })
    expect(r.code, r.stderr).toBe(0)
    const summary = lastJson(r.stdout)
    expect(summary).toMatchObject({ ok: true, operation: "delete", rowsRead: 3, succeeded: 3, failed: 0 })
    for (const [name, id] of ids) expect(deleted(emu, id), name).toBe(name.startsWith("WhereTest"))
    const success = readCsv(summary.files.success)
    expect(success.map((s) => s.Id).sort()).toEqual([...ids].filter(([n]) => n.startsWith("WhereTest")).map(([, id]) => id).sort())
    expect(Path.dirname(summary.files.success)).toBe(dir)
    // finished: neither the journal nor the spooled ids are left behind
    expect(Fs.existsSync(state) ? Fs.readdirSync(state) : []).toEqual([])
  })

  it("hard-delete --where with no match exits 0 and says there is nothing to delete", async () => {
    const r = await sfbulk(["hard-delete", "Account", "--where", "Name = 'No Such Account Anywhere'", "--yes"], { env: envFor(emu) })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/no Account record matches .*nothing to delete/)
  })

  it("bad input is refused before anything is sent (exit 6 or 2, saying what to change)", async () => {
    const env = cleanEnv({ SF_INSTANCE_URL: "http://127.0.0.1:9", SF_ACCESS_TOKEN: "x" })
    const ids = writeFile(tempDir(), "ids.csv", "Id\n001000000000001AAA\n")
    const cases: Array<[ReadonlyArray<string>, number, RegExp]> = [
      [["delete", "Account; DROP", "--where", "Name = 'x'", "--yes"], 6, /not an sObject API name/],
      [["delete", "Account", "--where", "  ", "--yes"], 6, /--where is empty/],
      [["delete", "Account", "--where", "WHERE Name = 'x'", "--yes"], 6, /without the word WHERE/],
      [["delete", "Account", "--where", "Name = 'x'", "--file", ids, "--yes"], 2, /either --file .* or --where/],
      [["delete", "Account", "--where", "Name = 'x'", "--yes", "--async"], 2, /drop --async/],
      [
        ["delete", "Account", "--where", "Name = 'x'", "--yes", "--journal", `${tempDir()}/j.jsonl`],
        2,
        /--journal does not go with --where/
      ],
      [["delete", "Account", "--dry-run"], 2, /go with --where/],
      [["hard-delete", "Account"], 2, /give --file ids.csv .* or --where/]
    ]
    for (const [args, code, message] of cases) {
      const r = await sfbulk(args, { env })
      expect(r.code, `${args.join(" ")}\n${r.stderr}`).toBe(code)
      expect(r.stderr, args.join(" ")).toMatch(message)
      // nothing reached the network: a refused connection would be exit 12
      expect(r.stderr).not.toMatch(/ECONNREFUSED|reach/)
    }
  })

  it("an interrupted delete by query resumes on the ids it queried, not on a new query", async () => {
    const ids = await seed(slow, ["ResumeDel 1", "ResumeDel 2", "ResumeDel 3"])
    const state = Path.join(tempDir(), "state")
    const env = envFor(slow, state)
    const dir = tempDir()
    const timed = await sfbulk(
      ["delete", "Account", "--where", "Name LIKE 'ResumeDel%'", "--yes", "--wait", "300ms", "--results-dir", dir],
      { env }
    )
    expect(timed.code, timed.stderr).toBe(11)
    const journal = /sfbulk resume --journal (\S+)/.exec(timed.stderr)?.[1]
    expect(journal, timed.stderr).toBeDefined()
    // the queried ids are kept privately for the resume
    const spool = Fs.readdirSync(state).filter((n) => n.endsWith(".query-ids.csv"))
    expect(spool.length).toBe(1)
    expect(Fs.statSync(Path.join(state, spool[0]!)).mode & 0o777).toBe(0o600)
    // a record matching the condition, created after the query: the resume must leave it alone
    const later = await seed(slow, ["ResumeDel later"])
    const resumed = await sfbulk(["resume", "--journal", journal!, "--json"], { env })
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(lastJson(resumed.stdout)).toMatchObject({ rowsRead: 3, succeeded: 3 })
    for (const id of ids.values()) expect(deleted(slow, id)).toBe(true)
    expect(deleted(slow, later.get("ResumeDel later")!)).toBe(false)
    expect(Fs.readdirSync(state)).toEqual([])
  }, 60_000)
})

// `script` (util-linux) runs the command on a pseudo-terminal: the confirmation question is asked
const hasScript = (() => {
  try {
    return Fs.existsSync("/usr/bin/script") && process.platform === "linux"
  } catch {
    return false
  }
})()

/** Runs sfbulk on a terminal (through `script`), typing `answer`. */
const onTerminal = (args: ReadonlyArray<string>, env: Record<string, string>, answer: string) =>
  new Promise<{ code: number; out: string }>((resolve, reject) => {
    const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`
    const command = [process.execPath, BIN, ...args].map(quote).join(" ")
    const child = spawn("/usr/bin/script", ["-qec", command, "/dev/null"], { env, stdio: ["pipe", "pipe", "pipe"] })
    let out = ""
    let asked = false
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`timed out:\n${out}`))
    }, 45_000)
    const onData = (d: Buffer) => {
      out += d.toString("utf8")
      // answer once the question is on the screen
      if (!asked && /\[y\/N\]/.test(out)) {
        asked = true
        child.stdin.write(answer)
      }
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, out })
    })
  })

describe.skipIf(!hasScript)("sfbulk delete --where on a terminal", () => {
  it("asks, showing the count; no deletes nothing (exit 2), yes deletes", async () => {
    const ids = await seed(emu, ["AskTest 1", "AskTest 2"])
    const env = envFor(emu)
    const args = ["delete", "Account", "--where", "Name LIKE 'AskTest%'", "--results-dir", tempDir()]
    const no = await onTerminal(args, env, "n\r")
    expect(no.out).toMatch(/Delete 2 Account record\(s\) to the recycle bin\? \[y\/N\]/)
    expect(no.code, no.out).toBe(2)
    expect(no.out).toMatch(/nothing was deleted/)
    for (const id of ids.values()) expect(deleted(emu, id)).toBe(false)
    const yes = await onTerminal(args, env, "y\r")
    expect(yes.code, yes.out).toBe(0)
    for (const id of ids.values()) expect(deleted(emu, id)).toBe(true)
  }, 60_000)
})
