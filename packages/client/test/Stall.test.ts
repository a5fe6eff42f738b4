/**
 * Answers that stall: a server that sends the headers and part of the body, then goes silent, or
 * that accepts the connection and never answers. A local node:http server plays it over real
 * sockets; small configured timeouts keep the runs short (the bounds asserted are generous).
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpBody from "@effect/platform/HttpBody"
import { afterEach, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Http from "node:http"
import * as V8 from "node:v8"
import * as Vm from "node:vm"
import * as Zlib from "node:zlib"
import type { AddressInfo } from "node:net"
import * as Bulk2 from "../src/Bulk2.js"
import type { BulkError } from "../src/BulkError.js"
import * as SalesforceAuth from "../src/SalesforceAuth.js"
import * as Transport from "../src/internal/transport.js"

type Handler = (req: Http.IncomingMessage, res: Http.ServerResponse, n: number) => void

const servers: Array<Http.Server> = []
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    s.close()
  }
})

/** A server answering with `handler`; `n` counts the requests to each path, from 1. */
const serve = (handler: Handler) =>
  Effect.promise(() =>
    new Promise<{ readonly url: string; readonly count: (path: string) => number }>((resolve) => {
      const counts = new Map<string, number>()
      const server = Http.createServer((req, res) => {
        const path = new URL(req.url ?? "/", "http://x").pathname
        const n = (counts.get(path) ?? 0) + 1
        counts.set(path, n)
        req.resume()
        handler(req, res, n)
      })
      servers.push(server)
      server.listen(0, "127.0.0.1", () =>
        resolve({
          url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          count: (path) => counts.get(path) ?? 0
        }))
    })
  )

const layerFor = (url: string, options: Transport.TransportOptions) =>
  Bulk2.layer(options).pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: url, accessToken: "00Dx!token", apiVersion: "66.0" })),
    Layer.orDie
  )

const fast: Transport.TransportOptions = {
  idleTimeout: "200 millis",
  retrySchedule: Transport.defaultRetrySchedule({ initialDelay: "10 millis", maxDelay: "50 millis" })
}

const QUERY = "/services/data/v66.0/jobs/query"
const JOB = "7505g0000000001AAA"
const jobInfo = JSON.stringify({ id: JOB, operation: "query", object: "Account", state: "UploadComplete", columnDelimiter: "COMMA" })

/** Headers and the start of a body, then silence (the connection stays open). */
const stall = (res: Http.ServerResponse, contentType: string, start: string) => {
  res.writeHead(200, { "content-type": contentType })
  res.write(start)
}

const failure = <A>(effect: Effect.Effect<A, BulkError>) =>
  Effect.flatMap(Effect.flip(effect), (e) => (e._tag === "TransportError" ? Effect.succeed(e) : Effect.die(e)))

