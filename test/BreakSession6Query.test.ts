/**
 * Breaking session 6's query path (pages downloaded as byte chunks, gunzipped by node:zlib, CSV
 * parsed straight to the channel by `mapChunksOrFail`, resumption after a dropped download on
 * `Stream.catchAll`, resumable.ts): every row once, in order, values intact across page and chunk
 * boundaries, gzip and identity answers, answers cut, reset or stalled, an early stop.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Bulk1, BulkClient } from "../packages/client/src/index.js"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { NodeHttpClient } from "@effect/platform-node"
import { authLayer, collect, type Emu, poll, startEmulator, transportOptions } from "./FaultsSupport.js"

let emu: Emu
const TAG = "b6q"
const N = 3_100
const PIECES = ["é", "€", "😀", "\r\n", "\"", ",", "a", "\n", "𝄞", "ß", " ", "\u00a0", "👩‍👩‍👧", "\"\""]
const description = (i: number): string => {
  let s = "y".repeat(i % 5)
  const n = i % 97 === 0 ? 9_000 : 5 + (i % 41)
  for (let k = 0; s.length < n; k++) s += PIECES[(i + k * 3) % PIECES.length]!
  return s
}
const expected = new Map<string, string>()

beforeAll(async () => {
  emu = await startEmulator(71)
  for (let i = 0; i < N; i++) {
    const name = `${TAG}-${String(i).padStart(5, "0")}`
    expected.set(name, description(i))
    const out = emu.org.apply("insert", "Account", { Name: name, Description: description(i) })
    if (!out.success) throw new Error("seed failed")
  }
})
afterAll(async () => {
  await emu?.close()
})

/** The client over the emulator; `identity`: the answers are asked for without gzip. */
const layer = (identity: boolean): Layer.Layer<BulkClient.BulkClient> => {
  const http = identity
    ? Layer.effect(
      HttpClient.HttpClient,
      Effect.map(HttpClient.HttpClient, HttpClient.mapRequest(HttpClientRequest.setHeader("accept-encoding", "identity")))
    ).pipe(Layer.provide(NodeHttpClient.layerUndici))
    : NodeHttpClient.layerUndici
  return Layer.effect(BulkClient.BulkClient, BulkClient.make).pipe(
    Layer.provide(Bulk1.layer(transportOptions)),
    Layer.provide(authLayer(emu)),
    Layer.provide(http)
  )
}

const SOQL = `SELECT Name, Description FROM Account WHERE Name LIKE '${TAG}-%'`
const RESULTS = "^GET (/services/data/[^/]+/jobs/query/[^/]+/results|/services/async/[^/]+/job/[^/]+/batch/[^/]+/result/[^/]+)$"

/** The rows as downloaded without faults (the order they must keep). */
const baseline = new Map<string, ReadonlyArray<string>>()

describe.each(
  [
    ["2.0", false],
    ["2.0", true],
    ["1.0", false],
    ["1.0", true]
  ] as const
)("query %s (identity answers: %s)", (api, identity) => {
  it.live("every row once, in order, values intact; then again with answers cut, reset and stalled", () =>
    Effect.gen(function*() {
      emu.setFaults("", { seed: 71 })
      const clean = yield* collect(BulkClient.query(SOQL, { ...poll, api }))
      expect(clean.length).toBe(N)
      const names = clean.map((r) => r.Name!)
      expect(new Set(names).size).toBe(N)
      const wrong = clean.filter((r) => expected.get(r.Name!) !== r.Description)
      expect(wrong.map((r) => r.Name)).toEqual([])
      const prior = baseline.get(api)
      if (prior === undefined) baseline.set(api, names)
      else expect(names).toEqual(prior)
      const f0 = emu.stats().faults
      emu.setFaults("lost-answer=0.3,reset=0.15,stall=0.15", { seed: 72, match: RESULTS })
      const faulted = yield* collect(BulkClient.query(SOQL, { ...poll, api })).pipe(
        Effect.ensuring(Effect.sync(() => emu.setFaults("", { seed: 71 })))
      )
      const f1 = emu.stats().faults
      expect(f1["lost-answer"] + f1.reset + f1.stall - f0["lost-answer"] - f0.reset - f0.stall).toBeGreaterThan(0)
      expect(faulted.map((r) => r.Name)).toEqual(names)
      expect(faulted.filter((r) => expected.get(r.Name!) !== r.Description).map((r) => r.Name)).toEqual([])
    }).pipe(Effect.provide(layer(identity))), 120_000)

  it.live("Stream.take stops early (mid-page, after a page, 0): the rows asked for; a later query is whole", () =>
    Effect.gen(function*() {
      emu.setFaults("", { seed: 71 })
      for (const n of [0, 1, 699, 700, 701, 1_850]) {
        const some = yield* collect(Stream.take(BulkClient.query(SOQL, { ...poll, api }), n))
        expect(some.length).toBe(n)
        expect(some.filter((r) => expected.get(r.Name!) !== r.Description)).toEqual([])
      }
      const all = yield* collect(BulkClient.query(SOQL, { ...poll, api }))
      expect(all.length).toBe(N)
    }).pipe(Effect.provide(layer(identity))), 120_000)
})

describe.each(["2.0", "1.0"] as const)("query %s downloads that never get through", (api) => {
  // (stall=1 is survived: each stalled answer brings part of the page, and the resume goes on from there)
  it.live.each(["lost-answer=1", "reset=1"])(
    "every result answer %s: the query gives up with a typed error",
    (spec) =>
      Effect.gen(function*() {
        emu.setFaults(spec, { seed: 73, match: RESULTS })
        const err = yield* Effect.flip(collect(BulkClient.query(SOQL, { ...poll, api }))).pipe(
          Effect.ensuring(Effect.sync(() => emu.setFaults("", { seed: 71 })))
        )
        expect(Array.isArray(err) ? "succeeded" : err._tag).toBe("TransportError")
      }).pipe(Effect.provide(layer(false))),
    120_000
  )
})

describe("query 2.0 with pages downloaded side by side (concurrency)", () => {
  it.live("every row once, in order, values intact under cut, reset and stalled answers", () =>
    Effect.gen(function*() {
      emu.setFaults("", { seed: 71 })
      const clean = yield* collect(BulkClient.query(SOQL, { ...poll, api: "2.0" }))
      emu.setFaults("lost-answer=0.3,reset=0.15,stall=0.15", { seed: 74, match: RESULTS })
      const rows = yield* collect(BulkClient.query(SOQL, { ...poll, api: "2.0", concurrency: 3 })).pipe(
        Effect.ensuring(Effect.sync(() => emu.setFaults("", { seed: 71 })))
      )
      expect(rows.map((r) => r.Name)).toEqual(clean.map((r) => r.Name))
      expect(rows.filter((r) => expected.get(r.Name!) !== r.Description).map((r) => r.Name)).toEqual([])
    }).pipe(Effect.provide(layer(false))), 120_000)
})
