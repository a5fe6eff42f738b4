/**
 * Break session 9 (issue 15): `orderByParent: "auto"` reads the object's describe before the load.
 * A hostile network on that one request: a 5xx, a garbled body, an expired session, a stalled
 * answer. Each either recovers (the load lands once) or fails typed before any job exists; and
 * `summary.apiRequests` counts every request the operation made, the describe and its retries too.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Bulk1, BulkClient } from "../packages/client/src/index.js"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Fiber from "effect/Fiber"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fast, ingestJobCount, interleavedContacts, pacedEmulator, seedParents, type Emu } from "./EmulatorSupport.js"
import { authLayer, transportOptions } from "./FaultsSupport.js"

let emu: Emu
const parents: Array<string> = []

beforeAll(async () => {
  emu = await pacedEmulator({ insertsPerSecond: 4_000, parallelBatches: 4 })
  for (const id of seedParents(emu, 3, "B9D parent")) parents.push(id)
})
afterAll(async () => {
  await emu?.close()
})

type Fault = "503" | "garbled" | "expired" | "stall" | "html" | "no-lookups"

/** Per test: the faults the next describe requests meet (one each), and the API requests seen. */
const state = { faults: [] as Array<Fault>, requests: 0, describes: 0 }

const intercepting: Layer.Layer<HttpClient.HttpClient> = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(HttpClient.HttpClient, (inner) =>
    HttpClient.make((req) => {
      const url = new URL(req.url)
      // the login (OAuth) is not an API request
      if (!url.pathname.startsWith("/services/oauth2")) state.requests++
      if (!url.pathname.endsWith("/describe")) return inner.execute(req)
      state.describes++
      const fault = state.faults.shift()
      const answer = (status: number, body: string, type = "application/json") =>
        Effect.succeed(HttpClientResponse.fromWeb(req, new Response(body, { status, headers: { "content-type": type } })))
      switch (fault) {
        case undefined:
          return inner.execute(req)
        case "503":
          return answer(503, `[{"errorCode":"SERVER_UNAVAILABLE","message":"try later"}]`)
        case "garbled":
          return answer(200, `{"name":"Contact","fields":[{"name":"Id","ty`)
        case "html":
          return answer(200, `<html><body>Maintenance</body></html>`, "text/html")
        case "expired":
          return answer(401, `[{"errorCode":"INVALID_SESSION_ID","message":"Session expired or invalid"}]`)
        case "stall":
          return Effect.never
        case "no-lookups":
          // the object's describe as another user (field-level security) or API version may see it:
          // AccountId described as no lookup (a changed field)
          // asked unencoded: the transport would gunzip a gzip body itself
          return Effect.flatMap(inner.execute(HttpClientRequest.setHeader(req, "accept-encoding", "identity")), (res) =>
            Effect.flatMap(res.json, (body) => {
              const d = body as { fields: Array<{ name: string; type: string }> }
              const fields = d.fields.map((f) => (f.name === "AccountId" ? { ...f, type: "string", referenceTo: [] } : f))
              return answer(200, JSON.stringify({ ...d, fields }))
            }))
      }
    }))
).pipe(Layer.provide(NodeHttpClient.layerUndici))

const layer = () =>
  Layer.effect(BulkClient.BulkClient, BulkClient.make).pipe(
    Layer.provide(Bulk1.layerWithoutHttpClient(transportOptions)),
    Layer.provide(authLayer(emu)),
    Layer.provide(intercepting)
  )

const contacts = (tag: string) => Array.from({ length: 30 }, (_, i) => ({ LastName: `${tag}-${i}`, AccountId: parents[i % 3]! }))

const landed = (tag: string): number => {
  const q = emu.org.query(`SELECT Id FROM Contact WHERE LastName LIKE '${tag}-%'`)
  if (!q.ok) throw new Error(q.error.message)
  return q.result.size
}

const load = (tag: string, faults: ReadonlyArray<Fault>) =>
  Effect.gen(function*() {
    state.faults = [...faults]
    state.requests = 0
    state.describes = 0
    return yield* BulkClient.insert("Contact", contacts(tag), { ...fast, api: "2.0", batchSize: 100, orderByParent: "auto" }).pipe(
      Effect.provide(layer()),
      Effect.exit
    )
  })

