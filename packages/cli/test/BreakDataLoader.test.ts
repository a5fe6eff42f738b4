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
