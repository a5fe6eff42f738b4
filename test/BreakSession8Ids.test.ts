/**
 * Break session 8, MEM6: a 1.0 ids-only result read (`successRows: false`) takes each batch's result
 * file in one effect per attempt (transport `readBody`), keeps the bytes of a cut attempt and skips
 * that many bytes of the next (`readBatchResult`). A proxy in front of the emulator (a test fault:
 * no Salesforce behaviour is claimed) answers each result download as the test says: cut after
 * any byte (inside a multi-byte character, a CRLF, a quoted error message), gzipped by the proxy so
 * the cut falls at a known byte of the gzip, stalled mid-body, or with a different body than the
 * attempt before.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Emulator } from "@sfbulk/emulator"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Zlib from "node:zlib"
import { Bulk1, BulkClient, SalesforceAuth, Transport } from "../packages/client/src/index.js"
import { OwnedBytes } from "../packages/client/src/internal/ownedBytes.js"
import { collect, ownHttpClient } from "./FaultsSupport.js"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let proxy: Http.Server
let proxyUrl = ""

/** What the proxy does with attempt `k` (0-based) of a result download of `body` (the file's plain bytes). */
interface Plan {
  /** Gzip the answer (when the client accepts gzip); cuts and stalls are then at bytes of the gzip. */
  readonly gzip?: boolean
  /** With `gzip`: the file as two gzip members, split at this fraction of it. */
  readonly members?: number
  /** The body to answer instead (the file the attempt sees). */
  readonly body?: Buffer
  /** Bytes sent before the connection is destroyed. */
  readonly cutAt?: number
  /** Bytes sent before the answer goes silent (for good). */
  readonly stallAt?: number
  /** As `stallAt`, a fraction of the bytes sent (of the gzip when gzipped). */
  readonly stallFraction?: number
}
type Planner = (url: string, k: number, body: Buffer) => Plan

let planner: Planner = () => ({})
const attempts = new Map<string, number>()
/** Result answers the client went away from before they ended (stalled ones included). */
let abandoned = 0
let stalledOpen = 0
const RESULT = /\/job\/[^/]+\/batch\/[^/]+\/result$/

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 0, seed: 8 })
  const upstream = new URL(emu.instanceUrl)
  proxy = Http.createServer((req, res) => {
    const url = req.url ?? "/"
    const result = req.method === "GET" && RESULT.test(url)
    const accepts = /gzip/.test(String(req.headers["accept-encoding"] ?? ""))
    const headers = { ...req.headers, host: upstream.host }
    if (result) headers["accept-encoding"] = "identity"
    const out = Http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: url, headers }, (up) => {
      if (!result) {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
        return
      }
      const parts: Array<Buffer> = []
      up.on("data", (d: Buffer) => parts.push(d))
      up.on("end", () => {
        const file = Buffer.concat(parts)
        const k = attempts.get(url) ?? 0
        attempts.set(url, k + 1)
        const plan = up.statusCode === 200 ? planner(url, k, file) : {}
        const plain = plan.body ?? file
        const gz = plan.gzip === true && accepts
        const split = Math.floor(plain.length * (plan.members ?? 0))
        const body = !gz ? plain : plan.members === undefined
          ? Zlib.gzipSync(plain)
          : Buffer.concat([Zlib.gzipSync(plain.subarray(0, split)), Zlib.gzipSync(plain.subarray(split))])
        const { "transfer-encoding": _, "content-encoding": __, ...head } = up.headers
        res.writeHead(up.statusCode ?? 502, {
          ...head,
          "content-length": String(body.length),
          ...(gz ? { "content-encoding": "gzip" } : {})
        })
        res.on("close", () => {
          if (!res.writableFinished) abandoned++
        })
        if (plan.cutAt !== undefined && plan.cutAt < body.length) {
          res.write(body.subarray(0, plan.cutAt), () => setTimeout(() => res.destroy(), 5))
          return
        }
        const stallAt = plan.stallAt ?? (plan.stallFraction === undefined ? undefined : Math.floor(body.length * plan.stallFraction))
        if (stallAt !== undefined && stallAt < body.length) {
          stalledOpen++
          res.on("close", () => stalledOpen--)
          res.write(body.subarray(0, stallAt))
          return
        }
        res.end(body)
      })
    })
    out.on("error", () => res.destroy())
    req.pipe(out)
  })
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve))
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
})
afterAll(async () => {
  proxy?.closeAllConnections()
  await new Promise<void>((resolve) => proxy?.close(() => resolve()))
  await emu?.close()
})

