/**
 * Breaking the 2.0 query read with one page asked ahead (Bulk2.queryResults): stopping early, a page
 * ahead whose body stalls, a page ahead whose answer is lost or refused, the locator chain's end,
 * empty results, several queries at once. Every row once and in order, every answer's body read to
 * its end or cancelled (no request left hanging), errors typed.
 */
import { NodeHttpClient } from "@effect/platform-node"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Bulk2, BulkClient, SalesforceAuth, Transport } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"

type Emu = Awaited<ReturnType<typeof Emulator.start>>
let emu: Emu
const N = 1_000
const PAGE = 100

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 0 })
  for (let i = 0; i < N; i++) {
    const out = emu.org.apply("insert", "Account", { Name: `Ahead ${String(i).padStart(5, "0")}` })
    if (!out.success) throw new Error("seed failed")
  }
})
afterAll(async () => {
  await emu?.close()
})

/** What happens to the answer of a result page asked with a locator (a page asked ahead). */
type Fault = "none" | "stall" | "lose" | "refuse"

interface Body {
  readonly url: string
  state: "open" | "done" | "cancelled"
}

/**
 * A transport whose result-page answers are tracked (each body read to its end or cancelled) and
 * whose first answer to a page asked with a locator gets `fault`: its body never sends a byte
 * (`stall`), the connection drops after the server answered (`lose`), or a 400 (`refuse`).
 */
const tracked = (fault: Fault, transport?: Transport.Options) => {
  const bodies: Array<Body> = []
  let faulted = false
  const http = Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.transform(client, (effect, request) => {
        const url = new URL(request.url)
        if (!/\/jobs\/query\/[A-Za-z0-9]+\/results$/.test(url.pathname)) return effect
        const ahead = UrlParams.getFirst(request.urlParams, "locator")._tag === "Some"
        const hit = fault !== "none" && ahead && !faulted
        if (hit) faulted = true
        if (hit && fault === "refuse") {
          const body = JSON.stringify([{ errorCode: "INVALID_LOCATOR", message: "injected: the locator is refused" }])
          return Effect.succeed(HttpClientResponse.fromWeb(
            request,
            new Response(body, { status: 400, headers: { "content-type": "application/json" } })
          ))
        }
        if (hit && fault === "lose") {
          return Effect.flatMap(
            Effect.flatMap(effect, (response) => response.arrayBuffer),
            () => Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error("socket hang up") }))
          )
        }
        return Effect.map(effect, (response) => {
          const entry: Body = { url: `${request.url}?${UrlParams.toString(request.urlParams)}`, state: "open" }
          bodies.push(entry)
          const reader = Stream.toReadableStream(response.stream).getReader()
          const body = new ReadableStream<Uint8Array>({
            pull: async (controller) => {
              // a stalled body: headers came, no byte ever does
              if (hit && fault === "stall") return new Promise<void>(() => {})
              const { done, value } = await reader.read()
              if (done) {
                entry.state = "done"
                controller.close()
              } else controller.enqueue(value)
            },
            cancel: async (reason) => {
              if (entry.state === "open") entry.state = "cancelled"
              await reader.cancel(reason)
            }
          })
          return HttpClientResponse.fromWeb(request, new Response(body, { status: response.status, headers: response.headers }))
        })
      }))
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))
  const auth = SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })
  const layer = Transport.layer(transport).pipe(Layer.provide(auth), Layer.provide(http), Layer.orDie)
  const client = BulkClient.layer.pipe(Layer.provide(auth), Layer.provide(http), Layer.orDie)
  return { layer, client, bodies, faulted: () => faulted }
}

const wait = { schedule: Schedule.spaced("20 millis"), timeout: "30 seconds" as const }

/** A finished query job over the seeded rows (or none). */
const queryJob = (where = "") =>
  Effect.gen(function*() {
    const job = yield* Bulk2.createQueryJob({ query: `SELECT Name FROM Account WHERE Name LIKE 'Ahead %'${where} ORDER BY Name` })
    const info = yield* Bulk2.waitForQueryJob(job.id, wait)
    expect(info.state).toBe("JobComplete")
    return job.id
  })

