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
import type * as HttpClient from "@effect/platform/HttpClient"
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Emulator } from "@sfbulk/emulator"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Zlib from "node:zlib"
import { Bulk1, BulkClient, SalesforceAuth, Transport } from "../packages/client/src/index.js"
import { collect, ownHttpClient } from "./FaultsSupport.js"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let proxy: Http.Server
let proxyUrl = ""

/** What the proxy does with attempt `k` (0-based) of a result download of `body` (the file's plain bytes). */
interface Plan {
  /** Gzip the answer (when the client accepts gzip); cuts and stalls are then at bytes of the gzip. */
  readonly gzip?: boolean
  /** The body to answer instead (the file the attempt sees). */
  readonly body?: Buffer
  /** Bytes sent before the connection is destroyed. */
  readonly cutAt?: number
  /** Bytes sent before the answer goes silent (for good). */
  readonly stallAt?: number
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
        const body = gz ? Zlib.gzipSync(plain) : plain
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
        if (plan.stallAt !== undefined && plan.stallAt < body.length) {
          stalledOpen++
          res.on("close", () => stalledOpen--)
          res.write(body.subarray(0, plan.stallAt))
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
    Layer.provide(Bulk1.layer({
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
const expectWhole = (rows: ReadonlyArray<Record<string, string>>, ok: ReadonlyArray<BulkClient.Success>, bad: ReadonlyArray<BulkClient.Failure>) => {
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
      it.live(`${which}, gzip ${gzip ? "on" : "off"}: cut inside characters, CRLFs and quoted errors, then at growing offsets: every outcome once, at its position`, () =>
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
        }).pipe(Effect.ensuring(Effect.sync(() => planner = () => ({}))), Effect.provide(layer(http))), 120_000)
    }
  }
})
