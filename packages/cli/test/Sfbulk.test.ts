/**
 * End to end: the real `sfbulk` executable, spawned as a user runs it, against emulators started
 * here over real HTTP. Checks exit codes, result files, `--json` output and the store's contents.
 */
import { Emulator } from "@sfbulk/emulator"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BIN, cleanEnv, csvHeader, lastJson, readCsv, sfbulk, tempDir, writeFile } from "./helpers.js"

type Handle = Awaited<ReturnType<typeof Emulator.start>>

let emu: Handle
let slow: Handle
let held: Handle
let env: Record<string, string>
let slowEnv: Record<string, string>
let heldEnv: Record<string, string>

const loginEnv = (h: Handle) =>
  cleanEnv({
    SF_LOGIN_URL: h.loginUrl,
    SF_USERNAME: h.username,
    SF_PASSWORD: h.password,
    SF_SECURITY_TOKEN: h.securityToken,
    SF_CLIENT_ID: h.clientId,
    SF_CLIENT_SECRET: h.clientSecret
  })

beforeAll(async () => {
  // Two rows per query result page, so exports read several pages.
  emu = await Emulator.start({ latencyMs: 5, pageSize: 2 })
  // Jobs here take seconds, so a short --wait times out and resume has something to wait for.
  slow = await Emulator.start({ latencyMs: 5_000 })
  // Jobs here are not processed within a test's lifetime: they can be looked at and aborted.
  held = await Emulator.start({ latencyMs: 600_000 })
  env = loginEnv(emu)
  slowEnv = cleanEnv({ SF_INSTANCE_URL: slow.instanceUrl, SF_ACCESS_TOKEN: slow.accessToken })
  heldEnv = cleanEnv({ SF_INSTANCE_URL: held.instanceUrl, SF_ACCESS_TOKEN: held.accessToken })
})

afterAll(async () => {
  await emu?.close()
  await slow?.close()
  await held?.close()
})

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/)

const ACCOUNTS = [
  "Name,Industry,Description",
  "Acme,Energy,\"=HYPERLINK(\"\"http://evil.example\"\")\"",
  "Globex,Banking,plain",
  ",Retail,missing name",
  "Initech,Spaceflight,bad picklist",
  ""
].join("\n")

describe("sfbulk --help", () => {
  it("documents every command with an example", async () => {
    const root = await sfbulk(["--help"], { env })
    expect(root.code).toBe(0)
    for (const c of ["import", "update", "upsert", "delete", "hard-delete", "export", "job", "resume", "emulator"]) {
      expect(root.stdout).toContain(c)
    }
    const commands = [
      ["import"],
      ["update"],
      ["upsert"],
      ["delete"],
      ["hard-delete"],
      ["export"],
      ["job", "list"],
      ["job", "status"],
      ["job", "abort"],
      ["job", "results"],
      ["resume"],
      ["limits"],
      ["emulator"]
    ]
    // Four at a time: enough to be quick without starving a busy machine.
    const helps: Array<Awaited<ReturnType<typeof sfbulk>>> = []
    for (let i = 0; i < commands.length; i += 4) {
      helps.push(...(await Promise.all(commands.slice(i, i + 4).map((c) => sfbulk([...c, "--help"], { env })))))
    }
    helps.forEach((h, i) => {
      expect(h.code, commands[i]!.join(" ")).toBe(0)
      expect(h.stdout, commands[i]!.join(" ")).toMatch(/Example/)
      expect(h.stdout, commands[i]!.join(" ")).toContain(`$ sfbulk ${commands[i]![0]}`)
      // written to a pipe (and with NO_COLOR): plain text, no ANSI escapes
      expect(h.stdout, commands[i]!.join(" ")).not.toContain("\x1b[")
    })
  })
})