const CLIENTS: ReadonlyArray<readonly [string, Layer.Layer<HttpClient.HttpClient>]> = [
  ["undici", NodeHttpClient.layerUndici],
  ["node:http", NodeHttpClient.layer],
  ["fetch", FetchHttpClient.layer],
  ["a client of its own", ownHttpClient]
]

const layer = (http: Layer.Layer<HttpClient.HttpClient>) =>
  Layer.effect(BulkClient.BulkClient, BulkClient.make).pipe(
    // layerWithoutHttpClient: `Bulk1.layer` brings undici of its own, and `http` would go unused
    Layer.provide(Bulk1.layerWithoutHttpClient({
      timeout: "5 seconds",
      idleTimeout: "600 millis",
      retrySchedule: Transport.defaultRetrySchedule({ initialDelay: "10 millis", maxDelay: "50 millis" })
    })),
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: proxyUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
    Layer.provide(http)
  )

/** A value with 2-, 3- and 4-byte UTF-8, a comma, a quote and a CRLF: echoed in its row's error. */
const NASTY = "Zoë, \"東京\"\r\n🚀 ✓"

/** Contacts; every third one has an invalid email (its value echoed, quoted, in the error). */
const rowsOf = (tag: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    LastName: `${tag}-${String(i).padStart(5, "0")}`,
    Email: i % 3 === 1 ? `${NASTY} ${i}` : `${tag}.${i}@example.com`
  }))

const insert = (rows: ReadonlyArray<Record<string, string>>, batchSize: number) =>
  Effect.gen(function*() {
    const out = yield* BulkClient.insert("Contact", rows, {
      api: "1.0",
      batchSize,
      successRows: false,
      pollSchedule: Schedule.spaced("10 millis")
    })
    const ok = yield* collect(out.successes)
    const bad = yield* collect(out.failures)
    return { out, ok, bad }
  })

/** Every row's outcome once, at its position: successes with their record's id, failures with their value echoed. */
const expectWhole = (
  rows: ReadonlyArray<Record<string, string>>,
  ok: ReadonlyArray<BulkClient.Success>,
  bad: ReadonlyArray<BulkClient.Failure>
) => {
  const positions = [...ok.map((s) => s.position!), ...bad.map((f) => f.position!)].sort((a, b) => a - b)
  expect(positions).toEqual(rows.map((_, i) => i))
  expect(new Set(ok.map((s) => s.id)).size).toBe(ok.length)
  for (const s of ok) expect(emu.org.get(s.id)?.values.LastName).toBe(rows[s.position!]!.LastName)
  for (const f of bad) {
    expect(f.code).toBe("INVALID_EMAIL_ADDRESS")
    expect(f.message).toContain(rows[f.position!]!.Email)
  }
  expect(bad.length).toBe(rows.filter((_, i) => i % 3 === 1).length)
}

/** Offsets in `file` that fall inside a multi-byte character, between a CR and its LF, inside a quoted error. */
const nastyOffsets = (file: Buffer): Array<number> => {
  const at = (needle: string, plus: number) => {
    const i = file.indexOf(Buffer.from(needle))
    return i < 0 ? [] : [i + plus]
  }
  return [
    ...at("ë", 1),
    ...at("東", 1),
    ...at("東", 2),
    ...at("🚀", 1),
    ...at("🚀", 3),
    ...at("\r\n🚀", 1),
    ...at("\"\"東", 1),
    ...at(",\"", 1),
    ...at("\n", 1)
  ]
}

