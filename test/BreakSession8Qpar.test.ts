/**
 * Break session 8, QPAR2: the parallel 2.0 query download (`Bulk2.queryResultsParallel`) holds
 * pages in buffers of their own and hands them back (detached) as soon as they are read. A local
 * node:http server plays Salesforce so that every byte of each page is ours to place: pieces split
 * inside multi-byte characters and quoted CRLFs at the parser's 16 KB boundaries, pages cut at
 * arbitrary byte offsets, stalled mid-body, gzip that does not inflate, empty pages, early stops
 * with pages held, over undici, node:http, fetch and a client of one's own.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import { NodeHttpClient } from "@effect/platform-node"
import { afterEach, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Zlib from "node:zlib"
import { Bulk2, BulkClient, SalesforceAuth, Transport } from "../packages/client/src/index.js"
import { authLayer, collect, ownHttpClient, poll, startEmulator, transportOptions } from "./FaultsSupport.js"

type Row = { readonly Id: string; readonly Name: string; readonly Note: string }

/** How a page's answer goes out: `k` bytes then a cut, a stall, or whole. */
type Answer = (page: number, n: number, res: Http.ServerResponse, body: Buffer) => boolean

const servers: Array<Http.Server> = []
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    s.close()
  }
})

const JOB = "7505g0000000008AAA"
const RESULTS = `/services/data/v66.0/jobs/query/${JOB}/results`
const pageUrl = (page: number) => `${RESULTS}?locator=p${page}`

const csvField = (s: string) => /[",\r\n]/.test(s) ? `"${s.replace(/"/g, "\"\"")}"` : s
const csvOf = (rows: ReadonlyArray<Row>, eol = "\n") =>
  `Id,Name,Note${eol}${rows.map((r) => `${r.Id},${csvField(r.Name)},${csvField(r.Note)}`).join(eol)}${rows.length > 0 ? eol : ""}`

/** Row i: 2-, 3- and 4-byte UTF-8, a quoted CRLF, a doubled quote and a comma. */
const rowOf = (i: number, pad = ""): Row => ({
  Id: `001${String(i).padStart(15, "0")}`,
  Name: `Zoë ${i} 東京 🚀${pad}`,
  Note: `l1\r\n"q",${i} ✓`
})

/**
 * A page of rows from `from` whose UTF-8 bytes put offset `within` of an occurrence of `target`
 * exactly at byte `at` (so a 16 KB piece boundary falls inside it).
 */
const pageSplitting = (from: number, n: number, at: number, target: string, within: number, eol = "\n"): ReadonlyArray<Row> => {
  for (let pad = 0; pad < 400; pad++) {
    const rows = Array.from({ length: n }, (_, k) => rowOf(from + k, k === 0 ? "x".repeat(pad) : ""))
    const bytes = Buffer.from(csvOf(rows, eol))
    const t = Buffer.from(target)
    if (bytes.subarray(at - within, at - within + t.length).equals(t)) return rows
  }
  throw new Error(`no padding puts ${JSON.stringify(target)} across ${at}`)
}

interface Fake {
  readonly url: string
  readonly count: (page: number) => number
  /** Answers to page requests the client went away from before they ended. */
  readonly abandoned: () => number
}

/**
 * A server for `/resultPages` (all pages on one answer) and each page: gzip when `gzip` (and the
 * client asks), written 997 bytes at a time; `answer` may answer a request otherwise.
 */
const serve = (
  pages: ReadonlyArray<ReadonlyArray<Row>>,
  options: { gzip: boolean; answer?: Answer; delayMs?: (page: number) => number; eol?: string }
) =>
  Effect.promise(() =>
    new Promise<Fake>((resolve) => {
      const counts = new Map<number, number>()
      let abandoned = 0
      const server = Http.createServer((req, res) => {
        req.resume()
        const url = new URL(req.url ?? "/", "http://x")
        if (url.pathname.endsWith("/resultPages")) {
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({
            resultPages: pages.map((_, p) => ({ resultUrl: pageUrl(p) })),
            done: true,
            nextRecordsUrl: null
          }))
          return
        }
        const page = Number((url.searchParams.get("locator") ?? "p0").slice(1))
        const n = (counts.get(page) ?? 0) + 1
        counts.set(page, n)
        res.on("close", () => {
          if (!res.writableFinished) abandoned++
        })
        const text = Buffer.from(csvOf(pages[page]!, options.eol))
        const gz = options.gzip && /gzip/.test(String(req.headers["accept-encoding"] ?? ""))
        const body = gz ? Zlib.gzipSync(text) : text
        const go = () => {
          if (res.destroyed) return
          res.setHeader("content-type", "text/csv")
          res.setHeader("sforce-locator", "null")
          res.setHeader("sforce-numberofrecords", String(pages[page]!.length))
          if (gz) res.setHeader("content-encoding", "gzip")
          if (options.answer?.(page, n, res, body) === true) return
          res.setHeader("content-length", String(body.length))
          let at = 0
          const next = () => {
            if (res.destroyed) return
            if (at >= body.length) return void res.end()
            const piece = body.subarray(at, at + 997)
            at += piece.length
            res.write(piece, () => setImmediate(next))
          }
          next()
        }
        const delay = options.delayMs?.(page) ?? 0
        if (delay > 0) setTimeout(go, delay)
        else go()
      })
      servers.push(server)
      server.listen(0, "127.0.0.1", () =>
        resolve({
          url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          count: (p) => counts.get(p) ?? 0,
          abandoned: () => abandoned
        }))
    })
  )