describe("sfbulk import", () => {
  it("writes success, failed and unprocessed files beside the input and exits 3 when rows fail", async () => {
    const dir = tempDir()
    const file = writeFile(dir, "accounts.csv", ACCOUNTS)
    const r = await sfbulk(["import", "Account", "--file", file, "--json"], { env })
    expect(r.code, r.stderr).toBe(3)
    const summary = lastJson(r.stdout)
    expect(summary).toMatchObject({
      ok: false,
      operation: "insert",
      api: "2.0",
      rowsRead: 4,
      succeeded: 2,
      failed: 2,
      unprocessed: 0,
      exitCode: 3
    })
    expect(summary.errorsByCode).toEqual({ REQUIRED_FIELD_MISSING: 1, INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: 1 })
    const job = summary.jobIds[0]
    expect(summary.files.success).toBe(Path.join(dir, `${job}-success.csv`))

    const ok = readCsv(summary.files.success)
    expect(ok.map((o) => o.Name).sort()).toEqual(["Acme", "Globex"])
    for (const o of ok) {
      expect(o.sf__Created).toBe("true")
      expect(emu.org.get(o.sf__Id!)?.values["Name"]).toBe(o.Name)
    }
    // The formula is neutralised in the result file, stored unchanged in Salesforce.
    const acme = ok.find((o) => o.Name === "Acme")!
    expect(acme.Description).toBe("'=HYPERLINK(\"http://evil.example\")")
    expect(emu.org.get(acme.sf__Id!)?.values["Description"]).toBe("=HYPERLINK(\"http://evil.example\")")

    const failed = readCsv(summary.files.failed)
    expect(failed.map((f) => f.sf__Error!.split(":")[0]).sort()).toEqual([
      "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
      "REQUIRED_FIELD_MISSING"
    ])
    expect(failed.map((f) => f.Description).sort()).toEqual(["bad picklist", "missing name"])
    expect(csvHeader(summary.files.unprocessed)).toEqual(["Name", "Industry", "Description"])
    expect(readCsv(summary.files.unprocessed)).toEqual([])
    noStack(r.stderr)
  })

  it("with --allow-partial exits 0; --api 1, --results-dir and --no-formula-guard are honoured", async () => {
    const dir = tempDir()
    const out = Path.join(dir, "results")
    const file = writeFile(dir, "accounts.csv", ACCOUNTS)
    const r = await sfbulk(
      ["import", "Account", "-f", file, "--api", "1", "--results-dir", out, "--no-formula-guard", "--allow-partial", "--json"],
      { env }
    )
    expect(r.code, r.stderr).toBe(0)
    const summary = lastJson(r.stdout)
    expect(summary).toMatchObject({ api: "1.0", succeeded: 2, failed: 2, exitCode: 0 })
    expect(summary.files.success.startsWith(out)).toBe(true)
    const acme = readCsv(summary.files.success).find((o) => o.Name === "Acme")!
    expect(acme.Description).toBe("=HYPERLINK(\"http://evil.example\")")
    expect(readCsv(summary.files.failed)).toHaveLength(2)
  })

  it("prints a human summary with the result file paths", async () => {
    const dir = tempDir()
    const file = writeFile(dir, "ok.csv", "Name\nSolo Corp\n")
    const r = await sfbulk(["import", "Account", "--file", file], { env })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/1 succeeded/)
    expect(r.stdout).toContain("-success.csv")
  })
})

