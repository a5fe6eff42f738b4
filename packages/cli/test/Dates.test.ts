/**
 * `--date-format`, `--time-zone`, `--date-fields` through the real `sfbulk` executable against the
 * emulator (values checked in the org), and `export --time-zone`.
 */
import { Emulator } from "@sfbulk/emulator"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { compilePattern, readLocal, renderInZone, toUtc, twoDigitYear, zoneFormatter } from "../src/internal/transform.js"
import { cleanEnv, lastJson, readCsv, sfbulk, tempDir, writeFile } from "./helpers.js"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let env: Record<string, string>

beforeAll(async () => {
  emu = await Emulator.start({
    latencyMs: 5,
    data: {
      objects: [{
        name: "Meeting__c",
        keyPrefix: "a0M",
        fields: [
          { name: "Id", type: "id" },
          { name: "Name", type: "string", length: 80 },
          { name: "Day__c", type: "date" },
          { name: "Start__c", type: "datetime" }
        ]
      }]
    } as any
  })
  env = cleanEnv({ SF_INSTANCE_URL: emu.instanceUrl, SF_ACCESS_TOKEN: emu.accessToken })
})
afterAll(async () => {
  await emu?.close()
})

const utc = (pattern: string, zone: string, text: string) =>
  new Date(toUtc(zoneFormatter(zone), readLocal(compilePattern(pattern) as any, text)!)).toISOString()

describe("date patterns and zones", () => {
  it("reads day-first, month-first, 12-hour and month-name patterns; refuses days that do not exist", () => {
    expect(utc("dd/MM/yyyy HH:mm", "Europe/Paris", "31/12/2024 10:30")).toBe("2024-12-31T09:30:00.000Z")
    expect(utc("MM/dd/yyyy hh:mm a", "America/New_York", "07/04/2024 02:15 PM")).toBe("2024-07-04T18:15:00.000Z")
    expect(utc("dd MMM yyyy", "UTC", "05 Mar 2024")).toBe("2024-03-05T00:00:00.000Z")
    expect(readLocal(compilePattern("dd/MM/yyyy") as any, "31/02/2024")).toBeUndefined()
    expect(readLocal(compilePattern("dd/MM/yyyy") as any, "2024-02-01")).toBeUndefined()
    expect(compilePattern("dd/QQ/yyyy")).toMatch(/not a pattern letter/)
    // as Data Loader's SimpleDateFormat: one digit for MM/dd, fixed widths when fields touch
    expect(utc("dd/MM/yyyy", "UTC", "1/2/2024")).toBe("2024-02-01T00:00:00.000Z")
    expect(utc("yyyyMMdd", "UTC", "20240201")).toBe("2024-02-01T00:00:00.000Z")
  })

  it("reads two-digit years within 80 years before and 20 after today, as SimpleDateFormat", () => {
    expect(twoDigitYear(46, 2026)).toBe(2046)
    expect(twoDigitYear(47, 2026)).toBe(1947)
    expect(twoDigitYear(99, 2026)).toBe(1999)
    expect(twoDigitYear(5, 2026)).toBe(2005)
  })

  it("crosses daylight saving changes (the offset of that day, not of today)", () => {
    expect(utc("yyyy-MM-dd HH:mm", "Europe/Paris", "2024-03-31 01:30")).toBe("2024-03-31T00:30:00.000Z")
    expect(utc("yyyy-MM-dd HH:mm", "Europe/Paris", "2024-03-31 03:30")).toBe("2024-03-31T01:30:00.000Z")
    // 02:30 does not exist that night: read as the same wall time after the change
    expect(utc("yyyy-MM-dd HH:mm", "Europe/Paris", "2024-03-31 02:30")).toBe("2024-03-31T01:30:00.000Z")
    // 02:30 happens twice on 27 October: the second one (winter time), as Data Loader's
    // SimpleDateFormat reads it (checked with Java 17: 2024-10-27T01:30:00.000Z)
    expect(utc("yyyy-MM-dd HH:mm", "Europe/Paris", "2024-10-27 02:30")).toBe("2024-10-27T01:30:00.000Z")
    expect(utc("MM/dd/yyyy h:mm a", "America/New_York", "11/03/2024 1:30 AM")).toBe("2024-11-03T06:30:00.000Z")
    // southern hemisphere: summer time ends in April
    expect(utc("dd/MM/yyyy HH:mm", "Australia/Sydney", "07/04/2024 02:30")).toBe("2024-04-06T16:30:00.000Z")
    expect(utc("dd/MM/yyyy HH:mm", "Australia/Sydney", "06/10/2024 02:30")).toBe("2024-10-05T16:30:00.000Z")
  })

  it("reads month names whole or abbreviated, and nothing else", () => {
    expect(utc("d MMMM yyyy", "UTC", "31 December 2024")).toBe("2024-12-31T00:00:00.000Z")
    expect(utc("d MMM yyyy", "UTC", "31 December 2024")).toBe("2024-12-31T00:00:00.000Z")
    expect(utc("d MMMM yyyy", "UTC", "31 dec 2024")).toBe("2024-12-31T00:00:00.000Z")
    expect(readLocal(compilePattern("d MMMM yyyy") as any, "31 Decxyz 2024")).toBeUndefined()
    expect(readLocal(compilePattern("d MMM yyyy") as any, "1 Mayday 2024")).toBeUndefined()
  })

  it("renders an offset of local mean time to the second (export --time-zone)", () => {
    // Paris kept its mean time (+00:09:21) until 1911
    expect(renderInZone(zoneFormatter("Europe/Paris"), "1899-12-31T23:50:39.000Z")).toBe("1900-01-01T00:00:00.000+00:09:21")
    expect(renderInZone(zoneFormatter("Asia/Kolkata"), "2024-12-31T07:35:00.000Z")).toBe("2024-12-31T13:05:00.000+05:30")
  })
})