describe("MEM6: 1.0 ids-only result downloads under a hostile network", () => {
  for (const [which, http] of CLIENTS) {
    for (const gzip of [false, true]) {
      it.live(
        `${which}, gzip ${
          gzip ? "on" : "off"
        }: cut inside characters, CRLFs and quoted errors, then at growing offsets: every outcome once, at its position`,
        () =>
          Effect.gen(function*() {
            attempts.clear()
            let plannedCuts = 0
            planner = (_url, k, file) => {
              // the first attempts cut at the file's awkward bytes (gzip: at as many bytes of the gzip),
              // the later ones further and further, the last one whole
              const awkward = nastyOffsets(file)
              const body = gzip ? Zlib.gzipSync(file) : file
              const cuts = [...awkward.map((o) => Math.min(o, body.length - 1)), Math.floor(body.length / 3), body.length - 1]
                .sort((a, b) => a - b)
              if (k < cuts.length) {
                plannedCuts++
                return { gzip, cutAt: cuts[k]! }
              }
              return { gzip }
            }
            const rows = rowsOf(`b8i${which.length}${gzip ? "z" : "p"}`, 600)
            const { out, ok, bad } = yield* insert(rows, 200)
            expect(out.summary).toMatchObject({ rowsRead: 600, succeeded: 400, failed: 200 })
            expectWhole(rows, ok, bad)
            expect(plannedCuts).toBeGreaterThan(3 * 8)
          }).pipe(Effect.ensuring(Effect.sync(() => planner = () => ({}))), Effect.provide(layer(http))),
        120_000
      )
    }
  }
})

/** The lines of a result file (each with its end), a quoted field's CRLF kept inside its line. */
const linesOf = (file: Buffer): Array<Buffer> => {
  const out: Array<Buffer> = []
  let start = 0
  let quoted = false
  for (let i = 0; i < file.length; i++) {
    if (file[i] === 0x22) quoted = !quoted
    else if (file[i] === 0x0a && !quoted) {
      out.push(file.subarray(start, i + 1))
      start = i + 1
    }
  }
  if (start < file.length) out.push(file.subarray(start))
  return out
}

