/**
 * Breaking the lock follow-ups' side-by-side groups (lockRetry.ts): one group's follow-up failing
 * while its siblings are in flight, the keys that decide which rows may share a group (15/18-char
 * ids, the record's own key), and the accounting and positions after parallel groups.
 */
import { NodeHttpClient } from "@effect/platform-node"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient, SalesforceAuth } from "@sfbulk/client"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Zlib from "node:zlib"
import type * as BulkClientNs from "../packages/client/src/BulkClient.js"
import { contendedRecords, disjointGroups, followUpGroupCount, lockedIds } from "../packages/client/src/internal/lockRetry.js"
import { collect, type Emu, fast, interleavedContacts, landedBy, pacedEmulator, seedParents } from "./EmulatorSupport.js"

let emu: Emu
const parents: Array<string> = []

beforeAll(async () => {
  // slow enough that the follow-up groups are still running when the first of them is answered
  emu = await pacedEmulator({ insertsPerSecond: 1_500, parallelBatches: 4 })
  parents.push(...seedParents(emu, 6, "Break lock parent"))
})
afterAll(async () => {
  await emu?.close()
})

/**
 * A client whose HTTP layer answers the `failAt`-th job it sees (counting from 1) with a made-up 400:
 * 2.0, its upload (the job is then aborted); 1.0, every poll of its batches (the batch was added,
 * so Salesforce processes it, but the client cannot read it: an answer that fails after the server
 * acted).
 */
const faultyLayer = (api: "1.0" | "2.0", failAt: number) => {
  const seen: Array<string> = []
  const known = new Map<string, ReadonlyArray<string>>()
  const jobOf = api === "2.0" ? /\/jobs\/ingest\/([A-Za-z0-9]{15,18})/ : /\/job\/([A-Za-z0-9]{15,18})/
  const http = Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.transform(client, (effect, request) => {
        const url = new URL(request.url)
        const id = jobOf.exec(url.pathname)?.[1]
        if (id !== undefined && !seen.includes(id)) seen.push(id)
        // 2.0: the upload (the siblings are uploading too); 1.0: the polls
        const hit = api === "2.0"
          ? request.method === "PUT" && /\/batches$/.test(url.pathname)
          : request.method === "GET" && /\/job\/[A-Za-z0-9]+\/batch$/.test(url.pathname)
        if (id === undefined) return effect
        if (!hit || seen.indexOf(id) !== failAt - 1) {
          // what the client last learnt of each job's state (2.0: the job's; 1.0: its batches')
          const poll = request.method === "GET" &&
            (api === "2.0" ? /\/jobs\/ingest\/[A-Za-z0-9]+$/.test(url.pathname) : /\/job\/[A-Za-z0-9]+\/batch$/.test(url.pathname))
          if (!poll) return effect
          return Effect.flatMap(effect, (response) =>
            Effect.map(response.arrayBuffer, (bytes) => {
              const raw = Buffer.from(bytes)
              const text = (response.headers["content-encoding"] === "gzip" ? Zlib.gunzipSync(raw) : raw).toString("utf8")
              const states = api === "2.0"
                ? [(JSON.parse(text) as { state: string }).state]
                : [...text.matchAll(/<state>(\w+)</g)].map((m) => m[1]!)
              known.set(id, states)
              return HttpClientResponse.fromWeb(request, new Response(raw, { status: response.status, headers: response.headers }))
            }))
        }
        const body = api === "2.0"
          ? JSON.stringify([{ errorCode: "INVALIDJOB", message: "injected: the job cannot be read" }])
          : `<?xml version="1.0" encoding="UTF-8"?><error xmlns="http://www.force.com/2009/06/asyncapi/dataload">` +
            `<exceptionCode>InvalidJob</exceptionCode><exceptionMessage>injected: the job cannot be read</exceptionMessage></error>`
        const type = api === "2.0" ? "application/json" : "application/xml"
        return Effect.succeed(HttpClientResponse.fromWeb(request, new Response(body, { status: 400, headers: { "content-type": type } })))
      }))
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))
  const layer = BulkClient.layer.pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
    Layer.provide(http),
    Layer.orDie
  )
  return { layer, seen, known }
}