describe("stalled answers", () => {
  it.live("a JSON answer that stalls mid-body is asked again and read whole", () =>
    Effect.gen(function*() {
      const server = yield* serve((_, res, n) => {
        if (n === 1) return stall(res, "application/json", `{"id":`)
        res.writeHead(200, { "content-type": "application/json" }).end(jobInfo)
      })
      const info = yield* Bulk2.createQueryJob({ query: "SELECT Id FROM Account" }).pipe(Effect.provide(layerFor(server.url, fast)))
      expect(info.id).toBe(JOB)
      expect(server.count(QUERY)).toBe(2)
    }), 20_000)

  it.live("a results download that stalls resumes: every row once, in order, intact", () =>
    Effect.gen(function*() {
      const rows = Array.from({ length: 3000 }, (_, i) => `001${String(i).padStart(15, "0")},"Name, ${i}"`)
      const csv = `Id,Name\n${rows.join("\n")}\n`
      const results = `${QUERY}/${JOB}/results`
      const server = yield* serve((_, res, n) => {
        // cut mid-row, well past the first chunk, then silence
        if (n === 1) return stall(res, "text/csv", csv.slice(0, Math.floor(csv.length / 2) + 7))
        res.writeHead(200, { "content-type": "text/csv", "sforce-locator": "null" }).end(csv)
      })
      const got = yield* Bulk2.queryResults(JOB, { columnDelimiter: "COMMA" }).pipe(
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray),
        Effect.provide(layerFor(server.url, fast))
      )
      expect(server.count(results)).toBe(2)
      expect(got).toHaveLength(3000)
      got.forEach((r, i) => expect(r).toEqual({ Id: `001${String(i).padStart(15, "0")}`, Name: `Name, ${i}` }))
    }), 20_000)

  it.live("a server that never answers fails typed within the budget, however patient the schedule", () =>
    Effect.gen(function*() {
      const server = yield* serve(() => {
        // accepts, reads the request, never answers
      })
      const started = Date.now()
      const error = yield* failure(
        Bulk2.getQueryJob(JOB).pipe(
          Effect.provide(layerFor(server.url, {
            timeout: "300 millis",
            budget: "1500 millis",
            // never gives up by itself: only the budget ends the sequence
            retrySchedule: Schedule.spaced("20 millis")
          }))
        )
      )
      expect(Date.now() - started).toBeLessThan(10_000)
      expect(error.mayHaveReachedServer).toBe(true)
      expect(error.description).toMatch(/budget/)
      expect(server.count(`${QUERY}/${JOB}`)).toBeGreaterThanOrEqual(2)
    }), 20_000)

  it.live("a never-answering server with the default per-attempt timeout ends at the budget", () =>
    Effect.gen(function*() {
      const server = yield* serve(() => {})
      const started = Date.now()
      const error = yield* failure(
        Bulk2.getQueryJob(JOB).pipe(Effect.provide(layerFor(server.url, { budget: "800 millis" })))
      )
      expect(Date.now() - started).toBeLessThan(10_000)
      expect(error.description).toMatch(/budget/)
    }), 20_000)

  it.live("a result download whose request never answers fails within one budget, not one per resume", () =>
    Effect.gen(function*() {
      const server = yield* serve(() => {})
      const path = `/services/data/v66.0/jobs/ingest/${JOB}/successfulResults`
      const error = yield* failure(
        Stream.runCollect(Bulk2.successfulResults(JOB, { columnDelimiter: "COMMA" })).pipe(
          Effect.provide(layerFor(server.url, { timeout: "200 millis", budget: "500 millis", retrySchedule: Schedule.spaced("10 millis") }))
        )
      )
      expect(error.description).toMatch(/budget/)
      // one budget: about three attempts of 200 ms; resuming would have asked up to 7 times as often
      expect(server.count(path)).toBeLessThanOrEqual(4)
    }), 20_000)

  it.live(
    "a request not safe to re-send whose answer stalls is not sent again; the error says it may have arrived",
    () =>
      Effect.gen(function*() {
        const path = "/services/async/66.0/job/750x/batch"
        const server = yield* serve((_, res) => stall(res, "application/xml", "<batchInfo><id>751"))
        const error = yield* failure(
          Effect.flatMap(
            Transport.Transport,
            (t) => Transport.requestText(t, { method: "POST", path, api: "1.0", body: HttpBody.text("Name\nA\n", "text/csv") })
          ).pipe(
            Effect.provide(layerFor(server.url, fast))
          )
        )
        expect(server.count(path)).toBe(1)
        expect(error.mayHaveReachedServer).toBe(true)
        expect(error.description).toMatch(/no data for 200ms/)
      }),
    20_000
  )

  it.live("a page of the parallel download that stalls is fetched again", () =>
    Effect.gen(function*() {
      const csv = `Id,Name\n${Array.from({ length: 2000 }, (_, i) => `001${String(i).padStart(15, "0")},N${i}`).join("\n")}\n`
      const page = `${QUERY}/${JOB}/results`
      const server = yield* serve((req, res, n) => {
        const url = new URL(req.url ?? "/", "http://x")
        if (url.pathname.endsWith("/resultPages")) {
          return res.writeHead(200, { "content-type": "application/json" }).end(
            JSON.stringify({ resultPages: [{ resultUrl: `${page}?locator=a` }], done: true, nextRecordsUrl: null })
          )
        }
        if (n === 1) return stall(res, "text/csv", csv.slice(0, 20_000))
        res.writeHead(200, { "content-type": "text/csv", "sforce-locator": "null" }).end(csv)
      })
      const got = yield* Bulk2.queryResultsParallel(JOB, { columnDelimiter: "COMMA", concurrency: 2 }).pipe(
        Stream.runCollect,
        Effect.provide(layerFor(server.url, fast))
      )
      expect(Chunk.size(got)).toBe(2000)
      expect(server.count(page)).toBe(2)
    }), 20_000)

  it.live(
    "a body read slower than the idle timeout, byte after byte on time, is read whole (the timer waits for bytes, not for the reader)",
    () =>
      Effect.gen(function*() {
        const rows = Array.from({ length: 40_000 }, (_, i) => `001${String(i).padStart(15, "0")},N${i}`)
        const csv = `Id,Name\n${rows.join("\n")}\n`
        const server = yield* serve((_, res) => res.writeHead(200, { "content-type": "text/csv", "sforce-locator": "null" }).end(csv))
        let chunks = 0
        const got = yield* Bulk2.queryResults(JOB, { columnDelimiter: "COMMA" }).pipe(
          // the reader pauses 1.5 idle timeouts on each of its first chunks: the body waits unread meanwhile
          Stream.mapChunksEffect((c) => (chunks++ < 3 ? Effect.as(Effect.sleep("300 millis"), c) : Effect.succeed(c))),
          Stream.runCollect,
          Effect.map(Chunk.toReadonlyArray),
          Effect.provide(layerFor(server.url, fast))
        )
        expect(server.count(`${QUERY}/${JOB}/results`)).toBe(1)
        expect(got).toHaveLength(40_000)
        got.forEach((r, i) => expect(r).toEqual({ Id: `001${String(i).padStart(15, "0")}`, Name: `N${i}` }))
      }),
    20_000
  )

  it.live("a body its reader stops reading early is dropped: the server sees its connection closed", () =>
    Effect.gen(function*() {
      let closed: () => void = () => {}
      const connectionClosed = new Promise<void>((resolve) => {
        closed = resolve
      })
      const row = "001000000000000001,Endless\n".repeat(1000)
      const server = yield* serve((_, res) => {
        res.writeHead(200, { "content-type": "text/csv" })
        res.write("Id,Name\n")
        // an answer without end, written as fast as the client takes it
        const more = () => {
          while (!res.destroyed && res.write(row));
          if (!res.destroyed) res.once("drain", more)
        }
        more()
        res.once("close", closed)
      })
      const path = "/services/data/v66.0/jobs/query/750x/results"
      const first = yield* Effect.flatMap(
        Transport.Transport,
        (t) => Stream.runCollect(Stream.take(Transport.requestStream(t, { method: "GET", path, api: "2.0" }), 3))
      ).pipe(Effect.provide(layerFor(server.url, fast)))
      expect(Chunk.size(first)).toBe(3)
      // generous: the close is immediate, the bound only keeps a regression from hanging the run
      const outcome = yield* Effect.promise(() =>
        Promise.race([connectionClosed.then(() => "closed"), new Promise((r) => setTimeout(() => r("still open"), 5_000))])
      )
      expect(outcome).toBe("closed")
    }), 20_000)

  it.live("a fetch-style body (a web stream) that stalls mid-body fails typed after the idle timeout", () =>
    Effect.gen(function*() {
      const server = yield* serve((_, res) => stall(res, "text/csv", "Id,Name\n001000000000000001,A\n"))
      const path = "/services/data/v66.0/jobs/query/750x/results"
      const fetchLayer = Transport.layer({ ...fast, retrySchedule: Schedule.stop }).pipe(
        Layer.provide(SalesforceAuth.fromSession({ instanceUrl: server.url, accessToken: "00Dx!token", apiVersion: "66.0" })),
        Layer.provide(FetchHttpClient.layer),
        Layer.orDie
      )
      const error = yield* failure(
        Effect.flatMap(Transport.Transport, (t) => Stream.runDrain(Transport.requestStream(t, { method: "GET", path, api: "2.0" }))).pipe(
          Effect.provide(fetchLayer)
        )
      )
      expect(error.description).toMatch(/no data for 200ms/)
    }), 20_000)

  it.live("a gzip answer over undici comes out whole and in order; one cut short fails typed", () =>
    Effect.gen(function*() {
      const rows = Array.from({ length: 30_000 }, (_, i) => `001${String(i).padStart(15, "0")},"Name, ${i}"`)
      const csv = `Id,Name\n${rows.join("\n")}\n`
      const gz = Zlib.gzipSync(csv)
      const whole = "/services/data/v66.0/jobs/query/750x/results"
      const cut = "/services/data/v66.0/jobs/query/750y/results"
      const server = yield* serve((req, res) => {
        res.writeHead(200, { "content-type": "text/csv", "content-encoding": "gzip" })
        res.end(req.url?.startsWith(cut) ? gz.subarray(0, Math.floor(gz.length / 2)) : gz)
      })
      const read = (path: string) =>
        Effect.flatMap(Transport.Transport, (t) => Stream.runCollect(Transport.requestStream(t, { method: "GET", path, api: "2.0" }))).pipe(
          Effect.provide(layerFor(server.url, { ...fast, retrySchedule: Schedule.stop }))
        )
      const bytes = yield* read(whole)
      expect(Buffer.concat(Chunk.toArray(bytes)).toString("utf8")).toBe(csv)
      const error = yield* failure(read(cut))
      expect(error.description).toMatch(/reading the response body/)
    }), 20_000)
})

