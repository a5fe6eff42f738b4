/**
 * `--mapping`, `--insert-nulls` and `#N/A` through the real `sfbulk` executable against the emulator:
 * values checked in the org, bad mappings refused (exit 6) before anything is sent.
 */
import { Emulator } from "@sfbulk/emulator"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cleanEnv, lastJson, readCsv, sfbulk, tempDir, writeFile } from "./helpers.js"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let env: Record<string, string>

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 5 })
  env = cleanEnv({ SF_INSTANCE_URL: emu.instanceUrl, SF_ACCESS_TOKEN: emu.accessToken })
})
afterAll(async () => {
  await emu?.close()
})

const successIds = (out: string, dir: string): Array<Record<string, string>> => {
  const j = lastJson(out)
  return readCsv(Path.join(dir, `${j.jobIds[0]}-success.csv`))
}

describe("sfbulk import --mapping", () => {
  it("renames columns with a Data Loader .sdl file (comments, escapes, a dropped column, a constant)", async () => {
    const dir = tempDir()
    const csv = writeFile(dir, "in.csv", "Company Name,Sector:Main,Internal Note\nAcme,Energy,skip me\nGlobex,Banking,skip me too\n")
    // as Data Loader's Save Mapping writes it: a date comment, `\ ` and `\:` escapes
    const sdl = writeFile(
      dir,
      "map.sdl",
      "#Mapping values\n#Fri Dec 04 10:00:00 CET 2026\nCompany\\ Name=Name\nSector\\:Main=Industry\nInternal\\ Note=\n\"Imported by sfbulk\"=Description\n"
    )
    for (const api of ["2", "1"]) {
      const r = await sfbulk(["import", "Account", "--file", csv, "--mapping", sdl, "--api", api, "--json"], { env })
      expect(r.code, r.stderr).toBe(0)
      const rows = successIds(r.stdout, dir)
      expect(rows.map((x) => x.Name)).toEqual(["Acme", "Globex"])
      // the result files hold what was sent: the fields, not the CSV's columns
      expect(Object.keys(rows[0]!)).toEqual(["sf__Id", "sf__Created", "Name", "Industry", "Description"])
      const acme = emu.org.get(rows[0]!.sf__Id!)!.values
      expect([acme["Name"], acme["Industry"], acme["Description"]]).toEqual(["Acme", "Energy", "Imported by sfbulk"])
    }
  })

  it("reads a two-column CSV mapping (header optional, a constant row)", async () => {
    const dir = tempDir()
    const csv = writeFile(dir, "in.csv", "nom,secteur\nInitech,Energy\n")
    const map = writeFile(dir, "map.csv", "csv column,field\nnom,Name\nsecteur,Industry\n,Description,from the CSV mapping\n")
    const r = await sfbulk(["import", "Account", "--file", csv, "--mapping", map, "--json"], { env })
    expect(r.code, r.stderr).toBe(0)
    const id = successIds(r.stdout, dir)[0]!.sf__Id!
    expect(emu.org.get(id)!.values).toMatchObject({ Name: "Initech", Industry: "Energy", Description: "from the CSV mapping" })
  })

  it("refuses an unmapped column, and a mapping naming a column the file lacks, sending nothing (exit 6)", async () => {
    const dir = tempDir()
    const csv = writeFile(dir, "in.csv", "Company,Extra\nAcme,x\n")
    const before = emu.org.count("Account")
    const unmapped = await sfbulk(["import", "Account", "--file", csv, "--mapping", writeFile(dir, "a.sdl", "Company=Name\n")], { env })
    expect(unmapped.code).toBe(6)
    expect(unmapped.stderr).toContain(`"Extra"`)
    expect(unmapped.stderr).toContain("drop it")
    const missing = await sfbulk([
      "import",
      "Account",
      "--file",
      csv,
      "--mapping",
      writeFile(dir, "b.sdl", "Company=Name\nExtra=\nPhone=Phone\n")
    ], { env })
    expect(missing.code).toBe(6)
    expect(missing.stderr).toContain(`"Phone"`)
    const badFile = await sfbulk(["import", "Account", "--file", csv, "--mapping", Path.join(dir, "none.sdl")], { env })
    expect(badFile.code).toBe(6)
    expect(badFile.stderr).toContain("none.sdl")
    expect(emu.org.count("Account")).toBe(before)
  })

  it("refuses a mapping file that is not UTF-8 (a hand-written Windows-1252 .sdl), naming its line, sending nothing (exit 6)", async () => {
    const dir = tempDir()
    const csv = Path.join(dir, "in.csv")
    // the input itself is Windows-1252, read with --encoding; the mapping file is too, which it must not be
    Fs.writeFileSync(csv, Buffer.from("Soci\xe9t\xe9\r\nAcme Latin1\r\n", "latin1"))
    const sdl = Path.join(dir, "map.sdl")
    Fs.writeFileSync(sdl, Buffer.from("# mine\nSoci\xe9t\xe9=Name\n", "latin1"))
    const before = emu.org.count("Account")
    const r = await sfbulk(["import", "Account", "--file", csv, "--encoding", "windows-1252", "--mapping", sdl], { env })
    expect(r.code).toBe(6)
    expect(r.stderr).toContain("line 2 is not UTF-8 text")
    expect(r.stderr).toContain("\\u00e9")
    expect(emu.org.count("Account")).toBe(before)
    // written as Data Loader writes it (\u escapes), the same mapping loads
    Fs.writeFileSync(sdl, "# mine\nSoci\\u00e9t\\u00e9=Name\n")
    const ok = await sfbulk(["import", "Account", "--file", csv, "--encoding", "windows-1252", "--mapping", sdl], { env })
    expect(ok.code, ok.stderr).toBe(0)
    expect(emu.org.count("Account")).toBe(before + 1)
  })
})