describe("sfbulk import --date-format", () => {
  it("sends dates as yyyy-MM-dd and datetimes in UTC, read in --time-zone", async () => {
    const dir = tempDir()
    const csv = writeFile(dir, "in.csv", "Name,Day__c,Start__c\nKickoff,31/12/2024,31/12/2024 23:30\nReview,01/07/2024,\n")
    const r = await sfbulk([
      "import",
      "Meeting__c",
      "--file",
      csv,
      "--json",
      "--date-format",
      "dd/MM/yyyy HH:mm",
      "--time-zone",
      "Asia/Tokyo",
      "--date-fields",
      "Day__c:date,Start__c"
    ], { env })
    expect(r.code, r.stderr).toBe(0)
    const rows = readCsv(Path.join(dir, `${lastJson(r.stdout).jobIds[0]}-success.csv`))
    // the date pattern has hours, but Day__c:date takes the date alone
    expect(rows.map((x) => [x.Day__c, x.Start__c])).toEqual([["2024-12-31", "2024-12-31T14:30:00.000Z"], ["2024-07-01", ""]])
    const kickoff = emu.org.get(rows[0]!.sf__Id!)!.values
    expect(String(kickoff["Day__c"])).toBe("2024-12-31")
    expect(String(kickoff["Start__c"])).toMatch(/^2024-12-31T14:30:00(\.000)?(Z|\+0000)$/)
  })

  it("refuses a cell that does not read, naming its line and column, sending nothing (exit 6)", async () => {
    const dir = tempDir()
    const csv = writeFile(dir, "in.csv", "Name,Day__c\nA,01/02/2024\n\"B\nstill B\",2024-02-30\n")
    const before = emu.org.count("Meeting__c")
    const r = await sfbulk(["import", "Meeting__c", "--file", csv, "--date-format", "dd/MM/yyyy", "--date-fields", "Day__c"], { env })
    expect(r.code).toBe(6)
    expect(r.stderr).toContain("line 4")
    expect(r.stderr).toContain("column Day__c")
    expect(r.stderr).toContain("2024-02-30")
    expect(emu.org.count("Meeting__c")).toBe(before)
  })

  it("refuses flag mistakes before logging in", async () => {
    const dir = tempDir()
    const csv = writeFile(dir, "in.csv", "Name,Day__c\nA,01/02/2024\n")
    const badFields = await sfbulk(["import", "Meeting__c", "--file", csv, "--date-format", "dd/MM/yyyy", "--date-fields", "Day__c:time"], {
      env
    })
    expect(badFields.code).toBe(2)
    expect(badFields.stderr).toContain("--date-fields")
    const zoneAlone = await sfbulk(["import", "Meeting__c", "--file", csv, "--time-zone", "Europe/Paris"], { env })
    expect(zoneAlone.code).toBe(2)
    expect(zoneAlone.stderr).toContain("--date-format")
    const badZone = await sfbulk([
      "import",
      "Meeting__c",
      "--file",
      csv,
      "--date-format",
      "dd/MM/yyyy",
      "--date-fields",
      "Day__c",
      "--time-zone",
      "Mars/Olympus"
    ], { env })
    expect(badZone.code).toBe(2)
    expect(badZone.stderr).toContain("Mars/Olympus")
  })

  it("applies the date fields after --mapping (named by their Salesforce field)", async () => {
    const dir = tempDir()
    const csv = writeFile(dir, "in.csv", "Title,When\nStandup,03/15/2025\n")
    const sdl = writeFile(dir, "m.sdl", "Title=Name\nWhen=Day__c\n")
    const r = await sfbulk([
      "import",
      "Meeting__c",
      "--file",
      csv,
      "--mapping",
      sdl,
      "--date-format",
      "MM/dd/yyyy",
      "--date-fields",
      "Day__c",
      "--json"
    ], { env })
    expect(r.code, r.stderr).toBe(0)
    const id = readCsv(Path.join(dir, `${lastJson(r.stdout).jobIds[0]}-success.csv`))[0]!.sf__Id!
    expect(String(emu.org.get(id)!.values["Day__c"])).toBe("2025-03-15")
  })
})