const CLIENTS: ReadonlyArray<readonly [string, Layer.Layer<HttpClient.HttpClient>]> = [
  ["undici", NodeHttpClient.layerUndici],
  ["node:http", NodeHttpClient.layer],
  ["fetch", FetchHttpClient.layer],
  ["a client of its own (web bodies gunzipped by the transport)", ownHttpClient]
]

const layerFor = (url: string, client: Layer.Layer<HttpClient.HttpClient>) =>
  Bulk2.layerWithoutHttpClient({
    idleTimeout: "700 millis",
    retrySchedule: Transport.defaultRetrySchedule({ initialDelay: "10 millis", maxDelay: "50 millis" })
  }).pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: url, accessToken: "00Dx!token", apiVersion: "66.0" })),
    Layer.provide(client),
    Layer.orDie
  )

const download = (url: string, client: Layer.Layer<HttpClient.HttpClient>, concurrency: number) =>
  Bulk2.queryResultsParallel(JOB, { columnDelimiter: "COMMA", concurrency }).pipe(
    // the chunks as emitted, kept: a value still pointing into a handed-back buffer would read
    // differently once later pages arrived and their buffers were handed back too
    Stream.chunks,
    Stream.runCollect,
    Effect.map((chunks) => Chunk.toReadonlyArray(chunks).flatMap((c) => Chunk.toReadonlyArray(c))),
    Effect.provide(layerFor(url, client))
  )

/** Pages whose bytes split a 4-byte emoji, a 3-byte char, a quoted CRLF and a doubled quote at 16 KB boundaries. */
const splitPages = (): Array<ReadonlyArray<Row>> => {
  const specs: ReadonlyArray<readonly [number, string, number]> = [
    [16_384, "🚀", 1],
    [16_384, "🚀", 2],
    [16_384, "🚀", 3],
    [16_384, "東", 1],
    [16_384, "\r\n", 1],
    [16_384, "\"\"", 1],
    [32_768, "ë", 1],
    [16_384, "\n001", 1]
  ]
  const pages: Array<ReadonlyArray<Row>> = []
  let from = 0
  for (const [at, target, within] of specs) {
    const rows = pageSplitting(from, 700, at, target, within)
    pages.push(rows)
    from += rows.length
  }
  // an empty page (header only) in the middle, and a page of one row with a field of 100 KB
  pages.splice(3, 0, [])
  pages.push([{ Id: `001${String(from).padStart(15, "0")}`, Name: "🚀東ë".repeat(10_000), Note: "a\r\nb".repeat(5_000) }])
  return pages
}

