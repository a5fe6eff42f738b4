/**
 * Files as Excel, PowerShell, LibreOffice and classic Mac OS save them (test/fixtures/real-world):
 * each imported through the real `sfbulk` executable on both APIs against an emulator, then exported
 * back; the values that come back are exactly those the file holds (accents, `€`, quotes, line
 * breaks inside values). Then the defects of issue 12, each as the user met it.
 */
import { CsvReader } from "@sfbulk/csv"
import { Emulator } from "@sfbulk/emulator"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { cleanEnv, lastJson, sfbulk, tempDir, writeFile } from "../packages/cli/test/helpers.js"
import { type Account, accounts, fixtures } from "./fixtures/real-world/values.js"

const corpus = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "fixtures/real-world")

/** Reads a UTF-8 CSV the way a strict reader does: records keyed by the header. */
const readCsv = (path: string, delimiter = ","): Array<Record<string, string>> => {
  const reader = CsvReader.makeRecords({ delimiter, encoding: "utf-8" })
  const out: Array<Record<string, string>> = []
  reader.push(Fs.readFileSync(path), (r) => void out.push(r))
  reader.end((r) => void out.push(r))
  return out
}

const byName = (a: { Name?: string }, b: { Name?: string }) => (a.Name ?? "").localeCompare(b.Name ?? "")

const withEmulator = async <A>(
  f: (env: Record<string, string>, emu: Awaited<ReturnType<typeof Emulator.start>>) => Promise<A>
): Promise<A> => {
  const emu = await Emulator.start({ latencyMs: 5 })
  try {
    return await f(cleanEnv({ SF_INSTANCE_URL: emu.instanceUrl, SF_ACCESS_TOKEN: emu.accessToken }), emu)
  } finally {
    await emu.close()
  }
}

const SOQL = "SELECT Name, BillingCity, Description FROM Account"

describe("files from Excel and other tools: imported on both APIs and exported back, values intact", () => {
  for (const f of fixtures) {
    for (const api of ["1", "2"] as const) {
      it(`${f.tool} (${f.file}), Bulk API ${api}`, async () => {
        await withEmulator(async (env) => {
          const dir = tempDir()
          const imported = await sfbulk(
            ["import", "Account", "-f", Path.join(corpus, f.file), ...f.flags, "--api", api, "--results-dir", dir, "--json"],
            { env }
          )
          expect(imported.code, imported.stderr).toBe(0)
          expect(lastJson(imported.stdout)).toMatchObject({ rowsRead: 4, succeeded: 4, failed: 0 })
          const out = Path.join(dir, "export.csv")
          const exported = await sfbulk(["export", SOQL, "--api", api, "-o", out], { env })
          expect(exported.code, exported.stderr).toBe(0)
          const back: Array<Account> = readCsv(out).map((r) => ({
            Name: r.Name!,
            BillingCity: r.BillingCity!,
            Description: r.Description!
          }))
          expect(back.sort(byName)).toEqual([...accounts(f.nl)].sort(byName))
        })
      }, 60_000)
    }
  }
})

