/**
 * `--target-org` (issue 16): the session comes from the Salesforce CLI. A stand-in `sf` on PATH
 * prints what `sf org display --json` and `sf org auth show-access-token --json` print, pointing
 * at an emulator; the access token is never printed; a missing `sf`, an unknown org and an
 * expired login each say what to do.
 */
import { Emulator } from "@sfbulk/emulator"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cleanEnv, lastJson, sfbulk, tempDir } from "./helpers.js"

type Handle = Awaited<ReturnType<typeof Emulator.start>>
let emu: Handle

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 5 })
})
afterAll(async () => {
  await emu?.close()
})

// Shaped as the Salesforce CLI prints them (plugin-org `org display`: result.{id, apiVersion,
// accessToken, instanceUrl, username, clientId, connectedStatus, alias}).
const display = (over: Record<string, unknown> = {}) => ({
  status: 0,
  result: {
    id: emu.orgId,
    apiVersion: "66.0",
    accessToken: emu.accessToken,
    instanceUrl: emu.instanceUrl,
    username: emu.username,
    clientId: "PlatformCLI",
    connectedStatus: "Connected",
    alias: "my-org",
    ...over
  },
  warnings: []
})

/** A directory holding a stand-in `sf` that logs its arguments and prints the given answers. */
const standIn = (answers: { readonly display: unknown; readonly displayExit?: number; readonly token?: unknown }) => {
  const dir = tempDir()
  Fs.writeFileSync(Path.join(dir, "display.json"), JSON.stringify(answers.display))
  Fs.writeFileSync(Path.join(dir, "token.json"), JSON.stringify(answers.token ?? { status: 1, message: "no" }))
  const script = [
    "#!/bin/sh",
    `echo "$@" >> "${dir}/calls.log"`,
    `if [ "$2" = "display" ]; then cat "${dir}/display.json"; exit ${answers.displayExit ?? 0}; fi`,
    `if [ "$2" = "auth" ]; then cat "${dir}/token.json"; exit 0; fi`,
    "exit 1"
  ].join("\n")
  Fs.writeFileSync(Path.join(dir, "sf"), script + "\n", { mode: 0o755 })
  return {
    env: cleanEnv({ PATH: `${dir}${Path.delimiter}${process.env["PATH"] ?? ""}` }),
    calls: () => (Fs.existsSync(Path.join(dir, "calls.log")) ? Fs.readFileSync(Path.join(dir, "calls.log"), "utf8") : "")
  }
}

const noToken = (r: { stdout: string; stderr: string }) => {
  expect(r.stdout).not.toContain(emu.accessToken)
  expect(r.stderr).not.toContain(emu.accessToken)
}

describe("--target-org", () => {
  it("uses the access token and instance URL sf org display reports", async () => {
    const sf = standIn({ display: display() })
    const r = await sfbulk(["limits", "--target-org", "my-org", "--json"], { env: sf.env })
    expect(r.code, r.stderr).toBe(0)
    expect(lastJson(r.stdout).limits.map((l: { name: string }) => l.name)).toContain("DailyBulkV2QueryJobs")
    expect(sf.calls().trim()).toBe("org display --target-org my-org --json")
    noToken(r)
  })

  it("takes the token from sf org auth show-access-token when org display redacts it", async () => {
    const sf = standIn({
      display: display({ accessToken: "[REDACTED] Use 'sf org auth show-access-token' to view" }),
      token: { status: 0, result: { accessToken: emu.accessToken } }
    })
    const r = await sfbulk(["export", "SELECT Id, Name FROM Account", "--target-org", "admin@example.com", "--format", "table"], {
      env: sf.env
    })
    expect(r.code, r.stderr).toBe(0)
    expect(sf.calls()).toContain("org auth show-access-token --target-org admin@example.com --json")
    noToken(r)
  })

  it("an expired sf login: exit 5, says to run sf org login web, prints no token", async () => {
    const sf = standIn({ display: display({ connectedStatus: "RefreshTokenAuthError" }) })
    const r = await sfbulk(["limits", "--target-org", "my-org"], { env: sf.env })
    expect(r.code, r.stderr).toBe(5)
    expect(r.stderr).toMatch(/RefreshTokenAuthError/)
    expect(r.stderr).toContain("sf org login web --alias my-org")
    expect(r.stderr).not.toMatch(/SalesforceAuth layer|Get a fresh access token/)
    noToken(r)
  })

  it("a token Salesforce no longer accepts: exit 5 and the same advice", async () => {
    const sf = standIn({ display: display({ accessToken: "00Dexpired!token" }) })
    const r = await sfbulk(["limits", "--target-org", "my-org"], { env: sf.env })
    expect(r.code, r.stderr).toBe(5)
    expect(r.stderr).toContain("sf org login web --alias my-org")
    expect(r.stderr).not.toContain("00Dexpired!token")
  })

  it("an org sf does not know: exit 2, naming sf's message and what to check", async () => {
    const sf = standIn({
      display: { status: 1, name: "NamedOrgNotFoundError", message: "No authorization information found for nope.", exitCode: 1 },
      displayExit: 1
    })
    const r = await sfbulk(["limits", "--target-org", "nope"], { env: sf.env })
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/No authorization information found for nope/)
    expect(r.stderr).toMatch(/sf org list/)
  })

  it("sf not installed: exit 2, saying how to install it", async () => {
    const r = await sfbulk(["limits", "--target-org", "my-org"], { env: cleanEnv({ PATH: tempDir() }) })
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/Salesforce CLI \(sf\), which was not found on PATH: install it/)
  })

  it("other credential flags with --target-org: exit 2, nothing run", async () => {
    const sf = standIn({ display: display() })
    const r = await sfbulk(["limits", "--target-org", "my-org", "--access-token", "abc", "--instance-url", emu.instanceUrl], {
      env: sf.env
    })
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/drop --instance-url, --access-token/)
    expect(sf.calls()).toBe("")
  })
})