describe("QPAR2: held pages, every row once, in order, intact", () => {
  for (const [which, client] of CLIENTS) {
    for (const gzip of [true, false]) {
      it.live(
        `over ${which}, gzip ${
          gzip ? "on" : "off"
        }, concurrency 1 and 8: pieces split inside characters and quoted CRLFs, later pages arriving first`,
        () =>
          Effect.gen(function*() {
            const pages = splitPages()
            const expected = pages.flat()
            // later pages answer sooner, so they are held while the earlier ones are read
            const fake = yield* serve(pages, { gzip, delayMs: (p) => (pages.length - p) * 15 })
            for (const concurrency of [1, 8]) {
              const got = yield* download(fake.url, client, concurrency)
              expect(got.length).toBe(expected.length)
              expect(got).toEqual(expected)
            }
          }),
        60_000
      )
    }
  }

  it.live(
    "pages with CRLF line endings (lineEnding CRLF), a 16 KB boundary between a row's CR and LF: every row once",
    () =>
      Effect.gen(function*() {
        const pages: Array<ReadonlyArray<Row>> = []
        let from = 0
        for (const [target, within] of [["\r\n001", 1], ["\r\n001", 2], ["\r\n", 1]] as const) {
          const rows = pageSplitting(from, 700, 16_384, target, within, "\r\n")
          pages.push(rows)
          from += rows.length
        }
        for (const gzip of [true, false]) {
          const fake = yield* serve(pages, { gzip, eol: "\r\n" })
          for (const [which, client] of CLIENTS) {
            const got = yield* download(fake.url, client, 3)
            expect([which, got.length]).toEqual([which, pages.flat().length])
            expect(got).toEqual(pages.flat())
          }
        }
      }),
    30_000
  )

  it.live("a zero-row result (one page, header only) and a result of empty pages only: no rows, no error", () =>
    Effect.gen(function*() {
      for (const [pages, gzip] of [[[[]], true], [[[], [], []], false], [[[], [], []], true]] as const) {
        const fake = yield* serve(pages, { gzip })
        for (const [, client] of CLIENTS) {
          expect(yield* download(fake.url, client, 8)).toEqual([])
        }
      }
    }), 30_000)

  it.live("a page with an empty body (not even a header): no rows from it, the others whole", () =>
    Effect.gen(function*() {
      const pages = [Array.from({ length: 50 }, (_, i) => rowOf(i)), [], Array.from({ length: 50 }, (_, i) => rowOf(50 + i))]
      for (const gzip of [true, false]) {
        const fake = yield* serve(pages, {
          gzip,
          answer: (page, _n, res) => {
            if (page !== 1) return false
            res.removeHeader("content-encoding")
            res.setHeader("content-length", "0")
            res.end()
            return true
          }
        })
        for (const [, client] of CLIENTS) {
          expect(yield* download(fake.url, client, 4)).toEqual(pages.flat())
        }
      }
    }), 30_000)
})

