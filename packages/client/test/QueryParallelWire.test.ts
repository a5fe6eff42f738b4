/**
 * The parallel query download holds the pages waiting their turn as they came over the wire (still
 * gzip-compressed) and inflates each when it is read. A local node:http server plays Salesforce
 * over real sockets, gzipping its answers and writing them in small pieces, so multi-byte UTF-8,
 * quoted CRLF and gzip blocks fall across chunk boundaries.
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Zlib from "node:zlib"
import * as Bulk2 from "../src/Bulk2.js"
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

/** A server answering with `handler`; `n` counts the requests to each URL (path and query), from 1. */
const serve = (handler: Handler) =>
  Effect.promise(() =>
    new Promise<{ readonly url: string; readonly count: (url: string) => number }>((resolve) => {
      const counts = new Map<string, number>()
      const server = Http.createServer((req, res) => {
        const n = (counts.get(req.url ?? "") ?? 0) + 1
        counts.set(req.url ?? "", n)
        req.resume()
        handler(req, res, n)
      })
      servers.push(server)
      server.listen(0, "127.0.0.1", () =>
        resolve({
          url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          count: (url) => counts.get(url) ?? 0
        }))
    })
  )

const layerFor = (url: string) =>
  Bulk2.layer({
    idleTimeout: "2 seconds",
    retrySchedule: Transport.defaultRetrySchedule({ initialDelay: "10 millis", maxDelay: "50 millis" })
  }).pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: url, accessToken: "00Dx!token", apiVersion: "66.0" })),
    Layer.orDie
  )

const JOB = "7505g0000000001AAA"
const RESULTS = `/services/data/v66.0/jobs/query/${JOB}/results`
const PAGES = 3
const PER_PAGE = 700

/** Row i: a multi-byte name (2-, 3- and 4-byte UTF-8) and a quoted field holding a CRLF and a quote. */
const row = (i: number) => ({ Id: `001${String(i).padStart(15, "0")}`, Name: `Zoë ${i} 東京 🚀`, Note: `line1\r\n"x" ${i}` })
const csvOf = (page: number) => {
  const lines = ["Id,Name,Note"]
  for (let i = page * PER_PAGE; i < (page + 1) * PER_PAGE; i++) {
    const r = row(i)
    lines.push(`${r.Id},${r.Name},"${r.Note.replace(/"/g, "\"\"")}"`)
  }
  return `${lines.join("\n")}\n`
}
const pageUrl = (page: number) => `${RESULTS}?locator=p${page}`

/** Writes `body` 997 bytes at a time (each piece its own socket write), then ends. */
const writeInPieces = (res: Http.ServerResponse, body: Buffer) => {
  let at = 0
  const next = () => {
    if (at >= body.length) return void res.end()
    const piece = body.subarray(at, at + 997)
    at += piece.length
    res.write(piece, () => setImmediate(next))
  }
  next()
}

/** `/resultPages` naming every page, then each page gzipped; `page` may answer otherwise. */
const salesforce = (page?: (res: Http.ServerResponse, index: number, n: number) => boolean): Handler => (req, res, n) => {
  const url = new URL(req.url ?? "/", "http://x")
  if (url.pathname.endsWith("/resultPages")) {
    return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({
      resultPages: Array.from({ length: PAGES }, (_, p) => ({ resultUrl: pageUrl(p) })),
      done: true,
      nextRecordsUrl: null
    }))
  }
  const index = Number((url.searchParams.get("locator") ?? "p0").slice(1))
  if (page?.(res, index, n) === true) return
  const gz = Zlib.gzipSync(Buffer.from(csvOf(index)))
  res.writeHead(200, { "content-type": "text/csv", "content-encoding": "gzip", "sforce-locator": "null" })
  writeInPieces(res, gz)
}

const expected = Array.from({ length: PAGES * PER_PAGE }, (_, i) => row(i))

describe("parallel query download: pages held compressed", () => {
  it.live(
    "gzip pages in small pieces: every row once, in page order, multi-byte text and quoted CRLF intact",
    () =>
      Effect.gen(function*() {
        const server = yield* serve(salesforce())
        const got = yield* Bulk2.queryResultsParallel(JOB, { columnDelimiter: "COMMA", concurrency: 3 }).pipe(
          Stream.runCollect,
          Effect.provide(layerFor(server.url))
        )
        expect(Chunk.toReadonlyArray(got)).toEqual(expected)
      }),
    20_000
  )

  it.live("a page whose gzip ends short though its answer ended cleanly is fetched again: every row once", () =>
    Effect.gen(function*() {
      const server = yield* serve(salesforce((res, index, n) => {
        if (index !== 1 || n !== 1) return false
        // the answer is complete as HTTP goes (its length declared and sent), but the gzip in it
        // stops mid-stream: only inflating it when its turn comes shows it is cut short
        const gz = Zlib.gzipSync(Buffer.from(csvOf(1)))
        const cut = gz.subarray(0, Math.floor(gz.length / 2))
        res.writeHead(200, { "content-type": "text/csv", "content-encoding": "gzip", "content-length": String(cut.length) })
        res.end(cut)
        return true
      }))
      const got = yield* Bulk2.queryResultsParallel(JOB, { columnDelimiter: "COMMA", concurrency: 2 }).pipe(
        Stream.runCollect,
        Effect.provide(layerFor(server.url))
      )
      expect(Chunk.toReadonlyArray(got)).toEqual(expected)
      expect(server.count(pageUrl(1))).toBe(2)
    }), 20_000)

  it.live("pages the server does not compress are read as they are", () =>
    Effect.gen(function*() {
      const server = yield* serve(salesforce((res, index) => {
        res.writeHead(200, { "content-type": "text/csv", "sforce-locator": "null" })
        writeInPieces(res, Buffer.from(csvOf(index)))
        return true
      }))
      const got = yield* Bulk2.queryResultsParallel(JOB, { columnDelimiter: "COMMA", concurrency: 2 }).pipe(
        Stream.runCollect,
        Effect.provide(layerFor(server.url))
      )
      expect(Chunk.toReadonlyArray(got)).toEqual(expected)
    }), 20_000)

  it.live("a gzipped error answer to a page is still read as text: a typed error with Salesforce's message", () =>
    Effect.gen(function*() {
      const server = yield* serve(salesforce((res, index) => {
        if (index !== 2) return false
        const body = Zlib.gzipSync(JSON.stringify([{ errorCode: "INVALID_JOB", message: "Job not found for page 2" }]))
        res.writeHead(404, { "content-type": "application/json", "content-encoding": "gzip" }).end(body)
        return true
      }))
      const error = yield* Bulk2.queryResultsParallel(JOB, { columnDelimiter: "COMMA", concurrency: 2 }).pipe(
        Stream.runDrain,
        Effect.flip,
        Effect.provide(layerFor(server.url))
      )
      expect(error._tag).toBe("ApiError")
      expect(error.message).toMatch(/Job not found for page 2/)
    }), 20_000)
})