/**
 * A client that loses the answer of one acting request of every job from the `from`-th it sees (2.0:
 * the close, `UploadComplete`; 1.0: the batch POST): the server acted, the client hears a dropped
 * connection.
 */
const lossyLayer = (api: "1.0" | "2.0", from: number) => {
  const seen: Array<string> = []
  const lost = new Set<string>()
  const jobOf = api === "2.0" ? /\/jobs\/ingest\/([A-Za-z0-9]{15,18})/ : /\/job\/([A-Za-z0-9]{15,18})/
  const http = Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.transform(client, (effect, request) => {
        const url = new URL(request.url)
        const id = jobOf.exec(url.pathname)?.[1]
        if (id === undefined) return effect
        if (!seen.includes(id)) seen.push(id)
        const acts = api === "2.0"
          ? request.method === "PATCH" && /\/jobs\/ingest\/[A-Za-z0-9]+$/.test(url.pathname)
          : request.method === "POST" && /\/job\/[A-Za-z0-9]+\/batch$/.test(url.pathname)
        if (!acts || seen.indexOf(id) < from - 1 || lost.has(id)) return effect
        lost.add(id)
        return Effect.flatMap(
          Effect.flatMap(effect, (response) => response.arrayBuffer),
          () => Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error("socket hang up") }))
        )
      }))
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))
  const layer = BulkClient.layer.pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
    Layer.provide(http),
    Layer.orDie
  )
  return { layer, lost }
}

/** A client whose polls of every job from the `from`-th it sees never get an answer. */
const silentLayer = (api: "1.0" | "2.0", from: number) => {
  const seen: Array<string> = []
  const jobOf = api === "2.0" ? /\/jobs\/ingest\/([A-Za-z0-9]{15,18})/ : /\/job\/([A-Za-z0-9]{15,18})/
  const http = Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.transform(client, (effect, request) => {
        const url = new URL(request.url)
        const id = jobOf.exec(url.pathname)?.[1]
        if (id === undefined) return effect
        if (!seen.includes(id)) seen.push(id)
        const poll = request.method === "GET" &&
          (api === "2.0" ? /\/jobs\/ingest\/[A-Za-z0-9]+$/.test(url.pathname) : /\/job\/[A-Za-z0-9]+\/batch$/.test(url.pathname))
        return poll && seen.indexOf(id) >= from - 1 ? Effect.never : effect
      }))
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))
  const layer = BulkClient.layer.pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
    Layer.provide(http),
    Layer.orDie
  )
  return { layer, seen }
}

/** A client that runs `atJob` once, as the `from`-th job it sees is first addressed (before that request). */
const watchLayer = (api: "1.0" | "2.0", from: number, atJob: () => void) => {
  const seen: Array<string> = []
  const jobOf = api === "2.0" ? /\/jobs\/ingest\/([A-Za-z0-9]{15,18})/ : /\/job\/([A-Za-z0-9]{15,18})/
  const http = Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.transform(client, (effect, request) => {
        const id = jobOf.exec(new URL(request.url).pathname)?.[1]
        if (id !== undefined && !seen.includes(id)) {
          seen.push(id)
          if (seen.length === from) atJob()
        }
        return effect
      }))
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))
  const layer = BulkClient.layer.pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
    Layer.provide(http),
    Layer.orDie
  )
  return { layer, seen }
}