describe("sfbulk upsert, update, delete, hard-delete", () => {
  it("upserts on an external id (2.0 and 1.0 Serial), reporting created vs updated", async () => {
    const dir = tempDir()
    const first = writeFile(dir, "a.csv", "ExternalId__c,Name\nUP-1,One\nUP-2,Two\n")
    const r1 = await sfbulk(["upsert", "Account", "--external-id", "ExternalId__c", "-f", first, "--json"], { env })
    expect(r1.code, r1.stderr).toBe(0)
    expect(lastJson(r1.stdout)).toMatchObject({ operation: "upsert", succeeded: 2, created: 2 })
    const second = writeFile(dir, "b.csv", "ExternalId__c,Name\nUP-1,One bis\nUP-3,Three\n")
    const r2 = await sfbulk(
      ["upsert", "Account", "--external-id", "ExternalId__c", "-f", second, "--api", "1", "--serial", "--batch-size", "1", "--json"],
      { env }
    )
    expect(r2.code, r2.stderr).toBe(0)
    const s2 = lastJson(r2.stdout)
    expect(s2).toMatchObject({ api: "1.0", succeeded: 2, created: 1 })
    expect(s2.batchIds).toHaveLength(2)
    const rows = readCsv(s2.files.success)
    const one = rows.find((x) => x.ExternalId__c === "UP-1")!
    expect(one.sf__Created).toBe("false")
    expect(emu.org.get(one.sf__Id!)?.values["Name"]).toBe("One bis")
  })

  it("updates by Id, deletes from standard input, hard-deletes", async () => {
    const dir = tempDir()
    const ins = await sfbulk(["import", "Account", "-f", writeFile(dir, "n.csv", "Name\nDel A\nDel B\nDel C\n"), "--json"], { env })
    expect(ins.code, ins.stderr).toBe(0)
    const ids = readCsv(lastJson(ins.stdout).files.success).map((r) => r.sf__Id!)

    const upd = await sfbulk(
      ["update", "Account", "-f", writeFile(dir, "u.csv", `Id,Name\n${ids[0]},Renamed\n`), "--api", "1", "--json"],
      { env }
    )
    expect(upd.code, upd.stderr).toBe(0)
    expect(emu.org.get(ids[0]!)?.values["Name"]).toBe("Renamed")

    const del = await sfbulk(["delete", "Account", "--file", "-", "--results-dir", dir, "--json"], {
      env,
      input: `Id\n${ids[0]}\n${ids[1]}\n`
    })
    expect(del.code, del.stderr).toBe(0)
    expect(lastJson(del.stdout)).toMatchObject({ operation: "delete", succeeded: 2 })
    expect(emu.org.get(ids[0]!)?.deleted).toBe(true)

    const hard = await sfbulk(["hard-delete", "Account", "-f", writeFile(dir, "h.csv", `Id\n${ids[2]}\n`), "--json"], { env })
    expect(hard.code, hard.stderr).toBe(0)
    expect(emu.org.get(ids[2]!)).toBeUndefined()
  })
})

describe("sfbulk export", () => {
  it("streams CSV, JSON and NDJSON; --all includes deleted rows; --api 1 with PK chunking", async () => {
    const dir = tempDir()
    const ins = await sfbulk(
      [
        "import",
        "Account",
        "-f",
        writeFile(dir, "e.csv", "Name,ExternalId__c\nExport One,EXP-1\nExport Two,EXP-2\nExport Three,EXP-3\n"),
        "--json"
      ],
      { env }
    )
    const ids = readCsv(lastJson(ins.stdout).files.success).map((r) => r.sf__Id!)
    await sfbulk(["delete", "Account", "-f", writeFile(dir, "d.csv", `Id\n${ids[2]}\n`)], { env })
    const soql = "SELECT Id, Name, ExternalId__c FROM Account WHERE Name LIKE 'Export%' ORDER BY ExternalId__c"

    const csvFile = Path.join(dir, "out.csv")
    const csv = await sfbulk(["export", soql, "-o", csvFile, "--json"], { env })
    expect(csv.code, csv.stderr).toBe(0)
    expect(lastJson(csv.stdout)).toMatchObject({ ok: true, rows: 2, format: "csv" })
    expect(readCsv(csvFile).map((r) => r.Name)).toEqual(["Export One", "Export Two"])

    const json = await sfbulk(["export", soql, "--format", "json"], { env })
    expect(json.code, json.stderr).toBe(0)
    expect(JSON.parse(json.stdout).map((r: any) => r.ExternalId__c)).toEqual(["EXP-1", "EXP-2"])

    const all = await sfbulk(["export", "--all", soql, "--format", "ndjson"], { env })
    expect(all.code, all.stderr).toBe(0)
    expect(all.stdout.trim().split("\n").map((l) => JSON.parse(l).Name)).toEqual(["Export One", "Export Two", "Export Three"])
    const parallel = await sfbulk(["export", "--all", soql, "--format", "ndjson", "--parallel"], { env })
    expect(parallel.code, parallel.stderr).toBe(0)
    expect(parallel.stdout).toBe(all.stdout)

    const q = writeFile(dir, "q.soql", "SELECT Id, Name FROM Account WHERE Name LIKE 'Export%'")
    const chunked = await sfbulk(["export", "--query-file", q, "--api", "1", "--pk-chunking", "-o", Path.join(dir, "c.ndjson")], { env })
    expect(chunked.code, chunked.stderr).toBe(0)
    expect(Fs.readFileSync(Path.join(dir, "c.ndjson"), "utf8").trim().split("\n")).toHaveLength(2)
  })
})