describe("MEM6: stalls, interrupts, many batches, counts, changed bodies", () => {
  it.live(
    "stalled mid-body (gzip on and off, every client): given up after the idle timeout and resumed; every outcome once",
    () =>
      Effect.gen(function*() {
        for (const [which, http] of CLIENTS) {
          attempts.clear()
          const before = abandoned
          planner = (_url, k) => k === 0 ? { gzip: which.length % 2 === 0, stallFraction: 0.5 } : { gzip: k % 2 === 0 }
          const rows = rowsOf(`b8s${which.length}`, 300)
          const { ok, bad } = yield* insert(rows, 150).pipe(Effect.provide(layer(http)))
          expectWhole(rows, ok, bad)
          // each batch's result was stalled once, in each of the two reads (successes, failures)
          expect([which, abandoned - before]).toEqual([which, 2])
        }
      }).pipe(Effect.ensuring(Effect.sync(() => planner = () => ({})))),
    120_000
  )

  it.live(
    "interrupted while every result download stalls mid-body: the read ends, the stalled answers are closed",
    () =>
      Effect.gen(function*() {
        for (const [, http] of CLIENTS) {
          planner = () => ({})
          const rows = rowsOf(`b8x`, 800)
          yield* Effect.gen(function*() {
            const out = yield* BulkClient.insert("Contact", rows, {
              api: "1.0",
              batchSize: 100,
              successRows: false,
              pollSchedule: Schedule.spaced("10 millis")
            })
            planner = () => ({ stallFraction: 1 / 3 })
            const fiber = yield* Effect.fork(collect(out.successes))
            for (let i = 0; i < 100 && stalledOpen < 4; i++) yield* Effect.sleep("10 millis")
            // four batches' results downloaded at once, each stalled
            expect(stalledOpen).toBe(4)
            yield* Fiber.interrupt(fiber)
            for (let i = 0; i < 100 && stalledOpen > 0; i++) yield* Effect.sleep("20 millis")
            expect(stalledOpen).toBe(0)
          }).pipe(Effect.provide(layer(http)))
        }
      }).pipe(Effect.ensuring(Effect.sync(() => planner = () => ({})))),
    120_000
  )

  for (const [which, http] of CLIENTS.filter(([w]) => w === "undici" || w.startsWith("a client"))) {
    it.live(
      `30 batches read 4 at a time over ${which}, each cut at several seeded offsets (gzip on some): every outcome once`,
      () =>
        Effect.gen(function*() {
          attempts.clear()
          let seed = 8
          const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
          planner = (_url, k, file) => {
            if (k >= 4) return {}
            const gzip = random() < 0.5
            const size = gzip ? Zlib.gzipSync(file).length : file.length
            return { gzip, cutAt: Math.floor(size * (k + random()) / 4) }
          }
          const rows = rowsOf(`b8m${which.length}`, 3_000)
          const { ok, bad } = yield* insert(rows, 100).pipe(Effect.provide(layer(http)))
          expectWhole(rows, ok, bad)
          expect(attempts.size).toBe(30)
        }).pipe(Effect.ensuring(Effect.sync(() => planner = () => ({})))),
      120_000
    )
  }

  for (
    const [what, change] of [
      ["a success row missing", (lines: Array<Buffer>) => lines.filter((_, i) => i !== 1)],
      ["a success row twice", (lines: Array<Buffer>) => [...lines.slice(0, 2), lines[1]!, ...lines.slice(2)]],
      [
        "a failure turned success",
        (lines: Array<Buffer>) =>
          lines.map((l) => l.includes("\"false\",\"false\"") ? Buffer.from("\"0035g00000000ZZAAA\",\"true\",\"true\",\"\"\n") : l)
      ]
    ] as const
  ) {
    it.live(
      `a result file with ${what} (every attempt, cut once): ResultMismatchError, not a silent outcome`,
      () =>
        Effect.gen(function*() {
          attempts.clear()
          planner = (_url, k, file) => {
            const body = Buffer.concat(change(linesOf(file)))
            return k === 0 ? { body, cutAt: Math.floor(body.length / 2) } : { body }
          }
          const rows = rowsOf(`b8c${what.length}`, 90)
          const out = yield* BulkClient.insert("Contact", rows, {
            api: "1.0",
            batchSize: 90,
            successRows: false,
            pollSchedule: Schedule.spaced("10 millis")
          })
          const error = yield* Effect.flip(collect(out.successes))
          expect(error._tag).toBe("ResultMismatchError")
          // the failures (read with their request rows) see it too
          expect((yield* Effect.flip(collect(out.failures)))._tag).toBe("ResultMismatchError")
        }).pipe(Effect.provide(layer(NodeHttpClient.layerUndici)), Effect.ensuring(Effect.sync(() => planner = () => ({})))),
      60_000
    )
  }

  // Failed before the fix in ingest1.ts resultBytes (MEM6 skipped the bytes a cut attempt had read
  // without looking at them): the first attempt's bytes were spliced with the rest of a different
  // file, and with the swapped lines (same length, same counts) a success carried another row's
  // id, that id twice, with no error; with CRLF line ends (a longer file) the splice fell inside a
  // row. Before MEM6 the file was fetched again whole, and this read was right.
  for (
    const [what, first] of [
      ["its first success's line swapped with its last's (same length, same counts)", (lines: Array<Buffer>) => {
        const successes = lines.flatMap((l, i) => (i > 0 && l.includes("\"true\",\"true\"") ? [i] : []))
        const swapped = [...lines]
        swapped[successes[0]!] = lines[successes.at(-1)!]!
        swapped[successes.at(-1)!] = lines[successes[0]!]!
        return { body: Buffer.concat(swapped), cutAt: Buffer.concat(lines.slice(0, successes[0]! + 1)).length }
      }],
      ["CRLF line ends (a longer file)", (lines: Array<Buffer>) => {
        const body = Buffer.concat(lines.map((l) => Buffer.concat([l.subarray(0, l.length - 1), Buffer.from("\r\n")])))
        return { body, cutAt: Math.floor(body.length / 2) }
      }],
      ["one line fewer at its start (a shorter file)", (lines: Array<Buffer>) => {
        const body = Buffer.concat([lines[0]!, ...lines.slice(2)])
        return { body, cutAt: Math.floor(body.length * 0.8) }
      }],
      ["the same start, two lines more at its end (cut past where the batch's own file ends)", (lines: Array<Buffer>) => {
        const body = Buffer.concat([...lines, lines[1]!, lines[2]!])
        return { body, cutAt: body.length - 5 }
      }]
    ] as const
  ) {
    it.live(
      `a cut attempt that saw a different file (${what}), the next ones the batch's own: every outcome once, with its own row's id`,
      () =>
        Effect.gen(function*() {
          attempts.clear()
          planner = (_url, k, file) => (k === 0 ? first(linesOf(file)) : {})
          const rows = rowsOf(`b8w${what.length}`, 60)
          const { ok, bad } = yield* insert(rows, 60)
          expectWhole(rows, ok, bad)
        }).pipe(Effect.provide(layer(NodeHttpClient.layerUndici)), Effect.ensuring(Effect.sync(() => planner = () => ({})))),
      60_000
    )
  }

  it.live(
    "gzip of two members (split inside a quoted error), cut inside the second: every outcome once, every client",
    () =>
      Effect.gen(function*() {
        for (const [which, http] of CLIENTS) {
          planner = (_url, k, file) => {
            const at = file.indexOf(Buffer.from("東京"))
            const members = (at + 1) / file.length
            const whole = Buffer.concat([Zlib.gzipSync(file.subarray(0, at + 1)), Zlib.gzipSync(file.subarray(at + 1))])
            return k < 2 ? { gzip: true, members, cutAt: whole.length - 10 + k } : { gzip: true, members }
          }
          const rows = rowsOf(`b8g${which.length}`, 120)
          const { ok, bad } = yield* insert(rows, 60).pipe(Effect.provide(layer(http)))
          expectWhole(rows, ok, bad)
        }
      }).pipe(Effect.ensuring(Effect.sync(() => planner = () => ({})))),
    120_000
  )

  for (
    const [what, plan] of [
      ["stalls at the same byte every time", (file: Buffer): Plan => ({ stallAt: file.length >> 1 })],
      ["is cut at the same byte every time", (file: Buffer): Plan => ({ cutAt: file.length >> 1 })],
      ["is empty (200, no bytes) every time", (): Plan => ({ body: Buffer.alloc(0) })],
      ["is the header line alone every time", (file: Buffer): Plan => ({ body: file.subarray(0, file.indexOf(0x0a) + 1) })]
    ] as const
  ) {
    it.live(`a result download that ${what}: a typed error naming the batch, no hang`, () =>
      Effect.gen(function*() {
        planner = (_url, _k, file) => plan(file)
        const rows = rowsOf(`b8e${what.length}`, 30)
        const out = yield* BulkClient.insert("Contact", rows, {
          api: "1.0",
          batchSize: 30,
          successRows: false,
          pollSchedule: Schedule.spaced("10 millis")
        })
        const error = yield* Effect.flip(collect(out.successes))
        expect(["TransportError", "ResultMismatchError"]).toContain(error._tag)
        expect(error.message).toMatch(/batch/)
      }).pipe(Effect.provide(layer(NodeHttpClient.layerUndici)), Effect.ensuring(Effect.sync(() => planner = () => ({})))), 60_000)
  }

  // Failed on main at 4baab3e (ingest1.ts joinOwned handed back every downloaded piece whose
  // buffer it covered, `freeNow`, whoever owned it): the chunks an HttpClient of the caller's own
  // had kept (a cache of the answers, a log) were detached under it. Held since 60c956f (the
  // chunks are copied into a buffer of the reader's own as they come, and never handed back).
  it.live(
    "an HttpClient of the caller's own that keeps the body chunks it passes on (a cache): they are intact after the read",
    () =>
      Effect.gen(function*() {
        const log: Array<{ readonly chunk: Uint8Array; readonly copy: Uint8Array }> = []
        const recording: Layer.Layer<HttpClient.HttpClient> = Layer.effect(
          HttpClient.HttpClient,
          Effect.map(
            HttpClient.HttpClient,
            HttpClient.transformResponse(Effect.flatMap((response) =>
              Effect.map(Effect.runtime<never>(), (runtime) =>
                HttpClientResponse.fromWeb(
                  response.request,
                  new Response(
                    response.status === 204 ? null : Stream.toReadableStreamRuntime(
                      // each chunk kept in a buffer of the client's own (as a cache keeps it) and passed on
                      Stream.map(response.stream, (received) => {
                        const chunk = new Uint8Array(received)
                        log.push({ chunk, copy: new Uint8Array(chunk) })
                        return chunk
                      }),
                      runtime
                    ),
                    { status: response.status, headers: response.headers }
                  )
                ))
            ))
          )
        ).pipe(Layer.provide(NodeHttpClient.layerUndici))
        planner = (_url, k, file) => (k === 0 ? { cutAt: file.length >> 1 } : {})
        const rows = rowsOf("b8r", 600)
        const { ok, bad } = yield* insert(rows, 200).pipe(Effect.provide(layer(recording)))
        expectWhole(rows, ok, bad)
        expect(log.length).toBeGreaterThan(0)
        const damaged = log.filter(({ chunk, copy }) =>
          chunk.byteLength !== copy.byteLength || Buffer.compare(Buffer.from(chunk), Buffer.from(copy)) !== 0
        )
        expect(damaged.length).toBe(0)
      }).pipe(Effect.ensuring(Effect.sync(() =>
        planner = () => ({})
      ))),
    60_000
  )

  it.live(
    "the outcome streams read twice (after verifyResults read them too), the first time stopped early: the second read is whole",
    () =>
      Effect.gen(function*() {
        planner = (_url, k, file) => (k % 3 === 0 ? { gzip: true, cutAt: file.length >> 2 } : { gzip: k % 2 === 0 })
        const rows = rowsOf("b8t", 600)
        const out = yield* BulkClient.insert("Contact", rows, {
          api: "1.0",
          batchSize: 150,
          successRows: false,
          verifyResults: true,
          pollSchedule: Schedule.spaced("10 millis")
        })
        for (const n of [1, 99, 101, 250]) {
          const some = yield* collect(Stream.take(out.successes, n))
          expect(some.length).toBe(n)
        }
        expect((yield* collect(Stream.take(out.failures, 3))).length).toBe(3)
        const ok = yield* collect(out.successes)
        const bad = yield* collect(out.failures)
        expectWhole(rows, ok, bad)
      }).pipe(Effect.provide(layer(NodeHttpClient.layerUndici)), Effect.ensuring(Effect.sync(() => planner = () => ({})))),
    60_000
  )
})

