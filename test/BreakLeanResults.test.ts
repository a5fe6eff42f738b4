/**
 * Breaking the outcome records built by constructors (outcome.ts) and 1.0's lean successes
 * (`successRows: false`, result files fetched ahead as bytes and parsed when read, ingest1.ts):
 * records that behave as the plain objects they replaced, result downloads that stall or lose
 * their answer, a reader that stops early, lean successes after parallel lock follow-ups.
 */
import { NodeHttpClient } from "@effect/platform-node"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient, SalesforceAuth } from "../packages/client/src/index.js"
import type * as BulkClientNs from "../packages/client/src/BulkClient.js"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Zlib from "node:zlib"
import { parseBatchResults } from "../packages/client/src/internal/bulk1.js"
import { Failure1, Failure2, Success1, Success2, Unprocessed1, Unprocessed2 } from "../packages/client/src/internal/outcome.js"
import * as Support from "./EmulatorSupport.js"
import { clientLayer, collect, type Emu, poll, startEmulator } from "./FaultsSupport.js"

let emu: Emu
beforeAll(async () => {
  emu = await startEmulator(23)
})
afterAll(async () => {
  await emu?.close()
})

const run = <A, E>(effect: Effect.Effect<A, E, BulkClient.BulkClient>) => Effect.runPromise(Effect.provide(effect, clientLayer(emu)))

/** Rows where every 10th has no Name (a REQUIRED_FIELD_MISSING failure). */
const rows = (tag: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ Name: i % 10 === 3 ? "" : `${tag} ${i}`, NumberOfEmployees: i }))

const okPositions = (input: ReadonlyArray<{ Name: string }>) => input.flatMap((r, i) => (r.Name === "" ? [] : [i]))

/** The sfbulk temp entries under os.tmpdir() (spool and sort directories). */
const temps = () => new Set(Fs.readdirSync(Os.tmpdir()).filter((n) => n.startsWith("sfbulk-")))

const RESULT = "^GET /services/async/[^/]+/job/[^/]+/batch/[^/]+/result$"

describe("1.0 lean successes (successRows: false)", () => {
  it("result answers lost or stalled part way: every success once, at its position", () =>
    run(Effect.gen(function*() {
      emu.setFaults("", { seed: 23 })
      const input = rows("blstall", 2_000)
      const outcome = yield* BulkClient.insert("Account", input, { ...poll, api: "1.0", batchSize: 100, successRows: false })
      expect(outcome.summary).toMatchObject({ rowsRead: 2_000, succeeded: 1_800, failed: 200 })
      emu.setFaults("stall=0.2,lost-answer=0.2,reset=0.1", { seed: 23, match: RESULT })
      const ok = yield* collect(outcome.successes)
      emu.setFaults("", { seed: 23 })
      expect(ok.map((s) => s.position)).toEqual(okPositions(input))
      expect(new Set(ok.map((s) => s.id)).size).toBe(1_800)
      for (const s of ok) expect(emu.org.get(s.id)?.values.Name).toBe(input[s.position!]!.Name)
    })))

  it("a reader that stops early (Stream.take) can read again from the start; nothing is left in the temp directory", () =>
    run(Effect.gen(function*() {
      emu.setFaults("", { seed: 23 })
      const before = temps()
      const input = rows("bltake", 1_500)
      const outcome = yield* BulkClient.insert("Account", input, { ...poll, api: "1.0", batchSize: 50, successRows: false })
      const some = yield* collect(Stream.take(outcome.successes, 70))
      expect(some.map((s) => s.position)).toEqual(okPositions(input).slice(0, 70))
      const none = yield* collect(Stream.take(outcome.successes, 0))
      expect(none).toEqual([])
      const all = yield* collect(outcome.successes)
      expect(all.map((s) => s.position)).toEqual(okPositions(input))
      const left = [...temps()].filter((n) => !before.has(n))
      expect(left).toEqual([])
    })))

  it("a read of the successes cut by a timeout mid-download: a later read is whole", () =>
    run(Effect.gen(function*() {
      emu.setFaults("", { seed: 23 })
      const input = rows("blint", 1_000)
      const outcome = yield* BulkClient.insert("Account", input, { ...poll, api: "1.0", batchSize: 50, successRows: false })
      emu.setFaults("stall=1", { seed: 23, match: RESULT, slowMs: 5_000 })
      const cut = yield* Effect.either(Effect.timeout(collect(outcome.successes), "200 millis"))
      expect(cut._tag).toBe("Left")
      emu.setFaults("", { seed: 23 })
      const all = yield* collect(outcome.successes)
      expect(all.map((s) => s.position)).toEqual(okPositions(input))
    })))
})