describe.concurrent("sfbulk --async, job, resume", () => {
  it("submits without waiting; status, list and results see it running; abort leaves its rows unprocessed", async () => {
    const dir = tempDir()
    const file = writeFile(dir, "held.csv", "Name\nHeld One\nHeld Two\n")
    const sub = await sfbulk(["import", "Account", "-f", file, "--async", "--json"], { env: heldEnv })
    expect(sub.code, sub.stderr).toBe(0)
    const job = lastJson(sub.stdout).jobIds[0] as string
    expect(job).toMatch(/^750/)

    const [status, early, list] = await Promise.all([
      sfbulk(["job", "status", job, "--json"], { env: heldEnv }),
      sfbulk(["job", "results", job], { env: heldEnv }),
      sfbulk(["job", "list", "--json"], { env: heldEnv })
    ])
    expect(status.code, status.stderr).toBe(0)
    expect(lastJson(status.stdout).job).toMatchObject({ id: job, object: "Account", operation: "insert", state: "UploadComplete" })
    expect(early.code, early.stderr).toBe(2)
    expect(early.stderr).toContain(`sfbulk resume ${job}`)
    expect(list.code, list.stderr).toBe(0)
    expect(lastJson(list.stdout).jobs.map((j: any) => j.id)).toContain(job)

    const aborted = await sfbulk(["job", "abort", job, "--json"], { env: heldEnv })
    expect(aborted.code, aborted.stderr).toBe(0)
    expect(lastJson(aborted.stdout).job.state).toBe("Aborted")
    const results = await sfbulk(["job", "results", job, "--results-dir", dir, "--json"], { env: heldEnv })
    expect(results.code, results.stderr).toBe(3)
    expect(lastJson(results.stdout)).toMatchObject({ succeeded: 0, failed: 0, unprocessed: 2 })
    expect(readCsv(Path.join(dir, `${job}-unprocessed.csv`)).map((r) => r.Name)).toEqual(["Held One", "Held Two"])
  })

  it("resume waits for an --async job and writes its result files; job results rewrites them", async () => {
    const dir = tempDir()
    const file = writeFile(dir, "async.csv", "Name,Industry\nAsync One,Energy\nAsync Two,Spaceflight\n")
    const sub = await sfbulk(["import", "Account", "-f", file, "--async", "--json"], { env: slowEnv })
    expect(sub.code, sub.stderr).toBe(0)
    const job = lastJson(sub.stdout).jobIds[0] as string
    const resumed = await sfbulk(["resume", job, "--results-dir", dir, "--json"], { env: slowEnv })
    expect(resumed.code, resumed.stderr).toBe(3)
    expect(lastJson(resumed.stdout)).toMatchObject({ succeeded: 1, failed: 1, unprocessed: 0 })
    expect(readCsv(Path.join(dir, `${job}-success.csv`)).map((r) => r.Name)).toEqual(["Async One"])
    expect(readCsv(Path.join(dir, `${job}-failed.csv`)).map((r) => r.Name)).toEqual(["Async Two"])

    const again = await sfbulk(["job", "results", job, "--results-dir", Path.join(dir, "again"), "--allow-partial", "--json"], {
      env: slowEnv
    })
    expect(again.code, again.stderr).toBe(0)
    expect(readCsv(Path.join(dir, "again", `${job}-success.csv`))).toHaveLength(1)
  })

  it("--async --api 1 submits a batch per --batch-size rows; resume rebuilds the result files", async () => {
    const dir = tempDir()
    const file = writeFile(dir, "async1.csv", "Name,Industry\nOne Async,Energy\nTwo Async,Spaceflight\nThree Async,Retail\n")
    const sub = await sfbulk(["import", "Account", "-f", file, "--async", "--api", "1", "--batch-size", "2", "--json"], { env: slowEnv })
    expect(sub.code, sub.stderr).toBe(0)
    const submitted = lastJson(sub.stdout)
    expect(submitted).toMatchObject({ api: "1.0", async: true, rowsUploaded: 3 })
    expect(submitted.batchIds).toHaveLength(2)
    const job = submitted.jobIds[0] as string
    const resumed = await sfbulk(["resume", job, "--results-dir", dir, "--json"], { env: slowEnv })
    expect(resumed.code, resumed.stderr).toBe(3)
    expect(lastJson(resumed.stdout)).toMatchObject({ api: "1.0", succeeded: 2, failed: 1, unprocessed: 0 })
    expect(readCsv(Path.join(dir, `${job}-success.csv`)).map((r) => r.Name)).toEqual(["One Async", "Three Async"])
    expect(readCsv(Path.join(dir, `${job}-failed.csv`)).map((r) => r.Name)).toEqual(["Two Async"])
  })

  it("--async reads the whole file before sending: a ragged last row or a header alone sends nothing (--allow-empty: exit 0, no job)", async () => {
    // an emulator of its own: its request counters see only this test
    const own = await Emulator.start({ latencyMs: 5_000 })
    try {
      const ownEnv = cleanEnv({ SF_INSTANCE_URL: own.instanceUrl, SF_ACCESS_TOKEN: own.accessToken })
      const dir = tempDir()
      const ragged = writeFile(dir, "ragged1.csv", "Name,Industry\nA,Energy\nB,Energy\nC,Energy,extra\n")
      const r = await sfbulk(["import", "Account", "-f", ragged, "--async", "--api", "1", "--batch-size", "1"], { env: ownEnv })
      expect(r.code).toBe(6)
      expect(r.stderr).toMatch(/line 4|row 4/)
      const headerFile = writeFile(dir, "header1.csv", "Name\n")
      for (const api of ["1", "2"]) {
        const header = await sfbulk(["import", "Account", "-f", headerFile, "--async", "--api", api], { env: ownEnv })
        expect(header.code).toBe(6)
        expect(header.stderr).toContain("has a header row but no records")
        const allowed = await sfbulk(["import", "Account", "-f", headerFile, "--async", "--api", api, "--allow-empty", "--json"], {
          env: ownEnv
        })
        expect(allowed.code, allowed.stderr).toBe(0)
        expect(lastJson(allowed.stdout)).toMatchObject({ jobIds: [], rowsUploaded: 0 })
      }
      // no job created, no batch added, on either API
      expect(own.stats().byApi.bulk1).toBe(0)
      expect(own.stats().byApi.bulk2).toBe(0)
    } finally {
      await own.close()
    }
  })

  it("job status and job results work on a Bulk API 1.0 job, rows matched to their results", async () => {
    const dir = tempDir()
    const file = writeFile(dir, "v1.csv", "Name,Industry\nV1 One,Energy\nV1 Two,Spaceflight\nV1 Three,Retail\n")
    const run = await sfbulk(["import", "Account", "-f", file, "--api", "1", "--batch-size", "2", "--allow-partial", "--json"], { env })
    expect(run.code, run.stderr).toBe(0)
    const job = lastJson(run.stdout).jobIds[0] as string
    const status = await sfbulk(["job", "status", job, "--json"], { env })
    expect(status.code, status.stderr).toBe(0)
    expect(lastJson(status.stdout).job).toMatchObject({ api: "1.0", id: job, recordsProcessed: 3, recordsFailed: 1 })
    expect(lastJson(status.stdout).job.batches).toMatchObject({ total: 2, completed: 2 })
    const out = Path.join(dir, "out")
    const results = await sfbulk(["job", "results", job, "--results-dir", out, "--json"], { env })
    expect(results.code, results.stderr).toBe(3)
    expect(lastJson(results.stdout)).toMatchObject({ api: "1.0", succeeded: 2, created: 2, failed: 1, unprocessed: 0 })
    const ok = readCsv(Path.join(out, `${job}-success.csv`))
    // batches are uploaded in parallel, so the job lists them (and the file holds them) in creation order
    expect(ok.map((r) => r.Name).sort()).toEqual(["V1 One", "V1 Three"])
    for (const r of ok) expect(emu.org.get(r.sf__Id!)?.values["Name"]).toBe(r.Name)
    const failed = readCsv(Path.join(out, `${job}-failed.csv`))
    expect(failed).toMatchObject([{ Name: "V1 Two", Industry: "Spaceflight" }])
    expect(failed[0]!.sf__Error).toMatch(/^INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:/)
  })

  it("--wait times out with exit 11 and a resume hint, and resume finishes the job", async () => {
    const dir = tempDir()
    const file = writeFile(dir, "w.csv", "Name\nWait One\n")
    const timed = await sfbulk(["import", "Account", "-f", file, "--wait", "1s"], { env: slowEnv })
    expect(timed.code, timed.stderr).toBe(11)
    // one command finishes the whole import (its journal), not one job
    const m = /sfbulk resume --journal (\S+)/.exec(timed.stderr)
    expect(m, timed.stderr).not.toBeNull()
    noStack(timed.stderr)
    const resumed = await sfbulk(["resume", "--journal", m![1]!, "--results-dir", dir, "--json"], { env: slowEnv })
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(lastJson(resumed.stdout)).toMatchObject({ succeeded: 1 })
    expect(readCsv(lastJson(resumed.stdout).files.success).map((r) => r.Name)).toEqual(["Wait One"])
  })
})

