/**
 * What the object's describe gives the loading commands, through the real `sfbulk` executable
 * against the emulator: mapped fields checked before anything is sent, Data Loader's lookups fitted
 * to the object (a polymorphic one keeps its object type), and `--async` with `--mapping`,
 * `--date-format` and `--insert-nulls` (values checked in the org).
 */
import { Emulator } from "@sfbulk/emulator"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cleanEnv, lastJson, readCsv, sfbulk, tempDir, writeFile } from "./helpers.js"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let env: Record<string, string>
let leadId: string
let contactId: string
let accountId: string

beforeAll(async () => {
  emu = await Emulator.start({
    latencyMs: 5,
    data: {
      objects: [{
        name: "Visit__c",
        keyPrefix: "a0V",
        fields: [
          { name: "Name", type: "string", length: 80 },
          { name: "Day__c", type: "date" },
          { name: "Start__c", type: "datetime" },
          { name: "Note__c", type: "string", length: 255 },
          // polymorphic, as Task.WhoId (Contact or Lead) is on Salesforce
          { name: "Who__c", type: "reference", referenceTo: ["Contact", "Lead"], relationshipName: "Who" },
          { name: "Account__c", type: "reference", referenceTo: ["Account"], relationshipName: "Account__r" }
        ]
      }]
    }
  })
  env = cleanEnv({ SF_INSTANCE_URL: emu.instanceUrl, SF_ACCESS_TOKEN: emu.accessToken })
  const id = (o: ReturnType<typeof emu.org.apply>) => {
    if (!o.success) throw new Error(JSON.stringify(o))
    return o.id
  }
  leadId = id(emu.org.apply("insert", "Lead", { LastName: "Lee", Company: "L Co", Email: "lee@lead.example" }))
  contactId = id(emu.org.apply("insert", "Contact", { LastName: "Cole", Email: "cole@contact.example" }))
  accountId = id(emu.org.apply("insert", "Account", { Name: "Parent Co", ExternalId__c: "ACC-1" }))
})
afterAll(async () => {
  await emu?.close()
})

const sameId = (a: unknown, b: string) => String(a).slice(0, 15) === b.slice(0, 15)
const inserted = (out: string, dir: string) => readCsv(Path.join(dir, `${lastJson(out).jobIds[0]}-success.csv`))

describe("lookups in mappings", () => {
  it("Data Loader's Who:Lead-Email keeps its object (polymorphic); Account__r:Account-ExternalId__c drops it (not polymorphic)", async () => {
    const dir = tempDir()
    const csv = writeFile(dir, "in.csv", "Title,Person,Company Ext\nPoly Visit,lee@lead.example,ACC-1\n")
    // as Data Loader writes lookups: relationship\:object-field
    const sdl = writeFile(dir, "map.sdl", "Title=Name\nPerson=Who\\:Lead-Email\nCompany\\ Ext=Account__r\\:Account-ExternalId__c\n")
    for (const api of ["2", "1"]) {
      const r = await sfbulk(["import", "Visit__c", "--file", csv, "--mapping", sdl, "--api", api, "--json"], { env })
      expect(r.code, r.stderr).toBe(0)
      const row = inserted(r.stdout, dir)[0]!
      // the result file holds the headers as sent
      expect(Object.keys(row)).toEqual(["sf__Id", "sf__Created", "Name", "Lead:Who.Email", "Account__r.ExternalId__c"])
      const values = emu.org.get(row.sf__Id!)!.values
      expect(sameId(values["Who__c"], leadId)).toBe(true)
      expect(sameId(values["Account__c"], accountId)).toBe(true)
    }
  })

  it("a Bulk API polymorphic header in a CSV mapping passes through intact", async () => {
    const dir = tempDir()
    const csv = writeFile(dir, "in.csv", "title,person\nContact Visit,cole@contact.example\n")
    const map = writeFile(dir, "map.csv", "title,Name\nperson,Contact:Who.Email\n")
    const r = await sfbulk(["import", "Visit__c", "--file", csv, "--mapping", map, "--json"], { env })
    expect(r.code, r.stderr).toBe(0)
    expect(sameId(emu.org.get(inserted(r.stdout, dir)[0]!.sf__Id!)!.values["Who__c"], contactId)).toBe(true)
  })

  it("refuses, before sending anything, a mapped field the object lacks and a polymorphic lookup without its object (exit 6)", async () => {
    const dir = tempDir()
    const csv = writeFile(dir, "in.csv", "Title,Person\nNever,lee@lead.example\n")
    const jobs = emu.stats().byApi
    const before = jobs.bulk1 + jobs.bulk2
    const typo = await sfbulk(["import", "Visit__c", "--file", csv, "--mapping", writeFile(dir, "typo.sdl", "Title=Nmae\nPerson=\n")], {
      env
    })
    expect(typo.code).toBe(6)
    expect(typo.stderr).toContain("the mapping fills Nmae, but Visit__c has no field named Nmae")
    const untyped = await sfbulk([
      "import",
      "Visit__c",
      "--file",
      csv,
      "--mapping",
      writeFile(dir, "who.sdl", "Title=Name\nPerson=Who.Email\n")
    ], {
      env
    })
    expect(untyped.code).toBe(6)
    expect(untyped.stderr).toContain("may point to Contact or Lead: name the object, e.g. Contact:Who.Email")
    const after = emu.stats().byApi
    expect(after.bulk1 + after.bulk2).toBe(before)
    const q = emu.org.query("SELECT Id FROM Visit__c WHERE Name = 'Never'")
    expect(q.ok && q.result.size).toBe(0)
  })
})