describe("QPAR2: pages cut, stalled or not inflating", () => {
  const pages = () => {
    const all = splitPages()
    return all.slice(0, 5)
  }

  for (const gzip of [true, false]) {
    it.live(
      `cut at many byte offsets (gzip ${gzip ? "on" : "off"}): each page fetched again whole, every row once`,
      () =>
        Effect.gen(function*() {
          const ps = pages()
          const expected = ps.flat()
          const sizes = ps.map((p) => {
            const text = Buffer.from(csvOf(p))
            return gzip ? Zlib.gzipSync(text).length : text.length
          })
          // offsets: inside the gzip header, one byte in, mid-body, one byte short (the gzip trailer)
          for (const pick of [1, 5, 11, 0.5, 0.37, -1, -4]) {
            const fake = yield* serve(ps, {
              gzip,
              answer: (page, n, res, body) => {
                if (page % 2 === 0 || n % 2 === 0) return false
                const k = pick >= 1 ? pick : pick < 0 ? body.length + pick : Math.floor(body.length * pick)
                res.setHeader("content-length", String(body.length))
                res.flushHeaders()
                res.write(body.subarray(0, k), () => setTimeout(() => res.destroy(), 5))
                return true
              }
            })
            for (const [which, client] of CLIENTS) {
              const got = yield* download(fake.url, client, 4)
              expect([which, pick, got.length]).toEqual([which, pick, expected.length])
              expect(got).toEqual(expected)
            }
            // each client's first answer to pages 1 and 3 was cut, and the page fetched again
            expect([fake.count(1), fake.count(3), fake.count(0)]).toEqual([2 * CLIENTS.length, 2 * CLIENTS.length, CLIENTS.length])
            expect(sizes.length).toBe(5)
          }
        }),
      120_000
    )
  }

  it.live("a page stalled mid-body: the idle timeout gives it up, it is fetched again whole, every row once", () =>
    Effect.gen(function*() {
      const ps = pages()
      for (const gzip of [true, false]) {
        const fake = yield* serve(ps, {
          gzip,
          answer: (page, n, res, body) => {
            if (page !== 2 || n % 2 === 0) return false
            res.setHeader("content-length", String(body.length))
            res.flushHeaders()
            res.write(body.subarray(0, body.length >> 1))
            return true // and nothing more, ever
          }
        })
        const over = CLIENTS
        for (const [, client] of over) {
          const got = yield* download(fake.url, client, 4)
          expect(got).toEqual(ps.flat())
        }
        expect(fake.count(2)).toBe(2 * over.length)
      }
    }), 60_000)

  it.live(
    "a held gzip that does not inflate (CRC, length or data damaged; whole as HTTP goes): fetched again, every row once",
    () =>
      Effect.gen(function*() {
        const ps = pages()
        const damages: ReadonlyArray<readonly [string, (gz: Buffer) => Buffer]> = [
          ["crc", (gz) => {
            const b = Buffer.from(gz)
            b[b.length - 8] = b[b.length - 8]! ^ 0xff
            return b
          }],
          ["isize", (gz) => {
            const b = Buffer.from(gz)
            b[b.length - 1] = b[b.length - 1]! ^ 0x01
            return b
          }],
          ["data", (gz) => {
            const b = Buffer.from(gz)
            for (let i = 20; i < 60; i++) b[i] = 0xff
            return b
          }],
          ["garbage after the magic", (gz) => Buffer.concat([gz.subarray(0, 3), Buffer.alloc(gz.length, 0x5a)])]
        ]
        for (const [what, damage] of damages) {
          const fake = yield* serve(ps, {
            gzip: true,
            answer: (page, n, res, body) => {
              if (page !== 1 || n % 2 === 0) return false
              const bad = damage(body)
              res.setHeader("content-length", String(bad.length))
              res.end(bad)
              return true
            }
          })
          for (const [which, client] of CLIENTS) {
            const got = yield* download(fake.url, client, 4)
            expect([what, which, got.length]).toEqual([what, which, ps.flat().length])
            expect(got).toEqual(ps.flat())
          }
          expect(fake.count(1)).toBe(2 * CLIENTS.length)
        }
      }),
    60_000
  )

  it.live("a held gzip that never inflates: a typed TransportError, no hang", () =>
    Effect.gen(function*() {
      const ps = pages()
      const fake = yield* serve(ps, {
        gzip: true,
        answer: (page, _n, res, body) => {
          if (page !== 1) return false
          const bad = Buffer.from(body)
          bad[bad.length - 8] = bad[bad.length - 8]! ^ 0xff
          res.setHeader("content-length", String(bad.length))
          res.end(bad)
          return true
        }
      })
      const error = yield* Bulk2.queryResultsParallel(JOB, { columnDelimiter: "COMMA", concurrency: 4 }).pipe(
        Stream.runDrain,
        Effect.flip,
        Effect.provide(layerFor(fake.url, NodeHttpClient.layerUndici))
      )
      expect(error._tag).toBe("TransportError")
    }), 60_000)
})