/** A job's state as the emulator tells it (read without the faulty client). */
const jobState = async (api: "1.0" | "2.0", id: string): Promise<{ state: string; batches: ReadonlyArray<string> }> => {
  if (api === "2.0") {
    const r = await fetch(`${emu.instanceUrl}/services/data/v${emu.apiVersion}/jobs/ingest/${id}`, {
      headers: { Authorization: `Bearer ${emu.accessToken}` }
    })
    const info = await r.json() as { state: string }
    return { state: info.state, batches: [] }
  }
  const headers = { "X-SFDC-Session": emu.accessToken }
  const job = await fetch(`${emu.instanceUrl}/services/async/${emu.apiVersion}/job/${id}`, { headers }).then((r) => r.text())
  const list = await fetch(`${emu.instanceUrl}/services/async/${emu.apiVersion}/job/${id}/batch`, { headers }).then((r) => r.text())
  return { state: /<state>(\w+)</.exec(job)![1]!, batches: [...list.matchAll(/<state>(\w+)</g)].map((m) => m[1]!) }
}

for (const api of ["2.0", "1.0"] as const) {
  describe(`Bulk API ${api}: one follow-up group fails while its siblings run`, () => {
    it("the siblings are not cut mid-flight: when the error arrives every follow-up job has finished, and it names the failed job", async () => {
      // 2.0: six 100-row jobs, then the follow-ups; 1.0: one job, then the follow-ups
      const first = api === "2.0" ? 6 : 1
      const { known, layer, seen } = faultyLayer(api, first + 1)
      const tag = `brk${api.replace(".", "")}grp`
      const exit = await Effect.runPromiseExit(Effect.provide(
        BulkClient.insert("Contact", interleavedContacts(tag, parents), {
          ...fast,
          api,
          batchSize: 100,
          concurrency: 4,
          retryLockedRows: 1
        }),
        layer
      ))
      expect(Exit.isFailure(exit)).toBe(true)
      if (!Exit.isFailure(exit)) return
      const failed = seen[first]!
      const errors = Cause.failures(exit.cause)
      // a typed error naming the job that could not be read
      expect([...errors].map((e) => e._tag)).toContain("ApiError")
      expect([...errors].some((e) => "jobId" in e && e.jobId === failed)).toBe(true)
      expect(Cause.isInterruptedOnly(exit.cause)).toBe(false)
      // several follow-up groups ran side by side
      const followUps = seen.slice(first)
      expect(followUps.length).toBeGreaterThan(1)
      // the siblings were waited for until they finished (not left running, to land rows the
      // client never saw) and not aborted part way (1.0: an interrupted sibling job was aborted,
      // leaving NotProcessed batches)
      for (const id of followUps.filter((j) => j !== failed)) {
        const terminal = api === "2.0" ? ["JobComplete", "Failed", "Aborted"] : ["Completed", "Failed", "NotProcessed"]
        expect((known.get(id) ?? ["(never polled)"]).every((st) => terminal.includes(st))).toBe(true)
        const s = await jobState(api, id)
        if (api === "2.0") expect(s.state).toBe("JobComplete")
        else {
          expect(s.state).toBe("Closed")
          expect(s.batches.every((b) => b === "Completed")).toBe(true)
        }
      }
      // nothing landed twice
      const inOrg = landedBy(emu, "Contact", "LastName", tag)
      expect([...inOrg.values()].every((n) => n === 1)).toBe(true)
    })
  })
}