describe("bodies read straight from undici", () => {
  it.live(
    "an answer over the Node client is read from undici's own stream, not through the platform's Effect stream",
    () =>
      Effect.gen(function*() {
        const server = yield* serve((_, res) => {
          res.writeHead(200, { "content-type": "text/csv" })
          res.end("Id\n001000000000000001\n")
        })
        const direct = yield* Effect.flatMap(Transport.Transport, (t) =>
          Effect.map(
            t.request({ method: "GET", path: "/services/data/v66.0/jobs/query/750x/results", api: "2.0" }),
            Transport.readsDirectly
          )).pipe(
            Effect.scoped,
            Effect.provide(layerFor(server.url, fast))
          )
        expect(direct).toBe(true)
      }),
    20_000
  )

  it.live(
    "a body read slowly across garbage collections comes out whole (the platform's answer is kept while it is read)",
    () =>
      Effect.gen(function*() {
        // the platform aborts an answer's request once the answer object is garbage: the transport
        // reads the body itself, so it must keep the answer until the body is read
        V8.setFlagsFromString("--expose-gc")
        const gc = Vm.runInNewContext("gc") as () => void
        const piece = "001000000000000001,Slow\n".repeat(500)
        const server = yield* serve((_, res) => {
          res.writeHead(200, { "content-type": "text/csv" })
          res.write("Id,Name\n")
          let n = 0
          const tick = setInterval(() => {
            if (res.destroyed) return clearInterval(tick)
            if (++n > 12) {
              clearInterval(tick)
              return res.end()
            }
            res.write(piece)
          }, 40)
        })
        const path = "/services/data/v66.0/jobs/query/750x/results"
        const collector = setInterval(() => gc(), 15)
        const bytes = yield* Effect.flatMap(
          Transport.Transport,
          (t) => Stream.runCollect(Transport.requestStream(t, { method: "GET", path, api: "2.0" }))
        ).pipe(
          Effect.provide(layerFor(server.url, { ...fast, idleTimeout: "5 seconds", retrySchedule: Schedule.stop })),
          Effect.ensuring(Effect.sync(() => clearInterval(collector)))
        )
        expect(Buffer.concat(Chunk.toArray(bytes)).toString("utf8")).toBe(`Id,Name\n${piece.repeat(12)}`)
      }),
    20_000
  )
})