describe("nulls", () => {
  it("#N/A sets a field to null; an empty cell leaves it unchanged, or sets null with --insert-nulls", async () => {
    const dir = tempDir()
    const ins = await sfbulk([
      "import",
      "Account",
      "--file",
      writeFile(dir, "a.csv", "Name,Industry,Description\nNully,Energy,keep\n"),
      "--json"
    ], { env })
    expect(ins.code, ins.stderr).toBe(0)
    const id = successIds(ins.stdout, dir)[0]!.sf__Id!
    // #N/A: refused before this change ("would be stored as null"), though the README promises it
    const na = await sfbulk(["update", "Account", "--file", writeFile(dir, "b.csv", `Id,Industry,Description\n${id},#N/A,\n`), "--json"], {
      env
    })
    expect(na.code, na.stderr).toBe(0)
    expect(emu.org.get(id)!.values).toMatchObject({ Industry: null, Description: "keep" })
    const nulls = await sfbulk([
      "update",
      "Account",
      "--file",
      writeFile(dir, "c.csv", `Id,Description\n${id},\n`),
      "--insert-nulls",
      "--json"
    ], { env })
    expect(nulls.code, nulls.stderr).toBe(0)
    expect(emu.org.get(id)!.values["Description"]).toBe(null)
  })

  it("states the rule in --help", async () => {
    const r = await sfbulk(["import", "--help"], { env })
    expect(r.stdout).toContain("--insert-nulls")
    expect(r.stdout).toMatch(/empty cell leaves the field\s+unchanged/)
  })
})

describe("resume", () => {
  it("an interrupted import resumes with the journal's mapping and settings, even with the mapping file gone", async () => {
    const slow = await Emulator.start({ latencyMs: 1_500 })
    try {
      const slowEnv = cleanEnv({ SF_INSTANCE_URL: slow.instanceUrl, SF_ACCESS_TOKEN: slow.accessToken })
      const dir = tempDir()
      const rows = Array.from({ length: 300 }, (_, i) => `Co ${i},x,`).join("\n")
      const csv = writeFile(dir, "in.csv", `Company,Junk,Note\n${rows}\n`)
      const sdl = writeFile(dir, "m.sdl", "Company=Name\nJunk=\nNote=Description\n\"resumed\"=Site\n")
      const timed = await sfbulk(
        [
          "import",
          "Account",
          "-f",
          csv,
          "--mapping",
          sdl,
          "--insert-nulls",
          "--serial",
          "--batch-size",
          "100",
          "--wait",
          "500ms",
          "--results-dir",
          dir
        ],
        { env: slowEnv }
      )
      expect(timed.code).toBe(11)
      const journal = /sfbulk resume --journal (\S+)/.exec(timed.stderr)![1]!
      Fs.rmSync(sdl)
      const resumed = await sfbulk(["resume", "--journal", journal, "--json"], { env: slowEnv, timeoutMs: 60_000 })
      expect(resumed.code, resumed.stderr).toBe(0)
      const out = readCsv(lastJson(resumed.stdout).files.success)
      expect(out.length).toBe(300)
      expect(Object.keys(out[0]!)).toEqual(["sf__Id", "sf__Created", "Name", "Description", "Site"])
      const last = slow.org.get(out.find((r) => r.Name === "Co 299")!.sf__Id!)!.values
      expect(last).toMatchObject({ Name: "Co 299", Description: null, Site: "resumed" })
    } finally {
      await slow.close()
    }
  }, 90_000)

  it("records the mapping (text and SHA-256) and the transform flags in the journal's header", async () => {
    const dir = tempDir()
    const csv = writeFile(dir, "in.csv", "Company\nHooli\n")
    const sdl = writeFile(dir, "m.sdl", "Company=Name\n")
    const journal = Path.join(dir, "j.jsonl")
    const r = await sfbulk(["import", "Account", "--file", csv, "--mapping", sdl, "--insert-nulls", "--journal", journal, "--json"], {
      env
    })
    expect(r.code, r.stderr).toBe(0)
    const meta = JSON.parse(Fs.readFileSync(journal, "utf8").split("\n")[0]!)
    const text = JSON.stringify(meta)
    expect(text).toContain("Company=Name")
    expect(text).toContain("\"insertNulls\":true")
    expect(text).toMatch(/"sha256":"[0-9a-f]{64}"/)
  })
})
