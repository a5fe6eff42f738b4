/**
 * Files as Data Loader users bring them (helper BREAK-B), through the real `sfbulk` executable
 * against the emulator: what Excel leaves in a `;` file is refused saying where and what to change.
 */
import { Emulator } from "@sfbulk/emulator"
import { afterAll, beforeAll, expect, it } from "vitest"
import { cleanEnv, sfbulk, tempDir, writeFile } from "./helpers.js"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let env: Record<string, string>

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 2 })
  env = cleanEnv({ SF_INSTANCE_URL: emu.instanceUrl, SF_ACCESS_TOKEN: emu.accessToken })
})
afterAll(async () => {
  await emu?.close()
})

it("an empty column name (Excel's trailing ;) is refused naming its position and what to do, nothing sent (exit 6)", async () => {
  const dir = tempDir()
  const csv = writeFile(dir, "excel.csv", "\uFEFFName;Industry;\r\nTrailing Co;Energy;\r\n")
  const before = emu.stats().byApi
  for (const api of ["1", "2"]) {
    const r = await sfbulk(["import", "Account", "--file", csv, "--api", api], { env })
    expect(r.code).toBe(6)
    expect(r.stderr).toContain(`empty column name (column 3 of 3, after "Industry")`)
    expect(r.stderr).toContain("delete it from the file (a trailing delimiter on each line)")
  }
  const after = emu.stats().byApi
  expect(after.bulk1 + after.bulk2).toBe(before.bulk1 + before.bulk2)
})

it("names the line an editor shows when values hold CRLF (as text areas exported from Salesforce do), nothing sent (exit 6)", async () => {
  const dir = tempDir()
  // header on line 1; the first record spans lines 2-4 (CRLF inside its quoted value); the bad date is on line 5
  const csv = writeFile(
    dir,
    "export.csv",
    "Name,Description,LastActivityDate\r\nOk,\"one\r\ntwo\r\nthree\",01/02/2024\r\nBad,x,2024-02-30\r\n"
  )
  const before = emu.stats().byApi
  for (const api of ["1", "2"]) {
    for (const mode of [[], ["--async"]]) {
      const r = await sfbulk([
        "import",
        "Account",
        "--file",
        csv,
        "--api",
        api,
        ...mode,
        "--date-format",
        "dd/MM/yyyy",
        "--date-fields",
        "LastActivityDate"
      ], { env })
      expect(r.code, r.stderr).toBe(6)
      expect(r.stderr).toContain("line 5 of")
    }
  }
  const after = emu.stats().byApi
  expect(after.bulk1 + after.bulk2).toBe(before.bulk1 + before.bulk2)
})
