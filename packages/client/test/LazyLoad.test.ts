/**
 * What importing the client loads: a program that gives `BulkClient.layer()` its own `HttpClient`
 * (fetch, say) never loads undici (about 20 MB of RSS and 100-200 ms of startup); the layers that
 * default to undici (`Bulk2.layer`, `Bulk1.layer`, `BulkClient.layerConfig`) load it when built.
 * Run in a fresh Node process: the test runner's own module graph says nothing about a user's.
 */
import { describe, expect, it } from "@effect/vitest"
import * as ChildProcess from "node:child_process"
import * as Path from "node:path"

const index = Path.join(__dirname, "..", "src", "index.ts")

// undici is CommonJS: once imported (through @effect/platform-node's NodeHttpClient) it is in require.cache
const script = `
import { createRequire } from "node:module"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
const require = createRequire(import.meta.url)
const undici = () => Object.keys(require.cache).some((k) => k.includes("/undici/"))
const { Bulk2, BulkClient, SalesforceAuth, Transport } = await import(${JSON.stringify(index)})
const auth = SalesforceAuth.fromSession({ instanceUrl: "https://acme.my.salesforce.com", accessToken: Redacted.make("t") })
const http = Layer.succeed(HttpClient.HttpClient, HttpClient.make(() => Effect.die("no request expected")))
const own = await Effect.runPromise(Effect.provide(BulkClient.BulkClient, BulkClient.layer().pipe(Layer.provide(auth), Layer.provide(http))))
const afterOwn = undici()
const t = await Effect.runPromise(Effect.provide(Transport.Transport, Bulk2.layer().pipe(Layer.provide(auth))))
console.log(JSON.stringify({ afterOwn, afterDefault: undici(), insert: typeof own.insert, apiVersion: t.apiVersion }))
`

describe("lazy loading", () => {
  it("BulkClient.layer() over the caller's HttpClient never loads undici; Bulk2.layer() loads it when built", () => {
    const out = ChildProcess.execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: Path.join(__dirname, ".."),
      encoding: "utf8"
    })
    const seen = JSON.parse(out.trim().split("\n").at(-1) ?? "{}")
    expect(seen).toEqual({ afterOwn: false, afterDefault: true, insert: "function", apiVersion: expect.any(String) })
  }, 60_000)
})
