/**
 * Breaking the main round of an ingest: one job (2.0) or batch (1.0) fails while its siblings are in
 * flight. The siblings must run to their end (their outcome known, not left running on Salesforce to
 * land rows the client never reports), no new piece may start after the failure, the error must carry
 * every failed piece's error, and the journal must tell which rows were never sent, so that a re-run
 * with it lands every row exactly once.
 */
import { NodeHttpClient } from "@effect/platform-node"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient, Journal, SalesforceAuth } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { clientLayer, type Emu, fast, landedBy } from "./EmulatorSupport.js"

let emu: Emu

beforeAll(async () => {
  emu = await Emulator.start({
    latencyMs: 0,
    profile: "realistic",
    // slow enough (100 rows: about half a second) that the siblings are still running when one fails
    processing: { recordsPerSecond: { insert: 200 }, parallelBatches: 8, requestLatencyMs: 0, lockFailureRate: 0 }
  })
})
afterAll(async () => {
  await emu?.close()
  for (const dir of journalDirs) Fs.rmSync(dir, { recursive: true, force: true })
})

const accounts = (tag: string) => Array.from({ length: 600 }, (_, i) => ({ Name: `${tag}-${i}` }))

/**
 * A client whose acting request of the pieces numbered in `failing` (in the order the client first
 * addresses them, from 1) is answered with a made-up 400. 2.0: the upload of the job (refused: the job
 * is then aborted). 1.0: the batch POST, after the server took it (the batch exists and is processed,
 * the client hears a refusal: a request that failed after the server acted).
 */
const faultyLayer = (api: "1.0" | "2.0", failing: ReadonlyArray<number>, silentPolls = false) => {
  const seen: Array<string> = []
  let posts = 0
  const failed: Array<string> = []
  const http = Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.transform(client, (effect, request) => {
        const url = new URL(request.url)
        if (api === "2.0") {
          const id = /\/jobs\/ingest\/([A-Za-z0-9]{15,18})/.exec(url.pathname)?.[1]
          if (id === undefined) return effect
          if (!seen.includes(id)) seen.push(id)
          // the siblings' polls never answered: they cannot finish
          if (silentPolls && request.method === "GET" && /\/jobs\/ingest\/[A-Za-z0-9]+$/.test(url.pathname)) return Effect.never
          const upload = request.method === "PUT" && /\/batches$/.test(url.pathname)
          if (!upload || !failing.includes(seen.indexOf(id) + 1)) return effect
          failed.push(id)
          const body = JSON.stringify([{ errorCode: "INVALIDJOB", message: "injected: the upload is refused" }])
          return Effect.succeed(HttpClientResponse.fromWeb(
            request,
            new Response(body, { status: 400, headers: { "content-type": "application/json" } })
          ))
        }
        const id = /\/job\/([A-Za-z0-9]{15,18})/.exec(url.pathname)?.[1]
        if (id !== undefined && !seen.includes(id)) seen.push(id)
        if (!(request.method === "POST" && /\/job\/[A-Za-z0-9]+\/batch$/.test(url.pathname))) return effect
        posts++
        if (!failing.includes(posts)) return effect
        failed.push(`batch POST ${posts}`)
        const body = `<?xml version="1.0" encoding="UTF-8"?><error xmlns="http://www.force.com/2009/06/asyncapi/dataload">` +
          `<exceptionCode>InvalidBatch</exceptionCode><exceptionMessage>injected: refused after it was taken</exceptionMessage></error>`
        return Effect.flatMap(
          Effect.flatMap(effect, (response) => response.arrayBuffer),
          () =>
            Effect.succeed(HttpClientResponse.fromWeb(
              request,
              new Response(body, { status: 400, headers: { "content-type": "application/xml" } })
            ))
        )
      }))
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))
  const layer = BulkClient.layer.pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
    Layer.provide(http),
    Layer.orDie
  )
  return { layer, seen, failed, posts: () => posts }
}

