/**
 * `--file` naming a pipe (`--file <(command)`, a FIFO): it cannot be read twice (a resume reads the
 * input again), so it is refused before anything is sent with a message that says so and offers
 * standard input (which sfbulk copies); it was reported as "a directory".
 */
import { execFileSync } from "node:child_process"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"
import { cleanEnv, sfbulk, tempDir } from "./helpers.js"

describe("--file naming a pipe", () => {
  it.skipIf(process.platform === "win32")("is an input error saying to pipe it to standard input, not 'a directory'", async () => {
    const fifo = Path.join(tempDir(), "rows.csv")
    execFileSync("mkfifo", [fifo])
    // refused before logging in: nothing listens on this address
    const env = cleanEnv({ SF_INSTANCE_URL: "http://127.0.0.1:9", SF_ACCESS_TOKEN: "00Dx!unused" })
    const r = await sfbulk(["import", "Account", "--file", fifo], { env })
    expect(r.code).toBe(6)
    expect(r.stderr).toContain(`${fifo} is not a regular file`)
    expect(r.stderr).toContain("--file -")
    expect(r.stderr).not.toMatch(/directory/)
  })
})