describe("OwnedBytes.again: a download read again whole over the bytes kept", () => {
  const enc = (t: string) => new TextEncoder().encode(t)
  const dec = (b: Uint8Array) => new TextDecoder().decode(b)
  /** Keeps `first` (cut), then reads `next` whole in pieces of `size`: the bytes kept at its end. */
  const run = (first: string, next: string, size: number) => {
    const bytes = new OwnedBytes(4)
    let at = 0
    for (let i = 0; i < first.length; i += size) at = bytes.again(at, enc(first.slice(i, i + size)))
    at = 0
    for (let i = 0; i < next.length; i += size) at = bytes.again(at, enc(next.slice(i, i + size)))
    bytes.truncate(at)
    return dec(bytes.take())
  }
  it("the same file: the kept bytes and the rest, once; another file: that file whole, whatever the pieces", () => {
    for (const size of [1, 2, 3, 5, 64]) {
      expect(run("abcdefgh", "abcdefghijklmnop", size)).toBe("abcdefghijklmnop")
      expect(run("abcXefgh", "abcdefghijklmnop", size)).toBe("abcdefghijklmnop")
      expect(run("abcdefghijklmnopqrst", "abcdefghijklmnop", size)).toBe("abcdefghijklmnop")
      expect(run("Xbcdefgh", "abcd", size)).toBe("abcd")
      expect(run("", "abcd", size)).toBe("abcd")
    }
  })
})