/**
 * A client whose first batch result download gets one line more than Salesforce wrote (the file's
 * last line again): a result file that disagrees with the batch's counts.
 */
const paddedLayer = () => {
  let padded = 0
  const http = Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.transform(client, (effect, request) => {
        if (padded > 0 || request.method !== "GET" || !/\/batch\/[A-Za-z0-9]+\/result$/.test(new URL(request.url).pathname)) return effect
        padded++
        return Effect.flatMap(effect, (response) =>
          Effect.map(response.arrayBuffer, (bytes) => {
            const raw = Buffer.from(bytes)
            const text = (response.headers["content-encoding"] === "gzip" ? Zlib.gunzipSync(raw) : raw).toString("utf8")
            const lines = text.split("\n").filter((l) => l !== "")
            const body = `${text}${text.endsWith("\n") ? "" : "\n"}${lines[lines.length - 1]}\n`
            return HttpClientResponse.fromWeb(request, new Response(body, { status: 200, headers: { "content-type": "text/csv" } }))
          }))
      }))
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))
  return BulkClient.layer.pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
    Layer.provide(http),
    Layer.orDie
  )
}

describe("1.0 lean successes from a result file with more rows than the batch processed", () => {
  it("fail with ResultMismatchError without emitting the extra row as another input row's success", () =>
    Effect.runPromise(Effect.provide(
      Effect.gen(function*() {
        emu.setFaults("", { seed: 23 })
        const input = Array.from({ length: 200 }, (_, i) => ({ Name: `blpad ${i}` }))
        const outcome = yield* BulkClient.insert("Account", input, { ...poll, api: "1.0", batchSize: 50, successRows: false })
        expect(outcome.summary).toMatchObject({ rowsRead: 200, succeeded: 200 })
        const seen: Array<BulkClientNs.Success> = []
        const error = yield* Effect.flip(Stream.runForEach(outcome.successes, (s) => Effect.sync(() => seen.push(s))))
        expect(error._tag).toBe("ResultMismatchError")
        // whatever was emitted is true: each success at its own input row
        for (const s of seen) expect(emu.org.get(s.id)?.values.Name).toBe(input[s.position!]!.Name)
        expect(new Set(seen.map((s) => s.position)).size).toBe(seen.length)
      }),
      paddedLayer()
    )))
})

describe("1.0 result files cut anywhere", () => {
  it("parse the same whatever byte the download is cut at (inside quotes, a doubled quote, a CRLF, a multi-byte character)", () =>
    Effect.runPromise(Effect.gen(function*() {
      const text = `"Id","Success","Created","Error"\r\n` +
        `"001000000000001AAA","true","true",""\r\n` +
        `"","false","false","FIELD_CUSTOM_VALIDATION_EXCEPTION:Say ""no"", then\r\nnewline, é 😀:Name --"\r\n` +
        `"001000000000002AAA","true","false",""\r\n`
      const bytes = new TextEncoder().encode(text)
      const parse = (chunks: ReadonlyArray<Uint8Array>) => collect(parseBatchResults("CSV", Stream.fromIterable(chunks)))
      const whole = yield* parse([bytes])
      expect(whole).toHaveLength(3)
      expect(whole[1]!.errors[0]!.message).toContain(`Say "no", then\r\nnewline, é 😀`)
      for (let i = 1; i < bytes.length; i++) {
        expect(yield* parse([bytes.subarray(0, i), bytes.subarray(i)])).toEqual(whole)
      }
      // one byte a chunk
      expect(yield* parse(Array.from(bytes, (b) => Uint8Array.of(b)))).toEqual(whole)
    })))
})