describe("QPAR2: early stop and interrupt with pages held", () => {
  for (const [which, client] of CLIENTS) {
    it.live(
      `Stream.take at page boundaries over ${which}, concurrency 8: the rows asked for; later answers left unread are given up`,
      () =>
        Effect.gen(function*() {
          const ps = splitPages()
          const expected = ps.flat()
          const fake = yield* serve(ps, { gzip: true, delayMs: (p) => (ps.length - p) * 10 })
          const bounds = ps.reduce<Array<number>>((acc, p) => [...acc, (acc.at(-1) ?? 0) + p.length], [])
          for (const n of [1, bounds[0]!, bounds[0]! + 1, bounds[4]! - 1, expected.length - 1]) {
            const some = yield* Bulk2.queryResultsParallel(JOB, { columnDelimiter: "COMMA", concurrency: 8 }).pipe(
              Stream.take(n),
              Stream.runCollect,
              Effect.map(Chunk.toReadonlyArray),
              Effect.provide(layerFor(fake.url, client))
            )
            expect(some).toEqual(expected.slice(0, n))
          }
          expect(yield* download(fake.url, client, 8)).toEqual(expected)
        }),
      60_000
    )
  }

  it.live(
    "interrupted while pages are held and others stall mid-body: no hang, the stalled answers are given up",
    () =>
      Effect.gen(function*() {
        const ps = splitPages()
        const fake = yield* serve(ps, {
          gzip: true,
          answer: (page, _n, res, body) => {
            if (page < 3) return false
            res.setHeader("content-length", String(body.length))
            res.flushHeaders()
            res.write(body.subarray(0, body.length >> 2))
            return true
          }
        })
        for (const [, client] of CLIENTS) {
          const before = fake.abandoned()
          const fiber = yield* Bulk2.queryResultsParallel(JOB, { columnDelimiter: "COMMA", concurrency: 8 }).pipe(
            Stream.runDrain,
            Effect.provide(layerFor(fake.url, client)),
            Effect.fork
          )
          yield* Effect.sleep("200 millis")
          yield* Fiber.interrupt(fiber)
          // the stalled answers' sockets are closed by the client (within a generous bound)
          for (let i = 0; i < 100 && fake.abandoned() - before < ps.length - 3; i++) yield* Effect.sleep("20 millis")
          expect(fake.abandoned() - before).toBeGreaterThanOrEqual(ps.length - 3)
        }
      }),
    60_000
  )

  it.live(
    "a held page larger than inflated at once (>16 MB, inflated as it is read): early stop in it, no crash; whole afterwards",
    () =>
      Effect.gen(function*() {
        const big = Array.from({ length: 240_000 }, (_, i) => rowOf(i, "ééééééééééééééééééééé"))
        const ps = [big, [rowOf(240_000)]]
        expect(Buffer.byteLength(csvOf(big))).toBeGreaterThan(16 * 1024 * 1024)
        const fake = yield* serve(ps, { gzip: true })
        for (const n of [1, 100_000]) {
          const some = yield* Bulk2.queryResultsParallel(JOB, { columnDelimiter: "COMMA", concurrency: 2 }).pipe(
            Stream.take(n),
            Stream.runCollect,
            Effect.map(Chunk.toReadonlyArray),
            Effect.provide(layerFor(fake.url, NodeHttpClient.layerUndici))
          )
          expect(some.length).toBe(n)
          expect(some[n - 1]).toEqual(big[n - 1])
        }
        const all = yield* download(fake.url, NodeHttpClient.layerUndici, 2)
        expect(all.length).toBe(240_001)
        expect(all[239_999]).toEqual(big[239_999])
        expect(all[240_000]).toEqual(rowOf(240_000))
      }),
    120_000
  )
})

