/**
 * Breaking session 6's lazy loading (internal/nodeHttpClient.ts: the default layers import
 * `@effect/platform-node/NodeHttpClient` when built). Each case runs in a fresh Node process, so
 * the import really is the first one: several operations whose first calls run at once over
 * `BulkClient.layerConfig`, and an import that fails (a broken or missing install), which must
 * reach the caller with a message saying what to install.
 */
import { describe, expect, it } from "@effect/vitest"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const root = Path.join(__dirname, "..")
const client = Path.join(root, "packages", "client", "src", "index.ts")
const emulator = Path.join(root, "packages", "emulator", "src", "index.ts")

/** Runs an ES module script under tsx in a fresh process (cwd: the client package); its last stdout line as JSON. */
const runScript = (script: string, imports: ReadonlyArray<string> = []): any => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "b6lazy-"))
  try {
    const out = ChildProcess.execFileSync(process.execPath, [
      ...imports.flatMap((i) => ["--import", i]),
      "--import",
      "tsx",
      "--input-type=module",
      "-e",
      script
    ], {
      cwd: Path.join(root, "packages", "client"),
      encoding: "utf8",
      env: { ...process.env, TMPDIR: dir },
      timeout: 90_000
    })
    return JSON.parse(out.trim().split("\n").at(-1) ?? "{}")
  } finally {
    Fs.rmSync(dir, { recursive: true, force: true })
  }
}

describe("lazy loading in a fresh process", () => {
  it("first calls of a 2.0 ingest, a 1.0 ingest with a journal and a query at once over layerConfig: all land", () => {
    const seen = runScript(`
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Os from "node:os"
import * as Path from "node:path"
const { Emulator } = await import(${JSON.stringify(emulator)})
const emu = await Emulator.start({ latencyMs: 1 })
process.env.SF_INSTANCE_URL = emu.instanceUrl
process.env.SF_ACCESS_TOKEN = emu.accessToken
process.env.SF_API_VERSION = emu.apiVersion
emu.org.apply("insert", "Account", { Name: "lazyq-seed" })
const { BulkClient } = await import(${JSON.stringify(client)})
const poll = { pollSchedule: Schedule.spaced("20 millis") }
const rows = (tag) => Array.from({ length: 300 }, (_, i) => ({ Name: tag + "-" + i + " é😀" }))
const journal = Path.join(Os.tmpdir(), "j.jsonl")
const program = Effect.all([
  BulkClient.insert("Account", rows("lazy2"), { ...poll, api: "2.0" }),
  BulkClient.insert("Account", rows("lazy1"), { ...poll, api: "1.0", journal, batchSize: 70 }),
  Stream.runCollect(BulkClient.query("SELECT Name FROM Account WHERE Name = 'lazyq-seed'", { ...poll, api: "2.0" })),
  Stream.runCollect(BulkClient.query("SELECT Name FROM Account WHERE Name = 'lazyq-seed'", { ...poll, api: "1.0" }))
], { concurrency: "unbounded" })
const exit = await Effect.runPromiseExit(Effect.provide(program, BulkClient.layerConfig()))
const count = (tag) => { const q = emu.org.query("SELECT Name FROM Account WHERE Name LIKE '" + tag + "-%'"); return q.ok ? q.result.size : -1 }
await emu.close()
console.log(JSON.stringify(exit._tag === "Success"
  ? { ok: true, s2: exit.value[0].summary.succeeded, s1: exit.value[1].summary.succeeded, q2: exit.value[2].length, q1: exit.value[3].length, l2: count("lazy2"), l1: count("lazy1") }
  : { ok: false, cause: String(exit.cause) }))
`)
    expect(seen).toEqual({ ok: true, s2: 300, s1: 300, q2: 1, q1: 1, l2: 300, l1: 300 })
  }, 120_000)

  // FIND: internal/nodeHttpClient.ts loaded the module with `Effect.promise`, so a failed import died
  // with the loader's bare error. A broken install is not an error a program handles (before the lazy
  // load it failed the client's own import), so it stays a defect, but one whose message says what
  // to do: install @effect/platform-node, or give BulkClient.layer() an HttpClient of one's own.
  it("the undici module cannot be loaded: building the default layers dies with a message saying what to install", () => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "b6hooks-"))
    try {
      // a broken install: resolving @effect/platform-node/NodeHttpClient throws, as a missing package does
      const hooks = Path.join(dir, "hooks.mjs")
      Fs.writeFileSync(
        hooks,
        `export async function resolve(specifier, context, next) {
  if (specifier === "@effect/platform-node/NodeHttpClient") throw Object.assign(new Error("Cannot find package '@effect/platform-node'"), { code: "ERR_MODULE_NOT_FOUND" })
  return next(specifier, context)
}\n`
      )
      const register = Path.join(dir, "register.mjs")
      Fs.writeFileSync(register, `import { register } from "node:module"\nregister(${JSON.stringify("file://" + hooks)})\n`)
      const seen = runScript(
        `
import * as Effect from "effect/Effect"
import * as Cause from "effect/Cause"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
const { Bulk1, Bulk2, SalesforceAuth, Transport } = await import(${JSON.stringify(client)})
const auth = SalesforceAuth.fromSession({ instanceUrl: "https://acme.my.salesforce.com", accessToken: Redacted.make("t") })
const kind = async (layer) => {
  const exit = await Effect.runPromiseExit(Effect.provide(Effect.void, layer.pipe(Layer.provide(auth))))
  if (exit._tag === "Success") return "success"
  const f = Cause.failureOption(exit.cause)
  if (f._tag === "Some") return "failure:" + (f.value?._tag ?? typeof f.value)
  const d = Cause.dieOption(exit.cause)
  return d._tag === "Some" ? "defect:" + String(d.value?.message ?? d.value) : "other"
}
console.log(JSON.stringify({ bulk2: await kind(Bulk2.layer()), bulk1: await kind(Bulk1.layer()) }))
`,
        [register]
      )
      for (const seenBy of [seen.bulk2, seen.bulk1]) {
        expect(seenBy).toMatch(/^defect:sfbulk: cannot load @effect\/platform-node\/NodeHttpClient/)
        expect(seenBy).toContain("Cannot find package '@effect/platform-node'")
        expect(seenBy).toContain("Install @effect/platform-node")
        expect(seenBy).toContain("HttpClient layer of your own")
      }
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
