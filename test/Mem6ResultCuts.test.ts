/**
 * MEM6 item 2: a 1.0 ids-only result read (`successRows: false`, ingest1.ts `resultBytes`) whose
 * downloads are cut again and again keeps the bytes each attempt read and fetches the rest,
 * skipping what it has. A test fault (no Salesforce behaviour is claimed): a proxy in front of the
 * emulator cuts every answer to a batch's result after a number of bytes that grows from one
 * attempt to the next (every other attempt cut early, bringing nothing new). Before: the file was
 * fetched whole each time, so a download cut more than 6 times in a row failed with a
 * TransportError whatever each attempt had read.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Emulator } from "@sfbulk/emulator"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { Bulk1, BulkClient, SalesforceAuth } from "../packages/client/src/index.js"
import { collect, ownHttpClient } from "./FaultsSupport.js"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let proxy: Http.Server
let proxyUrl = ""
/** Answers to each result URL so far, and the cuts made. */
const attempts = new Map<string, number>()
let cuts = 0
const RESULT = /\/job\/[^/]+\/batch\/[^/]+\/result$/
/** Where attempt `k` (0-based) of a result download is cut: 3,000 bytes further each odd attempt, early each even one. */
const cutAt = (k: number) => (k % 2 === 0 ? 500 : 3_000 * (k + 1))

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 0, seed: 6 })
  const upstream = new URL(emu.instanceUrl)
  proxy = Http.createServer((req, res) => {
    const url = req.url ?? "/"
    const cut = req.method === "GET" && RESULT.test(url)
    const headers = { ...req.headers, host: upstream.host }
    // plain bytes from the emulator, so that the cut is at a known byte of the file
    if (cut) headers["accept-encoding"] = "identity"
    const out = Http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: url, headers }, (up) => {
      if (!cut) {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
        return
      }
      const parts: Array<Buffer> = []
      up.on("data", (d: Buffer) => parts.push(d))
      up.on("end", () => {
        const body = Buffer.concat(parts)
        const k = attempts.get(url) ?? 0
        attempts.set(url, k + 1)
        const at = cutAt(k)
        const { "transfer-encoding": _, ...head } = up.headers
        res.writeHead(up.statusCode ?? 502, { ...head, "content-length": String(body.length) })
        if (at >= body.length) return res.end(body)
        cuts++
        res.write(body.subarray(0, at), () => res.destroy())
      })
    })
    out.on("error", () => res.destroy())
    req.pipe(out)
  })
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve))
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise<void>((resolve) => proxy?.close(() => resolve()))
  await emu?.close()
})

// undici (the transport reads the body straight from its Node stream) and an HttpClient of the
// caller's own (read through `response.stream`)
const clients = [["undici", NodeHttpClient.layerUndici], ["own HttpClient", ownHttpClient]] as const

const layer = (http: Layer.Layer<HttpClient.HttpClient>) =>
  Layer.effect(BulkClient.BulkClient, BulkClient.make).pipe(
    // without an HttpClient of its own: `Bulk1.layer` brings undici, and `http` went unused (the
    // own-client case ran over undici too)
    Layer.provide(Bulk1.layerWithoutHttpClient({ timeout: "5 seconds" })),
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: proxyUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
    Layer.provide(http)
  )

describe.each(clients)("1.0 ids-only result downloads cut again and again (%s)", (name, http) => {
  it.live("each cut keeps what it read: every success once, at its position, with its record's id", () =>
    Effect.gen(function*() {
      attempts.clear()
      cuts = 0
      const N = 3_000
      const rows = Array.from({ length: N }, (_, i) => ({ LastName: `m6c-${name.length}-${String(i).padStart(5, "0")}` }))
      const out = yield* BulkClient.insert("Contact", rows, {
        api: "1.0",
        batchSize: 1_500,
        successRows: false,
        pollSchedule: Schedule.spaced("10 millis")
      })
      const ok = yield* collect(out.successes)
      expect(out.summary).toMatchObject({ rowsRead: N, succeeded: N, failed: 0, unprocessed: 0 })
      // each result file (~1,500 rows, tens of KB) took many more cuts than the 6 resumes in a row
      // a download is allowed without progress
      expect(attempts.size).toBe(2)
      for (const n of attempts.values()) expect(n).toBeGreaterThan(8)
      expect(cuts).toBeGreaterThan(16)
      expect(ok.map((s) => s.position)).toEqual(rows.map((_, i) => i))
      expect(new Set(ok.map((s) => s.id)).size).toBe(N)
      for (const s of ok) expect(emu.org.get(s.id)?.values.LastName).toBe(rows[s.position!]!.LastName)
    }).pipe(Effect.provide(layer(http))), 120_000)
})