describe("sfbulk import --date-format without --date-fields", () => {
  it("converts the object's date and datetime fields, read from its describe", async () => {
    const dir = tempDir()
    const csv = writeFile(dir, "in.csv", "Name,Day__c,Start__c\nDescribed,31/01/2025,31/01/2025 09:00\n")
    const r = await sfbulk(["import", "Meeting__c", "--file", csv, "--json", "--date-format", "dd/MM/yyyy HH:mm", "--time-zone", "UTC"], {
      env
    })
    expect(r.code, r.stderr).toBe(0)
    const id = readCsv(Path.join(dir, `${lastJson(r.stdout).jobIds[0]}-success.csv`))[0]!.sf__Id!
    const values = emu.org.get(id)!.values
    // Day__c is a date field: the date alone, although the pattern has hours
    expect(String(values["Day__c"])).toBe("2025-01-31")
    expect(String(values["Start__c"])).toMatch(/^2025-01-31T09:00:00(\.000)?(Z|\+0000)$/)
  })

  it("--date-fields still overrides the field types", async () => {
    const dir = tempDir()
    // Name is a text field: named in --date-fields it is converted; Day__c, not named, is left as written
    const csv = writeFile(dir, "in.csv", "Name,Day__c\n02/03/2025,2025-03-04\n")
    const r = await sfbulk(["import", "Meeting__c", "--file", csv, "--json", "--date-format", "dd/MM/yyyy", "--date-fields", "Name"], {
      env
    })
    expect(r.code, r.stderr).toBe(0)
    const id = readCsv(Path.join(dir, `${lastJson(r.stdout).jobIds[0]}-success.csv`))[0]!.sf__Id!
    expect(emu.org.get(id)!.values["Name"]).toBe("2025-03-02")
    expect(String(emu.org.get(id)!.values["Day__c"])).toBe("2025-03-04")
  })

  it("a describe that fails asks for --date-fields and sends nothing (exit 6)", async () => {
    const dir = tempDir()
    const csv = writeFile(dir, "in.csv", "Name,Day__c\nNoDescribe,01/02/2024\n")
    const before = emu.org.count("Meeting__c")
    const jobsBefore = emu.stats().byApi.bulk2
    // the org refuses every describe (as for a user whose daily API allocation is spent, or without access)
    emu.setFaults({ limit: 1 }, { match: "^GET .*/describe$" })
    try {
      const r = await sfbulk(["import", "Meeting__c", "--file", csv, "--date-format", "dd/MM/yyyy"], { env })
      expect(r.code).toBe(6)
      expect(r.stderr).toContain("could not read the field types of Meeting__c")
      expect(r.stderr).toContain("--date-fields")
      expect(emu.org.count("Meeting__c")).toBe(before)
      expect(emu.stats().byApi.bulk2).toBe(jobsBefore)
    } finally {
      emu.setFaults(undefined)
    }
  })

  it("a file without any of the object's date fields is an input error, not a silent no-op", async () => {
    const dir = tempDir()
    const csv = writeFile(dir, "in.csv", "Name\nNo dates\n")
    const r = await sfbulk(["import", "Meeting__c", "--file", csv, "--date-format", "dd/MM/yyyy"], { env })
    expect(r.code).toBe(6)
    expect(r.stderr).toContain("none of the fields sent (Name) is a date or datetime field")
  })
})

describe("sfbulk export --time-zone", () => {
  it("renders datetimes as wall-clock time in the zone, with its offset", async () => {
    const dir = tempDir()
    const csv = writeFile(dir, "in.csv", "Name,Start__c\nZoned,2024-07-01T10:00:00.000Z\n")
    expect((await sfbulk(["import", "Meeting__c", "--file", csv, "--json"], { env })).code).toBe(0)
    const out = Path.join(dir, "out.csv")
    const r = await sfbulk([
      "export",
      "SELECT Name, Start__c FROM Meeting__c WHERE Name = 'Zoned'",
      "-o",
      out,
      "--time-zone",
      "Europe/Paris"
    ], { env })
    expect(r.code, r.stderr).toBe(0)
    expect(readCsv(out)).toEqual([{ Name: "Zoned", Start__c: "2024-07-01T12:00:00.000+02:00" }])
    expect(Fs.existsSync(out)).toBe(true)
  })
})