describe("the describe of orderByParent auto on a hostile network", () => {
  for (const [fault, name] of [["503", "a 503"], ["expired", "an expired session"], ["stall", "a stalled answer"]] as const) {
    it.live(`${name} at the describe: retried, the load lands once, apiRequests counts every request`, () =>
      Effect.gen(function*() {
        const tag = `b9d${fault}`
        const exit = yield* load(tag, [fault])
        if (Exit.isFailure(exit)) throw new Error(Cause.pretty(exit.cause))
        expect(exit.value.summary).toMatchObject({ rowsRead: 30, succeeded: 30, failed: 0 })
        expect(landed(tag)).toBe(30)
        expect(state.describes).toBe(2)
        // What a user loses otherwise: a request figure short of what the org's allocation was charged
        expect(exit.value.summary.apiRequests).toBe(state.requests)
      }), 30_000)
  }

  for (const [fault, name] of [["garbled", "a cut JSON body"], ["html", "an HTML page"]] as const) {
    it.live(`${name} as the describe's answer: a typed error, no job created, nothing landed`, () =>
      Effect.gen(function*() {
        const tag = `b9d${fault}`
        const exit = yield* load(tag, [fault, fault, fault, fault, fault, fault, fault, fault, fault, fault, fault, fault, fault, fault])
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isSuccess(exit)) return
        // a failure (typed BulkError), not a defect
        expect(Cause.isDie(exit.cause), Cause.pretty(exit.cause)).toBe(false)
        const failure = Cause.failureOption(exit.cause)
        expect(failure._tag).toBe("Some")
        expect(landed(tag)).toBe(0)
        // the describe came before any job: only describe requests were made
        expect(state.requests).toBe(state.describes)
      }), 30_000)
  }

  it.live("without faults: apiRequests is every request the load made, the describe included", () =>
    Effect.gen(function*() {
      const tag = "b9dnone"
      const exit = yield* load(tag, [])
      if (Exit.isFailure(exit)) throw new Error(Cause.pretty(exit.cause))
      expect(state.describes).toBe(1)
      expect(exit.value.summary.apiRequests).toBe(state.requests)
    }), 30_000)
})

describe("a journaled auto load whose describe differs on the re-run", () => {
  // What a user loses: the same command re-run after an interruption sorts by what the describe
  // says THEN; when it differs (another user's field-level security, another API version, a field
  // changed by an admin) the journal's covered positions name other rows: duplicates and lost rows
  // under a clean summary. The journal could keep the parent columns it sorted by (or fail typed).
  it.live("every row once, or a typed error before any row is sent again", () =>
    Effect.gen(function*() {
      const tag = "b9djchg"
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-b9dj-"))
      const journal = Path.join(dir, "j.jsonl")
      const rows = interleavedContacts(tag, parents).map((r, i) => ({ ...r, Description: `v${i}` }))
      const options = { ...fast, api: "2.0" as const, batchSize: 100, concurrency: 1, orderByParent: "auto", journal }
      state.faults = []
      const fiber = yield* Effect.fork(Effect.provide(BulkClient.insert("Contact", rows, options), layer()))
      const uploaded = () => Fs.existsSync(journal) ? (Fs.readFileSync(journal, "utf8").match(/"stage":"uploaded"/g) ?? []).length : 0
      for (let i = 0; i < 3000 && uploaded() < 2; i++) yield* Effect.sleep("2 millis")
      yield* Fiber.interrupt(fiber)
      expect(uploaded()).toBeGreaterThanOrEqual(2)
      state.faults = ["no-lookups"]
      const before = yield* Effect.promise(() => ingestJobCount(emu))
      const rerun = yield* Effect.either(Effect.provide(BulkClient.insert("Contact", rows, options), layer()))
      Fs.rmSync(dir, { recursive: true, force: true })
      // the journal knows the order its positions are in: the re-run is refused before sending anything
      expect(rerun._tag).toBe("Left")
      if (rerun._tag === "Left") {
        expect(rerun.left._tag).toBe("InvalidInputError")
        expect(rerun.left.message).toMatch(/sorting by AccountId/)
        expect(yield* Effect.promise(() => ingestJobCount(emu))).toBe(before)
        return
      }
      const q = emu.org.query(`SELECT LastName FROM Contact WHERE LastName LIKE '${tag}-%'`)
      if (!q.ok) throw new Error(q.error.message)
      const counts = new Map<string, number>()
      for (let i = 0; i < q.result.size; i++) counts.set(String(q.result.row(i)[0]), (counts.get(String(q.result.row(i)[0])) ?? 0) + 1)
      const twice = [...counts.values()].filter((n) => n > 1).length
      const missing = rows.filter((r) => !counts.has(r.LastName)).length
      expect({ twice, missing }).toEqual({ twice: 0, missing: 0 })
    }), 60_000)
})