/** A 2.0 job's state, or a 1.0 job's state and its batches' states, as the emulator tells them. */
const jobState = async (api: "1.0" | "2.0", id: string): Promise<{ state: string; batches: ReadonlyArray<string> }> => {
  if (api === "2.0") {
    const r = await fetch(`${emu.instanceUrl}/services/data/v${emu.apiVersion}/jobs/ingest/${id}`, {
      headers: { Authorization: `Bearer ${emu.accessToken}` }
    })
    return { state: ((await r.json()) as { state: string }).state, batches: [] }
  }
  const headers = { "X-SFDC-Session": emu.accessToken }
  const job = await fetch(`${emu.instanceUrl}/services/async/${emu.apiVersion}/job/${id}`, { headers }).then((r) => r.text())
  const list = await fetch(`${emu.instanceUrl}/services/async/${emu.apiVersion}/job/${id}/batch`, { headers }).then((r) => r.text())
  return { state: /<state>(\w+)</.exec(job)![1]!, batches: [...list.matchAll(/<state>(\w+)</g)].map((m) => m[1]!) }
}

/** The journals' directories, removed once the file's tests are done. */
const journalDirs: Array<string> = []
const tempJournal = (name: string) => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), `sfbulk-${name}-`))
  journalDirs.push(dir)
  return Path.join(dir, "j.jsonl")
}

describe("Bulk API 2.0: one job of the main round fails while its siblings run", () => {
  for (const failing of [[3], [2, 3]]) {
    it.live(
      `job(s) ${
        failing.join(", ")
      } of 6 refused: the started siblings finish, no new job starts, every error reported, the re-run lands each row once`,
      () =>
        Effect.gen(function*() {
          const tag = `sib20x${failing.length}`
          const journal = tempJournal(tag)
          const input = accounts(tag)
          const { failed, layer, seen } = faultyLayer("2.0", failing)
          const options = { ...fast, api: "2.0" as const, batchSize: 100, concurrency: 3, journal }
          const exit = yield* Effect.exit(Effect.provide(BulkClient.insert("Account", input, options), layer))
          expect(Exit.isFailure(exit)).toBe(true)
          if (!Exit.isFailure(exit)) return
          // typed errors, one per failed job, each naming its job; no interruption in the cause
          const errors = [...Cause.failures(exit.cause)]
          expect(errors.map((e) => e._tag)).toEqual(failing.map(() => "ApiError"))
          expect(errors.map((e) => ("jobId" in e ? e.jobId : undefined)).sort()).toEqual([...failed].sort())
          expect(Cause.isInterrupted(exit.cause)).toBe(false)
          // the three jobs started side by side; none after the failure
          expect(seen).toHaveLength(3)
          // when the error arrives, every started sibling has finished (not left running unseen)
          for (const id of seen) {
            const s = yield* Effect.promise(() => jobState("2.0", id))
            expect(s.state).toBe(failed.includes(id) ? "Aborted" : "JobComplete")
          }
          // the rows of the finished siblings landed once; no row of a refused or unstarted piece did
          const landed = landedBy(emu, "Account", "Name", tag)
          expect(landed.size).toBe(100 * (3 - failing.length))
          expect([...landed.values()].every((n) => n === 1)).toBe(true)
          // the journal tells which rows were never sent: at least the three pieces never started
          const j = yield* Journal.read(journal)
          const unsent = Journal.unsent(j, input.length)
          expect(unsent.some(([s, e]) => s <= 300 && e === 600)).toBe(true)
          // re-running with the journal sends only what is missing: every row exactly once
          const out = yield* Effect.provide(BulkClient.insert("Account", input, options), clientLayer(emu))
          expect(out.summary.succeeded + out.summary.failed + out.summary.unprocessed).toBe(600)
          const after = landedBy(emu, "Account", "Name", tag)
          expect(after.size).toBe(600)
          expect([...after.values()].every((n) => n === 1)).toBe(true)
        }),
      60_000
    )
  }
})