describe("outcome records behave as the plain objects they replaced", () => {
  const errors = [{ code: "REQUIRED_FIELD_MISSING", message: "Required fields are missing: [Name]", fields: ["Name"] }]
  const records = [
    [new Success2("750A", "001A", true, { Name: "a" }), { _tag: "Success", jobId: "750A", id: "001A", created: true, row: { Name: "a" } }],
    [new Failure2("750A", "", errors, { Name: "" }), {
      _tag: "Failure",
      jobId: "750A",
      code: errors[0]!.code,
      message: errors[0]!.message,
      fields: errors[0]!.fields,
      errors,
      row: { Name: "" }
    }],
    [new Unprocessed2("750A", { Name: "b" }, undefined), { _tag: "Unprocessed", jobId: "750A", row: { Name: "b" } }],
    [new Success1("750A", "751A", 3, {}, "001A", false), {
      _tag: "Success",
      jobId: "750A",
      batchId: "751A",
      position: 3,
      row: {},
      id: "001A",
      created: false
    }],
    [new Failure1("750A", "751A", 4, { Name: "" }, "", errors), {
      _tag: "Failure",
      jobId: "750A",
      batchId: "751A",
      position: 4,
      row: { Name: "" },
      code: errors[0]!.code,
      message: errors[0]!.message,
      fields: errors[0]!.fields,
      errors
    }],
    [new Unprocessed1("750A", "751A", 5, { Name: "c" }, "why"), {
      _tag: "Unprocessed",
      jobId: "750A",
      batchId: "751A",
      position: 5,
      row: { Name: "c" },
      reason: "why"
    }]
  ] as const

  it("spread, JSON, keys, structuredClone, toStrictEqual, `in`, Schema decode", () => {
    for (const [record, literal] of records) {
      expect(record).toStrictEqual(literal)
      expect(literal).toStrictEqual(record)
      expect({ ...record }).toStrictEqual(literal)
      expect(Object.keys(record)).toEqual(Object.keys(literal))
      expect(JSON.stringify(record)).toBe(JSON.stringify(literal))
      expect(structuredClone(record)).toStrictEqual(literal)
      expect(record.constructor).toBe(Object)
      expect("id" in record).toBe("id" in literal)
      expect("reason" in record).toBe("reason" in literal)
      expect(Object.prototype.toString.call(record)).toBe("[object Object]")
      // plain objects compare by reference in Effect's Equal, as before
      expect(Equal.equals(record, record)).toBe(true)
      const decoded = Schema.decodeUnknownSync(Schema.Struct({ _tag: Schema.String, jobId: Schema.String }))(record)
      expect(decoded).toEqual({ _tag: literal._tag, jobId: "750A" })
    }
  })
})

describe("lean successes after side-by-side lock follow-ups (1.0)", () => {
  let lockEmu: Support.Emu
  let layer: Layer.Layer<BulkClient.BulkClient>
  const parents: Array<string> = []
  beforeAll(async () => {
    lockEmu = await Support.pacedEmulator({ insertsPerSecond: 4_000, parallelBatches: 4 })
    parents.push(...Support.seedParents(lockEmu, 6, "Lean lock parent"))
    layer = Support.clientLayer(lockEmu)
  })
  afterAll(async () => {
    await lockEmu?.close()
  })

  it("each success once, its position the input row's, accounting intact", () =>
    Effect.runPromise(Effect.provide(
      Effect.gen(function*() {
        const input = Support.interleavedContacts("bllock", parents)
        const out = yield* BulkClient.insert("Contact", input, {
          ...Support.fast,
          api: "1.0",
          batchSize: 100,
          concurrency: 4,
          retryLockedRows: 2,
          successRows: false
        })
        const s = out.summary
        expect(s.succeeded + s.failed + s.unprocessed).toBe(s.rowsRead)
        expect(s).toMatchObject({ rowsRead: 600, succeeded: 600, failed: 0 })
        expect(s.jobIds.length).toBeGreaterThan(2)
        const ok = yield* collect(out.successes)
        expect(ok).toHaveLength(600)
        expect([...ok.map((x) => x.position!)].sort((a, b) => a - b)).toEqual(Array.from({ length: 600 }, (_, i) => i))
        for (const x of ok) {
          expect(x.row).toEqual({})
          expect(lockEmu.org.get(x.id)?.values.LastName).toBe(input[x.position!]!.LastName)
        }
        const inOrg = Support.landedBy(lockEmu, "Contact", "LastName", "bllock")
        expect(inOrg.size).toBe(600)
        expect([...inOrg.values()].every((n) => n === 1)).toBe(true)
      }),
      layer
    )))
})