describe("bad input", () => {
  it("a missing file, an empty file, a ragged row, a header alone: exit 6, what to do, no stack trace; --allow-empty lets a header alone pass", async () => {
    const r = await sfbulk(["import", "Account", "--file", "/nonexistent/accounts.csv"], { env })
    expect(r.code).toBe(6)
    expect(r.stderr).toContain("does not exist")
    noStack(r.stderr)
    const dir = tempDir()
    const empty = await sfbulk(["import", "Account", "-f", writeFile(dir, "empty.csv", "")], { env })
    expect(empty.code).toBe(6)
    expect(empty.stderr).toContain("is empty")
    const ragged = await sfbulk(["import", "Account", "-f", writeFile(dir, "ragged.csv", "Name,Industry\nA,Energy\nB,Energy,extra\n")], {
      env
    })
    expect(ragged.code).toBe(6)
    expect(ragged.stderr).toMatch(/row 3|line 3/)
    const headerFile = writeFile(dir, "header.csv", "Name\n")
    const header = await sfbulk(["import", "Account", "-f", headerFile, "--json"], { env })
    expect(header.code).toBe(6)
    expect(header.stderr).toContain("has a header row but no records")
    noStack(header.stderr)
    const allowed = await sfbulk(["import", "Account", "-f", headerFile, "--allow-empty", "--json"], { env })
    expect(allowed.code, allowed.stderr).toBe(0)
    expect(lastJson(allowed.stdout)).toMatchObject({ rowsRead: 0, jobIds: [] })
  })

  it("bad credentials: exit 4", async () => {
    const r = await sfbulk(["export", "SELECT Id FROM Account"], { env: { ...env, SF_PASSWORD: "wrong" } })
    expect(r.code, r.stderr).toBe(4)
    expect(r.stderr).toMatch(/authentication/i)
    expect(r.stderr).not.toContain(emu.password)
    noStack(r.stderr)
  })

  it("credentials from flags work without any SF_* variable, and flags win over the environment", async () => {
    const flags = [
      "--login-url",
      emu.loginUrl,
      "--username",
      emu.username,
      "--password",
      emu.password,
      "--security-token",
      emu.securityToken
    ]
    const r = await sfbulk(["export", "SELECT Id FROM Account LIMIT 1", "--format", "ndjson", ...flags], { env: cleanEnv() })
    expect(r.code, r.stderr).toBe(0)
    const session = await sfbulk([
      "export",
      "SELECT Id FROM Account LIMIT 1",
      "--instance-url",
      emu.instanceUrl,
      "--access-token",
      emu.accessToken
    ], {
      env: cleanEnv({ SF_INSTANCE_URL: "http://127.0.0.1:9", SF_ACCESS_TOKEN: "stale" })
    })
    expect(session.code, session.stderr).toBe(0)
  })

  it("no credentials at all: exit 4 naming the variables and --emulator", async () => {
    const r = await sfbulk(["export", "SELECT Id FROM Account"], { env: cleanEnv() })
    expect(r.code).toBe(4)
    expect(r.stderr).toContain("SF_INSTANCE_URL")
    expect(r.stderr).toContain("--emulator")
  })

  it("an unknown object, an unknown CSV column and a malformed query each fail with their own code and a hint", async () => {
    const dir = tempDir()
    const obj = await sfbulk(["import", "Nope__c", "-f", writeFile(dir, "a.csv", "Name\nX\n")], { env })
    expect(obj.code, obj.stderr).toBe(7)
    expect(obj.stderr).toMatch(/Nope__c/)
    const col = await sfbulk(["import", "Account", "-f", writeFile(dir, "b.csv", "Name,Bogus__c\nX,Y\n"), "--json"], { env })
    expect([7, 9]).toContain(col.code)
    expect(col.stderr).toMatch(/Bogus__c/)
    expect(lastJson(col.stdout)).toMatchObject({ ok: false, exitCode: col.code })
    const q = await sfbulk(["export", "SELEKT Id FROM Account"], { env })
    expect([7, 9]).toContain(q.code)
    expect(q.stderr).toMatch(/MALFORMED_QUERY|malformed/i)
    for (const r of [obj, col, q]) noStack(r.stderr)
  })

  it("usage errors: exit 2", async () => {
    const dir = tempDir()
    const f = writeFile(dir, "a.csv", "Name\nX\n")
    const noExt = await sfbulk(["upsert", "Account", "-f", f], { env })
    expect(noExt.code).toBe(2)
    expect(noExt.stderr).toContain("--external-id")
    const unknownFlag = await sfbulk(["import", "Account", "-f", f, "--frobnicate"], { env })
    expect(unknownFlag.code).toBe(2)
    const badWait = await sfbulk(["import", "Account", "-f", f, "--wait", "soon"], { env })
    expect(badWait.code).toBe(2)
  })
})