describe("issue 12, as the user met it: refused before any request (exit 6, the line, what to do), or stored exactly", () => {
  it(
    "a windows-1252 file without --encoding: exit 6 naming line 2 and byte offset 8, suggesting --encoding windows-1252; with it, é is stored",
    async () => {
      await withEmulator(async (env, emu) => {
        const dir = tempDir()
        const file = Path.join(dir, "cafe.csv")
        Fs.writeFileSync(file, Buffer.from("Name\nCaf\xe9\n", "latin1"))
        for (const api of ["1", "2"]) {
          const r = await sfbulk(["import", "Account", "-f", file, "--api", api], { env })
          expect(r.code, r.stderr).toBe(6)
          expect(r.stderr).toContain("offset 8 (line 2)")
          expect(r.stderr).toContain("--encoding windows-1252")
        }
        expect(emu.stats().byApi.bulk1 + emu.stats().byApi.bulk2).toBe(0)
        const ok = await sfbulk(["import", "Account", "-f", file, "--encoding", "windows-1252", "--results-dir", dir], { env })
        expect(ok.code, ok.stderr).toBe(0)
        const out = Path.join(dir, "out.csv")
        expect((await sfbulk(["export", "SELECT Name FROM Account", "-o", out], { env })).code).toBe(0)
        expect(readCsv(out)).toEqual([{ Name: "Café" }])
      })
    },
    60_000
  )

  it("mixed line endings outside quotes: exit 6 naming the first line that differs, nothing sent", async () => {
    await withEmulator(async (env, emu) => {
      const dir = tempDir()
      const two = writeFile(dir, "two.csv", "Name,AccountNumber\nM4,m4\r\nM5,m5\n")
      const one = writeFile(dir, "one.csv", "Name\r\nfoo\nbar\r\n")
      for (const api of ["1", "2"]) {
        const r = await sfbulk(["import", "Account", "-f", two, "--api", api], { env })
        expect(r.code, r.stderr).toBe(6)
        expect(r.stderr).toContain("line 2 ends with CRLF but the lines before it end with LF")
        const r1 = await sfbulk(["import", "Account", "-f", one, "--api", api], { env })
        expect(r1.code, r1.stderr).toBe(6)
        expect(r1.stderr).toContain("line 2 ends with LF but the lines before it end with CRLF")
      }
      expect(emu.stats().byApi.bulk1 + emu.stats().byApi.bulk2).toBe(0)
    })
  }, 60_000)

  it(
    "a semicolon file is read by its header (or --delimiter semicolon); a header holding two candidates asks for --delimiter",
    async () => {
      await withEmulator(async (env) => {
        const dir = tempDir()
        const file = writeFile(dir, "semi.csv", "Name;Industry\nSemi A;Energy\n")
        const r = await sfbulk(["import", "Account", "-f", file, "--json"], { env })
        expect(r.code, r.stderr).toBe(0)
        expect(lastJson(r.stdout)).toMatchObject({ succeeded: 1, failed: 0 })
        const named = await sfbulk([
          "import",
          "Account",
          "-f",
          writeFile(dir, "semi2.csv", "Name;Industry\nSemi B;Energy\n"),
          "--delimiter",
          "semicolon",
          "--api",
          "1",
          "--json"
        ], { env })
        expect(named.code, named.stderr).toBe(0)
        const both = await sfbulk(["import", "Account", "-f", writeFile(dir, "both.csv", "Name;Industry,Phone\nx;y,z\n")], { env })
        expect(both.code).toBe(6)
        expect(both.stderr).toContain("pass --delimiter")
        const bad = await sfbulk(["import", "Account", "-f", file, "--delimiter", "semi"], { env })
        expect(bad.code).toBe(2)
        const enc = await sfbulk(["import", "Account", "-f", file, "--encoding", "latin9x"], { env })
        expect(enc.code).toBe(2)
        expect(enc.stderr).toContain("names no encoding")
      })
    },
    60_000
  )

  it("a delete-by-Id file with a blank line (or a one-column line holding \"\"): exit 6 naming the line, nothing deleted", async () => {
    await withEmulator(async (env, emu) => {
      const dir = tempDir()
      const blank = writeFile(dir, "ids.csv", "Id\n001000000000001AAA\n\n001000000000002AAA\n")
      const quoted = writeFile(dir, "names.csv", "Name\nfirst\n\"\"\nthird\n")
      for (const args of [[], ["--async"], ["--api", "1"], ["--async", "--api", "1"]]) {
        const r = await sfbulk(["delete", "Account", "-f", blank, ...args], { env })
        expect(r.code, r.stderr).toBe(6)
        expect(r.stderr).toContain("line 3 of")
        expect(r.stderr).toContain("Salesforce skips it")
        const q = await sfbulk(["import", "Account", "-f", quoted, ...args], { env })
        expect(q.code, q.stderr).toBe(6)
        expect(q.stderr).toContain("line 3 of")
        expect(q.stderr).toContain("holds an empty value, the only column")
      }
      expect(emu.stats().byApi.bulk1 + emu.stats().byApi.bulk2).toBe(0)
    })
  }, 60_000)

  it(
    "--async on both APIs checks every value first: a bad id, a NUL byte, an oversize field (from a file or standard input) send nothing, not even a job",
    async () => {
      await withEmulator(async (env, emu) => {
        const dir = tempDir()
        const cases = [
          { args: ["update"], text: "Id,Name\n001000000000001AAA,ok\n001abc,bad id\n", what: "is not a Salesforce id" },
          { args: ["import"], text: "Name,Description\nok,x\nnul,a\u0000b\n", what: "NUL character" },
          { args: ["import"], text: `Name,Description\nok,x\nbig,${"x".repeat(131_073)}\n`, what: "131,072" }
        ]
        for (const c of cases) {
          const file = writeFile(dir, `case-${cases.indexOf(c)}.csv`, c.text)
          for (const api of ["1", "2"]) {
            const r = await sfbulk([...c.args, "Account", "-f", file, "--async", "--api", api], { env })
            expect(r.code, r.stderr).toBe(6)
            expect(r.stderr).toContain(c.what)
            const piped = await sfbulk([...c.args, "Account", "-f", "-", "--async", "--api", api], { env, input: c.text })
            expect(piped.code, piped.stderr).toBe(6)
            expect(piped.stderr).toContain(c.what)
          }
        }
        expect(emu.stats().byApi.bulk1).toBe(0)
        expect(emu.stats().byApi.bulk2).toBe(0)
      })
    },
    120_000
  )

  it("a bare CR inside a value is quoted in result files and exports: the row is not split and =cmd stays inside its cell", async () => {
    await withEmulator(async (env) => {
      const dir = tempDir()
      const value = "x\r=cmd|' /C calc'!A0"
      const file = writeFile(dir, "cr.csv", `Name,Description\nbare cr,"${value}"\n`)
      for (const api of ["1", "2"]) {
        const r = await sfbulk(["import", "Account", "-f", file, "--api", api, "--results-dir", dir, "--json"], { env })
        expect(r.code, r.stderr).toBe(0)
        const success = Fs.readFileSync(lastJson(r.stdout).files.success, "utf8")
        expect(success).toContain(`"${value}"`)
      }
      const out = Path.join(dir, "out.csv")
      for (const api of ["1", "2"]) {
        expect(
          (await sfbulk(["export", "SELECT Name, Description FROM Account", "--api", api, "--formula-guard", "-o", out], { env })).code
        ).toBe(0)
        expect(Fs.readFileSync(out, "utf8")).toContain(`"${value}"`)
        expect(readCsv(out)).toEqual([{ Name: "bare cr", Description: value }, { Name: "bare cr", Description: value }])
      }
    })
  }, 60_000)

  it("export --delimiter writes the delimiter asked for (semicolon, tab)", async () => {
    await withEmulator(async (env) => {
      const dir = tempDir()
      const file = writeFile(dir, "d.csv", "Name,Description\n\"Delim; A\",\"tab\there\"\n")
      expect((await sfbulk(["import", "Account", "-f", file, "--results-dir", dir], { env })).code).toBe(0)
      for (const [flag, d] of [["semicolon", ";"], ["tab", "\t"], ["|", "|"]] as const) {
        const out = Path.join(dir, `out-${flag}.csv`)
        const r = await sfbulk(["export", "SELECT Name, Description FROM Account", "--delimiter", flag, "-o", out], { env })
        expect(r.code, r.stderr).toBe(0)
        expect(Fs.readFileSync(out, "utf8").split("\n")[0]).toBe(`Name${d}Description`)
        expect(readCsv(out, d)).toEqual([{ Name: "Delim; A", Description: "tab\there" }])
      }
    })
  }, 60_000)
})