for (const api of ["2.0", "1.0"] as const) {
  it(`Bulk API ${api}: answers lost after the server acted on the follow-up jobs: every row lands once, outcomes at their rows`, async () => {
    const first = api === "2.0" ? 6 : 1
    const { layer, lost } = lossyLayer(api, first + 1)
    const tag = `brk${api.replace(".", "")}lost`
    const input = interleavedContacts(tag, parents)
    const out = await Effect.runPromise(Effect.provide(
      Effect.gen(function*() {
        const out = yield* BulkClient.insert("Contact", input, { ...fast, api, batchSize: 100, concurrency: 4, retryLockedRows: 3 })
        const ok = yield* collect(out.successes)
        const failures = yield* collect(out.failures)
        return { summary: out.summary, ok, failures }
      }),
      layer
    ))
    expect(lost.size).toBeGreaterThan(1)
    const s = out.summary
    expect(s.succeeded + s.failed + s.unprocessed).toBe(600)
    expect(s).toMatchObject({ rowsRead: 600, succeeded: 600, failed: 0 })
    expect(out.ok).toHaveLength(600)
    for (const x of out.ok) {
      expect(emu.org.get(x.id)?.values.LastName).toBe(x.row.LastName)
      if (api === "1.0") expect(input[x.position!]!.LastName).toBe(x.row.LastName)
    }
    const inOrg = landedBy(emu, "Contact", "LastName", tag)
    expect(inOrg.size).toBe(600)
    expect([...inOrg.values()].every((n) => n === 1)).toBe(true)
  })
}

for (const api of ["2.0", "1.0"] as const) {
  it(`Bulk API ${api}: a timeout around the operation during a follow-up round ends it (groups waiting on each other do not hold it)`, async () => {
    const first = api === "2.0" ? 6 : 1
    const { layer, seen } = silentLayer(api, first + 1)
    const tag = `brk${api.replace(".", "")}tmo`
    const exit = await Effect.runPromiseExit(Effect.provide(
      Effect.timeoutFail(
        BulkClient.insert("Contact", interleavedContacts(tag, parents), {
          ...fast,
          api,
          batchSize: 100,
          concurrency: 4,
          retryLockedRows: 1
        }),
        // generous: the first round takes well under a second here
        { duration: "4 seconds", onTimeout: () => "timed out" as const }
      ),
      layer
    ))
    expect(seen.length).toBeGreaterThan(first + 1)
    expect(exit).toMatchObject({ _tag: "Failure" })
    if (Exit.isFailure(exit)) expect([...Cause.failures(exit.cause)]).toEqual(["timed out"])
    const inOrg = landedBy(emu, "Contact", "LastName", tag)
    expect([...inOrg.values()].every((n) => n === 1)).toBe(true)
  })
}

for (const api of ["2.0", "1.0"] as const) {
  it(`Bulk API ${api}: upsert by external id under contention: each record once, its values the last input's, created flags right`, async () => {
    const tag = `brk${api.replace(".", "")}ups`
    const input = (suffix: string) =>
      interleavedContacts(tag, parents).map((r, i) => ({ ...r, LastName: `${r.LastName}-${suffix}`, ExternalId__c: `${tag}-x${i}` }))
    const options = { ...fast, api, batchSize: 100, concurrency: 4, retryLockedRows: 3 }
    const run = (rows: ReturnType<typeof input>) =>
      Effect.runPromise(Effect.provide(
        Effect.gen(function*() {
          const out = yield* BulkClient.upsert("Contact", "ExternalId__c", rows, options)
          return { summary: out.summary, ok: yield* collect(out.successes), failures: yield* collect(out.failures) }
        }),
        faultyLayer(api, 10_000).layer
      ))
    const created = await run(input("a"))
    expect(created.summary).toMatchObject({ rowsRead: 600, succeeded: 600, failed: 0 })
    expect(created.summary.jobIds.length).toBeGreaterThan(api === "2.0" ? 6 : 1)
    expect(created.ok.every((x) => x.created)).toBe(true)
    const updated = await run(input("b"))
    expect(updated.summary).toMatchObject({ rowsRead: 600, succeeded: 600, failed: 0 })
    expect(updated.ok.every((x) => !x.created)).toBe(true)
    expect(new Set(updated.ok.map((x) => x.id))).toEqual(new Set(created.ok.map((x) => x.id)))
    const inOrg = landedBy(emu, "Contact", "ExternalId__c", tag)
    expect(inOrg.size).toBe(600)
    expect([...inOrg.values()].every((n) => n === 1)).toBe(true)
    for (const x of updated.ok) expect(emu.org.get(x.id)?.values.LastName).toMatch(/-b$/)
  })
}