describe("sfbulk emulator and --emulator", () => {
  it("sfbulk emulator prints its facts as one JSON line and stops on SIGINT", async () => {
    const child = spawn(process.execPath, [BIN, "emulator", "--port", "0", "--latency", "5"], { env: cleanEnv() })
    const facts = await new Promise<any>((resolve, reject) => {
      let out = ""
      child.stdout.setEncoding("utf8").on("data", (d) => {
        out += d
        if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]!))
      })
      child.on("error", reject)
      setTimeout(() => reject(new Error("no facts line")), 30_000)
    })
    for (const k of ["instanceUrl", "loginUrl", "accessToken", "username", "password", "securityToken", "clientId", "clientSecret"]) {
      expect(facts[k], k).toEqual(expect.any(String))
    }
    const r = await sfbulk(["export", "SELECT Id FROM Account", "--json", "-o", Path.join(tempDir(), "x.csv")], {
      env: cleanEnv({ SF_INSTANCE_URL: facts.instanceUrl, SF_ACCESS_TOKEN: facts.accessToken })
    })
    expect(r.code, r.stderr).toBe(0)
    const code = await new Promise<number | null>((resolve) => {
      child.on("close", resolve)
      child.kill("SIGINT")
    })
    expect(code).toBe(0)
  })

  it("--emulator runs a command against an embedded emulator", async () => {
    const dir = tempDir()
    const r = await sfbulk([
      "import",
      "Contact",
      "-f",
      writeFile(dir, "c.csv", "LastName,Email\nDoe,doe@example.com\n"),
      "--emulator",
      "--json"
    ], {
      env: cleanEnv()
    })
    expect(r.code, r.stderr).toBe(0)
    expect(lastJson(r.stdout)).toMatchObject({ succeeded: 1 })
  })
})