describe("Bulk API 2.0: the main round's edges", () => {
  it.live(
    "allowPartialUpload, a bad row after jobs started: the started jobs finish, the error names the row, nothing lands twice",
    () =>
      Effect.gen(function*() {
        const tag = "sib20bad"
        const good = accounts(tag).slice(0, 550)
        // the bad row comes once the first jobs are running
        const rows = Stream.concat(
          Stream.fromIterable(good),
          Stream.fromEffect(Effect.as(Effect.sleep("200 millis"), { Name: `${tag}-bad\u0000` }))
        )
        const { layer, seen } = faultyLayer("2.0", [])
        const exit = yield* Effect.exit(Effect.provide(
          BulkClient.insert("Account", rows, { ...fast, api: "2.0", batchSize: 100, concurrency: 3, allowPartialUpload: true }),
          layer
        ))
        expect(Exit.isFailure(exit)).toBe(true)
        if (!Exit.isFailure(exit)) return
        const errors = [...Cause.failures(exit.cause)]
        expect(errors.map((e) => e._tag)).toEqual(["InvalidInputError"])
        expect(Cause.isInterrupted(exit.cause)).toBe(false)
        expect(seen.length).toBeGreaterThan(0)
        // every job started before the bad row was read has finished when the error arrives
        for (const id of seen) expect((yield* Effect.promise(() => jobState("2.0", id))).state).toBe("JobComplete")
        const landed = landedBy(emu, "Account", "Name", tag)
        expect(landed.size).toBe(100 * seen.length)
        expect([...landed.values()].every((n) => n === 1)).toBe(true)
      }),
    60_000
  )

  it.live(
    "a job fails while its siblings never finish: a timeout around the operation still ends it at once",
    () =>
      Effect.gen(function*() {
        const { layer, seen } = faultyLayer("2.0", [3], true)
        const exit = yield* Effect.exit(Effect.provide(
          Effect.timeout(
            BulkClient.insert("Account", accounts("sib20hang"), { ...fast, api: "2.0", batchSize: 100, concurrency: 3 }),
            "1 second"
          ),
          layer
        ))
        expect(seen).toHaveLength(3)
        expect(Exit.isFailure(exit)).toBe(true)
        if (!Exit.isFailure(exit)) return
        expect([...Cause.failures(exit.cause)].map((e) => e._tag)).toEqual(["TimeoutException"])
      }),
    30_000
  )
})

describe("Bulk API 1.0: one batch POST of the main round refused after the server took it", () => {
  for (const failing of [[3], [2, 3]]) {
    it.live(
      `POST(s) ${
        failing.join(", ")
      } of 6 refused: the batches added are waited for, no new batch is added, every error reported, the re-run lands each row once`,
      () =>
        Effect.gen(function*() {
          const tag = `sib10x${failing.length}`
          const journal = tempJournal(tag)
          const input = accounts(tag)
          const { layer, posts, seen } = faultyLayer("1.0", failing)
          const options = { ...fast, api: "1.0" as const, batchSize: 100, concurrency: 3, journal }
          const exit = yield* Effect.exit(Effect.provide(BulkClient.insert("Account", input, options), layer))
          expect(Exit.isFailure(exit)).toBe(true)
          if (!Exit.isFailure(exit)) return
          const errors = [...Cause.failures(exit.cause)]
          expect(errors.map((e) => e._tag)).toEqual(failing.map(() => "ApiError"))
          expect(Cause.isInterrupted(exit.cause)).toBe(false)
          // three POSTs side by side; none after the failure
          expect(posts()).toBe(3)
          expect(seen).toHaveLength(1)
          // when the error arrives, the batches the client added were waited for to their end (the
          // refused ones were taken by the server too, and are its own to process)
          const s = yield* Effect.promise(() => jobState("1.0", seen[0]!))
          expect(s.batches).toHaveLength(3)
          expect(s.batches.filter((b) => b === "Completed").length).toBeGreaterThanOrEqual(3 - failing.length)
          expect(s.state).toBe("Closed")
          // the journal tells which rows were never sent: at least the three pieces never started
          const j = yield* Journal.read(journal)
          const unsent = Journal.unsent(j, input.length)
          expect(unsent.some(([s, e]) => s <= 300 && e === 600)).toBe(true)
          // re-running with the journal finds the refused batches by their body and sends only the rest
          const out = yield* Effect.provide(BulkClient.insert("Account", input, options), clientLayer(emu))
          expect(out.summary.succeeded + out.summary.failed + out.summary.unprocessed).toBe(600)
          const after = landedBy(emu, "Account", "Name", tag)
          expect(after.size).toBe(600)
          expect([...after.values()].every((n) => n === 1)).toBe(true)
        }),
      60_000
    )
  }
})