const names = (rows: ReadonlyArray<Record<string, string>>) => rows.map((r) => r.Name)
const expected = Array.from({ length: N }, (_, i) => `Ahead ${String(i).padStart(5, "0")}`)

/**
 * Every tracked answer's body was read to its end or cancelled. A body the reader stopped in is
 * cancelled soon after the stream ends, not before (the cancellation runs through the transport's
 * body stream), so this waits a little for it.
 */
const noneHanging = (bodies: ReadonlyArray<Body>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 250 && bodies.some((b) => b.state === "open"); i++) yield* Effect.sleep("20 millis")
    expectNoneOpen(bodies)
  })

const expectNoneOpen = (bodies: ReadonlyArray<Body>) =>
  expect(bodies.filter((b) => b.state === "open").map((b) => `${bodies.indexOf(b)}/${bodies.length}: ${b.url.replace(/^.*\?/, "")}`))
    .toEqual([])

describe("Bulk2.queryResults with one page asked ahead", () => {
  it.live("the whole chain: every row once, in order; every body read to its end", () => {
    const { bodies, layer } = tracked("none")
    return Effect.gen(function*() {
      const id = yield* queryJob()
      const rows = yield* Stream.runCollect(Bulk2.queryResults(id, { maxRecords: PAGE }))
      expect(names(Chunk.toReadonlyArray(rows))).toEqual(expected)
      expect(bodies).toHaveLength(N / PAGE)
      expect(bodies.every((b) => b.state === "done")).toBe(true)
    }).pipe(Effect.provide(layer))
  }, 30_000)

  for (const n of [1, PAGE - 1, PAGE, PAGE + 1, 5 * PAGE + 3]) {
    it.live(`stopping after ${n} rows: those rows, and every body read or cancelled (the page ahead too)`, () => {
      const { bodies, layer } = tracked("none")
      return Effect.gen(function*() {
        const id = yield* queryJob()
        const rows = yield* Stream.runCollect(Stream.take(Bulk2.queryResults(id, { maxRecords: PAGE }), n))
        expect(names(Chunk.toReadonlyArray(rows))).toEqual(expected.slice(0, n))
        yield* noneHanging(bodies)
        // at most the pages read and one ahead were asked for
        expect(bodies.length).toBeLessThanOrEqual(Math.ceil(n / PAGE) + 1)
      }).pipe(Effect.provide(layer))
    }, 30_000)
  }

  it.live("stopping early while the page ahead's body stalls: the read ends at once and the stalled body is cancelled", () => {
    const { bodies, layer } = tracked("stall")
    return Effect.gen(function*() {
      const id = yield* queryJob()
      // far below the transport's idle timeout (60 s) that would otherwise end the stalled body
      // the reader lingers on its 10th row, so the page ahead has answered (headers, no body) by then
      const reading = Bulk2.queryResults(id, { maxRecords: PAGE }).pipe(
        Stream.zipWithIndex,
        Stream.tap(([, i]) => (i === 9 ? Effect.sleep("500 millis") : Effect.void)),
        Stream.map(([r]) => r)
      )
      const rows = yield* Stream.runCollect(Stream.take(reading, 10)).pipe(
        Effect.timeout("15 seconds"),
        Effect.option
      )
      expect(Option.map(rows, (r) => names(Chunk.toReadonlyArray(r)))).toEqual(Option.some(expected.slice(0, 10)))
      expect(bodies.map((b) => b.url.includes("locator="))).toEqual([false, true])
      yield* noneHanging(bodies)
    }).pipe(Effect.provide(layer))
  }, 60_000)

  // the page ahead's answer fails after the server answered: asked again, every row once, in order
  for (
    const [fault, title, options] of [
      ["stall", "read on into a page ahead whose body stalls: it is asked again after the idle timeout", { idleTimeout: "1 second" }],
      ["lose", "the page ahead's answer lost after the server answered: asked again", undefined]
    ] as const
  ) {
    it.live(`${title}, every row once, in order`, () => {
      const { bodies, faulted, layer } = tracked(fault, options)
      return Effect.gen(function*() {
        const id = yield* queryJob()
        const rows = yield* Stream.runCollect(Bulk2.queryResults(id, { maxRecords: PAGE }))
        expect(faulted()).toBe(true)
        expect(names(Chunk.toReadonlyArray(rows))).toEqual(expected)
        yield* noneHanging(bodies)
      }).pipe(Effect.provide(layer))
    }, 30_000)
  }

  it.live("the page ahead refused: the rows before it, then a typed ApiError; nothing left hanging", () => {
    const { bodies, layer } = tracked("refuse")
    return Effect.gen(function*() {
      const id = yield* queryJob()
      const seen: Array<string> = []
      const exit = yield* Effect.exit(
        Stream.runForEach(Bulk2.queryResults(id, { maxRecords: PAGE }), (r) => Effect.sync(() => seen.push(r.Name!)))
      )
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        expect(Option.map(Cause.failureOption(exit.cause), (e) => e._tag)).toEqual(Option.some("ApiError"))
      }
      // the first page is read whole before the refusal of the second surfaces
      expect(seen).toEqual(expected.slice(0, PAGE))
      yield* noneHanging(bodies)
    }).pipe(Effect.provide(layer))
  }, 30_000)

  it.live("empty results and a single page: the chain ends, nothing asked ahead", () => {
    const { bodies, layer } = tracked("none")
    return Effect.gen(function*() {
      const none = yield* queryJob(" AND Name = 'nobody'")
      expect(Chunk.toReadonlyArray(yield* Stream.runCollect(Bulk2.queryResults(none, { maxRecords: PAGE })))).toEqual([])
      const one = yield* queryJob(" AND Name < 'Ahead 00050'")
      const rows = yield* Stream.runCollect(Bulk2.queryResults(one, { maxRecords: PAGE }))
      expect(names(Chunk.toReadonlyArray(rows))).toEqual(expected.slice(0, 50))
      expect(bodies).toHaveLength(2)
      expect(bodies.every((b) => b.state === "done")).toBe(true)
    }).pipe(Effect.provide(layer))
  }, 30_000)

  it.live("several queries read at once, interleaved: each gets its own rows once, in order", () => {
    const { bodies, layer } = tracked("none")
    return Effect.gen(function*() {
      const ids = yield* Effect.all([queryJob(), queryJob(), queryJob()], { concurrency: 3 })
      const all = yield* Effect.all(
        ids.map((id, k) => Stream.runCollect(Bulk2.queryResults(id, { maxRecords: PAGE + k * 37 }))),
        { concurrency: "unbounded" }
      )
      for (const rows of all) expect(names(Chunk.toReadonlyArray(rows))).toEqual(expected)
      yield* noneHanging(bodies)
    }).pipe(Effect.provide(layer))
  }, 30_000)

  it.live("interrupted mid-page: nothing left hanging", () => {
    const { bodies, layer } = tracked("none")
    return Effect.gen(function*() {
      const id = yield* queryJob()
      let got = 0
      const exit = yield* Effect.exit(
        Stream.runForEach(
          Bulk2.queryResults(id, { maxRecords: PAGE }),
          () => Effect.suspend(() => (++got === 150 ? Effect.interrupt : Effect.void))
        )
      )
      expect(Exit.isInterrupted(exit)).toBe(true)
      yield* noneHanging(bodies)
    }).pipe(Effect.provide(layer))
  }, 30_000)

  it.live(
    "BulkClient.query stopped early, and read whole: its rows in order, the count check only at the end, nothing left hanging",
    () => {
      const { bodies, client } = tracked("none")
      return Effect.gen(function*() {
        const soql = "SELECT Name FROM Account WHERE Name LIKE 'Ahead %' ORDER BY Name"
        const options = { api: "2.0" as const, maxRecords: PAGE, pollSchedule: Schedule.spaced("20 millis") }
        const some = yield* Stream.runCollect(Stream.take(BulkClient.query(soql, options), 150))
        expect(names(Chunk.toReadonlyArray(some) as ReadonlyArray<Record<string, string>>)).toEqual(expected.slice(0, 150))
        yield* noneHanging(bodies)
        const all = yield* Stream.runCollect(BulkClient.query(soql, options))
        expect(names(Chunk.toReadonlyArray(all) as ReadonlyArray<Record<string, string>>)).toEqual(expected)
        yield* noneHanging(bodies)
      }).pipe(Effect.provide(client))
    },
    30_000
  )
})