describe("follow-up jobs that fail", () => {
  it("Bulk API 2.0: follow-up jobs failing half way: rows they did not process are unprocessed, every row accounted for once", async () => {
    const tag = "brk20half"
    const input = interleavedContacts(tag, parents)
    const { layer, seen } = watchLayer("2.0", 7, () => emu.setFaults("batch-fail=1", { seed: 5 }))
    const out = await Effect.runPromise(
      Effect.provide(
        Effect.gen(function*() {
          const out = yield* BulkClient.insert("Contact", input, {
            ...fast,
            api: "2.0",
            batchSize: 100,
            concurrency: 4,
            retryLockedRows: 3
          })
          return {
            summary: out.summary,
            ok: yield* collect(out.successes),
            failures: yield* collect(out.failures),
            unprocessed: yield* collect(out.unprocessed)
          }
        }),
        layer
      ).pipe(Effect.ensuring(Effect.sync(() => emu.setFaults(undefined))))
    )
    expect(seen.length).toBeGreaterThan(7)
    const s = out.summary
    expect(s.succeeded + s.failed + s.unprocessed).toBe(600)
    expect(s.unprocessed).toBeGreaterThan(0)
    expect([out.ok.length, out.failures.length, out.unprocessed.length]).toEqual([s.succeeded, s.failed, s.unprocessed])
    // each row once across the three streams
    const names = [...out.ok, ...out.failures, ...out.unprocessed].map((x) => x.row.LastName)
    expect(new Set(names).size).toBe(600)
    const inOrg = landedBy(emu, "Contact", "LastName", tag)
    expect([...inOrg.values()].every((n) => n === 1)).toBe(true)
    for (const x of out.ok) expect(inOrg.get(x.row.LastName!)).toBe(1)
    for (const x of [...out.failures, ...out.unprocessed]) expect(inOrg.has(x.row.LastName!)).toBe(false)
  })

  it("Bulk API 1.0: every follow-up batch failing: the error holds each failed batch's BatchFailedError, none lands twice", async () => {
    const tag = "brk10fail"
    const { layer, seen } = watchLayer("1.0", 2, () => emu.setFaults("batch-fail=1", { seed: 5 }))
    const exit = await Effect.runPromiseExit(
      Effect.provide(
        BulkClient.insert("Contact", interleavedContacts(tag, parents), {
          ...fast,
          api: "1.0",
          batchSize: 100,
          concurrency: 4,
          retryLockedRows: 1
        }),
        layer
      ).pipe(Effect.ensuring(Effect.sync(() => emu.setFaults(undefined))))
    )
    expect(Exit.isFailure(exit)).toBe(true)
    if (!Exit.isFailure(exit)) return
    const followUps = seen.slice(1)
    expect(followUps.length).toBeGreaterThan(1)
    const errors = [...Cause.failures(exit.cause)]
    expect(errors.every((e) => e._tag === "BatchFailedError")).toBe(true)
    // one error per follow-up job, each naming its job
    expect(new Set(errors.map((e) => (e as { jobId: string }).jobId))).toEqual(new Set(followUps))
    const inOrg = landedBy(emu, "Contact", "LastName", tag)
    expect([...inOrg.values()].every((n) => n === 1)).toBe(true)
  })
})

