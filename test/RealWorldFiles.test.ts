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

const withEmulator = async <A>(f: (env: Record<string, string>, emu: Awaited<ReturnType<typeof Emulator.start>>) => Promise<A>): Promise<A> => {
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
          const back: Array<Account> = readCsv(out).map((r) => ({ Name: r.Name!, BillingCity: r.BillingCity!, Description: r.Description! }))
          expect(back.sort(byName)).toEqual([...accounts(f.nl)].sort(byName))
        })
      }, 60_000)
    }
  }
})