describe("without a describe", () => {
  it("loads with the mapping unchecked, and says that its typed lookups are sent as written", async () => {
    const dir = tempDir()
    const csv = writeFile(dir, "in.csv", "Title,Person\nUndescribed,lee@lead.example\n")
    const sdl = writeFile(dir, "map.sdl", "Title=Name\nPerson=Lead\\:Who.Email\n")
    emu.setFaults({ limit: 1 }, { match: "^GET .*/describe$" })
    try {
      const r = await sfbulk(["import", "Visit__c", "--file", csv, "--mapping", sdl, "--json"], { env })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toContain("could not describe Visit__c")
      expect(r.stderr).toContain("Lead:Who.Email are sent as written")
      expect(sameId(emu.org.get(inserted(r.stdout, dir)[0]!.sf__Id!)!.values["Who__c"], leadId)).toBe(true)
    } finally {
      emu.setFaults(undefined)
    }
  })
})

describe("the journal", () => {
  it("keeps what the describe gave (date field types, fitted lookups), so a resume converts the same way without it", async () => {
    const dir = tempDir()
    const csv = writeFile(dir, "in.csv", "Title,When,Company Ext\nJournaled,05/06/2025,ACC-1\n")
    const sdl = writeFile(dir, "map.sdl", "Title=Name\nWhen=Day__c\nCompany\\ Ext=Account__r\\:Account-ExternalId__c\n")
    const journal = Path.join(dir, "j.jsonl")
    const r = await sfbulk([
      "import",
      "Visit__c",
      "--file",
      csv,
      "--mapping",
      sdl,
      "--date-format",
      "dd/MM/yyyy",
      "--journal",
      journal,
      "--json"
    ], {
      env
    })
    expect(r.code, r.stderr).toBe(0)
    const header = Fs.readFileSync(journal, "utf8").split("\n")[0]!
    const meta = JSON.parse(header).meta
    expect(meta?.transform?.fieldTypes, header).toMatchObject({ day__c: "date", start__c: "datetime" })
    expect(meta.transform.headers).toEqual({ "Account:Account__r.ExternalId__c": "Account__r.ExternalId__c" })
    expect(String(emu.org.get(inserted(r.stdout, dir)[0]!.sf__Id!)!.values["Day__c"])).toBe("2025-06-05")
  })
})

describe("--async with the transform flags", () => {
  it("maps, converts dates (types from the describe) and sets nulls while the rows stream to the job", async () => {
    for (const api of ["2", "1"]) {
      const make = (name: string) => {
        const o = emu.org.apply("insert", "Visit__c", { Name: name, Note__c: "old" })
        if (!o.success) throw new Error(JSON.stringify(o))
        return o.id
      }
      const a = make(`Async A ${api}`)
      const b = make(`Async B ${api}`)
      const dir = tempDir()
      const csv = writeFile(dir, "in.csv", `Key,When,Starts,Note\n${a},31/12/2024,31/12/2024 23:30,\n${b},01/01/2025,,kept\n`)
      const sdl = writeFile(dir, "map.sdl", "Key=Id\nWhen=Day__c\nStarts=Start__c\nNote=Note__c\n")
      const sub = await sfbulk([
        "update",
        "Visit__c",
        "--file",
        csv,
        "--async",
        "--api",
        api,
        "--mapping",
        sdl,
        "--date-format",
        "dd/MM/yyyy HH:mm",
        "--time-zone",
        "Europe/Paris",
        "--insert-nulls",
        "--json"
      ], { env })
      expect(sub.code, sub.stderr).toBe(0)
      const job = lastJson(sub.stdout).jobIds[0] as string
      const done = await sfbulk(["resume", job, "--results-dir", dir, "--json"], { env })
      expect(done.code, done.stderr).toBe(0)
      expect(lastJson(done.stdout)).toMatchObject({ succeeded: 2, failed: 0 })
      const va = emu.org.get(a)!.values
      const vb = emu.org.get(b)!.values
      expect(String(va["Day__c"])).toBe("2024-12-31")
      expect(String(va["Start__c"])).toMatch(/^2024-12-31T22:30:00(\.000)?(Z|\+0000)$/)
      // --insert-nulls: the empty Note cell cleared the field; an empty Starts cell too
      expect(va["Note__c"]).toBeNull()
      expect(String(vb["Day__c"])).toBe("2025-01-01")
      expect(vb["Note__c"]).toBe("kept")
    }
  })

  it("a date that does not read names its line and creates no job (exit 6)", async () => {
    const dir = tempDir()
    const csv = writeFile(dir, "in.csv", "Title,When\nFine,01/02/2024\nBad,2024-02-30\n")
    const sdl = writeFile(dir, "map.sdl", "Title=Name\nWhen=Day__c\n")
    for (const api of ["2", "1"]) {
      const before = emu.stats().byApi
      const r = await sfbulk([
        "import",
        "Visit__c",
        "--file",
        csv,
        "--async",
        "--api",
        api,
        "--mapping",
        sdl,
        "--date-format",
        "dd/MM/yyyy"
      ], {
        env
      })
      expect(r.code).toBe(6)
      expect(r.stderr).toContain("line 3")
      // the file's column, as the user finds it in the file, and the field it maps to
      expect(r.stderr).toContain("column When (Day__c)")
      const after = emu.stats().byApi
      expect(after.bulk1 + after.bulk2).toBe(before.bulk1 + before.bulk2)
    }
  })
})