describe("Bulk API 1.0: side-by-side groups whose rows fill more than one batch by size", () => {
  // batches slow enough that two batches of one job overlap, as Salesforce's do
  let slow: Emu
  const slowParents: Array<string> = []
  beforeAll(async () => {
    slow = await pacedEmulator({ insertsPerSecond: 300, parallelBatches: 8 })
    slowParents.push(...seedParents(slow, 6, "Wide lock parent"))
  })
  afterAll(async () => {
    await slow?.close()
  })

  it("a group is a Parallel job only if it fits one batch by bytes too (two batches of one parent would contend)", async () => {
    const tag = "brk10wide"
    const input = interleavedContacts(tag, slowParents)
    const layer = BulkClient.layer.pipe(
      Layer.provide(
        SalesforceAuth.fromSession({ instanceUrl: slow.instanceUrl, accessToken: slow.accessToken, apiVersion: slow.apiVersion })
      ),
      Layer.provide(NodeHttpClient.layerUndici),
      Layer.orDie
    )
    const out = await Effect.runPromise(Effect.provide(
      Effect.gen(function*() {
        const out = yield* BulkClient.insert("Contact", input, {
          ...fast,
          api: "1.0",
          batchSize: 100,
          // about 45 rows a batch: a follow-up group of one parent (up to 100 rows) would be two or three
          maxBatchChars: 1_500,
          concurrency: 4,
          retryLockedRows: 1
        })
        return { summary: out.summary, failures: yield* collect(out.failures) }
      }),
      layer
    ))
    expect(out.summary.jobIds.length).toBeGreaterThan(2)
    // the one follow-up round cleared every lock failure: no group contended with itself
    expect(out.summary).toMatchObject({ rowsRead: 600, succeeded: 600, failed: 0 })
    const inOrg = landedBy(slow, "Contact", "LastName", tag)
    expect(inOrg.size).toBe(600)
    expect([...inOrg.values()].every((n) => n === 1)).toBe(true)
  })
})

describe("lock messages", () => {
  it("a message naming several records joins every failure naming any of them", () => {
    const several = "unable to obtain exclusive access to this record or 2 records: 001000000000001AAA, 001000000000002"
    const fs = [
      lockFailure({ LastName: "a" }, "unable to obtain exclusive access to this record or 1 records: 001000000000001"),
      lockFailure({ LastName: "b" }, several),
      lockFailure({ LastName: "c" }, "unable to obtain exclusive access to this record or 1 records: 001000000000002AAA"),
      lockFailure({ LastName: "d" }, "unable to obtain exclusive access to this record or 1 records: 001000000000003AAA")
    ]
    expect(lockedIds(fs[1]!)).toEqual(["001000000000001", "001000000000002"])
    const groups = disjointGroups(fs, contendedRecords("insert", undefined, undefined), 4)!.filter((g) => g.length > 0)
    expect(groups.map((g) => g.map((f) => f.row.LastName))).toEqual([["a", "b", "c"], ["d"]])
  })
})

const lockFailure = (row: Record<string, string>, message: string): BulkClientNs.Failure =>
  ({
    _tag: "Failure",
    jobId: "750000000000001AAA",
    code: "UNABLE_TO_LOCK_ROW",
    message,
    fields: [],
    errors: [{ code: "UNABLE_TO_LOCK_ROW", message, fields: [] }],
    row
  }) as BulkClientNs.Failure

