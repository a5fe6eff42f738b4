/**
 * Break session 7: response bodies (transport.ts) over undici and over fetch (`FetchHttpClient`),
 * against the emulator: answers stalled, cut and reset mid-body (gzip and not), a reader slower
 * than the idle timeout, a reader that stops early and the layer closed after it (no hang), and a
 * request whose every answer stalls (a typed TransportError once the retries are spent).
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Bulk2, BulkClient, Transport } from "../packages/client/src/index.js"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { authLayer, collect, type Emu, ownHttpClient, poll, startEmulator } from "./FaultsSupport.js"

let emu: Emu
const TAG = "b7t"
const N = 20_000
const description = (i: number) => `${"é😀,\"\r\n".repeat(i % 9)}${"d".repeat(i % 200)}#${i}`
const nameOf = (i: number) => `${TAG}-${String(i).padStart(6, "0")}`

beforeAll(async () => {
  emu = await startEmulator(81)
  for (let i = 0; i < N; i++) {
    const out = emu.org.apply("insert", "Account", { Name: nameOf(i), Description: description(i) })
    if (!out.success) throw new Error("seed failed")
  }
}, 120_000)
afterAll(async () => {
  await emu?.close()
})

const options: Transport.Options = {
  timeout: "5 seconds",
  idleTimeout: "400 millis",
  retrySchedule: Transport.defaultRetrySchedule({ initialDelay: "10 millis", maxDelay: "200 millis", maxRetries: 20, budget: "60 seconds" })
}

type Http = "undici" | "fetch" | "undici identity" | "own"
const httpLayer = (http: Http): Layer.Layer<HttpClient.HttpClient> =>
  http === "fetch"
    ? FetchHttpClient.layer
    : http === "own"
    // a client of the caller's own: answers handed on as web Responses of the raw (gzip) bytes,
    // which the transport gunzips itself (maybeGunzip)
    ? ownHttpClient
    : http === "undici"
    ? NodeHttpClient.layerUndici
    : Layer.effect(
      HttpClient.HttpClient,
      Effect.map(HttpClient.HttpClient, HttpClient.mapRequest(HttpClientRequest.setHeader("accept-encoding", "identity")))
    ).pipe(Layer.provide(NodeHttpClient.layerUndici))

const clientOver = (http: Http, opts: Transport.Options = options): Layer.Layer<BulkClient.BulkClient | Transport.Transport> =>
  Layer.effect(BulkClient.BulkClient, BulkClient.make).pipe(
    Layer.provideMerge(Transport.layer(opts)),
    Layer.provide(Layer.suspend(() => authLayer(emu))),
    Layer.provide(httpLayer(http))
  )

const SOQL = `SELECT Name, Description FROM Account WHERE Name LIKE '${TAG}-%'`
const RESULTS = "^GET (/services/data/[^/]+/jobs/query/[^/]+/results|/services/async/[^/]+/job/[^/]+/batch/[^/]+/result/[^/]+)$"
const faultsOf = () => {
  const f = emu.stats().faults
  return f["lost-answer"] + f.reset + f.stall
}

describe.each(["undici", "fetch", "undici identity", "own"] as const)("bodies over %s", (http) => {
  it.live(
    "query 2.0 and 1.0 with answers stalled, cut and reset mid-body: every row once, in order, values intact",
    () =>
      Effect.gen(function*() {
        const f0 = faultsOf()
        for (const api of ["2.0", "1.0"] as const) {
          emu.setFaults("lost-answer=0.25,reset=0.15,stall=0.15", { seed: 82, match: RESULTS })
          const rows = yield* collect(BulkClient.query(SOQL, { ...poll, api })).pipe(
            Effect.ensuring(Effect.sync(() => emu.setFaults(undefined)))
          )
          expect(rows.length).toBe(N)
          const names = rows.map((r) => r.Name)
          expect(new Set(names).size).toBe(N)
          const wrong = rows.filter((r) => r.Description !== description(Number(r.Name!.slice(TAG.length + 1))))
          expect(wrong.length).toBe(0)
        }
        expect(faultsOf()).toBeGreaterThan(f0)
      }).pipe(Effect.provide(clientOver(http))),
    240_000
  )

  it.live("a reader slower than the idle timeout (it waits 1 s, three times) is not cut off: every row", () =>
    Effect.gen(function*() {
      emu.setFaults(undefined)
      let n = 0
      yield* Stream.runForEach(BulkClient.query(SOQL, { ...poll, api: "2.0" }), () => {
        n++
        return n % 6_000 === 0 ? Effect.sleep("1 second") : Effect.void
      })
      expect(n).toBe(N)
    }).pipe(Effect.provide(clientOver(http))), 120_000)

  it.live(
    "a reader that stops early, then the layer is closed: no hang, and a new layer reads the whole query",
    () =>
      Effect.gen(function*() {
        emu.setFaults(undefined)
        for (const take of [1, 5_000, 19_999]) {
          const some = yield* collect(Stream.take(BulkClient.query(SOQL, { ...poll, api: "2.0" }), take)).pipe(
            Effect.provide(clientOver(http)),
            Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error(`stopping after ${take} rows hung`) })
          )
          expect(some.length).toBe(take)
        }
        const all = yield* collect(BulkClient.query(SOQL, { ...poll, api: "2.0" })).pipe(Effect.provide(clientOver(http)))
        expect(all.length).toBe(N)
      }),
    120_000
  )

  it.live("every answer of a request stalls mid-body: a typed TransportError once the retries are spent", () =>
    Effect.gen(function*() {
      const job = yield* Bulk2.createQueryJob({ query: SOQL, operation: "query" })
      emu.setFaults("stall=1", { seed: 83, match: "^GET /services/data/[^/]+/jobs/query/[^/]+$" })
      const err = yield* Effect.flip(Bulk2.getQueryJob(job.id)).pipe(Effect.ensuring(Effect.sync(() => emu.setFaults(undefined))))
      expect(err._tag).toBe("TransportError")
    }).pipe(
      Effect.provide(clientOver(http, {
        ...options,
        retrySchedule: Transport.defaultRetrySchedule({
          initialDelay: "10 millis",
          maxDelay: "50 millis",
          maxRetries: 2,
          budget: "20 seconds"
        })
      }))
    ), 60_000)
})