describe("QPAR2: a held page too large to inflate at once whose gzip fails at its end", () => {
  it.live(
    "rows inflated before the damaged trailer are emitted once: the page fetched again, those rows skipped",
    () =>
      Effect.gen(function*() {
        const big = Array.from({ length: 240_000 }, (_, i) => rowOf(i, "ééééééééééééééééééééé"))
        const ps = [big, [rowOf(240_000)]]
        const fake = yield* serve(ps, {
          gzip: true,
          answer: (page, n, res, body) => {
            if (page !== 0 || n > 1) return false
            const bad = Buffer.from(body)
            bad[bad.length - 8] = bad[bad.length - 8]! ^ 0xff
            res.setHeader("content-length", String(bad.length))
            res.end(bad)
            return true
          }
        })
        let count = 0
        let ordered = true
        yield* Bulk2.queryResultsParallel(JOB, { columnDelimiter: "COMMA", concurrency: 2 }).pipe(
          Stream.runForEach((r) =>
            Effect.sync(() => {
              if (r["Id"] !== (count < 240_000 ? big[count]!.Id : rowOf(240_000).Id)) ordered = false
              count++
            })
          ),
          Effect.provide(layerFor(fake.url, NodeHttpClient.layerUndici))
        )
        expect(count).toBe(240_001)
        expect(ordered).toBe(true)
        expect(fake.count(0)).toBe(2)
      }),
    120_000
  )
})

describe("QPAR2 over the emulator: BulkClient.query with concurrency, answers cut, reset and stalled", () => {
  it.live(
    "20,000 rows in 700-row pages, concurrency 8, over undici and a client of its own: every row once, in order, values intact; early stops too",
    () =>
      Effect.gen(function*() {
        const emu = yield* Effect.acquireRelease(Effect.promise(() => startEmulator(88)), (e) => Effect.promise(() => e.close()))
        const N = 20_000
        const nameOf = (i: number) => `b8p-${String(i).padStart(6, "0")} Zoë 東京 🚀`
        const descOf = (i: number) => `line 1, "quoted"\r\nline 2 ✓ ${i}`
        for (let i = 0; i < N; i++) {
          const out = emu.org.apply("insert", "Account", { Name: nameOf(i), Description: descOf(i) })
          if (!out.success) throw new Error("seed failed")
        }
        const soql = "SELECT Name, Description FROM Account WHERE Name LIKE 'b8p-%' ORDER BY Name"
        const expected = Array.from({ length: N }, (_, i) => ({ Name: nameOf(i), Description: descOf(i) }))
        for (const http of [NodeHttpClient.layerUndici, ownHttpClient]) {
          const client = Layer.effect(BulkClient.BulkClient, BulkClient.make).pipe(
            Layer.provide(Transport.layer(transportOptions)),
            Layer.provide(authLayer(emu)),
            Layer.provide(http)
          )
          yield* Effect.gen(function*() {
            emu.setFaults("lost-answer=0.2,reset=0.1,stall=0.1", { seed: 89, match: "^GET /services/data/[^/]+/jobs/query/[^/]+/results" })
            const before = emu.stats().faults
            const all = yield* collect(BulkClient.query(soql, { ...poll, api: "2.0", concurrency: 8 }))
            const after = emu.stats().faults
            // answers to pages were cut and stalled on the way
            expect(after["lost-answer"] + after.reset + after.stall).toBeGreaterThan(
              before["lost-answer"] + before.reset + before.stall + 3
            )
            expect(all.length).toBe(N)
            expect(all).toEqual(expected)
            // sessions expiring every few requests, renewed mid-download
            emu.setFaults("expire-after=20", { seed: 90 })
            const renewed = emu.stats().faults["expire-after"]
            expect(yield* collect(BulkClient.query(soql, { ...poll, api: "2.0", concurrency: 8 }))).toEqual(expected)
            expect(emu.stats().faults["expire-after"]).toBeGreaterThan(renewed)
            emu.setFaults("lost-answer=0.2,reset=0.1,stall=0.1", { seed: 91, match: "^GET /services/data/[^/]+/jobs/query/[^/]+/results" })
            for (const n of [1, 700, 701, 5_599]) {
              const some = yield* collect(Stream.take(BulkClient.query(soql, { ...poll, api: "2.0", concurrency: 8 }), n))
              expect(some).toEqual(expected.slice(0, n))
            }
          }).pipe(Effect.provide(client), Effect.ensuring(Effect.sync(() => emu.setFaults("", { seed: 88 }))))
        }
      }).pipe(Effect.scoped),
    240_000
  )
})