describe("which lock failures may share a group", () => {
  const noRecord = "unable to obtain exclusive access to this record"

  it("a parent given as an 18-char id and as its 15-char form is one parent (one group)", () => {
    const p18 = "001000000000001AAA"
    const p15 = p18.slice(0, 15)
    const fs = [
      lockFailure({ LastName: "a", AccountId: p18 }, noRecord),
      lockFailure({ LastName: "b", AccountId: p15 }, noRecord),
      lockFailure({ LastName: "c", AccountId: "001000000000002AAA" }, noRecord)
    ]
    const groups = disjointGroups(fs, contendedRecords("insert", undefined, { _tag: "Field", field: "AccountId" }), 4)!
    const groupOf = (name: string) => groups.findIndex((g) => g.some((f) => f.row.LastName === name))
    expect(groupOf("a")).toBe(groupOf("b"))
  })

  it("15-char ids that differ only in case are different records (separate groups allowed)", () => {
    const fs = [
      lockFailure({ LastName: "a", AccountId: "001000000000abc" }, noRecord),
      lockFailure({ LastName: "b", AccountId: "001000000000ABC" }, noRecord)
    ]
    const groups = disjointGroups(fs, contendedRecords("insert", undefined, { _tag: "Field", field: "AccountId" }), 4)!
    expect(groups.filter((g) => g.length > 0)).toHaveLength(2)
  })

  it("two updates of one record (different parents) share a group: side by side, the older value could win", () => {
    const id = "003000000000001AAA"
    const fs = [
      lockFailure({ Id: id, AccountId: "001000000000001AAA", LastName: "old" }, noRecord),
      lockFailure({ Id: id.slice(0, 15), AccountId: "001000000000002AAA", LastName: "new" }, noRecord)
    ]
    const groups = disjointGroups(fs, contendedRecords("update", undefined, { _tag: "Field", field: "AccountId" }), 4)!
    const nonEmpty = groups.filter((g) => g.length > 0)
    expect(nonEmpty).toHaveLength(1)
    // in input order within the group: the newer value is written last
    expect(nonEmpty[0]!.map((f) => f.row.LastName)).toEqual(["old", "new"])
  })

  it("two upserts of one external id (different parents) share a group", () => {
    const fs = [
      lockFailure({ Ext__c: "K-1", AccountId: "001000000000001AAA", LastName: "old" }, noRecord),
      lockFailure({ ext__c: "K-1", AccountId: "001000000000002AAA", LastName: "new" }, noRecord)
    ]
    const groups = disjointGroups(fs, contendedRecords("upsert", "Ext__c", { _tag: "Field", field: "AccountId" }), 4)!
    expect(groups.filter((g) => g.length > 0)).toHaveLength(1)
  })
})

describe("a failure that names no contended record", () => {
  it("keeps the round serial even for an update (the record's own Id does not tell what it waits on)", () => {
    const fs = [
      lockFailure({ Id: "003000000000001AAA", LastName: "a" }, "unable to obtain exclusive access to this record"),
      lockFailure({ Id: "003000000000002AAA", LastName: "b" }, "unable to obtain exclusive access to this record")
    ]
    expect(disjointGroups(fs, contendedRecords("update", undefined, undefined), 4)).toBeUndefined()
  })
})

describe("how many groups a follow-up round is split into", () => {
  const oneJob2 = { records: 10_000, bytes: Infinity }
  it("Bulk API 2.0: enough groups for each to be one follow-up job, not just the concurrency asked for", () => {
    // 75,000 locked rows at concurrency 4: 8 groups of one 10,000-record job each run side by side
    // (4 groups would each run two jobs one after the other, doubling the round)
    expect(followUpGroupCount(75_000, 0, oneJob2, 4)).toBe(8)
    // a small round keeps the concurrency asked for
    expect(followUpGroupCount(3_000, 0, oneJob2, 4)).toBe(4)
    expect(followUpGroupCount(3_000, 0, oneJob2, 1)).toBe(1)
  })

  it("Bulk API 1.0: enough groups for each to fit one batch, by records and by bytes", () => {
    expect(followUpGroupCount(75_000, 7_500_000, { records: 10_000, bytes: 10_000_000 }, 4)).toBe(8)
    expect(followUpGroupCount(20_000, 50_000_000, { records: 10_000, bytes: 10_000_000 }, 4)).toBe(5)
  })

  it("the groups asked for are at most what the parents allow: 8 asked of 3 parents gives 3 disjoint groups", () => {
    const fs = Array.from(
      { length: 30 },
      (_, i) =>
        lockFailure({ LastName: `r${i}`, AccountId: `00100000000000${i % 3}AAA` }, "unable to obtain exclusive access to this record")
    )
    const groups = disjointGroups(
      fs,
      contendedRecords("insert", undefined, { _tag: "Field", field: "AccountId" }),
      followUpGroupCount(30_000, 0, oneJob2, 4)
    )!
    expect(groups).toHaveLength(3)
    expect(groups.flat()).toHaveLength(30)
  })
})
