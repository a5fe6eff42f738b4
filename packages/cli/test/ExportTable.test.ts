/**
 * `sfbulk export --format table` (issue 16): an aligned table for reading, one line per row,
 * wide cells cut to fit; CSV stays the default.
 */
import { Emulator } from "@sfbulk/emulator"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { fitWidths, tableLine } from "../src/internal/report.js"
import { cleanEnv, sfbulk, tempDir, writeFile } from "./helpers.js"

type Handle = Awaited<ReturnType<typeof Emulator.start>>
let emu: Handle
let env: Record<string, string>

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 5, pageSize: 100 })
  env = cleanEnv({ SF_INSTANCE_URL: emu.instanceUrl, SF_ACCESS_TOKEN: emu.accessToken })
  // 250 rows (more than the 200 that set the widths); a long, multi-line description on one of
  // the first rows and a longer name after the first 200
  const rows = ["Name,Description"]
  for (let i = 0; i < 250; i++) {
    const name = i === 230 ? `Tbl ${"W".repeat(60)}` : `Tbl ${String(i).padStart(3, "0")}`
    const description = i === 1 ? `"${"long text ".repeat(40)}\nsecond line"` : `row ${i}`
    rows.push(`${name},${description}`)
  }
  const file = writeFile(tempDir(), "tbl.csv", rows.join("\n") + "\n")
  const r = await sfbulk(["import", "Account", "-f", file], { env })
  if (r.code !== 0) throw new Error(r.stderr)
})
afterAll(async () => {
  await emu?.close()
})

const SOQL = "SELECT Name, Description FROM Account WHERE Name LIKE 'Tbl%'"

describe("sfbulk export --format table", () => {
  it("prints one aligned line per row, cutting wide cells and line breaks to fit", async () => {
    const r = await sfbulk(["export", SOQL, "--format", "table"], { env })
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.trimEnd().split("\n")
    expect(lines.length).toBe(2 + 250)
    expect(lines[0]).toMatch(/^Name\s+Description$/)
    expect(lines[1]).toMatch(/^-+ {2}-+$/)
    // the second column starts at the same place on every line
    const at = lines[1]!.indexOf(" -") + 1
    for (const l of lines.slice(2)) {
      expect(l[at - 1], l).toBe(" ")
      expect(l[at], l).not.toBe(" ")
    }
    // nothing wider than the default width (not a terminal: 160)
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(160)
    const long = lines.find((l) => l.includes("long text"))!
    expect(long.endsWith("\u2026")).toBe(true)
    // a name wider than those of the first 200 rows is cut to the column, not shifting the table
    const wide = lines.find((l) => l.startsWith("Tbl W"))!
    expect(wide.slice(0, at - 2).endsWith("\u2026")).toBe(true)
  })

  it("csv stays the default, and an empty result still shows the columns", async () => {
    const csv = await sfbulk(["export", SOQL], { env })
    expect(csv.code, csv.stderr).toBe(0)
    expect(csv.stdout.split("\n")[0]).toBe("Name,Description")
    const none = await sfbulk(["export", "SELECT Id, Name FROM Account WHERE Name = 'nobody'", "--format", "table"], { env })
    expect(none.code, none.stderr).toBe(0)
    expect(none.stdout.split("\n")[0]).toMatch(/^Id\s+Name$/)
  })

  it("an unknown format is a usage error naming the choices", async () => {
    const r = await sfbulk(["export", SOQL, "--format", "xlsx"], { env })
    expect(r.code).toBe(2)
    expect(r.stdout + r.stderr).toMatch(/table/)
  })
})

describe("table layout", () => {
  it("fitWidths keeps natural widths that fit and narrows the widest columns otherwise", () => {
    expect(fitWidths([4, 10], 80)).toEqual([4, 10])
    expect(fitWidths([4, 100, 60], 50)).toEqual([4, 21, 21])
    // never below the minimum, even if the table is then wider than asked
    expect(fitWidths([30, 30, 30], 10)).toEqual([8, 8, 8])
  })

  it("tableLine cuts with an ellipsis and keeps a cell on one line", () => {
    expect(tableLine(["abcdefghij", "x"], [5, 1])).toBe("abcd\u2026  x")
    expect(tableLine(["a\nb", "c\td"], [3, 3])).toBe("a\u21b5b  c d")
  })
})
