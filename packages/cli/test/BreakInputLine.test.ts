/**
 * Found by breaking (helper BREAKDATA): a value the client's checks refuse (a NUL character, a
 * field over 131,072 characters) was reported by the CLI as "Invalid input at row 0", the
 * record's 0-based position, which names no line of the file (and reads like the header). The CLI
 * now names the record and the line it ends on, counting lines inside quoted values, on every path.
 */
import { Emulator } from "@sfbulk/emulator"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cleanEnv, sfbulk, tempDir, writeFile } from "./helpers.js"

let emu: Awaited<ReturnType<typeof Emulator.start>>
beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 5 })
})
afterAll(async () => {
  await emu?.close()
})

describe("a value refused by the checks is named by its line in the file", () => {
  for (const api of ["1", "2"]) {
    for (const mode of [[], ["--async"]]) {
      it(`--api ${api} ${mode.join(" ")}: a NUL after a value spanning three lines is on line 5, and nothing is sent`, async () => {
        const dir = tempDir()
        const tag = `BreakLine${api}${mode.length}`
        const file = writeFile(dir, "in.csv", `Name,Description\n${tag} a,"one\ntwo\nthree"\n${tag} b,x\u0000y\n`)
        const env = cleanEnv({
          SF_INSTANCE_URL: emu.instanceUrl,
          SF_ACCESS_TOKEN: emu.accessToken,
          SFBULK_STATE_DIR: Path.join(dir, "state")
        })
        const r = await sfbulk(["import", "Account", "--file", file, "--api", api, ...mode], { env })
        expect(r.code).toBe(6)
        expect(r.stderr).toContain("line 5")
        expect(r.stderr).toContain("record 2")
        expect(r.stderr).toContain("NUL")
        expect(r.stderr).not.toContain("row 0")
        const q = emu.org.query(`SELECT Id FROM Account WHERE Name LIKE '${tag} %'`, { all: true })
        expect(q.ok && q.result.size).toBe(0)
      })
    }
  }
})

describe("UTF-16 without a byte-order mark", () => {
  it("is refused naming the encoding to pass (it was refused as a NUL in a value of column \"N a m e\"), then loads with --encoding utf-16le", async () => {
    const dir = tempDir()
    const tag = "BreakUtf16"
    const file = Path.join(dir, "in.txt")
    const Fs = await import("node:fs")
    Fs.writeFileSync(file, Buffer.from(`Name,Description\n${tag} 1,caf\u00e9\n`, "utf16le"))
    const env = cleanEnv({ SF_INSTANCE_URL: emu.instanceUrl, SF_ACCESS_TOKEN: emu.accessToken, SFBULK_STATE_DIR: Path.join(dir, "state") })
    const r = await sfbulk(["import", "Account", "--file", file], { env })
    expect(r.code).toBe(6)
    expect(r.stderr).toContain("--encoding utf-16le")
    const ok = await sfbulk(["import", "Account", "--file", file, "--encoding", "utf-16le", "--results-dir", dir], { env })
    expect(ok.code).toBe(0)
    const q = emu.org.query(`SELECT Description FROM Account WHERE Name = '${tag} 1'`, { all: true })
    expect(q.ok && q.result.size === 1 && q.result.row(0)[0]).toBe("caf\u00e9")
  })
})
